// The α × batch-size sweep: RMSprop with every combination of
// α ∈ {0.5, 0.9, 0.99, 0.999} and batch ∈ {8, 32, 128, 512}, each trained for
// the same number of optimizer steps with several seeds, at the learning rate
// that suits that cell best. Which lr that is differs by a factor of 30
// between cells, so each cell searches for its own (see searchCell).
import { RMSprop } from 'simd-optim';
import type { Dataset } from './data';
import { byLearningRate, pickBest, type LrResult } from './lr-choice';
import { train } from './runs';

export const SWEEP_ALPHAS = [0.5, 0.9, 0.99, 0.999] as const;
export const SWEEP_BATCHES = [8, 32, 128, 512] as const;
/** Half decades: the learning rates a cell may try, and the bounds of its search. */
export const SWEEP_LR_LADDER = [1e-4, 3e-4, 1e-3, 3e-3, 0.01, 0.03, 0.1, 0.3, 1] as const;
/** Every cell starts with these, and goes further out while its best is at an edge. */
export const SWEEP_START_LRS = [3e-3, 0.01, 0.03] as const;

/** One training run of the sweep. */
export interface SweepJob {
  kind: 'sweep';
  alpha: number;
  batchSize: number;
  lr: number;
  seed: number;
  steps: number;
}

export interface SweepJobResult extends SweepJob {
  /** The loss on the whole training set after the last step; Infinity if the run diverged. */
  finalTrainLoss: number;
  testAccuracy: number;
}

export interface SweepCell {
  alpha: number;
  batchSize: number;
  steps: number;
  seeds: number;
  /** The learning rate whose geometric mean final training loss over the seeds is lowest. */
  bestLr: number;
  /**
   * 'low' or 'high' if bestLr is the smallest or largest lr the cell tried: a
   * better one may lie beyond it. The search only stops there at the ladder's
   * bounds; null when the best has a worse lr on both sides.
   */
  edge: 'low' | 'high' | null;
  /** That geometric mean. */
  finalTrainLoss: number;
  /** The final training loss of each seed at bestLr (lowest and highest: the range the chart shows). */
  seedLosses: number[];
  /** Mean test accuracy over the seeds at bestLr. */
  testAccuracy: number;
  /** Every lr the cell tried, smallest first. */
  byLr: LrResult[];
}

/** Trains one run of the sweep. */
export function runSweepJob(split: { train: Dataset; test: Dataset }, job: SweepJob): SweepJobResult {
  const stepsPerEpoch = Math.floor(split.train.n / job.batchSize);
  const r = train(split, (params) => new RMSprop(params, { lr: job.lr, alpha: job.alpha }), {
    epochs: Math.ceil(job.steps / stepsPerEpoch),
    batchSize: job.batchSize,
    maxSteps: job.steps,
    evaluateEveryEpoch: false,
    seedOffset: job.seed,
  });
  const last = r.epochs[r.epochs.length - 1];
  // A diverged run ends with a NaN loss; it counts as the worst, not as missing.
  const loss = Number.isFinite(last.trainLoss) ? last.trainLoss : Infinity;
  return { ...job, finalTrainLoss: loss, testAccuracy: last.testAccuracy };
}

/**
 * One cell's search: every seed at SWEEP_START_LRS; then, while the best lr
 * is the smallest (largest) tried, the next half decade below (above) it, up
 * to the ladder's bounds. So each cell's winner ends with a worse lr on both
 * sides, or is marked as an edge. `run` trains one job (on the pool).
 */
export async function searchCell(
  cell: { alpha: number; batchSize: number; steps: number; seeds: number },
  run: (job: SweepJob) => Promise<SweepJobResult>,
): Promise<{ cell: SweepCell; runs: SweepJobResult[] }> {
  const { alpha, batchSize, steps, seeds } = cell;
  const runs: SweepJobResult[] = [];
  const tryLr = async (lr: number) => {
    runs.push(...(await Promise.all(Array.from({ length: seeds }, (_, seed) => run({ kind: 'sweep', alpha, batchSize, lr, seed, steps })))));
  };
  await Promise.all(SWEEP_START_LRS.map(tryLr));
  for (;;) {
    const { best, edge } = pickBest(byLearningRate(runs));
    const at = SWEEP_LR_LADDER.indexOf(best.lr as (typeof SWEEP_LR_LADDER)[number]);
    const next = edge === 'low' ? SWEEP_LR_LADDER[at - 1] : edge === 'high' ? SWEEP_LR_LADDER[at + 1] : undefined;
    if (next === undefined) break;
    await tryLr(next);
  }
  const byLr = byLearningRate(runs);
  const { best, edge } = pickBest(byLr);
  return {
    cell: {
      alpha, batchSize, steps, seeds,
      bestLr: best.lr,
      edge,
      finalTrainLoss: best.loss,
      seedLosses: best.seedLosses,
      testAccuracy: best.testAccuracy,
      byLr,
    },
    runs: runs.sort((a, b) => a.lr - b.lr || a.seed - b.seed),
  };
}

export interface SweepResult {
  steps: number;
  seeds: number;
  startLrs: readonly number[];
  ladder: readonly number[];
  cells: SweepCell[];
  /** Every training run, cell by cell. */
  runs: SweepJobResult[];
}

/** Searches every cell at once (their jobs share `run`'s pool); cells in α-major order. */
export async function runSweep(
  { steps, seeds }: { steps: number; seeds: number },
  run: (job: SweepJob) => Promise<SweepJobResult>,
): Promise<SweepResult> {
  const searches = SWEEP_ALPHAS.flatMap((alpha) => SWEEP_BATCHES.map((batchSize) => searchCell({ alpha, batchSize, steps, seeds }, run)));
  const done = await Promise.all(searches);
  return { steps, seeds, startLrs: SWEEP_START_LRS, ladder: SWEEP_LR_LADDER, cells: done.map((d) => d.cell), runs: done.flatMap((d) => d.runs) };
}
