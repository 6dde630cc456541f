// The α × batch-size sweep: RMSprop at one learning rate, every combination
// of α ∈ {0.5, 0.9, 0.99, 0.999} and batch ∈ {8, 32, 128, 512}, each trained
// for the same number of optimizer steps, scored by the final loss on the
// whole training set.
import { RMSprop } from '../index';
import type { Dataset } from './data';
import { train } from './runs';

export const SWEEP_ALPHAS = [0.5, 0.9, 0.99, 0.999] as const;
export const SWEEP_BATCHES = [8, 32, 128, 512] as const;
export const SWEEP_LR = 3e-3;

export interface SweepCell {
  alpha: number;
  batchSize: number;
  steps: number;
  /** Mean over the seeds of the final loss on the whole training set. */
  finalTrainLoss: number;
  /** The final training loss of each seed. */
  seedLosses: number[];
  /** Mean over the seeds. */
  testAccuracy: number;
}

/**
 * Same number of steps for every cell, so a cell differs from its neighbours
 * only in how noisy each gradient is (batch) and how long v remembers (α);
 * a larger batch therefore sees more images in all. Each cell is the mean of
 * `seeds` runs (different initial weights and batch orders), so that one
 * lucky or unlucky run does not colour a cell.
 */
export function runSweep(
  split: { train: Dataset; test: Dataset },
  { steps, seeds }: { steps: number; seeds: number },
  onRun?: (done: number, total: number) => void,
): SweepCell[] {
  const cells: SweepCell[] = [];
  const total = SWEEP_ALPHAS.length * SWEEP_BATCHES.length * seeds;
  let done = 0;
  for (const alpha of SWEEP_ALPHAS) {
    for (const batchSize of SWEEP_BATCHES) {
      const stepsPerEpoch = Math.floor(split.train.n / batchSize);
      const finals = [];
      for (let seed = 0; seed < seeds; seed++) {
        const r = train(split, (params) => new RMSprop(params, { lr: SWEEP_LR, alpha }), {
          epochs: Math.ceil(steps / stepsPerEpoch),
          batchSize,
          maxSteps: steps,
          evaluateEveryEpoch: false,
          seedOffset: seed,
        });
        finals.push(r.epochs[r.epochs.length - 1]);
        onRun?.(++done, total);
      }
      const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
      cells.push({
        alpha,
        batchSize,
        steps,
        finalTrainLoss: mean(finals.map((f) => f.trainLoss)),
        seedLosses: finals.map((f) => f.trainLoss),
        testAccuracy: mean(finals.map((f) => f.testAccuracy)),
      });
    }
  }
  return cells;
}
