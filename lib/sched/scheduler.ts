// The base of the LR schedulers, as torch.optim.lr_scheduler.LRScheduler in
// PyTorch 2.x: `initial_lr` in the groups, the first step taken on
// construction, step() after optimizer.step(), and state dicts with
// PyTorch's keys. The arithmetic of each scheduler follows PyTorch's own
// recursive ("chainable") formulas in its operation order; the C library's
// cos and pow come through the addon (docs/schedulers.md).
import { checkOptionNames, describe, typeError } from '../core/errors';
import { Optimizer, type ParamGroup } from '../core/optimizer';
import { COUNTERS, markIntKey } from '../core/python-values';

/** Any optimizer with a learning rate: every simd-optim optimizer, and a custom one with `lr`. */
export type LrOptimizer = Optimizer<{
  /** The group's learning rate. */
  lr: number;
}>;

/** A scheduler's state dict: PyTorch's keys and values (`base_lrs`, `last_epoch`, `_step_count`, ...). */
export type SchedulerStateDict = Record<string, unknown>;

/** A group as a scheduler sees it: `lr`, and the keys schedulers add under PyTorch's names (`initial_lr`, ...). */
export type ScheduledGroup = ParamGroup<{ lr: number }> & Record<string, unknown>;

/** Keys PyTorch writes that carry nothing a resume needs (deprecated printing, a flag set only inside step()). */
const CONSTANT_KEYS = new Set(['verbose', '_get_lr_called_within_step']);

/**
 * A scheduler's field for a PyTorch state dict key: camelCase without the
 * leading underscore (`_step_count` → `stepCount`, `T_max` → `tMax`).
 */
export function fieldOf(key: string): string {
  const camel = key.replace(/^_+/, '').replace(/_([a-zA-Z0-9])/g, (_, c: string) => c.toUpperCase());
  return camel.charAt(0).toLowerCase() + camel.slice(1);
}

/** Checks a scheduler's options object: an object with only known names. */
export function checkOptions(owner: string, options: unknown, known: readonly string[]): Record<string, unknown> {
  if (options === null || typeof options !== 'object' || Array.isArray(options)) {
    throw typeError(`${owner} options`, 'an options object', options);
  }
  checkOptionNames(owner, options, known);
  return options as Record<string, unknown>;
}

/** A `threads` option: absent (0, the default) or an integer from 0 to 1024. */
export function checkThreads(owner: string, threads: unknown): number {
  if (threads === undefined) return 0;
  if (typeof threads !== 'number' || !Number.isInteger(threads) || threads < 0 || threads > 1024) {
    throw typeError(`${owner} threads`, 'an integer from 0 to 1024', threads);
  }
  return threads;
}

/** A finite number option. */
export function checkNumber(owner: string, name: string, value: unknown): number {
  if (typeof value !== 'number' || !Number.isFinite(value)) throw typeError(`${owner} ${name}`, 'a finite number', value);
  return value;
}

/** A whole-number option at least `min`. */
export function checkInteger(owner: string, name: string, value: unknown, min: number): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < min) {
    throw typeError(`${owner} ${name}`, `an integer >= ${min}`, value);
  }
  return value;
}

/** One value per group: a number for all, or an array with one per group (PyTorch's _format_param). */
export function perGroup(owner: string, name: string, value: unknown, groups: number): number[] {
  if (Array.isArray(value)) {
    if (value.length !== groups) {
      throw new RangeError(`${owner} ${name} must have the same length as optimizer.paramGroups. ${name} has ${value.length} values, paramGroups has ${groups}.`);
    }
    return value.map((v, i) => checkNumber(owner, `${name}[${i}]`, v));
  }
  const v = checkNumber(owner, name, value);
  return new Array<number>(groups).fill(v);
}

/**
 * What every scheduler has: its optimizer, the rates it set last, and a
 * state dict with PyTorch's keys. {@link LRScheduler} schedules by step;
 * {@link ReduceLROnPlateau} by a metric.
 */
export abstract class SchedulerBase {
  /** The optimizer whose groups' `lr` this scheduler sets. */
  readonly optimizer: LrOptimizer;
  /** The index of the last step taken. */
  lastEpoch = -1;
  /** The learning rates the last step set. */
  protected lastLr: number[] = [];
  /** Keys of a loaded state dict that this version does not use, written back as they were. */
  private extraState: Record<string, unknown> = {};

  protected constructor(optimizer: LrOptimizer, owner: string) {
    if (!(optimizer instanceof Optimizer)) throw typeError(`${owner} optimizer`, 'an Optimizer', optimizer);
    this.optimizer = optimizer;
  }

  /** The optimizer's groups, with the keys schedulers add. */
  protected get groups(): ScheduledGroup[] {
    return this.optimizer.paramGroups as ScheduledGroup[];
  }

  /** The learning rates the last step set, one per group. */
  getLastLr(): number[] {
    return this.lastLr.slice();
  }

