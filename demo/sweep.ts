// The α × batch-size sweep: RMSprop with every combination of
// α ∈ {0.5, 0.9, 0.99, 0.999} and batch ∈ {8, 32, 128, 512}, each trained for
// the same number of optimizer steps at several learning rates; a cell shows
// the best of them, scored by the final loss on the whole training set.
import { RMSprop } from 'simd-optim';
import type { Dataset } from './data';
import { train } from './runs';

export const SWEEP_ALPHAS = [0.5, 0.9, 0.99, 0.999] as const;
export const SWEEP_BATCHES = [8, 32, 128, 512] as const;
/**
 * Each cell gets its own best learning rate from this grid: at one fixed lr
 * the comparison would mostly show which α suits that lr. (A wider grid,
 * 3e-4 to 0.03 at 400 steps, never picked anything below 0.003.)
 */
export const SWEEP_LRS = [0.003, 0.01, 0.03, 0.1] as const;

/** One training run of the sweep. */
export interface SweepJob {
  alpha: number;
  batchSize: number;
  lr: number;
  seed: number;
  steps: number;
}

export interface SweepJobResult extends SweepJob {
  finalTrainLoss: number;
  testAccuracy: number;
}

export interface SweepCell {
  alpha: number;
  batchSize: number;
  steps: number;
  /** The learning rate with the lowest mean final training loss. */
  bestLr: number;
  /** That mean: the loss on the whole training set after `steps` steps, averaged over the seeds. */
  finalTrainLoss: number;
  /** The final training loss of each seed at bestLr. */
  seedLosses: number[];
  /** Mean test accuracy over the seeds at bestLr. */
  testAccuracy: number;
  /** Mean final training loss at every learning rate of the grid. */
  lossByLr: Record<string, number>;
}

/**
 * Every run of the sweep, the costliest first (so that parallel workers end
 * together). Same number of steps for every cell, so a cell differs from its
 * neighbours only in how noisy each gradient is (batch) and how long v
 * remembers (α); a larger batch therefore sees more images in all. Each
 * (cell, lr) is run with `seeds` different initial weights and batch orders.
 */
export function sweepJobs({ steps, seeds }: { steps: number; seeds: number }): SweepJob[] {
  const jobs: SweepJob[] = [];
  for (const batchSize of [...SWEEP_BATCHES].reverse()) {
    for (const alpha of SWEEP_ALPHAS) {
      for (const lr of SWEEP_LRS) {
        for (let seed = 0; seed < seeds; seed++) jobs.push({ alpha, batchSize, lr, seed, steps });
      }
    }
  }
  return jobs;
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

/** Groups the runs into cells and picks each cell's best learning rate. */
export function summarizeSweep(results: SweepJobResult[]): SweepCell[] {
  const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
  const cells: SweepCell[] = [];
  for (const alpha of SWEEP_ALPHAS) {
    for (const batchSize of SWEEP_BATCHES) {
      const runs = results.filter((r) => r.alpha === alpha && r.batchSize === batchSize);
      if (runs.length === 0) continue;
      const atLr = (lr: number) => runs.filter((r) => r.lr === lr);
      const lossByLr: Record<string, number> = {};
      for (const lr of SWEEP_LRS) lossByLr[lr] = mean(atLr(lr).map((r) => r.finalTrainLoss));
      const bestLr = SWEEP_LRS.reduce((best, lr) => (lossByLr[lr] < lossByLr[best] ? lr : best));
      const best = atLr(bestLr).sort((a, b) => a.seed - b.seed);
      cells.push({
        alpha,
        batchSize,
        steps: runs[0].steps,
        bestLr,
        finalTrainLoss: lossByLr[bestLr],
        seedLosses: best.map((r) => r.finalTrainLoss),
        testAccuracy: mean(best.map((r) => r.testAccuracy)),
        lossByLr,
      });
    }
  }
  return cells;
}
