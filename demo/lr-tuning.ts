// How the five runs' learning rates are chosen (tune-lrs.ts runs it): each
// optimizer trains the demo's model at every lr of a grid of half decades,
// for the demo's 40 epochs at batch 32, with three seeds (seed 0 is the
// demo's own weights and batch order), and keeps the lr of lowest geometric
// mean final training loss (lr-choice.ts). Tuned on three seeds, not only the
// demo's: an lr picked on one seed can be one that got lucky.
import type { Dataset } from './data';
import { byLearningRate, pickBest, type LrResult } from './lr-choice';
import { RUNS, train } from './runs';

export const TUNE_GRID = [1e-4, 3e-4, 1e-3, 3e-3, 0.01, 0.03, 0.1, 0.3, 1, 3] as const;
export const TUNE_EPOCHS = 40;
export const TUNE_SEEDS = 3;

/** One training run of the tuning: run `runId` of RUNS at `lr`. */
export interface TuneJob {
  kind: 'tune';
  runId: string;
  lr: number;
  seed: number;
  epochs: number;
}

export interface TuneJobResult extends TuneJob {
  finalTrainLoss: number;
  testAccuracy: number;
}

export function tuneJobs(epochs = TUNE_EPOCHS, seeds = TUNE_SEEDS): TuneJob[] {
  return RUNS.flatMap((spec) =>
    TUNE_GRID.flatMap((lr) => Array.from({ length: seeds }, (_, seed): TuneJob => ({ kind: 'tune', runId: spec.id, lr, seed, epochs }))),
  );
}

export function runTuneJob(split: { train: Dataset; test: Dataset }, job: TuneJob): TuneJobResult {
  const spec = RUNS.find((s) => s.id === job.runId);
  if (spec === undefined) throw new Error(`no demo run '${job.runId}'`);
  const r = train(split, (params) => spec.make(params, job.lr), { epochs: job.epochs, evaluateEveryEpoch: false, seedOffset: job.seed });
  const last = r.epochs[r.epochs.length - 1];
  const loss = Number.isFinite(last.trainLoss) ? last.trainLoss : Infinity;
  return { ...job, finalTrainLoss: loss, testAccuracy: last.testAccuracy };
}

export interface TuningSummary {
  runId: string;
  label: string;
  /** The lr the demo uses (RUNS). */
  demoLr: number;
  /** The lr the tuning picked. */
  bestLr: number;
  /** Whether bestLr is the grid's smallest or largest. */
  edge: 'low' | 'high' | null;
  byLr: LrResult[];
}

export function summarizeTuning(results: readonly TuneJobResult[]): TuningSummary[] {
  return RUNS.map((spec) => {
    const byLr = byLearningRate(results.filter((r) => r.runId === spec.id));
    const { best, edge } = pickBest(byLr);
    return { runId: spec.id, label: spec.label, demoLr: spec.lr, bestLr: best.lr, edge, byLr };
  });
}
