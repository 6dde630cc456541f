// npm run bench -- --tfjs: simd-optim/tfjs against TensorFlow.js's own
// RMSprop, side by side in one run, on TF.js 4.x's cpu and wasm backends.
//
//   End to end: one epoch of model.fit with tf.train.rmsprop(lr, decay, 0,
//   eps, false) against tfOptimizer((p) => new RMSprop(p, { lr, alpha: decay,
//   eps })), on the demo's MLP (64 → 32 → 10) over the digits' training split
//   and on a wide MLP (784 → 1000 → 256 → 10, about 1M parameters) over
//   random images. Each optimizer's applyGradients is wrapped to add up its
//   own time: the optimizer's share of the epoch.
//   The step alone: applyGradients with fixed gradients over the wide
//   model's variables, tf.train.rmsprop against tfOptimizer(RMSprop) with its
//   default transfer (copies included: they are the bridge's work) and, for
//   information, with { transfer: 'copy' }.
//
// Method: both models of a pair start from the same weights; every optimizer
// is warmed up first (its first step creates its state, the first epochs
// compile and allocate). Then rounds: in each, every peer takes one sample
// (an epoch; a batch of steps of about 30 ms after ~2 ms of untimed ones), in
// an order rotated by one each round, each after a full GC so that one peer's
// garbage is not collected in another's time. Reported: medians over rounds
// with the lowest and highest, and every ratio as the median of the
// per-round ratios. tf.memory().numTensors is read after every sample and must
// stay at its value after the warm-up: a leak fails the run (exit code 1,
// after the page is written).
//
// It writes its section of docs/benchmark.md between the tfjs markers (the
// main run keeps that section) and bench/out/tfjs.json, and prints the section.
//   npm run bench -- --tfjs [--rounds N] [--md FILE]
//   npm run bench -- --tfjs --render bench/out/tfjs.json   the section again from a run's numbers
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as v8 from 'node:v8';
import * as vm from 'node:vm';
import type * as TfCore from '@tensorflow/tfjs-core';
import type * as TfLayers from '@tensorflow/tfjs-layers';
import type * as Bridge from '../lib/tfjs';
import { RMSprop } from '../lib';
import { CLASSES, IMAGE_PIXELS, loadDigits, trainTestSplit } from '../demo/data';
import { mulberry32 } from '../demo/random';
import { loadAverage, readMachine } from './machine';
import { sectionOf, withSection } from './page-section';
import { bytesName, median, now, sig } from './stats';

export const TFJS_START = '<!-- tfjs:start -->';
export const TFJS_END = '<!-- tfjs:end -->';

const MARKERS = { start: TFJS_START, end: TFJS_END };

/** The page with its tfjs section replaced (or appended at the end). */
export const withTfjsSection = (page: string, section: string): string => withSection(page, MARKERS, section);

/** The tfjs section of a page, markers included, or undefined. */
export const tfjsSectionOf = (page: string): string | undefined => sectionOf(page, MARKERS);

const root = path.resolve(__dirname, '..');
const BACKENDS = ['cpu', 'wasm'] as const;
type BackendName = (typeof BACKENDS)[number];
/** The default rounds of each measurement; the step alone runs STEP_ROUNDS_FACTOR times as many (its samples are short). */
const DEFAULT_ROUNDS = 16;
const STEP_ROUNDS_FACTOR = 3;
/** Epochs each model trains before its epochs are timed: the first compiles kernels and creates the optimizer's state. */
const WARMUP_EPOCHS = 2;
/** A step sample's length, and the untimed steps before it. */
const STEP_SAMPLE_SECONDS = 0.03;
const UNTIMED_SECONDS = 0.002;
/** The targets: the bridge's step against tf.train.rmsprop's, 1M parameters. */
const STEP_TARGETS: Record<BackendName, number> = { cpu: 10, wasm: 3 };
/** The path a step through the bridge is meant to take on each backend (default transfer). */
const EXPECTED_PATH: Record<BackendName, string> = { cpu: 'cpu-shared', wasm: 'wasm-heap' };

// TF.js loads only when this benchmark runs: the main run's process, which
// imports the section helpers above, never needs it.
let tf: typeof TfCore;
let tfl: typeof TfLayers;
let bridge: typeof Bridge;

interface Versions {
  core: string;
  layers: string;
  wasm: string;
}

