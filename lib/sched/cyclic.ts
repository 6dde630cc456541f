// The cyclical schedules, which move the momentum against the rate:
// CyclicLR (triangular, triangular2, exp_range or a custom scale) and
// OneCycleLR (warm up to maxLr, anneal far below the start). The momentum
// is SGD's and RMSprop's `momentum`, or Adam's and AdamW's `betas[0]`.
import { libm } from '../engine/backend';
import { typeError } from '../core/errors';
import { checkInteger, checkNumber, checkOptions, LRScheduler, perGroup, type LrOptimizer, type ScheduledGroup } from './scheduler';
import { BASE_KEYS } from './factor';

/** Whether the optimizer's momentum is `betas[0]` (Adam) or `momentum` (SGD, RMSprop); throws if it has neither. */
function usesBeta1(owner: string, optimizer: LrOptimizer): boolean {
  const defaults = optimizer.defaults as Record<string, unknown>;
  if (!('momentum' in defaults) && !('betas' in defaults)) {
    throw new TypeError(`${owner}: the optimizer must have momentum or betas with cycleMomentum (${optimizer.constructor.name} has neither); pass cycleMomentum: false`);
  }
  return 'betas' in defaults;
}

/** Sets a group's momentum: `betas[0]`, as PyTorch's (m, *betas[1:]), or `momentum`. */
function setMomentum(group: ScheduledGroup, useBeta1: boolean, momentum: number): void {
  if (useBeta1) group.betas = [momentum, ...(group.betas as number[]).slice(1)];
  else group.momentum = momentum;
}

/** Each group's momentum at the cycle's start, and the two ends it cycles between as PyTorch keeps them in the group. */
function startMomentum(groups: ScheduledGroup[], useBeta1: boolean, maxMomentums: number[], baseMomentums: number[]): void {
  groups.forEach((g, i) => {
    setMomentum(g, useBeta1, maxMomentums[i]);
    g.max_momentum = maxMomentums[i];
    g.base_momentum = baseMomentums[i];
  });
}

/** How CyclicLR scales each cycle's amplitude. */
export type CyclicMode = 'triangular' | 'triangular2' | 'exp_range';

/** Options of {@link CyclicLR}. */
export interface CyclicLROptions {
  /** The lowest rate of the cycle, or one per group. */
  baseLr: number | number[];
  /** The highest rate of the cycle, or one per group. */
  maxLr: number | number[];
  /** Steps from baseLr up to maxLr (default 2000). */
  stepSizeUp?: number;
  /** Steps back down (default stepSizeUp). */
  stepSizeDown?: number;
  /** The amplitude's scaling (default 'triangular'); ignored when scaleFn is given. */
  mode?: CyclicMode;
  /** exp_range's factor per step (default 1). */
  gamma?: number;
  /** A custom amplitude scale of the cycle number or the step (not saved in state dicts, as in PyTorch). */
  scaleFn?: (x: number) => number;
  /** What scaleFn takes: 'cycle' (default) or 'iterations'. */
  scaleMode?: 'cycle' | 'iterations';
  /** Cycle the momentum inversely to the rate (default true). */
  cycleMomentum?: boolean;
  /** The momentum at the rate's peak (default 0.8), or one per group. */
  baseMomentum?: number | number[];
  /** The momentum at the rate's trough (default 0.9), or one per group. */
  maxMomentum?: number | number[];
  /** The index of the last step taken, to resume; -1 starts afresh. */
  lastEpoch?: number;
}

/**
 * Cycles the rate between `baseLr` and `maxLr` (and the momentum the other
 * way), as PyTorch's CyclicLR: step it after every batch.
 *
 * @example
 * ```ts
 * new CyclicLR(opt, { baseLr: 0.001, maxLr: 0.1, stepSizeUp: 500 });
 * ```
 */
