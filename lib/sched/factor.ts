// The schedulers that multiply the rate by a factor each step: LambdaLR,
// MultiplicativeLR, StepLR, MultiStepLR, ConstantLR, LinearLR,
// ExponentialLR and PolynomialLR, each in PyTorch 2.x's recursive form and
// operation order (`group['lr'] * factor`), with its closed form where PyTorch has one.
import { libm } from '../engine/backend';
import { typeError } from '../core/errors';
import {
  checkInteger,
  checkNumber,
  checkOptions,
  counterFromDict,
  counterToDict,
  LRScheduler,
  type LrOptimizer,
} from './scheduler';

/** PyTorch's base keys, after a scheduler's own: the order `state_dict()` writes. */
export const BASE_KEYS = ['base_lrs', 'last_epoch', 'verbose', '_step_count', '_get_lr_called_within_step', '_last_lr'] as const;

/** A function of the step index: LambdaLR's factor of the base rate, MultiplicativeLR's of the current one. */
export type LrLambda = (epoch: number) => number;

/** Options of {@link LambdaLR} and {@link MultiplicativeLR}. */
export interface LambdaLROptions {
  /** The function, or one per param group. */
  lrLambda: LrLambda | LrLambda[];
  /** The index of the last step taken, to resume (the groups must hold `initial_lr`); -1 starts afresh. */
  lastEpoch?: number;
}

function lambdas(owner: string, value: unknown, groups: number): LrLambda[] {
  if (Array.isArray(value)) {
    if (value.length !== groups) throw new RangeError(`${owner} expected ${groups} lrLambda functions (one per param group), got ${value.length}`);
    value.forEach((f, i) => {
      if (typeof f !== 'function') throw typeError(`${owner} lrLambda[${i}]`, 'a function (epoch) => factor', f);
    });
    return value.slice();
  }
  if (typeof value !== 'function') throw typeError(`${owner} lrLambda`, 'a function (epoch) => factor, or one per group', value);
  return new Array<LrLambda>(groups).fill(value as LrLambda);
}

/**
 * What LambdaLR and MultiplicativeLR share: a function of the step per
 * group, which a state dict does not hold (`lr_lambdas: [None]`, as PyTorch
 * writes for plain functions).
 */
abstract class LambdaScheduler extends LRScheduler {
  /** One function per group. */
  readonly lrLambdas: LrLambda[];

  protected constructor(optimizer: LrOptimizer, owner: string, options: LambdaLROptions) {
    super(optimizer, owner);
    const o = checkOptions(owner, options, ['lrLambda', 'lastEpoch']);
    this.lrLambdas = lambdas(owner, o.lrLambda, optimizer.paramGroups.length);
    this.start((o.lastEpoch as number | undefined) ?? -1);
  }

  /** What group i's function gives for the step `lastEpoch`, checked to be a number. */
  protected factor(i: number): number {
    const factor = this.lrLambdas[i](this.lastEpoch);
    if (typeof factor !== 'number') throw typeError(`${this.constructor.name} lrLambda(${this.lastEpoch})`, 'a number', factor);
    return factor;
  }

  protected stateKeys(): readonly string[] {
    return [...BASE_KEYS, 'lr_lambdas'];
  }

  protected override toStateValue(key: string, value: unknown): unknown {
    return key === 'lr_lambdas' ? this.lrLambdas.map(() => null) : super.toStateValue(key, value);
  }

  protected override fromStateValue(key: string, value: unknown, current: unknown, where: string): unknown {
    return key === 'lr_lambdas' ? this.lrLambdas : super.fromStateValue(key, value, current, where);
  }
}

/**
 * Sets each group's rate to its initial rate times `lrLambda(epoch)`.
 * A state dict holds no function (`lr_lambdas: [None]`), as in PyTorch.
 *
 * @example
 * ```ts
 * const warmup = new LambdaLR(opt, { lrLambda: (epoch) => Math.min(1, (epoch + 1) / 100) });
 * ```
 */
export class LambdaLR extends LambdaScheduler {
  constructor(optimizer: LrOptimizer, options: LambdaLROptions) {
    super(optimizer, 'LambdaLR', options);
  }

  protected getLr(): number[] {
    return this.baseLrs.map((base, i) => base * this.factor(i));
  }
}

