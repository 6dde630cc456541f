// `simd-optim demo`: trains the digits MLP with five optimizers, runs the
// ravine and the α × batch sweep, prints a table and writes four charts.
import { mkdirSync, writeFileSync } from 'fs';
import { cpus } from 'os';
import { resolve } from 'path';
import { parseArgs } from 'util';
import { backendInfo } from 'simd-optim';
import { sweepChart } from './charts/alpha-batch';
import { lossCurvesChart } from './charts/loss-curves';
import { ravineChart } from './charts/ravine';
import { stepSizeChart } from './charts/step-size';
import { loadDigits, trainTestSplit } from './data';
import { ProgressBar } from './progress';
import { runRavine } from './ravine-tuning';
import { loadRenderer, type Renderer } from './render';
import { BATCH_SIZE, RUNS, runSpec, type RunResult } from './runs';
import { TrainingPool } from './pool';
import { runSweep, type SweepResult } from './sweep';
import { formatTable } from './table';
import { UsageError } from './usage-error';

/**
 * How long each part runs: the default (about 70 s on 2 cores) and --quick
 * (about 12 s). Three seeds in both: with two, --quick once showed a lead at
 * batch 512 that a third seed erased. --quick's 60 steps ask a different
 * question than 400 (see docs/demo.md).
 */
const PRESETS = {
  full: { epochs: 40, sweep: { steps: 400, seeds: 3 } },
  quick: { epochs: 8, sweep: { steps: 60, seeds: 3 } },
};

const USAGE = `usage: simd-optim demo [options]

Trains a 64→32→10 MLP on the UCI handwritten digits (1,797 8×8 images) with
RMSprop (α=0.9, α=0.99, centered+momentum), Adagrad and plain SGD, every update
through simd-optim; prints a table and writes four charts (SVG and PNG).

options:
  --out DIR      where the charts and results.json go (default ./simd-optim-demo)
  --epochs N     epochs of each of the five runs (default ${PRESETS.full.epochs}; --quick: ${PRESETS.quick.epochs})
  --seeds N      seeds of each α × batch cell and lr (default ${PRESETS.full.sweep.seeds}; --quick: ${PRESETS.quick.sweep.seeds})
  --quick        a short run, under 20 seconds
  --no-charts    the table and results.json, no charts (needs no chart libraries)
  --help         this text`;

/** Runs the demo with command-line arguments; resolves to the process's exit code. */
export async function runDemo(argv: string[]): Promise<number> {
  try {
    await demo(argv);
    return 0;
  } catch (err) {
    // A usage mistake (bad flag, unusable --out, missing chart library): one line, no stack.
    if (!(err instanceof UsageError)) throw err;
    console.error(`simd-optim demo: ${err.message}`);
    return 2;
  }
}

interface Flags {
  out: string;
  epochs?: number;
  seeds?: number;
  quick: boolean;
  charts: boolean;
  help: boolean;
}

function parseFlags(argv: string[]): Flags {
  const options = {
    out: { type: 'string', default: 'simd-optim-demo' },
    epochs: { type: 'string' },
    seeds: { type: 'string' },
    quick: { type: 'boolean', default: false },
    'no-charts': { type: 'boolean', default: false },
    help: { type: 'boolean', default: false },
  } as const;
  let parsed;
  try {
    parsed = parseArgs({ args: argv, options, strict: true, allowPositionals: false });
  } catch (err) {
    const unknown = /^Unknown option '([^']*)'/.exec((err as Error).message);
    if (unknown === null) throw new UsageError(`${(err as Error).message} (see --help)`);
    const known = Object.keys(options).map((name) => `--${name}`).join(', ');
    throw new UsageError(`unknown option ${unknown[1]} (known: ${known})`);
  }
  const { values } = parsed;
  const positive = (name: string, text: string | undefined) => {
    if (text === undefined) return undefined;
    const n = Number(text);
    if (!Number.isSafeInteger(n) || n <= 0) throw new UsageError(`option --${name} needs a positive integer, got '${text}'`);
    return n;
  };
  return {
    out: values.out!,
    epochs: positive('epochs', values.epochs),
    seeds: positive('seeds', values.seeds),
    quick: values.quick!,
    charts: !values['no-charts'],
    help: values.help!,
  };
}