export class CyclicLR extends LRScheduler {
  /** The highest rate of the cycle, per group. */
  maxLrs: number[];
  /** Steps of a whole cycle. */
  totalSize: number;
  /** The fraction of the cycle that goes up. */
  stepRatio: number;
  /** The amplitude's scaling. */
  mode: string;
  /** exp_range's factor per step. */
  gamma: number;
  /** What the scale function takes. */
  scaleMode: string;
  /** Whether the momentum cycles. */
  cycleMomentum: boolean;
  /** Whether the momentum is `betas[0]`. */
  useBeta1 = false;
  /** The momentum at the rate's peak, per group. */
  baseMomentums: number[] = [];
  /** The momentum at the trough, per group. */
  maxMomentums: number[] = [];
  /** The user's scale function, if any. */
  private readonly scaleFnCustom: ((x: number) => number) | undefined;

  constructor(optimizer: LrOptimizer, options: CyclicLROptions) {
    const owner = 'CyclicLR';
    super(optimizer, owner);
    const o = checkOptions(owner, options, ['baseLr', 'maxLr', 'stepSizeUp', 'stepSizeDown', 'mode', 'gamma', 'scaleFn',
      'scaleMode', 'cycleMomentum', 'baseMomentum', 'maxMomentum', 'lastEpoch']);
    const groups = this.groups;
    const lastEpoch = (o.lastEpoch as number | undefined) ?? -1;
    const baseLrs = perGroup(owner, 'baseLr', o.baseLr, groups.length);
    const maxLrs = perGroup(owner, 'maxLr', o.maxLr, groups.length);
    const up = checkInteger(owner, 'stepSizeUp', o.stepSizeUp ?? 2000, 1);
    const down = o.stepSizeDown === undefined ? up : checkInteger(owner, 'stepSizeDown', o.stepSizeDown, 0);
    const mode = o.mode ?? 'triangular';
    const scaleFn = o.scaleFn;
    if (scaleFn !== undefined && typeof scaleFn !== 'function') throw typeError(`${owner} scaleFn`, 'a function (x) => scale', scaleFn);
    if (scaleFn === undefined && !['triangular', 'triangular2', 'exp_range'].includes(mode as string)) {
      throw typeError(`${owner} mode`, "'triangular', 'triangular2' or 'exp_range' (or give scaleFn)", mode);
    }
    const scaleMode = o.scaleMode ?? 'cycle';
    if (scaleMode !== 'cycle' && scaleMode !== 'iterations') throw typeError(`${owner} scaleMode`, "'cycle' or 'iterations'", scaleMode);
    const cycleMomentum = o.cycleMomentum ?? true;
    if (typeof cycleMomentum !== 'boolean') throw typeError(`${owner} cycleMomentum`, 'a boolean', cycleMomentum);
    const useBeta1 = cycleMomentum ? usesBeta1(owner, optimizer) : false;
    const baseMomentums = cycleMomentum ? perGroup(owner, 'baseMomentum', o.baseMomentum ?? 0.8, groups.length) : [];
    const maxMomentums = cycleMomentum ? perGroup(owner, 'maxMomentum', o.maxMomentum ?? 0.9, groups.length) : [];
    const gamma = checkNumber(owner, 'gamma', o.gamma ?? 1.0);
    // Checked: now set, in PyTorch's order (and put back if the first step throws).
    this.maxLrs = maxLrs;
    this.totalSize = up + down;
    this.stepRatio = up / this.totalSize;
    this.mode = mode as string;
    this.gamma = gamma;
    this.scaleFnCustom = scaleFn as ((x: number) => number) | undefined;
    this.scaleMode = scaleFn !== undefined ? scaleMode : mode === 'exp_range' ? 'iterations' : 'cycle';
    this.cycleMomentum = cycleMomentum;
    this.useBeta1 = useBeta1;
    this.baseMomentums = baseMomentums;
    this.maxMomentums = maxMomentums;
    this.keepingGroups(() => {
      if (lastEpoch === -1) groups.forEach((g, i) => (g.lr = baseLrs[i]));
      if (cycleMomentum && lastEpoch === -1) startMomentum(groups, useBeta1, maxMomentums, baseMomentums);
      this.start(lastEpoch);
    });
    this.baseLrs = baseLrs;
  }