function loadTfjs(): Versions {
  tf = require('@tensorflow/tfjs-core') as typeof TfCore;
  require('@tensorflow/tfjs-backend-cpu');
  const wasm = require('@tensorflow/tfjs-backend-wasm') as { setWasmPaths(p: string): void; version_wasm: string };
  // The .wasm files shipped in the npm package: nothing is downloaded.
  const dir = path.dirname(require.resolve('@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm'));
  wasm.setWasmPaths(`${dir}${path.sep}`);
  tfl = require('@tensorflow/tfjs-layers') as typeof TfLayers;
  bridge = require('../lib/tfjs') as typeof Bridge;
  tf.enableProdMode(); // no "install tfjs-node" banner, no per-op checks
  return { core: tf.version_core, layers: tfl.version_layers, wasm: wasm.version_wasm };
}

async function useBackend(name: BackendName): Promise<void> {
  if (!(await tf.setBackend(name))) throw new Error(`tf.setBackend('${name}') failed`);
  await tf.ready();
}

/** The wasm build TF.js chose: SIMD or not, threads or not. */
async function wasmFlavour(): Promise<string> {
  const simd = await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT');
  const threads = await tf.env().getAsync('WASM_HAS_MULTITHREAD_SUPPORT');
  return `${simd ? 'SIMD' : 'no SIMD'}, ${threads ? 'multithreaded' : 'single-threaded'}`;
}

/** A full GC (V8's gc(), exposed on first use: the main run, which imports this file, never asks for it). */
let gc: (() => void) | undefined;
function fullGc(): void {
  if (gc === undefined) {
    v8.setFlagsFromString('--expose-gc');
    gc = vm.runInNewContext('gc') as () => void;
  }
  gc();
}

// ---------------------------------------------------------------- the models

interface ModelSpec {
  id: string;
  name: string;
  units: number[];
  lr: number;
  decay: number;
  eps: number;
  batchSize: number;
  /** What it trains on, for the page. */
  data: string;
  makeData(): { xs: TfCore.Tensor; ys: TfCore.Tensor };
}

/** The demo's MLP and its RMSprop α = 0.9 run: lr 0.01, batch 32, over the digits' training split. */
const DEMO: ModelSpec = {
  id: 'demo',
  name: 'demo MLP 64 → 32 → 10',
  units: [IMAGE_PIXELS, 32, CLASSES],
  lr: 0.01,
  decay: 0.9,
  eps: 1e-8,
  batchSize: 32,
  data: 'the UCI digits (the demo\'s training split, data/digits.bin.gz)',
  makeData() {
    const { train } = trainTestSplit(loadDigits());
    const labels = tf.tensor1d(Int32Array.from(train.y), 'int32');
    const ys = tf.oneHot(labels, CLASSES);
    labels.dispose();
    return { xs: tf.tensor2d(train.x, [train.n, IMAGE_PIXELS]), ys: castFloat(ys) };
  },
};

const WIDE_EXAMPLES = 256;

/** About 1M parameters: the step's work is the optimizer's, not the kernels' launch. */
const WIDE: ModelSpec = {
  id: 'wide',
  name: 'wide MLP 784 → 1000 → 256 → 10',
  units: [784, 1000, 256, 10],
  lr: 1e-3,
  decay: 0.9,
  eps: 1e-8,
  batchSize: 32,
  data: 'random images with random labels',
  makeData() {
    const xs = tf.randomUniform([WIDE_EXAMPLES, 784], 0, 1, 'float32', 1);
    const labels = tf.randomUniform([WIDE_EXAMPLES], 0, CLASSES, 'int32', 2);
    const ys = tf.oneHot(labels as TfCore.Tensor1D, CLASSES);
    labels.dispose();
    return { xs, ys: castFloat(ys) };
  },
};

function castFloat(t: TfCore.Tensor): TfCore.Tensor {
  const f = tf.cast(t, 'float32');
  t.dispose();
  return f;
}

/** Dense layers with ReLU, softmax last: the demo's MLP in TF.js layers. */
function mlp(units: number[]): TfLayers.Sequential {
  const last = units.length - 2;
  return tfl.sequential({
    layers: units.slice(1).map((u, i) =>
      tfl.layers.dense({ units: u, activation: i === last ? 'softmax' : 'relu', ...(i === 0 ? { inputShape: [units[0]] } : {}) }),
    ),
  });
}