/**
 * Multiplies each group's rate by `lrLambda(epoch)` at every step after the first.
 *
 * @example
 * ```ts
 * new MultiplicativeLR(opt, { lrLambda: () => 0.95 });
 * ```
 */
export class MultiplicativeLR extends LambdaScheduler {
  constructor(optimizer: LrOptimizer, options: LambdaLROptions) {
    super(optimizer, 'MultiplicativeLR', options);
  }

  protected getLr(): number[] {
    const groups = this.groups;
    if (this.lastEpoch <= 0) return groups.map((g) => g.lr);
    return groups.map((g, i) => g.lr * this.factor(i));
  }
}

/** Options of {@link StepLR}. */
export interface StepLROptions {
  /** Steps between decays. */
  stepSize: number;
  /** The factor of each decay (default 0.1). */
  gamma?: number;
  /** The index of the last step taken, to resume; -1 starts afresh. */
  lastEpoch?: number;
}

/**
 * Multiplies the rate by `gamma` every `stepSize` steps.
 *
 * @example
 * ```ts
 * const sched = new StepLR(opt, { stepSize: 30, gamma: 0.1 });
 * ```
 */
export class StepLR extends LRScheduler {
  /** Steps between decays. */
  stepSize: number;
  /** The factor of each decay. */
  gamma: number;

  constructor(optimizer: LrOptimizer, options: StepLROptions) {
    super(optimizer, 'StepLR');
    const o = checkOptions('StepLR', options, ['stepSize', 'gamma', 'lastEpoch']);
    this.stepSize = checkInteger('StepLR', 'stepSize', o.stepSize, 1);
    this.gamma = checkNumber('StepLR', 'gamma', o.gamma ?? 0.1);
    this.start((o.lastEpoch as number | undefined) ?? -1);
  }

  protected getLr(): number[] {
    const groups = this.groups;
    if (this.lastEpoch === 0 || this.lastEpoch % this.stepSize !== 0) return groups.map((g) => g.lr);
    return groups.map((g) => g.lr * this.gamma);
  }

  protected override closedFormLr(): number[] {
    const factor = libm.pow(this.gamma, Math.floor(this.lastEpoch / this.stepSize));
    return this.baseLrs.map((base) => base * factor);
  }

  protected stateKeys(): readonly string[] {
    return ['step_size', 'gamma', ...BASE_KEYS];
  }
}

/** Options of {@link MultiStepLR}. */
export interface MultiStepLROptions {
  /** The steps at which the rate decays; a step listed twice decays by gamma². */
  milestones: number[];
  /** The factor of each decay (default 0.1). */
  gamma?: number;
  /** The index of the last step taken, to resume; -1 starts afresh. */
  lastEpoch?: number;
}

/**
 * Multiplies the rate by `gamma` at each milestone. Its state dict keeps the
 * milestones in a `collections.Counter`, as PyTorch's does.
 *
 * @example
 * ```ts
 * new MultiStepLR(opt, { milestones: [30, 80], gamma: 0.1 });
 * ```
 */
export class MultiStepLR extends LRScheduler {
  /** Each milestone and how many times it was given. */
  milestones: Map<number, number>;
  /** The factor of each decay. */
  gamma: number;

  constructor(optimizer: LrOptimizer, options: MultiStepLROptions) {
    super(optimizer, 'MultiStepLR');
    const o = checkOptions('MultiStepLR', options, ['milestones', 'gamma', 'lastEpoch']);
    if (!Array.isArray(o.milestones)) throw typeError('MultiStepLR milestones', 'an array of step indices', o.milestones);
    this.milestones = counterFromDict('MultiStepLR milestones', o.milestones);
    this.gamma = checkNumber('MultiStepLR', 'gamma', o.gamma ?? 0.1);
    this.start((o.lastEpoch as number | undefined) ?? -1);
  }

  protected getLr(): number[] {
    const groups = this.groups;
    const count = this.milestones.get(this.lastEpoch);
    if (count === undefined) return groups.map((g) => g.lr);
    const factor = libm.pow(this.gamma, count);
    return groups.map((g) => g.lr * factor);
  }

  protected override closedFormLr(): number[] {
    let passed = 0; // bisect_right over the sorted milestones, each as often as it was given
    for (const [milestone, count] of this.milestones) if (milestone <= this.lastEpoch) passed += count;
    const factor = libm.pow(this.gamma, passed);
    return this.baseLrs.map((base) => base * factor);
  }

