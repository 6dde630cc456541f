// Cosine annealing: CosineAnnealingLR in PyTorch's recursive form (its
// closed form gives other bits from about the second step), and
// CosineAnnealingWarmRestarts, which PyTorch computes in closed form.
import { libm } from '../engine/backend';
import { checkInteger, checkNumber, checkOptions, LRScheduler, type LrOptimizer } from './scheduler';
import { BASE_KEYS } from './factor';

/** Options of {@link CosineAnnealingLR}. */
export interface CosineAnnealingLROptions {
  /** Steps of a half cosine period: the rate reaches `etaMin` at step `tMax` (PyTorch's T_max). */
  tMax: number;
  /** The lowest rate (default 0). */
  etaMin?: number;
  /** The index of the last step taken, to resume; -1 starts afresh. */
  lastEpoch?: number;
}

/**
 * Anneals the rate from its initial value to `etaMin` along a half cosine
 * over `tMax` steps (and back up over the next `tMax`, as PyTorch's does).
 *
 * @example
 * ```ts
 * const sched = new CosineAnnealingLR(opt, { tMax: 1000, etaMin: 1e-5 });
 * ```
 */
export class CosineAnnealingLR extends LRScheduler {
  /** Steps of a half period. */
  tMax: number;
  /** The lowest rate. */
  etaMin: number;

  constructor(optimizer: LrOptimizer, options: CosineAnnealingLROptions) {
    super(optimizer, 'CosineAnnealingLR');
    const o = checkOptions('CosineAnnealingLR', options, ['tMax', 'etaMin', 'lastEpoch']);
    this.tMax = checkInteger('CosineAnnealingLR', 'tMax', o.tMax, 1);
    this.etaMin = checkNumber('CosineAnnealingLR', 'etaMin', o.etaMin ?? 0);
    this.start((o.lastEpoch as number | undefined) ?? -1);
  }

  protected getLr(): number[] {
    const { tMax, etaMin, lastEpoch } = this;
    const groups = this.groups;
    if (lastEpoch === 0) return groups.map((g) => g.lr);
    if (this.stepCount === 1 && lastEpoch > 0) {
      // Constructed with lastEpoch: the first step takes the closed form.
      const c = libm.cos((lastEpoch * Math.PI) / tMax);
      return this.baseLrs.map((base) => etaMin + ((base - etaMin) * (1 + c)) / 2);
    }
    if ((lastEpoch - 1 - tMax) % (2 * tMax) === 0) {
      const c = libm.cos(Math.PI / tMax);
      return groups.map((g, i) => g.lr + ((this.baseLrs[i] - etaMin) * (1 - c)) / 2);
    }
    const ratio = (1 + libm.cos((Math.PI * lastEpoch) / tMax)) / (1 + libm.cos((Math.PI * (lastEpoch - 1)) / tMax));
    return groups.map((g) => ratio * (g.lr - etaMin) + etaMin);
  }

  protected override closedFormLr(): number[] {
    const c = libm.cos((Math.PI * this.lastEpoch) / this.tMax);
    return this.baseLrs.map((base) => this.etaMin + ((base - this.etaMin) * (1 + c)) / 2);
  }

  protected stateKeys(): readonly string[] {
    return ['T_max', 'eta_min', ...BASE_KEYS];
  }
}

/** Options of {@link CosineAnnealingWarmRestarts}. */
export interface CosineAnnealingWarmRestartsOptions {
  /** Steps of the first cycle (PyTorch's T_0). */
  t0: number;
  /** The factor by which each cycle is longer than the last (default 1; PyTorch's T_mult). */
  tMult?: number;
  /** The lowest rate (default 0). */
  etaMin?: number;
  /** The index of the last step taken, to resume; -1 starts afresh. */
  lastEpoch?: number;
}

/**
 * Anneals the rate along a half cosine over `t0` steps, then restarts from
 * the initial rate, each cycle `tMult` times longer (SGDR).
 */
export class CosineAnnealingWarmRestarts extends LRScheduler {
  /** Steps of the first cycle. */
  t0: number;
  /** Steps of the current cycle. */
  tI: number;
  /** The factor by which each cycle is longer than the last. */
  tMult: number;
  /** The lowest rate. */
  etaMin: number;
  /** Steps into the current cycle. */
  tCur: number;

  constructor(optimizer: LrOptimizer, options: CosineAnnealingWarmRestartsOptions) {
    super(optimizer, 'CosineAnnealingWarmRestarts');
    const o = checkOptions('CosineAnnealingWarmRestarts', options, ['t0', 'tMult', 'etaMin', 'lastEpoch']);
    this.t0 = checkInteger('CosineAnnealingWarmRestarts', 't0', o.t0, 1);
    this.tI = this.t0;
    this.tMult = checkInteger('CosineAnnealingWarmRestarts', 'tMult', o.tMult ?? 1, 1);
    this.etaMin = checkNumber('CosineAnnealingWarmRestarts', 'etaMin', o.etaMin ?? 0);
    const lastEpoch = (o.lastEpoch as number | undefined) ?? -1;
    this.tCur = lastEpoch;
    this.start(lastEpoch);
  }

  protected getLr(): number[] {
    const c = libm.cos((Math.PI * this.tCur) / this.tI);
    return this.baseLrs.map((base) => this.etaMin + ((base - this.etaMin) * (1 + c)) / 2);
  }

  /** Advances one step, restarting the cycle at its end. PyTorch's leaves `_step_count` at 0. */
  override step(): void {
    if (this.lastEpoch < 0) {
      this.stepTo(0);
      return;
    }
    const { tCur, tI } = this;
    this.undoableCycle(tCur, tI, () => {
      this.tCur += 1;
      if (this.tCur >= this.tI) {
        this.tCur -= this.tI;
        this.tI *= this.tMult;
      }
      this.lastEpoch += 1;
      this.setLrs(this.getLr());
    });
  }

  /** undoable(), the cycle's position included. */
  private undoableCycle(tCur: number, tI: number, fn: () => void): void {
    try {
      this.undoable(fn);
    } catch (error) {
      this.tCur = tCur;
      this.tI = tI;
      throw error;
    }
  }

  /** @internal PyTorch's step(epoch), for the epochs SequentialLR passes (0 at a milestone). */
  override stepTo(epoch: number): void {
    // PyTorch finds the cycle with a floating-point log here; no scheduler of this library asks for it.
    if (epoch >= this.t0 && this.tMult !== 1) throw new RangeError(`CosineAnnealingWarmRestarts cannot jump to step ${epoch} with tMult ${this.tMult}`);
    this.undoableCycle(this.tCur, this.tI, () => {
      if (epoch >= this.t0) {
        this.tCur = epoch % this.t0;
      } else {
        this.tI = this.t0;
        this.tCur = epoch;
      }
      this.lastEpoch = epoch;
      this.setLrs(this.getLr());
    });
  }

  protected stateKeys(): readonly string[] {
    return ['T_0', 'T_i', 'T_mult', 'eta_min', 'T_cur', ...BASE_KEYS];
  }
}
