// Schedulers made of schedulers: SequentialLR hands over from one to the
// next at its milestones; ChainedScheduler steps several at once, each
// multiplying the rate the previous one set.
import { typeError } from '../core/errors';
import { checkOptions, checkStateDict, LRScheduler, type LrOptimizer, type SchedulerStateDict } from './scheduler';

function checkChildren(owner: string, schedulers: unknown, optimizer: LrOptimizer | undefined): LRScheduler[] {
  if (!Array.isArray(schedulers) || schedulers.length < 1) {
    throw typeError(`${owner} schedulers`, 'an array of at least one LRScheduler', schedulers);
  }
  const first = schedulers[0] as LRScheduler;
  schedulers.forEach((s, i) => {
    if (!(s instanceof LRScheduler)) {
      throw typeError(`${owner} schedulers[${i}]`, 'an LRScheduler (ReduceLROnPlateau steps on a metric and cannot be sequenced or chained)', s);
    }
    const expected = optimizer ?? first.optimizer;
    if (s.optimizer !== expected) {
      throw new RangeError(`${owner} expects all schedulers to belong to the same optimizer, but schedulers[${i}] (${s.constructor.name}) has another one`);
    }
  });
  return schedulers.slice();
}

/** The child dicts of a composite's state dict, checked against its children. */
function childDicts(owner: string, value: unknown, count: number): SchedulerStateDict[] {
  if (!Array.isArray(value) || value.length !== count) {
    throw typeError(`${owner} state dict _schedulers`, `a list of ${count} state dicts (one per scheduler)`, value);
  }
  value.forEach((d, i) => checkStateDict(`${owner} state dict _schedulers[${i}]`, d));
  return value as SchedulerStateDict[];
}

/**
 * What SequentialLR and ChainedScheduler share: their children, whose state
 * dicts their own holds under `_schedulers`, and a step of their own
 * (construction takes none, and neither restarts at a milestone).
 */
abstract class CompositeScheduler extends LRScheduler {
  /** The schedulers, in order. */
  readonly schedulers: LRScheduler[];

  protected constructor(optimizer: LrOptimizer, owner: string, schedulers: LRScheduler[]) {
    super(optimizer, owner);
    this.schedulers = schedulers;
  }

  override initialStep(): void {
    this.step();
  }

  override stepTo(_epoch: number): void {
    throw new TypeError(`a ${this.constructor.name} cannot restart at a milestone of a SequentialLR`);
  }

  protected getLr(): number[] {
    return this.lastLr;
  }

  protected override toStateValue(key: string, value: unknown): unknown {
    return key === '_schedulers' ? this.schedulers.map((s) => s.stateDict()) : super.toStateValue(key, value);
  }

  /**
   * Loads its own keys, then each child's dict. Each load checks before it
   * changes anything; if a later child's dict fails, the ones loaded before
   * it are put back, so the whole load happens or none of it.
   */
  override loadStateDict(dict: SchedulerStateDict): void {
    const owner = this.constructor.name;
    checkStateDict(owner, dict);
    const children = '_schedulers' in dict ? childDicts(owner, dict._schedulers, this.schedulers.length) : undefined;
    const own = { ...dict };
    delete own._schedulers;
    const ownBefore = this.stateDict();
    delete ownBefore._schedulers;
    super.loadStateDict(own);
    try {
      if (children !== undefined) withChildrenKept(this.schedulers, () => children.forEach((d, i) => this.schedulers[i].loadStateDict(d)));
    } catch (error) {
      super.loadStateDict(ownBefore);
      throw error;
    }
  }
}

/** Options of {@link SequentialLR}. */
export interface SequentialLROptions {
  /** The schedulers, in the order they take over. */
  schedulers: LRScheduler[];
  /** The steps at which the next one takes over: one fewer than the schedulers. */
  milestones: number[];
  /** The index of the last step taken, to resume; -1 starts afresh. */
  lastEpoch?: number;
}

/**
 * Runs `schedulers[0]` until `milestones[0]`, then `schedulers[1]`, and so
 * on, as PyTorch's SequentialLR (restarting each at its milestone with its
 * closed form, as PyTorch's does).
 *
 * @example
 * ```ts
 * const warmup = new LinearLR(opt, { startFactor: 0.01, totalIters: 100 });
 * const cosine = new CosineAnnealingLR(opt, { tMax: 900 });
 * const sched = new SequentialLR(opt, { schedulers: [warmup, cosine], milestones: [100] });
 * ```
 */
export class SequentialLR extends CompositeScheduler {
  /** The steps at which the next one takes over. */
  milestones: number[];