  protected stateKeys(): readonly string[] {
    return ['milestones', 'gamma', ...BASE_KEYS];
  }

  protected override toStateValue(key: string, value: unknown): unknown {
    return key === 'milestones' ? counterToDict(this.milestones) : super.toStateValue(key, value);
  }

  protected override fromStateValue(key: string, value: unknown, current: unknown, where: string): unknown {
    return key === 'milestones' ? counterFromDict(where, value) : super.fromStateValue(key, value, current, where);
  }
}

/** Options of {@link ConstantLR}. */
export interface ConstantLROptions {
  /** The factor of the rate until `totalIters` (default 1/3), in (0, 1]. */
  factor?: number;
  /** Steps at the reduced rate (default 5). */
  totalIters?: number;
  /** The index of the last step taken, to resume; -1 starts afresh. */
  lastEpoch?: number;
}

/**
 * Multiplies the rate by `factor` for the first `totalIters` steps, then
 * divides it back (by multiplying by 1 / factor, as PyTorch does, which need
 * not return the exact base rate).
 */
export class ConstantLR extends LRScheduler {
  /** The factor of the rate until `totalIters`. */
  factor: number;
  /** Steps at the reduced rate. */
  totalIters: number;

  constructor(optimizer: LrOptimizer, options: ConstantLROptions = {}) {
    super(optimizer, 'ConstantLR');
    const o = checkOptions('ConstantLR', options, ['factor', 'totalIters', 'lastEpoch']);
    const factor = checkNumber('ConstantLR', 'factor', o.factor ?? 1 / 3);
    // PyTorch takes 0 here and then divides by it at totalIters.
    if (factor > 1 || factor <= 0) throw new RangeError(`ConstantLR factor must be in (0, 1], got ${factor}`);
    this.factor = factor;
    this.totalIters = checkInteger('ConstantLR', 'totalIters', o.totalIters ?? 5, 0);
    this.start((o.lastEpoch as number | undefined) ?? -1);
  }

  protected getLr(): number[] {
    const groups = this.groups;
    if (this.lastEpoch === 0) return groups.map((g) => g.lr * this.factor);
    if (this.lastEpoch !== this.totalIters) return groups.map((g) => g.lr);
    return groups.map((g) => g.lr * (1.0 / this.factor));
  }

  protected override closedFormLr(): number[] {
    const after = this.lastEpoch >= this.totalIters ? 1 : 0;
    return this.baseLrs.map((base) => base * (this.factor + after * (1 - this.factor)));
  }

  protected stateKeys(): readonly string[] {
    return ['factor', 'total_iters', ...BASE_KEYS];
  }
}

/** Options of {@link LinearLR}. */
export interface LinearLROptions {
  /** The factor of the rate at the first step (default 1/3), in (0, 1]. */
  startFactor?: number;
  /** The factor at `totalIters` and after (default 1), in [0, 1]. */
  endFactor?: number;
  /** Steps of the ramp (default 5). */
  totalIters?: number;
  /** The index of the last step taken, to resume; -1 starts afresh. */
  lastEpoch?: number;
}

/**
 * Ramps the rate's factor linearly from `startFactor` to `endFactor` over
 * `totalIters` steps: the usual warmup.
 *
 * @example
 * ```ts
 * const warmup = new LinearLR(opt, { startFactor: 0.01, totalIters: 100 });
 * ```
 */
export class LinearLR extends LRScheduler {
  /** The factor at the first step. */
  startFactor: number;
  /** The factor at `totalIters` and after. */
  endFactor: number;
  /** Steps of the ramp. */
  totalIters: number;

  constructor(optimizer: LrOptimizer, options: LinearLROptions = {}) {
    super(optimizer, 'LinearLR');
    const o = checkOptions('LinearLR', options, ['startFactor', 'endFactor', 'totalIters', 'lastEpoch']);
    const start = checkNumber('LinearLR', 'startFactor', o.startFactor ?? 1 / 3);
    if (start > 1 || start <= 0) throw new RangeError(`LinearLR startFactor must be in (0, 1], got ${start}`);
    const end = checkNumber('LinearLR', 'endFactor', o.endFactor ?? 1.0);
    if (end > 1 || end < 0) throw new RangeError(`LinearLR endFactor must be in [0, 1], got ${end}`);
    this.startFactor = start;
    this.endFactor = end;
    this.totalIters = checkInteger('LinearLR', 'totalIters', o.totalIters ?? 5, 1);
    this.start((o.lastEpoch as number | undefined) ?? -1);
  }

