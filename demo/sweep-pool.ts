// Runs the sweep's training runs on every core: each run is independent and
// seeded, so the results are the same however they are spread over workers.
import { cpus } from 'os';
import { join } from 'path';
import { Worker } from 'worker_threads';
import type { Dataset } from './data';
import { runSweepJob, type SweepJob, type SweepJobResult } from './sweep';

/** Worker threads to use: one per core, at most 8 (each holds its own copy of the data, ~1 MB). */
export function sweepThreads(): number {
  return Math.max(1, Math.min(8, cpus().length));
}

/**
 * Runs `jobs` and returns their results in the same order. Uses worker
 * threads when running compiled (dist/); from TypeScript sources (tsx) a
 * worker could not load sweep-worker.ts, so the jobs run here instead.
 */
export async function runSweepJobs(
  split: { train: Dataset; test: Dataset },
  jobs: SweepJob[],
  onDone?: (done: number, total: number) => void,
): Promise<SweepJobResult[]> {
  const workerFile = join(__dirname, 'sweep-worker.js');
  const threads = Math.min(sweepThreads(), jobs.length);
  if (!__filename.endsWith('.js') || threads <= 1) {
    return jobs.map((job, i) => {
      const r = runSweepJob(split, job);
      onDone?.(i + 1, jobs.length);
      return r;
    });
  }
  const results: SweepJobResult[] = new Array(jobs.length);
  let next = 0;
  let done = 0;
  const workers = Array.from({ length: threads }, () => new Worker(workerFile));
  try {
    await Promise.all(
      workers.map(
        (worker) =>
          new Promise<void>((resolve, reject) => {
            let current = -1;
            const feed = () => {
              if (next >= jobs.length) return resolve();
              current = next++;
              worker.postMessage(jobs[current]);
            };
            worker.on('message', (result: SweepJobResult) => {
              results[current] = result;
              onDone?.(++done, jobs.length);
              feed();
            });
            worker.on('error', reject);
            worker.on('exit', (code) => {
              if (next < jobs.length || results[current] === undefined) reject(new Error(`sweep worker exited with code ${code}`));
            });
            feed();
          }),
      ),
    );
  } finally {
    await Promise.all(workers.map((w) => w.terminate()));
  }
  return results;
}