  constructor(optimizer: LrOptimizer, options: SequentialLROptions) {
    const owner = 'SequentialLR';
    const o = checkOptions(owner, options, ['schedulers', 'milestones', 'lastEpoch']);
    const schedulers = checkChildren(owner, o.schedulers, optimizer);
    super(optimizer, owner, schedulers);
    const milestones = o.milestones;
    if (!Array.isArray(milestones)) throw typeError(`${owner} milestones`, 'an array of steps', milestones);
    if (milestones.length !== schedulers.length - 1) {
      throw new RangeError(`${owner} expects one milestone fewer than schedulers: got ${schedulers.length} schedulers and ${milestones.length} milestones`);
    }
    milestones.forEach((m, i) => {
      if (!Number.isSafeInteger(m)) throw typeError(`${owner} milestones[${i}]`, 'an integer step', m);
    });
    schedulers.forEach((s, i) => {
      // At a milestone PyTorch calls step(0), which a composite scheduler does not take.
      if (i > 0 && s instanceof CompositeScheduler) throw new TypeError(`${owner} schedulers[${i}] is a ${s.constructor.name}, which cannot restart at a milestone`);
    });
    const lastEpoch = (o.lastEpoch as number | undefined) ?? -1;
    if (!Number.isSafeInteger(lastEpoch) || lastEpoch < -1) throw typeError(`${owner} lastEpoch`, 'an integer >= -1', lastEpoch);
    this.milestones = milestones.slice();
    this.lastEpoch = lastEpoch + 1;
    this.groups.forEach((g, i) => {
      if (!('initial_lr' in g)) throw new RangeError(`${owner}: paramGroups[${i}] has no initial_lr (construct its schedulers first)`);
    });
    // As PyTorch's: back to the initial rates, undo the children's construction steps, and take the first one's again.
    withChildrenKept(schedulers, () => this.keepingGroups(() => {
      this.groups.forEach((g) => (g.lr = g.initial_lr as number));
      undoLastEpochs(schedulers);
      schedulers[0].initialStep();
    }));
    this.lastLr = schedulers[0].getLastLr();
  }

  override step(): void {
    const epoch = this.lastEpoch + 1;
    let idx = 0; // bisect_right
    while (idx < this.milestones.length && this.milestones[idx] <= epoch) idx++;
    const scheduler = this.schedulers[idx];
    // The child's step puts itself and the groups back if it throws; then so does this one.
    if (idx > 0 && this.milestones[idx - 1] === epoch) scheduler.stepTo(0);
    else scheduler.step();
    this.lastEpoch = epoch;
    this.lastLr = scheduler.getLastLr();
  }

  protected stateKeys(): readonly string[] {
    return ['_milestones', 'last_epoch', '_last_lr', '_schedulers'];
  }
}

/**
 * Steps every scheduler at each step, so that their factors multiply, as
 * PyTorch's ChainedScheduler. It takes no step of its own on construction.
 *
 * @example
 * ```ts
 * const sched = new ChainedScheduler([new ConstantLR(opt, { factor: 0.5 }), new ExponentialLR(opt, { gamma: 0.99 })]);
 * ```
 */
export class ChainedScheduler extends CompositeScheduler {
  constructor(schedulers: LRScheduler[], optimizer?: LrOptimizer) {
    const owner = 'ChainedScheduler';
    const children = checkChildren(owner, schedulers, optimizer);
    super(optimizer ?? children[0].optimizer, owner, children);
    this.lastLr = children[children.length - 1].optimizer.paramGroups.map((g) => g.lr);
  }

  override step(): void {
    // If a later child throws, the ones stepped before it are put back too.
    withChildrenKept(this.schedulers, () => this.keepingGroups(() => {
      for (const s of this.schedulers) s.step();
    }));
    this.lastLr = this.schedulers[this.schedulers.length - 1].optimizer.paramGroups.map((g) => g.lr);
  }

  protected stateKeys(): readonly string[] {
    return ['_last_lr', '_schedulers'];
  }
}

/** Runs `fn`; if it throws, loads each child's state dict from before. */
function withChildrenKept<T>(children: readonly LRScheduler[], fn: () => T): T {
  const before = children.map((s) => s.stateDict());
  try {
    return fn();
  } catch (error) {
    children.forEach((s, i) => s.loadStateDict(before[i]));
    throw error;
  }
}

/** PyTorch's recursive_undo: one step back for every leaf scheduler. */
function undoLastEpochs(schedulers: readonly LRScheduler[]): void {
  for (const s of schedulers) {
    if (s instanceof CompositeScheduler) undoLastEpochs(s.schedulers);
    else s.lastEpoch -= 1;
  }
}
