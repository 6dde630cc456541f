// Re-tunes the learning rates of the demo's five runs (lr-tuning.ts) and
// checks them against those the demo uses (RUNS in runs.ts). Run it after a
// change to the model, the data or an optimizer:
//
//   npm run build:ts && node dist/demo/tune-lrs.js [--out tune-lrs.json]
//
// About a minute and a half on 2 cores. Exits with 1 if a tuned lr differs
// from the demo's or sits at an edge of the grid. --epochs and --seeds
// change the tuning's length (for a quick try; the demo's lrs are tuned at
// the defaults).
import { writeFileSync } from 'fs';
import { parseArgs } from 'util';
import { loadDigits, trainTestSplit } from './data';
import { formatLoss } from './format';
import { TUNE_EPOCHS, TUNE_GRID, TUNE_SEEDS, summarizeTuning, tuneJobs, type TuneJobResult } from './lr-tuning';
import { TrainingPool } from './pool';

async function main(): Promise<number> {
  const { values } = parseArgs({ options: { out: { type: 'string' }, epochs: { type: 'string' }, seeds: { type: 'string' } }, strict: true });
  const epochs = Number(values.epochs ?? TUNE_EPOCHS);
  const seeds = Number(values.seeds ?? TUNE_SEEDS);
  if (!(Number.isSafeInteger(epochs) && epochs > 0 && Number.isSafeInteger(seeds) && seeds > 0)) throw new Error('--epochs and --seeds take positive integers');
  const split = trainTestSplit(loadDigits());
  const pool = new TrainingPool(split);
  const jobs = tuneJobs(epochs, seeds);
  console.error(`${jobs.length} runs: ${epochs} epochs, ${seeds} seeds, lr ∈ {${TUNE_GRID.join(', ')}}, ${pool.threads} threads`);
  let results: TuneJobResult[];
  try {
    let done = 0;
    results = await Promise.all(jobs.map((job) => pool.run(job).then((r) => (++done % 25 === 0 && console.error(`${done}/${jobs.length}`), r))));
  } finally {
    await pool.close();
  }
  const summary = summarizeTuning(results);
  let ok = true;
  console.log(`optimizer: geometric mean final training loss over ${seeds} seeds at each lr after ${epochs} epochs; [best]`);
  for (const s of summary) {
    const cells = s.byLr.map((r) => (r.lr === s.bestLr ? `[${r.lr}: ${formatLoss(r.loss)}]` : `${r.lr}: ${formatLoss(r.loss)}`));
    const verdict = s.edge !== null ? `best at the grid's ${s.edge} edge` : s.bestLr === s.demoLr ? 'as in the demo' : `the demo uses ${s.demoLr}`;
    if (s.edge !== null || s.bestLr !== s.demoLr) ok = false;
    console.log(`${s.label}: best ${s.bestLr} (${verdict})\n  ${cells.join('  ')}`);
  }
  if (values.out !== undefined) {
    writeFileSync(values.out, JSON.stringify({ epochs, seeds, grid: TUNE_GRID, summary, results }, null, 1) + '\n');
    console.error(`written to ${values.out}`);
  }
  return ok ? 0 : 1;
}

main().then(
  (code) => process.exit(code),
  (err) => {
    console.error(err);
    process.exit(1);
  },
);
