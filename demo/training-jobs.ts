// The kind of training run the worker pool takes: a run of the α × batch sweep.
import type { Dataset } from './data';
import { runSweepJob, type SweepJob, type SweepJobResult } from './sweep';

export type TrainingJob = SweepJob;
export type TrainingJobResult = SweepJobResult;

export function runTrainingJob(split: { train: Dataset; test: Dataset }, job: TrainingJob): TrainingJobResult {
  return runSweepJob(split, job);
}

/** Roughly how long a job takes: the images it trains on (the final evaluation is small next to them). */
export function jobCost(job: TrainingJob, _trainImages: number): number {
  return job.steps * job.batchSize;
}