/** The shapes of an MLP's variables, as dense layers hold them: kernel [in, out], then bias [out]. */
function variableShapes(units: number[]): number[][] {
  return units.slice(1).flatMap((out, i) => [[units[i], out], [out]]);
}

const sizeOf = (shape: number[]) => shape.reduce((a, b) => a * b, 1);
const paramsOf = (units: number[]) => variableShapes(units).reduce((n, s) => n + sizeOf(s), 0);

/** Seeded values: params in [-0.05, 0.05), gradients of either sign with |g| in [1e-3, 1e-2). */
function seededValues(n: number, seed: number, grad: boolean): Float32Array {
  const rand = mulberry32(seed);
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = grad ? (i & 1 ? -1 : 1) * (1e-3 + rand() * 9e-3) : (rand() - 0.5) * 0.1;
  return out;
}

// ---------------------------------------------------------------- the optimizers

type PeerId = 'tf' | 'bridge' | 'copy';
const LABELS: Record<PeerId, string> = {
  tf: 'tf.train.rmsprop',
  bridge: 'tfOptimizer(RMSprop)',
  copy: "tfOptimizer(RMSprop, { transfer: 'copy' })",
};

interface OptimizerConfig {
  lr: number;
  decay: number;
  eps: number;
}

function makeOptimizer(id: PeerId, c: OptimizerConfig): TfCore.Optimizer {
  if (id === 'tf') return tf.train.rmsprop(c.lr, c.decay, 0, c.eps, false);
  const make = (p: ConstructorParameters<typeof RMSprop>[0]) => new RMSprop(p, { lr: c.lr, alpha: c.decay, eps: c.eps });
  return bridge.tfOptimizer(make, { transfer: id === 'copy' ? 'copy' : 'auto' });
}

/** An optimizer whose applyGradients adds its own time to `seconds`: model.fit calls it once per step. */
interface TimedOptimizer {
  opt: TfCore.Optimizer;
  seconds: number;
}

function timed(opt: TfCore.Optimizer): TimedOptimizer {
  const clock: TimedOptimizer = { opt, seconds: 0 };
  const apply = opt.applyGradients.bind(opt);
  opt.applyGradients = (grads) => {
    const t0 = now();
    try {
      apply(grads);
    } finally {
      clock.seconds += now() - t0;
    }
  };
  return clock;
}

/** The bridge's last step as the page shows it: its path and how many variables went which way. */
function transferOf(opt: TfCore.Optimizer): string | undefined {
  const t = (opt as Partial<Bridge.TfOptimizer>).lastTransfer;
  return t === undefined ? undefined : `${t.path} (${t.inPlace} in place, ${t.copied} copied)`;
}

// ---------------------------------------------------------------- measuring

/** tf.memory().numTensors after the warm-up, and after every measured sample. */
interface TensorCheck {
  baseline: number;
  after: number[];
}
const stable = (c: TensorCheck) => c.after.every((n) => n === c.baseline);

interface EpochSeries {
  id: PeerId;
  label: string;
  /** Each round's epoch, and the optimizer's time within it. */
  seconds: number[];
  optimizerSeconds: number[];
  transfers: string[];
}

interface FitCell {
  backend: BackendName;
  model: string;
  params: number;
  examples: number;
  batchSize: number;
  stepsPerEpoch: number;
  data: string;
  config: OptimizerConfig;
  peers: EpochSeries[];
  /** Per round: tf.train.rmsprop's epoch ÷ the bridge's. */
  ratios: number[];
  tensors: TensorCheck;
}