  private scale(x: number): number {
    if (this.scaleFnCustom !== undefined) {
      const s = this.scaleFnCustom(x);
      if (typeof s !== 'number') throw typeError(`CyclicLR scaleFn(${x})`, 'a number', s);
      return s;
    }
    if (this.mode === 'triangular') return 1.0;
    if (this.mode === 'triangular2') return 1 / libm.pow(2.0, x - 1);
    return libm.pow(this.gamma, x);
  }

  protected getLr(): number[] {
    const cycle = Math.floor(1 + this.lastEpoch / this.totalSize);
    const x = 1.0 + this.lastEpoch / this.totalSize - cycle;
    const scaleFactor = x <= this.stepRatio ? x / this.stepRatio : (x - 1) / (this.stepRatio - 1);
    const scale = this.scale(this.scaleMode === 'cycle' ? cycle : this.lastEpoch);
    const lrs = this.baseLrs.map((base, i) => base + (this.maxLrs[i] - base) * scaleFactor * scale);
    if (this.cycleMomentum) {
      const momentums = this.baseMomentums.map((base, i) => this.maxMomentums[i] - (this.maxMomentums[i] - base) * scaleFactor * scale);
      // As PyTorch's zip: a group added after construction keeps its momentum.
      const groups = this.groups;
      momentums.forEach((m, i) => i < groups.length && setMomentum(groups[i], this.useBeta1, m));
    }
    return lrs;
  }

  protected stateKeys(): readonly string[] {
    const momentum = this.cycleMomentum ? ['use_beta1', 'base_momentums', 'max_momentums'] : [];
    return ['max_lrs', 'total_size', 'step_ratio', 'mode', 'gamma', 'scale_mode', 'cycle_momentum', ...momentum, ...BASE_KEYS, '_scale_fn_custom'];
  }

  protected override toStateValue(key: string, value: unknown): unknown {
    return key === '_scale_fn_custom' ? null : super.toStateValue(key, value);
  }

  protected override fromStateValue(key: string, value: unknown, current: unknown, where: string): unknown {
    return key === '_scale_fn_custom' ? this.scaleFnCustom : super.fromStateValue(key, value, current, where);
  }
}

/** One phase of OneCycleLR, as its state dict holds it: the step it ends at, and the group keys it anneals between. */
export interface SchedulePhase {
  /** The step the phase ends at. */
  end_step: number;
  /** The group key of the rate it starts from (`initial_lr`, `max_lr`). */
  start_lr: string;
  /** The group key of the rate it ends at (`max_lr`, `min_lr`, `initial_lr`). */
  end_lr: string;
  /** The group key of the momentum it starts from. */
  start_momentum: string;
  /** The group key of the momentum it ends at. */
  end_momentum: string;
}

/** Options of {@link OneCycleLR}. */
export interface OneCycleLROptions {
  /** The peak rate, or one per group. */
  maxLr: number | number[];
  /** Steps of the whole cycle; or give `epochs` and `stepsPerEpoch`. */
  totalSteps?: number;
  /** Epochs, with `stepsPerEpoch`, for totalSteps. */
  epochs?: number;
  /** Steps per epoch, with `epochs`. */
  stepsPerEpoch?: number;
  /** The fraction of the cycle spent warming up (default 0.3). */
  pctStart?: number;
  /** 'cos' (default) or 'linear'. */
  annealStrategy?: 'cos' | 'linear';
  /** Cycle the momentum inversely to the rate (default true). */
  cycleMomentum?: boolean;
  /** The momentum at the peak rate (default 0.85), or one per group. */
  baseMomentum?: number | number[];
  /** The momentum at the start and end (default 0.95), or one per group. */
  maxMomentum?: number | number[];
  /** The initial rate is maxLr / divFactor (default 25). */
  divFactor?: number;
  /** The final rate is the initial rate / finalDivFactor (default 1e4). */
  finalDivFactor?: number;
  /** Three phases (up, down to the initial rate, then down to the minimum) instead of two (default false). */
  threePhase?: boolean;
  /** The index of the last step taken, to resume; -1 starts afresh. */
  lastEpoch?: number;
}