  /**
   * Runs `fn`; if it throws, puts every group's keys back as they were
   * (lr, momentum, betas, and keys a scheduler adds), so that a step or a
   * constructor that fails changes nothing.
   */
  protected keepingGroups<T>(fn: () => T): T {
    const groups = this.groups;
    const before = groups.map((g) => ({ ...g }));
    try {
      return fn();
    } catch (error) {
      groups.forEach((g, i) => {
        if (i >= before.length) return;
        for (const key of Object.keys(g)) if (!(key in before[i])) delete g[key];
        Object.assign(g, before[i]);
      });
      throw error;
    }
  }

  /** PyTorch's state dict keys of this scheduler, in the order PyTorch writes them. */
  protected abstract stateKeys(): readonly string[];

  /** A field as a state dict holds it. */
  protected toStateValue(key: string, value: unknown): unknown {
    if (CONSTANT_KEYS.has(key)) return false;
    return copyPlain(value);
  }

  /** A state dict value as the field holds it, or throws naming what is wrong. */
  protected fromStateValue(_key: string, value: unknown, current: unknown, where: string): unknown {
    checkLike(where, value, current);
    return copyPlain(value);
  }

  /**
   * The scheduler's state under PyTorch's keys, as `scheduler.state_dict()`
   * returns it: pass it to `saveTorch`, and PyTorch's `load_state_dict` takes it.
   */
  stateDict(): SchedulerStateDict {
    const out: SchedulerStateDict = {};
    for (const key of this.stateKeys()) out[key] = this.toStateValue(key, (this as unknown as Record<string, unknown>)[fieldOf(key)]);
    for (const [key, value] of Object.entries(this.extraState)) out[key] = copyPlain(value);
    return out;
  }

  /**
   * Loads a dict from stateDict() or from PyTorch. As PyTorch's, it sets the
   * keys it finds and keeps the rest; unlike PyTorch's, it checks every value
   * first and changes nothing if one is wrong. The optimizer's groups are
   * not part of it: load the optimizer's state dict too.
   */
  loadStateDict(dict: SchedulerStateDict): void {
    const owner = this.constructor.name;
    checkStateDict(owner, dict);
    const known = new Set(this.stateKeys());
    const updates: [string, unknown][] = [];
    const extras: Record<string, unknown> = { ...this.extraState };
    for (const [key, value] of Object.entries(dict)) {
      const where = `${owner} state dict ${key}`;
      if (CONSTANT_KEYS.has(key)) continue; // nothing a resume needs: written as False
      if (known.has(key)) updates.push([fieldOf(key), this.fromStateValue(key, value, (this as unknown as Record<string, unknown>)[fieldOf(key)], where)]);
      else extras[key] = copyPlain(value);
    }
    for (const [field, value] of updates) (this as unknown as Record<string, unknown>)[field] = value;
    this.extraState = extras;
    this.afterLoad();
  }

  /** Re-derives what a load changed (ReduceLROnPlateau's comparison, CyclicLR's scale function). */
  protected afterLoad(): void {}
}

/**
 * The base of every LR scheduler that steps by count. A subclass sets its
 * own fields, then calls `start(lastEpoch)`, which takes the first step as
 * PyTorch's constructor does; it implements `getLr()` with PyTorch's formula.
 */
export abstract class LRScheduler extends SchedulerBase {
  /** Each group's `initial_lr`, the rate the schedule starts from. */
  baseLrs: number[] = [];
  /** How many times step() ran, construction included (PyTorch's `_step_count`). */
  protected stepCount = 0;

  /**
   * PyTorch's LRScheduler.__init__: records `initial_lr` in each group (or,
   * resuming with `lastEpoch` ≥ 0, requires it there), then takes the first step.
   */
  protected start(lastEpoch: number): void {
    const owner = this.constructor.name;
    if (!Number.isSafeInteger(lastEpoch) || lastEpoch < -1) throw typeError(`${owner} lastEpoch`, 'an integer >= -1', lastEpoch);
    const groups = this.groups;
    if (lastEpoch === -1) {
      for (const group of groups) if (!('initial_lr' in group)) group.initial_lr = group.lr;
    } else {
      groups.forEach((group, i) => {
        if (!('initial_lr' in group)) {
          throw new RangeError(`param 'initial_lr' is not specified in paramGroups[${i}] when resuming (${owner} lastEpoch = ${lastEpoch}); ` +
            "load the optimizer's state dict first, or construct with lastEpoch -1");
        }
      });
    }
    this.baseLrs = groups.map((group, i) => checkNumber(owner, `paramGroups[${i}].initial_lr`, group.initial_lr));
    this.lastEpoch = lastEpoch;
    this.initialStep();
  }

  /** @internal The step PyTorch's constructor takes (SequentialLR takes it again). */
  initialStep(): void {
    this.stepCount = 0;
    this.step();
  }

  /** Advances the schedule by one step and sets each group's `lr`. Call it after optimizer.step(). */
  step(): void {
    this.undoable(() => {
      this.stepCount += 1;
      this.lastEpoch += 1;
      this.setLrs(this.getLr());
    });
  }