async function measureFit(backend: BackendName, spec: ModelSpec, rounds: number, say: (s: string) => void): Promise<FitCell> {
  const { xs, ys } = spec.makeData();
  const models = (['tf', 'bridge'] as const).map((id) => ({ id, model: mlp(spec.units), clock: timed(makeOptimizer(id, spec)) }));
  // Both start from the same weights (the values do not change the work, but they keep the runs comparable).
  models[1].model.setWeights(models[0].model.getWeights());
  const series: EpochSeries[] = models.map(({ id }) => ({ id, label: LABELS[id], seconds: [], optimizerSeconds: [], transfers: [] }));
  const tensors: TensorCheck = { baseline: 0, after: [] };
  const ratios: number[] = [];
  try {
    for (const m of models) m.model.compile({ optimizer: m.clock.opt, loss: 'categoricalCrossentropy' });
    const epoch = async (m: (typeof models)[number]) => {
      fullGc();
      m.clock.seconds = 0;
      const t0 = now();
      await m.model.fit(xs, ys, { epochs: 1, batchSize: spec.batchSize, verbose: 0 });
      return { seconds: now() - t0, optimizer: m.clock.seconds };
    };
    for (const m of models) for (let k = 0; k < WARMUP_EPOCHS; k++) await epoch(m);
    tensors.baseline = tf.memory().numTensors;
    for (let r = 0; r < rounds; r++) {
      const order = r % 2 === 0 ? models : [...models].reverse();
      const got = new Map<PeerId, number>();
      for (const m of order) {
        const e = await epoch(m);
        tensors.after.push(tf.memory().numTensors);
        const s = series.find((x) => x.id === m.id)!;
        s.seconds.push(e.seconds);
        s.optimizerSeconds.push(e.optimizer);
        const t = transferOf(m.clock.opt);
        if (t !== undefined && !s.transfers.includes(t)) s.transfers.push(t);
        got.set(m.id, e.seconds);
      }
      ratios.push(got.get('tf')! / got.get('bridge')!);
      say(`  ${backend} ${spec.id} round ${r + 1}/${rounds}: ${series.map((s) => `${s.id} ${ms(s.seconds.at(-1)!)} ms`).join(', ')}`);
    }
  } finally {
    for (const m of models) {
      m.model.dispose();
      m.clock.opt.dispose();
    }
    tf.dispose([xs, ys]);
  }
  return {
    backend,
    model: spec.name,
    params: paramsOf(spec.units),
    examples: xs.shape[0],
    batchSize: spec.batchSize,
    stepsPerEpoch: Math.ceil(xs.shape[0] / spec.batchSize),
    data: spec.data,
    config: { lr: spec.lr, decay: spec.decay, eps: spec.eps },
    peers: series,
    ratios,
    tensors,
  };
}

interface StepSeries {
  id: PeerId;
  label: string;
  stepsPerSample: number;
  /** Each round's seconds per step. */
  perStep: number[];
  /** Per round: tf.train.rmsprop's step ÷ this one's. */
  ratios: number[];
  transfers: string[];
}

interface StepCell {
  backend: BackendName;
  params: number;
  variables: number;
  peers: StepSeries[];
  tensors: TensorCheck;
}

/** One optimizer over its own copy of the wide model's variables, all stepped with the same fixed gradients. */
interface StepPeer {
  series: StepSeries;
  opt: TfCore.Optimizer;
  variables: TfCore.Variable[];
  grads: TfCore.NamedTensorMap;
  estimate: number;
}

function stepPeer(backend: BackendName, id: PeerId, shapes: number[][], grads: TfCore.Tensor[]): StepPeer {
  const variables = shapes.map((shape, i) => {
    const initial = tf.tensor(seededValues(sizeOf(shape), 2 * i + 1, false), shape, 'float32');
    const v = tf.variable(initial, true, `bench_${backend}_${id}_${i}`);
    initial.dispose();
    return v;
  });
  return {
    series: { id, label: LABELS[id], stepsPerSample: 1, perStep: [], ratios: [], transfers: [] },
    opt: makeOptimizer(id, WIDE),
    variables,
    grads: Object.fromEntries(variables.map((v, i) => [v.name, grads[i]])),
    estimate: 0,
  };
}

function runSteps(p: StepPeer, steps: number): number {
  const t0 = now();
  for (let s = 0; s < steps; s++) p.opt.applyGradients(p.grads);
  return now() - t0;
}

/** The first step creates the state; then batches until about 0.1 s (at least two), for the estimate. */
function warmUp(p: StepPeer): void {
  runSteps(p, 1);
  let total = 0;
  let perStep = 0;
  for (let k = 0; k < 2 || total < 0.1; k++) {
    const steps = perStep === 0 ? 1 : Math.max(1, Math.round(0.05 / perStep));
    const t = runSteps(p, steps);
    perStep = t / steps;
    total += t;
  }
  p.estimate = perStep;
  p.series.stepsPerSample = Math.max(1, Math.round(STEP_SAMPLE_SECONDS / perStep));
}