/**
 * The 1cycle policy: the rate warms up from maxLr / divFactor to maxLr, then
 * anneals far below the start, while the momentum does the opposite. It
 * reads `initial_lr`, `max_lr`, `min_lr`, `max_momentum` and `base_momentum`
 * from the groups at every step, so a resume loads the optimizer's state dict too.
 *
 * @example
 * ```ts
 * const sched = new OneCycleLR(opt, { maxLr: 0.1, totalSteps: 1000 });
 * ```
 */
export class OneCycleLR extends LRScheduler {
  /** Steps of the whole cycle. */
  totalSteps: number;
  /** The phases, as PyTorch's `_schedule_phases`. */
  schedulePhases: SchedulePhase[];
  /** 'cos' or 'linear'. */
  annealFuncType: string;
  /** Whether the momentum cycles. */
  cycleMomentum: boolean;
  /** Whether the momentum is `betas[0]`. */
  useBeta1 = false;

  constructor(optimizer: LrOptimizer, options: OneCycleLROptions) {
    const owner = 'OneCycleLR';
    super(optimizer, owner);
    const o = checkOptions(owner, options, ['maxLr', 'totalSteps', 'epochs', 'stepsPerEpoch', 'pctStart', 'annealStrategy',
      'cycleMomentum', 'baseMomentum', 'maxMomentum', 'divFactor', 'finalDivFactor', 'threePhase', 'lastEpoch']);
    const groups = this.groups;
    const lastEpoch = (o.lastEpoch as number | undefined) ?? -1;
    let total: number;
    if (o.totalSteps !== undefined) total = checkInteger(owner, 'totalSteps', o.totalSteps, 1);
    else if (o.epochs !== undefined && o.stepsPerEpoch !== undefined) {
      total = checkInteger(owner, 'epochs', o.epochs, 1) * checkInteger(owner, 'stepsPerEpoch', o.stepsPerEpoch, 1);
    } else throw new TypeError(`${owner} needs totalSteps, or epochs and stepsPerEpoch`);
    const pct = checkNumber(owner, 'pctStart', o.pctStart ?? 0.3);
    if (pct < 0 || pct > 1) throw new RangeError(`${owner} pctStart must be in [0, 1], got ${pct}`);
    const anneal = o.annealStrategy ?? 'cos';
    if (anneal !== 'cos' && anneal !== 'linear') throw typeError(`${owner} annealStrategy`, "'cos' or 'linear'", anneal);
    const maxLrs = perGroup(owner, 'maxLr', o.maxLr, groups.length);
    const divFactor = checkNumber(owner, 'divFactor', o.divFactor ?? 25.0);
    const finalDivFactor = checkNumber(owner, 'finalDivFactor', o.finalDivFactor ?? 1e4);
    const threePhase = o.threePhase ?? false;
    if (typeof threePhase !== 'boolean') throw typeError(`${owner} threePhase`, 'a boolean', threePhase);
    const cycleMomentum = o.cycleMomentum ?? true;
    if (typeof cycleMomentum !== 'boolean') throw typeError(`${owner} cycleMomentum`, 'a boolean', cycleMomentum);
    const useBeta1 = cycleMomentum ? usesBeta1(owner, optimizer) : false;
    const maxMomentums = cycleMomentum ? perGroup(owner, 'maxMomentum', o.maxMomentum ?? 0.95, groups.length) : [];
    const baseMomentums = cycleMomentum ? perGroup(owner, 'baseMomentum', o.baseMomentum ?? 0.85, groups.length) : [];
    // Checked: now set, in PyTorch's order.
    this.totalSteps = total;
    const phase = (end: number, startLr: string, endLr: string, startM: string, endM: string): SchedulePhase =>
      ({ end_step: end, start_lr: startLr, end_lr: endLr, start_momentum: startM, end_momentum: endM });
    this.schedulePhases = threePhase
      ? [
          phase(pct * total - 1, 'initial_lr', 'max_lr', 'max_momentum', 'base_momentum'),
          phase(2 * pct * total - 2, 'max_lr', 'initial_lr', 'base_momentum', 'max_momentum'),
          phase(total - 1, 'initial_lr', 'min_lr', 'max_momentum', 'max_momentum'),
        ]
      : [
          phase(pct * total - 1, 'initial_lr', 'max_lr', 'max_momentum', 'base_momentum'),
          phase(total - 1, 'max_lr', 'min_lr', 'base_momentum', 'max_momentum'),
        ];
    this.annealFuncType = anneal;
    this.cycleMomentum = cycleMomentum;
    this.useBeta1 = useBeta1;
    // Put back if the first step throws.
    this.keepingGroups(() => {
      if (lastEpoch === -1) {
        groups.forEach((g, i) => {
          g.initial_lr = maxLrs[i] / divFactor;
          g.max_lr = maxLrs[i];
          g.min_lr = (g.initial_lr as number) / finalDivFactor;
        });
      }
      if (cycleMomentum && lastEpoch === -1) startMomentum(groups, useBeta1, maxMomentums, baseMomentums);
      this.start(lastEpoch);
    });
  }

