// ReduceLROnPlateau: lowers the rate when a metric stops improving. It
// steps on a metric, not a count, so it is not an LRScheduler (as in
// PyTorch, where SequentialLR and ChainedScheduler refuse it too).
import { typeError } from '../core/errors';
import { checkInteger, checkNumber, checkOptions, perGroup, SchedulerBase, type LrOptimizer } from './scheduler';

/** Options of {@link ReduceLROnPlateau}. */
export interface ReduceLROnPlateauOptions {
  /** 'min' (default): lower is better, as for a loss; 'max': higher is better. */
  mode?: 'min' | 'max';
  /** The factor of each reduction (default 0.1), below 1. */
  factor?: number;
  /** Steps without improvement before a reduction (default 10). */
  patience?: number;
  /** How much better counts as better (default 1e-4). */
  threshold?: number;
  /** 'rel' (default): better by a fraction of the best; 'abs': by an amount. */
  thresholdMode?: 'rel' | 'abs';
  /** Steps to wait after a reduction before counting again (default 0). */
  cooldown?: number;
  /** The lowest rate, or one per group (default 0). */
  minLr?: number | number[];
  /** A reduction smaller than this is skipped (default 1e-8). */
  eps?: number;
}

/**
 * Multiplies the rate by `factor` once the metric has not improved for
 * `patience` steps.
 *
 * @example
 * ```ts
 * const plateau = new ReduceLROnPlateau(opt, { patience: 5 });
 * plateau.step(validationLoss);
 * ```
 */
export class ReduceLROnPlateau extends SchedulerBase {
  /** The factor of each reduction. */
  factor: number;
  /** The single minLr given, or null when one per group was. */
  defaultMinLr: number | null;
  /** The lowest rate of each group. */
  minLrs: number[];
  /** Steps without improvement before a reduction. */
  patience: number;
  /** Steps to wait after a reduction. */
  cooldown: number;
  /** Steps of cooldown left. */
  cooldownCounter = 0;
  /** 'min' or 'max'. */
  mode: 'min' | 'max';
  /** How much better counts as better. */
  threshold: number;
  /** 'rel' or 'abs'. */
  thresholdMode: 'rel' | 'abs';
  /** A reduction smaller than this is skipped. */
  eps: number;
  /** The worst value of the mode: +∞ for 'min', -∞ for 'max'. */
  modeWorse: number;
  /** The best metric so far. */
  best: number;
  /** Steps since the best metric. */
  numBadEpochs = 0;

  constructor(optimizer: LrOptimizer, options: ReduceLROnPlateauOptions = {}) {
    const owner = 'ReduceLROnPlateau';
    super(optimizer, owner);
    const o = checkOptions(owner, options, ['mode', 'factor', 'patience', 'threshold', 'thresholdMode', 'cooldown', 'minLr', 'eps']);
    const factor = checkNumber(owner, 'factor', o.factor ?? 0.1);
    if (factor >= 1.0) throw new RangeError(`ReduceLROnPlateau factor should be < 1.0, got ${factor}`);
    const groups = this.groups.length;
    const minLr = o.minLr ?? 0;
    const mode = o.mode ?? 'min';
    if (mode !== 'min' && mode !== 'max') throw typeError(`${owner} mode`, "'min' or 'max'", mode);
    const thresholdMode = o.thresholdMode ?? 'rel';
    if (thresholdMode !== 'rel' && thresholdMode !== 'abs') throw typeError(`${owner} thresholdMode`, "'rel' or 'abs'", thresholdMode);
    this.factor = factor;
    this.defaultMinLr = Array.isArray(minLr) ? null : checkNumber(owner, 'minLr', minLr);
    this.minLrs = perGroup(owner, 'minLr', minLr, groups);
    this.patience = checkInteger(owner, 'patience', o.patience ?? 10, 0);
    this.cooldown = checkInteger(owner, 'cooldown', o.cooldown ?? 0, 0);
    this.mode = mode;
    this.threshold = checkNumber(owner, 'threshold', o.threshold ?? 1e-4);
    this.thresholdMode = thresholdMode;
    this.eps = checkNumber(owner, 'eps', o.eps ?? 1e-8);
    this.lastEpoch = 0;
    this.lastLr = this.groups.map((g) => g.lr);
    this.modeWorse = mode === 'min' ? Infinity : -Infinity;
    this.best = this.modeWorse;
  }

  /** Records the metric of this step (a validation loss, say), and lowers the rate after `patience` steps without improvement. */
  step(metrics: number): void {
    if (typeof metrics !== 'number') throw typeError('ReduceLROnPlateau.step() metrics', 'a number', metrics);
    // Worked out first, committed after the one check that can fail.
    let best = this.best;
    let bad = this.numBadEpochs + 1;
    if (this.isBetter(metrics, best)) [best, bad] = [metrics, 0];
    let cooldownCounter = this.cooldownCounter;
    if (cooldownCounter > 0) [cooldownCounter, bad] = [cooldownCounter - 1, 0];
    const reduce = bad > this.patience;
    if (reduce && this.minLrs.length !== this.groups.length) {
      if (this.defaultMinLr === null) {
        throw new RangeError(`The number of param groups in the optimizer (${this.groups.length}) differs from when ReduceLROnPlateau was ` +
          `constructed (${this.minLrs.length}), usually because a group was added; set minLrs to one value per group`);
      }
      this.minLrs = new Array<number>(this.groups.length).fill(this.defaultMinLr);
    }
    this.lastEpoch += 1;
    this.best = best;
    this.numBadEpochs = bad;
    this.cooldownCounter = cooldownCounter;
    if (reduce) {
      this.reduceLr();
      this.cooldownCounter = this.cooldown;
      this.numBadEpochs = 0;
    }
    this.lastLr = this.groups.map((g) => g.lr);
  }

  private reduceLr(): void {
    this.groups.forEach((group, i) => {
      const oldLr = group.lr;
      const reduced = oldLr * this.factor;
      const newLr = this.minLrs[i] > reduced ? this.minLrs[i] : reduced; // Python's max(reduced, min_lr)
      if (oldLr - newLr > this.eps) group.lr = newLr;
    });
  }

  /** Whether `a` improves on `best` by more than the threshold. */
  isBetter(a: number, best: number): boolean {
    if (this.mode === 'min' && this.thresholdMode === 'rel') return a < best * (1.0 - this.threshold);
    if (this.mode === 'min') return a < best - this.threshold;
    if (this.thresholdMode === 'rel') return a > best * (this.threshold + 1.0);
    return a > best + this.threshold;
  }

  protected stateKeys(): readonly string[] {
    return ['factor', 'default_min_lr', 'min_lrs', 'patience', 'verbose', 'cooldown', 'cooldown_counter', 'mode', 'threshold',
      'threshold_mode', 'eps', 'last_epoch', '_last_lr', 'mode_worse', 'best', 'num_bad_epochs'];
  }

  protected override fromStateValue(key: string, value: unknown, current: unknown, where: string): unknown {
    // One min_lr per group: the count may differ from now (PyTorch re-derives it at the next reduction).
    if (key === 'min_lrs' && Array.isArray(value)) return value.map((v, i) => checkNumber(where, `[${i}]`, v));
    if (key === 'default_min_lr' && (value === null || typeof value === 'number')) return value;
    return super.fromStateValue(key, value, current, where);
  }

  protected override afterLoad(): void {
    // PyTorch's load re-runs _init_is_better: mode_worse follows the loaded mode.
    this.modeWorse = this.mode === 'min' ? Infinity : -Infinity;
  }
}