async function measureSteps(backend: BackendName, rounds: number, say: (s: string) => void): Promise<StepCell> {
  const shapes = variableShapes(WIDE.units);
  const grads = shapes.map((shape, i) => tf.tensor(seededValues(sizeOf(shape), 2 * i + 2, true), shape, 'float32'));
  const peers = (['tf', 'bridge', 'copy'] as const).map((id) => stepPeer(backend, id, shapes, grads));
  const tensors: TensorCheck = { baseline: 0, after: [] };
  try {
    for (const p of peers) warmUp(p);
    tensors.baseline = tf.memory().numTensors;
    for (let r = 0; r < rounds; r++) {
      const order = peers.map((_, i) => peers[(i + r) % peers.length]);
      for (const p of order) {
        fullGc();
        runSteps(p, Math.max(1, Math.round(UNTIMED_SECONDS / p.estimate)));
        p.series.perStep.push(runSteps(p, p.series.stepsPerSample) / p.series.stepsPerSample);
        tensors.after.push(tf.memory().numTensors);
        const t = transferOf(p.opt);
        if (t !== undefined && !p.series.transfers.includes(t)) p.series.transfers.push(t);
      }
      const reference = peers[0].series.perStep[r];
      for (const p of peers) p.series.ratios.push(reference / p.series.perStep[r]);
      if ((r + 1) % STEP_ROUNDS_FACTOR === 0 || r === rounds - 1) {
        say(`  ${backend} step round ${r + 1}/${rounds}: ${peers.map((p) => `${p.series.id} ${ms(p.series.perStep[r])} ms`).join(', ')}`);
      }
    }
  } finally {
    for (const p of peers) {
      p.opt.dispose();
      tf.dispose(p.variables);
    }
    tf.dispose(grads);
  }
  return { backend, params: paramsOf(WIDE.units), variables: shapes.length, peers: peers.map((p) => p.series), tensors };
}

// ---------------------------------------------------------------- the run

interface TfjsResult {
  machine: ReturnType<typeof readMachine>;
  loadBefore: number;
  loadAfter: number;
  seconds: number;
  rounds: number;
  stepRounds: number;
  versions: Versions;
  wasmFlavour: string;
  fits: FitCell[];
  steps: StepCell[];
}

export async function runTfjs(argv: string[]): Promise<void> {
  const option = (name: string) => (argv.includes(name) ? argv[argv.indexOf(name) + 1] : undefined);
  const mdPath = option('--md') ?? path.join(root, 'docs', 'benchmark.md');
  const rendered = option('--render');
  const say = (s: string) => process.stderr.write(`${s}\n`);
  if (rendered !== undefined) {
    writeSection(mdPath, render(JSON.parse(fs.readFileSync(rendered, 'utf8')) as TfjsResult));
    return;
  }
  const rounds = Math.max(1, Number(option('--rounds') ?? DEFAULT_ROUNDS));
  const stepRounds = STEP_ROUNDS_FACTOR * rounds;
  const t0 = Date.now();
  const machine = readMachine();
  const loadBefore = loadAverage();
  const versions = loadTfjs();
  const fits: FitCell[] = [];
  const steps: StepCell[] = [];
  let flavour = '';
  for (const backend of BACKENDS) {
    await useBackend(backend);
    if (backend === 'wasm') flavour = await wasmFlavour();
    say(`${backend}: the step alone, ${stepRounds} rounds`);
    steps.push(await measureSteps(backend, stepRounds, say));
    for (const spec of [DEMO, WIDE]) {
      say(`${backend}: model.fit, ${spec.name}, ${rounds} rounds`);
      fits.push(await measureFit(backend, spec, rounds, say));
    }
  }
  const result: TfjsResult = {
    machine, loadBefore, loadAfter: loadAverage(), seconds: (Date.now() - t0) / 1000, rounds, stepRounds,
    versions, wasmFlavour: flavour, fits, steps,
  };
  const out = path.join(__dirname, 'out', 'tfjs.json');
  fs.mkdirSync(path.dirname(out), { recursive: true });
  fs.writeFileSync(out, `${JSON.stringify(result, null, 1)}\n`);
  writeSection(mdPath, render(result));
  say(`wrote ${path.relative(process.cwd(), mdPath)}, ${path.relative(process.cwd(), out)} in ${result.seconds.toFixed(0)} s`);
  if (!leakFree(result)) {
    say('tf.memory().numTensors changed across measured samples: a leak (see the page)');
    process.exitCode = 1;
  }
}

