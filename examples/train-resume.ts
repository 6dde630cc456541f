// A complete training loop with PyTorch's habits: an MLP trained with AdamW,
// a warmup then a cosine schedule, gradient clipping and an EMA of the
// weights, saving the tutorial-form checkpoint every few steps. Kill it, run
// it again with --resume, and it ends with the same bits as a run that was
// never interrupted (test/train-resume.test.ts checks).
//
//   npx tsx examples/train-resume.ts [--steps 300] [--every 50] [--dir DIR] [--resume] [--kill-at STEP]
import * as crypto from 'crypto';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import {
  AdamW,
  clipGradNorm,
  CosineAnnealingLR,
  EMA,
  LinearLR,
  loadTorch,
  ModelState,
  saveTorch,
  SequentialLR,
  type StateDict,
  type TensorRecord,
} from 'simd-optim';

const arg = (name: string, fallback: string) => (process.argv.includes(name) ? process.argv[process.argv.indexOf(name) + 1] : fallback);
const STEPS = Number(arg('--steps', '300'));
const EVERY = Number(arg('--every', '50'));
const DIR = arg('--dir', path.join(os.tmpdir(), 'simd-optim-train-resume'));
const KILL_AT = Number(arg('--kill-at', '0'));
const WARMUP = 30;

/** The tutorial form of a checkpoint, with the scheduler's and the EMA's dicts. */
interface Checkpoint {
  step: number;
  model_state_dict: Record<string, TensorRecord>;
  optimizer_state_dict: StateDict;
  scheduler_state_dict: Record<string, unknown>;
  ema_state_dict: Record<string, unknown>;
  loss: number;
}

/** A seeded stream in [-1, 1). */
function random(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return (s / 2 ** 32) * 2 - 1;
  };
}

// nn.Sequential(nn.Linear(4, 16), nn.Tanh(), nn.Linear(16, 1)), under PyTorch's names.
const IN = 4;
const HIDDEN = 16;
function initialModel(): Record<string, TensorRecord<'float32'>> {
  const r = random(1);
  const tensor = (shape: number[], scale: number): TensorRecord<'float32'> =>
    ({ dtype: 'float32', shape, data: Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => r() * scale) });
  return { '0.weight': tensor([HIDDEN, IN], 0.5), '0.bias': tensor([HIDDEN], 0.1), '2.weight': tensor([1, HIDDEN], 0.25), '2.bias': tensor([1], 0) };
}

// 256 rows of y = sin(x0) + x1·x2 - x3/2; step t trains on rows 32t to 32t + 31 (mod 256).
const r = random(2);
const X = Float32Array.from({ length: 256 * IN }, r);
const Y = Float32Array.from({ length: 256 }, (_, i) => Math.sin(X[i * 4]) + X[i * 4 + 1] * X[i * 4 + 2] - X[i * 4 + 3] / 2);

/** The batch's mean squared error, and its gradient accumulated into each param (as loss.backward()). */
function backward(model: ModelState, step: number): number {
  const [w1, b1, w2, b2] = ['0.weight', '0.bias', '2.weight', '2.bias'].map((n) => model.parameter(n)!);
  const g = { w1: new Float64Array(w1.numel), b1: new Float64Array(HIDDEN), w2: new Float64Array(HIDDEN), b2: new Float64Array(1) };
  const h = new Float64Array(HIDDEN);
  let loss = 0;
  const batch = 32;
  for (let k = 0; k < batch; k++) {
    const row = (step * batch + k) % 256;
    let out = b2.data[0];
    for (let j = 0; j < HIDDEN; j++) {
      let z = b1.data[j];
      for (let i = 0; i < IN; i++) z += w1.data[j * IN + i] * X[row * IN + i];
      h[j] = Math.tanh(z);
      out += w2.data[j] * h[j];
    }
    const err = out - Y[row];
    loss += err * err;
    const dOut = (2 * err) / batch;
    g.b2[0] += dOut;
    for (let j = 0; j < HIDDEN; j++) {
      g.w2[j] += dOut * h[j];
      const dz = dOut * w2.data[j] * (1 - h[j] * h[j]);
      g.b1[j] += dz;
      for (let i = 0; i < IN; i++) g.w1[j * IN + i] += dz * X[row * IN + i];
    }
  }
  w1.accumulateGrad(g.w1);
  b1.accumulateGrad(g.b1);
  w2.accumulateGrad(g.w2);
  b2.accumulateGrad(g.b2);
  return loss / batch;
}

/** Warmup for WARMUP steps, then a cosine down to 1e-4 over the rest. */
function schedule(opt: AdamW): SequentialLR {
  const warmup = new LinearLR(opt, { startFactor: 0.1, totalIters: WARMUP });
  const cosine = new CosineAnnealingLR(opt, { tMax: STEPS - WARMUP, etaMin: 1e-4 });
  return new SequentialLR(opt, { schedulers: [warmup, cosine], milestones: [WARMUP] });
}

async function main(): Promise<void> {
  fs.mkdirSync(DIR, { recursive: true });
  const file = path.join(DIR, 'checkpoint.pt');
  let model: ModelState;
  let opt: AdamW;
  let start = 0;
  let ckpt: Checkpoint | undefined;
  if (process.argv.includes('--resume')) {
    ckpt = await loadTorch<Checkpoint>(file);
    model = new ModelState(ckpt.model_state_dict);
    opt = AdamW.fromStateDict(model, ckpt.optimizer_state_dict); // lr, betas, weight decay and state from the file
    start = ckpt.step;
  } else {
    model = new ModelState(initialModel());
    opt = new AdamW(model.parameters, { lr: 1e-2, weightDecay: 0.01 });
  }
  const sched = schedule(opt);
  const ema = new EMA(new Map(model.namedParameters()), { decay: 0.99 });
  if (ckpt !== undefined) {
    // As PyTorch resumes: build the scheduler (whose first step sets lr), then load every dict.
    opt.loadStateDict(ckpt.optimizer_state_dict);
    sched.loadStateDict(ckpt.scheduler_state_dict);
    ema.loadStateDict(ckpt.ema_state_dict);
  }

  let loss = NaN;
  for (let step = start; step < STEPS; step++) {
    opt.zeroGrad();
    loss = backward(model, step);
    clipGradNorm(model.parameters, 1.0);
    opt.step();
    sched.step();
    ema.update();
    if ((step + 1) % EVERY === 0) {
      const checkpoint: Checkpoint = {
        step: step + 1,
        model_state_dict: model.stateDict(),
        optimizer_state_dict: opt.stateDict(),
        scheduler_state_dict: sched.stateDict(),
        ema_state_dict: ema.stateDict(),
        loss,
      };
      await saveTorch(checkpoint, file); // atomic: a kill leaves the last checkpoint whole
      console.log(`step ${step + 1}: loss ${loss.toFixed(5)}, lr ${sched.getLastLr()[0].toExponential(3)}, checkpoint saved`);
    }
    if (step + 1 === KILL_AT) process.kill(process.pid, 'SIGKILL');
  }
  const digest = crypto.createHash('sha256');
  for (const p of [...model.parameters, ...ema.params]) digest.update(Buffer.from(p.data.buffer, p.data.byteOffset, p.data.byteLength));
  console.log(`done: ${STEPS} steps, loss ${loss.toFixed(5)}, weights and EMA sha256 ${digest.digest('hex')}`);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
