// The kinds of training run the worker pool takes: a run of the α × batch
// sweep, or a run of the five runs' lr tuning.
import type { Dataset } from './data';
import { runTuneJob, type TuneJob, type TuneJobResult } from './lr-tuning';
import { runSweepJob, type SweepJob, type SweepJobResult } from './sweep';

export type TrainingJob = SweepJob | TuneJob;
export type TrainingJobResult = SweepJobResult | TuneJobResult;

export function runTrainingJob(split: { train: Dataset; test: Dataset }, job: TrainingJob): TrainingJobResult {
  return job.kind === 'sweep' ? runSweepJob(split, job) : runTuneJob(split, job);
}

/** Roughly how long a job takes: the images it trains on (the final evaluation is small next to them). */
export function jobCost(job: TrainingJob, trainImages: number): number {
  return job.kind === 'sweep' ? job.steps * job.batchSize : job.epochs * trainImages;
}