function writeSection(mdPath: string, section: string): void {
  process.stdout.write(`${section}\n`);
  fs.mkdirSync(path.dirname(mdPath), { recursive: true });
  fs.writeFileSync(mdPath, withTfjsSection(fs.existsSync(mdPath) ? fs.readFileSync(mdPath, 'utf8') : '', section));
}

const leakFree = (r: TfjsResult) => [...r.fits, ...r.steps].every((c) => stable(c.tensors));

// ---------------------------------------------------------------- the page

const ms = (s: number) => sig(s * 1e3);
const range = (xs: number[], f: (x: number) => string) => `${f(Math.min(...xs))}–${f(Math.max(...xs))}`;
const times = (x: number) => `${x >= 10 ? x.toFixed(0) : x.toFixed(2)}×`;
const yes = (ok: boolean) => (ok ? '**yes**' : '**no**');
const count = (n: number) => n.toLocaleString('en-US');
const share = (x: number) => `${x < 0.1 ? (x * 100).toFixed(1) : (x * 100).toFixed(0)}%`;

/** The bridge's path(s) over the measured samples, with a note when one is not the path meant for the backend. */
function pathText(backend: BackendName, s: { id: PeerId; transfers: string[] }): string {
  if (!s.transfers.length) return '';
  const text = s.transfers.join('; ');
  const expected = s.id === 'copy' ? 'copy' : EXPECTED_PATH[backend];
  return s.transfers.every((t) => t.startsWith(`${expected} `)) ? text : `${text} (expected ${expected})`;
}

function tensorText(label: string, c: TensorCheck): string {
  if (stable(c)) return `${label} ${c.baseline}`;
  return `${label} ${c.baseline} → ${range(c.after, String)} (**leak**)`;
}