  /**
   * Runs a step; if it throws (OneCycleLR past totalSteps, an error in a
   * lambda), the schedule and the groups are left where they were.
   */
  protected undoable(fn: () => void): void {
    const { stepCount, lastEpoch, lastLr } = this;
    try {
      this.keepingGroups(fn);
    } catch (error) {
      this.stepCount = stepCount;
      this.lastEpoch = lastEpoch;
      this.lastLr = lastLr;
      throw error;
    }
  }

  /**
   * @internal PyTorch's deprecated `step(epoch)`: jumps to `epoch`, with the
   * closed form where the scheduler has one. SequentialLR uses it at its milestones.
   */
  stepTo(epoch: number): void {
    this.undoable(() => {
      this.stepCount += 1;
      this.lastEpoch = epoch;
      this.setLrs(this.closedFormLr() ?? this.getLr());
    });
  }

  /** Sets each group's lr, and records them as the last ones. */
  protected setLrs(values: readonly number[]): void {
    const groups = this.groups;
    values.forEach((lr, i) => {
      if (i < groups.length) groups[i].lr = lr;
    });
    this.lastLr = groups.map((g) => g.lr);
  }

  /** The rates of the step being taken, from the groups' current ones (PyTorch's get_lr). */
  protected abstract getLr(): number[];

  /** The rates at `lastEpoch` from the base rates, where PyTorch has a closed form. */
  protected closedFormLr(): number[] | undefined {
    return undefined;
  }
}

/** Throws unless `dict` is a scheduler's state dict, with a hint for the mistakes porting code makes. */
export function checkStateDict(owner: string, dict: unknown): asserts dict is SchedulerStateDict {
  if (dict instanceof Promise) throw new TypeError(`${owner}.loadStateDict() got a Promise: did you forget await on loadTorch?`);
  if (dict === null || typeof dict !== 'object' || Array.isArray(dict)) throw typeError(`${owner} state dict`, 'an object', dict);
  if ('state' in dict && 'param_groups' in dict) {
    throw new TypeError(`${owner}.loadStateDict() got an optimizer's state dict (keys state, param_groups); pass it to the optimizer's loadStateDict()`);
  }
  if ('scheduler_state_dict' in dict || 'lr_scheduler' in dict) {
    const keys = Object.keys(dict).join(', ');
    throw new TypeError(`${owner}.loadStateDict() got what looks like a checkpoint with keys ${keys}; pass its scheduler's entry`);
  }
}

/** Throws unless a loaded value has the form of the field it replaces: number, string, boolean, array of the same length. */
function checkLike(where: string, value: unknown, current: unknown): void {
  if (current === null || current === undefined) return;
  if (typeof current === 'number') {
    if (typeof value === 'bigint' && Number.isSafeInteger(Number(value))) return;
    if (typeof value !== 'number') throw typeError(where, 'a number', value);
    return;
  }
  if (typeof current !== 'object') {
    if (typeof value !== typeof current) throw typeError(where, `a ${typeof current}`, value);
    return;
  }
  if (Array.isArray(current)) {
    if (!Array.isArray(value)) throw typeError(where, `a list of ${current.length}`, value);
    if (current.length !== value.length) throw new RangeError(`${where} has ${value.length} values, the scheduler ${current.length} (one per param group)`);
    value.forEach((v, i) => checkLike(`${where}[${i}]`, v, current[i]));
    return;
  }
  if (value === null || typeof value !== 'object') throw typeError(where, describe(current), value);
}

/** A deep copy of plain data (numbers, strings, arrays, plain objects, Maps of numbers). */
export function copyPlain<T>(value: T): T {
  if (typeof value === 'bigint') return Number(value) as T;
  if (value === null || typeof value !== 'object') return value;
  if (Array.isArray(value)) return value.map(copyPlain) as T;
  if (value instanceof Map) return new Map(value) as T;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) out[k] = copyPlain(v);
  return out as T;
}

/** A Counter of milestones (MultiStepLR) as a state dict holds it: a collections.Counter of int keys. */
export function counterToDict(counter: ReadonlyMap<number, number>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [milestone, count] of counter) {
    out[String(milestone)] = count;
    markIntKey(out, String(milestone));
  }
  COUNTERS.add(out);
  return out;
}

/** A loaded Counter (or plain dict, or list) of milestones, as a Map from milestone to count. */
export function counterFromDict(where: string, value: unknown): Map<number, number> {
  const out = new Map<number, number>();
  if (Array.isArray(value)) {
    for (const m of value) out.set(checkMilestone(where, m), (out.get(m as number) ?? 0) + 1);
    return out;
  }
  if (value === null || typeof value !== 'object') throw typeError(where, 'a Counter of milestones', value);
  for (const [key, count] of Object.entries(value)) {
    const c = typeof count === 'bigint' ? Number(count) : count;
    if (!Number.isSafeInteger(c)) throw typeError(`${where}[${key}]`, 'a count', count);
    out.set(checkMilestone(where, Number(key)), c as number);
  }
  return out;
}

function checkMilestone(where: string, m: unknown): number {
  if (typeof m !== 'number' || !Number.isSafeInteger(m)) throw typeError(`${where} milestone`, 'an integer', m);
  return m;
}