  private anneal(start: number, end: number, pct: number): number {
    if (this.annealFuncType === 'linear') return (end - start) * pct + start;
    const cosOut = libm.cos(Math.PI * pct) + 1;
    return end + ((start - end) / 2.0) * cosOut;
  }

  protected getLr(): number[] {
    const stepNum = this.lastEpoch;
    if (stepNum > this.totalSteps) {
      throw new RangeError(`Tried to step ${stepNum} times. The specified number of total steps is ${this.totalSteps} (OneCycleLR totalSteps)`);
    }
    const phases = this.schedulePhases;
    const momentums: number[] = [];
    const lrs = this.groups.map((group, gi) => {
      const read = (key: string): number => checkNumber('OneCycleLR', `paramGroups[${gi}].${key}`, group[key]);
      let startStep = 0.0;
      for (let i = 0; i < phases.length; i++) {
        const endStep = phases[i].end_step;
        if (stepNum <= endStep || i === phases.length - 1) {
          if (endStep === startStep) {
            throw new RangeError(`OneCycleLR phase ${i} has no steps (it ends at step ${endStep}, where it starts): ` +
              'PyTorch divides by zero here; choose a pctStart and totalSteps that give each phase a step');
          }
          const pct = (stepNum - startStep) / (endStep - startStep);
          const lr = this.anneal(read(phases[i].start_lr), read(phases[i].end_lr), pct);
          if (this.cycleMomentum) momentums.push(this.anneal(read(phases[i].start_momentum), read(phases[i].end_momentum), pct));
          return lr;
        }
        startStep = phases[i].end_step;
      }
      throw new Error('OneCycleLR has no phases'); // not reached: the last phase always matches
    });
    momentums.forEach((m, i) => setMomentum(this.groups[i], this.useBeta1, m));
    return lrs;
  }

  protected stateKeys(): readonly string[] {
    return ['total_steps', '_schedule_phases', '_anneal_func_type', 'cycle_momentum', ...(this.cycleMomentum ? ['use_beta1'] : []), ...BASE_KEYS];
  }
}