function render(r: TfjsResult): string {
  const m = r.machine;
  const L: string[] = [TFJS_START, '', '## TensorFlow.js: simd-optim/tfjs against tf.train.rmsprop', ''];
  L.push('<!-- Written by `npm run bench -- --tfjs` (bench/tfjs.ts). Do not edit by hand. -->', '');
  const demo = r.fits.find((f) => f.model === DEMO.name);
  const wide = r.fits.find((f) => f.model === WIDE.name);
  L.push('`npm run bench -- --tfjs` compares simd-optim/tfjs with TensorFlow.js\'s own RMSprop on TF.js\'s cpu and wasm backends: ' +
    '`tfOptimizer((p) => new RMSprop(p, { lr, alpha: decay, eps }))` against `tf.train.rmsprop(lr, decay, 0, eps, false)` (TF.js adds ε ' +
    'under the square root, PyTorch after it; the work is the same). It times one epoch of `model.fit` on two models, and the optimizer ' +
    'step alone.');
  L.push('');
  const modelText = (c: FitCell, about: string) =>
    `${about} (${c.model.replace(/^\S+ MLP /, '')}${c === demo ? ', ReLU, softmax' : ''}; ${count(c.params)} parameters) on ${c.data}: ` +
    `${count(c.examples)} examples, batch ${c.batchSize}, ${c.stepsPerEpoch} steps per epoch, lr ${c.config.lr}, decay ${c.config.decay}, ε ${c.config.eps}`;
  const models = [demo && modelText(demo, 'the demo\'s MLP'), wide && modelText(wide, 'a wide MLP')].filter((x) => x);
  L.push(`- **One epoch of \`model.fit\`**, on ${models.join('; and ')}. Both models of a pair start from the same weights; each ` +
    'optimizer\'s `applyGradients` is wrapped to add up its own time within the epoch (its share).');
  L.push(`- **The optimizer step alone**: \`applyGradients\` with fixed gradient tensors over the wide model's variables. The bridge's time ` +
    'includes whatever it copies; `{ transfer: \'copy\' }` (copies on every backend) is shown for information.');
  L.push('');
  L.push('Every optimizer is warmed up first (its first step creates its state). Then rounds: in each, every optimizer takes one sample ' +
    '(an epoch, or about 30 ms of steps after ~2 ms of untimed ones), in an order rotated each round, each after a full GC. Reported: ' +
    `medians over ${r.rounds} rounds (the step alone: ${r.stepRounds}) with the lowest and highest, and ratios as the median of the ` +
    'per-round ratios. "Path" is how the bridge reached the variables (its last step): `cpu-shared`, the cpu backend\'s arrays stepped ' +
    'in place; `wasm-heap`, each variable cloned in the wasm heap, stepped there and assigned; `copy`, `dataSync` in and a new tensor ' +
    'assigned. `tf.memory().numTensors` is read after every sample: it must stay at its count after the warm-up.');
  L.push('');
  L.push(`**This run:** ${m.cpu}, ${m.cores} cores${m.hypervisor ? ' (a virtual machine)' : ''}; ${bytesName(m.memTotalBytes)} RAM; ` +
    `${m.kernel}; Node ${m.node}; TensorFlow.js ${r.versions.core} (layers ${r.versions.layers}, backend-wasm ${r.versions.wasm}: ${r.wasmFlavour}); ` +
    `${m.date}; load average ${r.loadBefore} before, ${r.loadAfter} after; the run took ${r.seconds.toFixed(0)} s.`);
  L.push('');

  // Targets.
  L.push('### Targets', '', '| target | measured | met |', '|---|---|---|');
  for (const c of r.steps) {
    const tfSeries = c.peers.find((p) => p.id === 'tf')!;
    const b = c.peers.find((p) => p.id === 'bridge')!;
    const ratio = median(b.ratios);
    L.push(`| optimizer step ≥ ${STEP_TARGETS[c.backend]}× faster than tf.train.rmsprop, ${c.backend} backend, ${count(c.params)} parameters | ` +
      `${times(ratio)} (rounds ${range(b.ratios, times)}; ${ms(median(b.perStep))} ms against ${ms(median(tfSeries.perStep))} ms) | ${yes(ratio >= STEP_TARGETS[c.backend])} |`);
  }
  const checks = [
    ...r.steps.map((c) => tensorText(`${c.backend} step`, c.tensors)),
    ...r.fits.map((c) => tensorText(`${c.backend} fit ${c.model.split(' ')[0]}`, c.tensors)),
  ];
  L.push(`| \`tf.memory().numTensors\` the same after every measured sample as after the warm-up | ${leakFree(r) ? 'stable: ' : ''}${checks.join(', ')} | ${yes(leakFree(r))} |`);
  L.push('');

  // The step alone.
  L.push(`### The optimizer step alone (${r.steps.length ? count(r.steps[0].params) : ''} parameters, ${r.steps[0]?.variables ?? ''} variables)`, '');
  L.push('| backend | optimizer | ms per step | lowest–highest | × tf.train.rmsprop (same round) | lowest–highest | path |', '|---|---|---:|---:|---:|---:|---|');
  for (const c of r.steps) {
    for (const p of c.peers) {
      const ratio = p.id === 'tf' ? '' : times(median(p.ratios));
      const ratioRange = p.id === 'tf' ? '' : range(p.ratios, times);
      const label = p.id === 'copy' ? `${p.label} (for information)` : p.label;
      L.push(`| ${c.backend} | ${label} | ${ms(median(p.perStep))} | ${range(p.perStep, ms)} | ${ratio} | ${ratioRange} | ${pathText(c.backend, p)} |`);
    }
  }
  L.push('');

  // End to end.
  L.push('### One epoch of model.fit', '');
  L.push('| backend | model | optimizer | epoch ms | lowest–highest | optimizer ms in the epoch | optimizer\'s share | ' +
    'epoch: tf.train.rmsprop ÷ this (same round) | lowest–highest | path |', '|---|---|---|---:|---:|---:|---:|---:|---:|---|');
  for (const c of r.fits) {
    for (const p of c.peers) {
      const shares = p.seconds.map((s, i) => p.optimizerSeconds[i] / s);
      const ratio = p.id === 'tf' ? '' : times(median(c.ratios));
      const ratioRange = p.id === 'tf' ? '' : range(c.ratios, times);
      L.push(`| ${c.backend} | ${c.model} | ${p.label} | ${ms(median(p.seconds))} | ${range(p.seconds, ms)} | ${ms(median(p.optimizerSeconds))} | ` +
        `${share(median(shares))} | ${ratio} | ${ratioRange} | ${pathText(c.backend, p)} |`);
    }
  }
  L.push('');
  L.push(TFJS_END);
  return L.join('\n');
}

if (require.main === module) {
  runTfjs(process.argv.slice(2)).catch((e) => {
    process.stderr.write(`${(e as Error).stack}\n`);
    process.exit(1);
  });
}
