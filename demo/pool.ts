// Runs training jobs on worker threads, one per core: each job is
// independent and seeded, so its result does not depend on which worker ran
// it or when. Jobs can be added while others run (a sweep cell asks for more
// learning rates after seeing its first ones); the costliest waiting job goes
// first, so that the workers finish together.
import { cpus } from 'os';
import { join } from 'path';
import { Worker } from 'worker_threads';
import type { Dataset } from './data';
import type { TuneJob, TuneJobResult } from './lr-tuning';
import type { SweepJob, SweepJobResult } from './sweep';
import { jobCost, runTrainingJob, type TrainingJob, type TrainingJobResult } from './training-jobs';

/** Worker threads to use: one per core, at most 8 (each holds its own copy of the data, ~1 MB). */
export function poolThreads(): number {
  return Math.max(1, Math.min(8, cpus().length));
}

interface Waiting {
  job: TrainingJob;
  cost: number;
  resolve(result: TrainingJobResult): void;
  reject(err: unknown): void;
}

export class TrainingPool {
  readonly threads: number;
  private readonly waiting: Waiting[] = [];
  private readonly idle: Worker[] = [];
  private readonly running = new Map<Worker, Waiting>();
  private readonly workers: Worker[] = [];
  private failure: unknown = null;

  /**
   * From TypeScript sources (tsx) a worker could not load pool-worker.ts, so
   * there the jobs run on this thread instead, one at a time.
   */
  constructor(private readonly split: { train: Dataset; test: Dataset }, threads = poolThreads()) {
    const compiled = __filename.endsWith('.js');
    this.threads = compiled ? threads : 1;
    if (!compiled) return;
    for (let i = 0; i < threads; i++) {
      const worker = new Worker(join(__dirname, 'pool-worker.js'));
      worker.on('message', (result: TrainingJobResult) => {
        this.running.get(worker)?.resolve(result);
        this.running.delete(worker);
        this.idle.push(worker);
        this.dispatch();
      });
      worker.on('error', (err) => this.fail(err));
      worker.on('exit', (code) => {
        if (this.running.has(worker)) this.fail(new Error(`training worker exited with code ${code}`));
      });
      this.workers.push(worker);
      this.idle.push(worker);
    }
  }

  run(job: SweepJob): Promise<SweepJobResult>;
  run(job: TuneJob): Promise<TuneJobResult>;
  run(job: TrainingJob): Promise<TrainingJobResult> {
    if (this.failure !== null) return Promise.reject(this.failure);
    if (this.workers.length === 0) {
      // Inline: still asynchronous, so that callers behave the same either way.
      return new Promise((resolve) => setImmediate(() => resolve(runTrainingJob(this.split, job))));
    }
    return new Promise((resolve, reject) => {
      this.waiting.push({ job, cost: jobCost(job, this.split.train.n), resolve, reject });
      this.dispatch();
    });
  }

  /** Stops the workers. Call once every job has settled. */
  async close(): Promise<void> {
    await Promise.all(this.workers.map((w) => w.terminate()));
  }

  private dispatch(): void {
    while (this.idle.length > 0 && this.waiting.length > 0) {
      let next = 0;
      for (let i = 1; i < this.waiting.length; i++) if (this.waiting[i].cost > this.waiting[next].cost) next = i;
      const [item] = this.waiting.splice(next, 1);
      const worker = this.idle.pop()!;
      this.running.set(worker, item);
      worker.postMessage(item.job);
    }
  }

  private fail(err: unknown): void {
    if (this.failure !== null) return;
    this.failure = err;
    for (const item of [...this.waiting, ...this.running.values()]) item.reject(err);
    this.waiting.length = 0;
    this.running.clear();
  }
}