async function demo(argv: string[]): Promise<void> {
  const flags = parseFlags(argv);
  if (flags.help) {
    console.log(USAGE);
    return;
  }
  const preset = flags.quick ? PRESETS.quick : PRESETS.full;
  const started = Date.now();
  const epochs = flags.epochs ?? preset.epochs;
  const sweepSize = { steps: preset.sweep.steps, seeds: flags.seeds ?? preset.sweep.seeds };
  const outDir = resolve(flags.out);

  // Load the chart libraries before training, so a missing one fails at once.
  const renderer: Renderer | null = flags.charts ? await loadRenderer() : null;
  // Likewise the output folder: an unusable --out fails now, not after a minute.
  try {
    mkdirSync(outDir, { recursive: true });
  } catch (e) {
    throw new UsageError(`cannot use --out ${flags.out}: ${(e as Error).message}`);
  }

  const split = trainTestSplit(loadDigits());
  const { backend, isa } = backendInfo();
  console.log(
    `UCI digits: ${split.train.n} training and ${split.test.n} test images; ` +
      `MLP 64→32→10; ${epochs} epoch${epochs === 1 ? '' : 's'} at batch ${BATCH_SIZE}; simd-optim backend ${backend} (${isa})\n`,
  );

  const runs: RunResult[] = [];
  for (const spec of RUNS) {
    const bar = new ProgressBar(spec.label.padEnd(30));
    const result = runSpec(spec, split, {
      epochs,
      onEpoch: (fraction, r) => bar.update(fraction, `loss ${r.trainLoss.toFixed(4)}`),
    });
    bar.done(`loss ${result.finalTrainLoss.toFixed(4)}, test accuracy ${(result.testAccuracy * 100).toFixed(1)}%`);
    runs.push(result);
  }

  const ravine = runRavine();

  const pool = new TrainingPool(split);
  const sweepBar = new ProgressBar(`α × batch sweep (${pool.threads} threads)`.padEnd(30));
  let queued = 0;
  let finished = 0;
  let sweep: SweepResult;
  try {
    // Cells ask for more runs as they go (see searchCell), so the total grows.
    sweep = await runSweep(sweepSize, (job) => {
      queued++;
      return pool.run(job).then((r) => {
        finished++;
        sweepBar.update(finished / queued, `${finished}/${queued} runs`);
        return r;
      });
    });
  } finally {
    await pool.close();
  }
  const edges = sweep.cells.filter((c) => c.edge !== null).length;
  sweepBar.done(`${sweep.runs.length} runs, ${sweep.seeds} seeds each; ${edges} cell${edges === 1 ? '' : 's'} won at an edge of the lr search`);

  console.log(`\n${formatTable(runs)}\n`);

  mkdirSync(outDir, { recursive: true });
  const resultsPath = resolve(outDir, 'results.json');
  writeFileSync(resultsPath, JSON.stringify({ ...about(flags.quick, started), epochs, runs, sweep, ravine }, null, 1) + '\n');

  if (renderer === null) {
    console.log(`Results: ${resultsPath} (charts skipped: --no-charts)`);
    return;
  }
  if (renderer.fontWarning !== null) console.warn(`warning: ${renderer.fontWarning}`);
  const charts = [lossCurvesChart(runs), stepSizeChart(runs), ravineChart(ravine), sweepChart(sweep)];
  for (const chart of charts) await renderer.write(chart, outDir);
  console.log(`Charts (${charts.map((c) => c.name).join(', ')}; SVG and PNG) and results.json written to ${outDir}`);
}

/** Where and when the results were made, so that a number quoted from them can be traced. */
function about(quick: boolean, started: number) {
  return {
    date: new Date(started).toISOString(),
    preset: quick ? 'quick' : 'default',
    machine: { cpus: cpus().length, cpu: cpus()[0]?.model ?? 'unknown', platform: process.platform, node: process.version },
    backend: backendInfo(),
    /** Wall time of training, the ravine and the sweep (not the charts). */
    seconds: (Date.now() - started) / 1000,
  };
}