  protected getLr(): number[] {
    const groups = this.groups;
    if (this.lastEpoch === 0) return groups.map((g) => g.lr * this.startFactor);
    if (this.lastEpoch > this.totalIters) return groups.map((g) => g.lr);
    const delta = this.endFactor - this.startFactor;
    const factor = 1.0 + delta / (this.totalIters * this.startFactor + (this.lastEpoch - 1) * delta);
    return groups.map((g) => g.lr * factor);
  }

  protected override closedFormLr(): number[] {
    const done = Math.min(this.totalIters, this.lastEpoch);
    return this.baseLrs.map((base) => base * (this.startFactor + ((this.endFactor - this.startFactor) * done) / this.totalIters));
  }

  protected stateKeys(): readonly string[] {
    return ['start_factor', 'end_factor', 'total_iters', ...BASE_KEYS];
  }
}

/** Options of {@link ExponentialLR}. */
export interface ExponentialLROptions {
  /** The factor of every step. */
  gamma: number;
  /** The index of the last step taken, to resume; -1 starts afresh. */
  lastEpoch?: number;
}

/** Multiplies the rate by `gamma` every step. */
export class ExponentialLR extends LRScheduler {
  /** The factor of every step. */
  gamma: number;

  constructor(optimizer: LrOptimizer, options: ExponentialLROptions) {
    super(optimizer, 'ExponentialLR');
    const o = checkOptions('ExponentialLR', options, ['gamma', 'lastEpoch']);
    this.gamma = checkNumber('ExponentialLR', 'gamma', o.gamma);
    this.start((o.lastEpoch as number | undefined) ?? -1);
  }

  protected getLr(): number[] {
    const groups = this.groups;
    if (this.lastEpoch === 0) return groups.map((g) => g.lr);
    return groups.map((g) => g.lr * this.gamma);
  }

  protected override closedFormLr(): number[] {
    const factor = libm.pow(this.gamma, this.lastEpoch);
    return this.baseLrs.map((base) => base * factor);
  }

  protected stateKeys(): readonly string[] {
    return ['gamma', ...BASE_KEYS];
  }
}

/** Options of {@link PolynomialLR}. */
export interface PolynomialLROptions {
  /** Steps until the rate reaches 0 (default 5). */
  totalIters?: number;
  /** The power of the decay (default 1, linear). */
  power?: number;
  /** The index of the last step taken, to resume; -1 starts afresh. */
  lastEpoch?: number;
}

/** Decays the rate to 0 over `totalIters` steps as (1 - t / totalIters)^power. */
export class PolynomialLR extends LRScheduler {
  /** Steps until the rate reaches 0. */
  totalIters: number;
  /** The power of the decay. */
  power: number;

  constructor(optimizer: LrOptimizer, options: PolynomialLROptions = {}) {
    super(optimizer, 'PolynomialLR');
    const o = checkOptions('PolynomialLR', options, ['totalIters', 'power', 'lastEpoch']);
    this.totalIters = checkInteger('PolynomialLR', 'totalIters', o.totalIters ?? 5, 1);
    this.power = checkNumber('PolynomialLR', 'power', o.power ?? 1.0);
    this.start((o.lastEpoch as number | undefined) ?? -1);
  }

  protected getLr(): number[] {
    const groups = this.groups;
    if (this.lastEpoch === 0 || this.lastEpoch > this.totalIters) return groups.map((g) => g.lr);
    const ratio = (1.0 - this.lastEpoch / this.totalIters) / (1.0 - (this.lastEpoch - 1) / this.totalIters);
    const factor = libm.pow(ratio, this.power);
    return groups.map((g) => g.lr * factor);
  }

  protected override closedFormLr(): number[] {
    const factor = libm.pow(1.0 - Math.min(this.totalIters, this.lastEpoch) / this.totalIters, this.power);
    return this.baseLrs.map((base) => base * factor);
  }

  protected stateKeys(): readonly string[] {
    return ['total_iters', 'power', ...BASE_KEYS];
  }
}
