// The LR scheduler cases checked against real PyTorch
// (test/torch/sched_oracle.py): every scheduler, its options, one or two
// groups, over 1,000+ steps; how the same run is made in simd-optim; and the
// committed fixtures of PyTorch 2.6. Used by test/schedulers.test.ts and
// test/torch/make-sched-fixtures.ts.
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as zlib from 'node:zlib';
import * as lib from '../../lib';
import { Adagrad, Adam, AdamW, Parameter, RMSprop, SGD, type LRScheduler, type Optimizer, type StateDict } from '../../lib';
import { pythonOracles } from './python';

export const schedFixtureFile = path.join(__dirname, '..', 'fixtures', 'pytorch-schedulers.json.gz');
export const schedScript = fs.readFileSync(path.join(__dirname, 'sched_oracle.py'), 'utf8');

type OptimizerKind = 'SGD' | 'Adam' | 'AdamW' | 'RMSprop' | 'Adagrad';

/** A scheduler: its class, and its options in simd-optim's names (the lambdas by name). */
export interface SchedSpec {
  kind: string;
  options?: Record<string, unknown>;
  children?: SchedSpec[];
}

export interface SchedCase {
  name: string;
  optimizer: OptimizerKind;
  lrs: number[];
  steps: number;
  scheduler: SchedSpec;
  /** ReduceLROnPlateau's metric at each step. */
  metrics?: number[];
  /** Whether its rates call cos (the JS backend's promise differs there: docs/schedulers.md). */
  usesCos?: boolean;
}

/** The lambdas both sides know by name (sched_oracle.py's LAMBDAS), with the same arithmetic. */
export const LAMBDAS: Record<string, (e: number) => number> = {
  warmup: (e) => Math.min(1.0, (e + 1) / 100),
  inverse: (e) => 1.0 / (1.0 + 0.01 * e),
  constant: () => 0.99,
  alternate: (e) => (e % 2 ? 0.9 : 1.05),
};

/** PyTorch's argument names where camelCase → snake_case is not enough. */
const TORCH_NAMES: Record<string, string> = { tMax: 'T_max', t0: 'T_0', tMult: 'T_mult' };
const snake = (k: string) => TORCH_NAMES[k] ?? k.replace(/[A-Z]/g, (c) => '_' + c.toLowerCase());

/** A seeded metric stream with plateaus, rounded to 3 decimals so both sides read the same doubles. */
function metrics(steps: number, sign: number): number[] {
  let s = 12345;
  return Array.from({ length: steps }, (_, t) => {
    s = (s * 1103515245 + 12345) % 2147483648;
    const noise = (s / 2147483648 - 0.5) * 0.02;
    return sign * Math.round((1 / (1 + Math.floor(t / 40) / 5) + noise) * 1000) / 1000;
  });
}

const N = 1000;
const one = (name: string, kind: string, options: Record<string, unknown>, extra: Partial<SchedCase> = {}): SchedCase => ({
  name: `${kind} ${JSON.stringify(options)}${extra.optimizer ? ' ' + extra.optimizer : ''}${extra.lrs?.length === 2 ? ' 2 groups' : ''}${name}`,
  optimizer: 'SGD',
  lrs: [0.1],
  steps: N,
  scheduler: { kind, options },
  ...extra,
});
const seq = (name: string, children: SchedSpec[], milestones: number[], extra: Partial<SchedCase> = {}): SchedCase => ({
  name: `SequentialLR ${name}`,
  optimizer: 'SGD',
  lrs: [0.1],
  steps: N,
  scheduler: { kind: 'SequentialLR', options: { milestones }, children },
  ...extra,
});
const chain = (name: string, children: SchedSpec[], extra: Partial<SchedCase> = {}): SchedCase => ({
  name: `ChainedScheduler ${name}`,
  optimizer: 'SGD',
  lrs: [0.1],
  steps: N,
  scheduler: { kind: 'ChainedScheduler', children },
  ...extra,
});

export const schedCases: SchedCase[] = [
  one('', 'LambdaLR', { lrLambda: 'warmup' }),
  one('', 'LambdaLR', { lrLambda: ['warmup', 'inverse'] }, { lrs: [0.1, 0.03] }),
  one('', 'MultiplicativeLR', { lrLambda: 'constant' }),
  one('', 'MultiplicativeLR', { lrLambda: 'alternate' }, { lrs: [0.1, 0.003] }),
  one('', 'StepLR', { stepSize: 30, gamma: 0.1 }),
  one('', 'StepLR', { stepSize: 7, gamma: 0.9 }, { lrs: [0.1, 0.02] }),
  one('', 'StepLR', { stepSize: 1, gamma: 0.999 }),
  one('', 'MultiStepLR', { milestones: [30, 80, 80, 500], gamma: 0.5 }),
  one('', 'MultiStepLR', { milestones: [300, 100], gamma: 0.1 }, { lrs: [0.1, 0.3] }),
  one('', 'ConstantLR', {}),
  one('', 'ConstantLR', { factor: 0.1, totalIters: 300 }, { lrs: [0.1, 0.7] }),
  one('', 'LinearLR', {}),
  one('', 'LinearLR', { startFactor: 0.01, endFactor: 1, totalIters: 500 }),
  one('', 'LinearLR', { startFactor: 1, endFactor: 0.1, totalIters: 999 }, { lrs: [0.1, 0.05] }),
  one('', 'ExponentialLR', { gamma: 0.99 }),
  one('', 'ExponentialLR', { gamma: 0.999 }, { lrs: [0.1, 0.9] }),
  one('', 'PolynomialLR', {}),
  one('', 'PolynomialLR', { totalIters: 800, power: 2 }),
  one('', 'PolynomialLR', { totalIters: 1000, power: 0.9 }, { lrs: [0.1, 0.01] }),
  one('', 'PolynomialLR', { totalIters: 700, power: 1.5 }),
  one('', 'CosineAnnealingLR', { tMax: 1000 }, { usesCos: true }),
  one('', 'CosineAnnealingLR', { tMax: 100, etaMin: 0.001 }, { usesCos: true }),
  one('', 'CosineAnnealingLR', { tMax: 7 }, { usesCos: true }),
  one('', 'CosineAnnealingLR', { tMax: 333, etaMin: 1e-5 }, { lrs: [0.1, 0.02], usesCos: true }),
  one('', 'CosineAnnealingWarmRestarts', { t0: 100 }, { usesCos: true }),
  one('', 'CosineAnnealingWarmRestarts', { t0: 10, tMult: 2, etaMin: 1e-4 }, { usesCos: true }),
  one('', 'CosineAnnealingWarmRestarts', { t0: 37, tMult: 3 }, { lrs: [0.1, 0.02], usesCos: true }),
  one('', 'CyclicLR', { baseLr: 0.001, maxLr: 0.1, stepSizeUp: 100 }),
  one('', 'CyclicLR', { baseLr: 0.001, maxLr: 0.1, stepSizeUp: 50, stepSizeDown: 150, mode: 'triangular2' }, { optimizer: 'RMSprop' }),
  one('', 'CyclicLR', { baseLr: [0.001, 0.002], maxLr: 0.05, stepSizeUp: 64, mode: 'exp_range', gamma: 0.999 }, { optimizer: 'Adam', lrs: [0.1, 0.2] }),
  one('', 'CyclicLR', { baseLr: 0.01, maxLr: 0.2, stepSizeUp: 33, cycleMomentum: false }, { optimizer: 'Adagrad' }),
  one('', 'CyclicLR', { baseLr: 0.01, maxLr: 0.1, stepSizeUp: 20, scaleFn: 'inverse', scaleMode: 'iterations', baseMomentum: 0.7, maxMomentum: 0.95 }),
  one('', 'OneCycleLR', { maxLr: 0.1, totalSteps: N }, { usesCos: true }),
  one('', 'OneCycleLR', { maxLr: 0.01, totalSteps: N, annealStrategy: 'linear', threePhase: true }, { optimizer: 'AdamW' }),
  one('', 'OneCycleLR', { maxLr: [0.1, 0.05], epochs: 10, stepsPerEpoch: 100, pctStart: 0.25, divFactor: 10, finalDivFactor: 100 },
    { optimizer: 'Adam', lrs: [0.1, 0.2], usesCos: true }),
  one('', 'OneCycleLR', { maxLr: 0.3, totalSteps: N, cycleMomentum: false, threePhase: true }, { optimizer: 'Adagrad', usesCos: true }),
  one('', 'ReduceLROnPlateau', {}, { metrics: metrics(N, 1) }),
  one('', 'ReduceLROnPlateau', { mode: 'max', factor: 0.5, patience: 3, threshold: 0.01, thresholdMode: 'abs', cooldown: 5, minLr: 0.001 },
    { metrics: metrics(N, -1), lrs: [0.1, 0.02] }),
  one(' negative metrics', 'ReduceLROnPlateau', { patience: 2, minLr: [0.001, 0] }, { metrics: metrics(N, -1), lrs: [0.1, 0.02] }),
  seq('warmup then cosine', [{ kind: 'LinearLR', options: { startFactor: 0.01, totalIters: 100 } }, { kind: 'CosineAnnealingLR', options: { tMax: 900 } }], [100],
    { usesCos: true }),
  seq('constant, exponential, step', [{ kind: 'ConstantLR', options: { factor: 0.5, totalIters: 20 } }, { kind: 'ExponentialLR', options: { gamma: 0.995 } },
    { kind: 'StepLR', options: { stepSize: 50, gamma: 0.5 } }], [50, 300], { lrs: [0.1, 0.01] }),
  seq('warmup then restarts', [{ kind: 'LinearLR', options: { startFactor: 0.1, totalIters: 50 } }, { kind: 'CosineAnnealingWarmRestarts', options: { t0: 60 } }], [50],
    { usesCos: true }),
  seq('exponential then polynomial then multistep', [{ kind: 'ExponentialLR', options: { gamma: 0.99 } }, { kind: 'PolynomialLR', options: { totalIters: 400, power: 2 } },
    { kind: 'MultiStepLR', options: { milestones: [100, 200], gamma: 0.3 } }], [200, 500]),
  chain('constant and exponential', [{ kind: 'ConstantLR', options: { factor: 0.5, totalIters: 100 } }, { kind: 'ExponentialLR', options: { gamma: 0.995 } }]),
  chain('linear and cosine', [{ kind: 'LinearLR', options: { startFactor: 0.1, totalIters: 200 } }, { kind: 'CosineAnnealingLR', options: { tMax: 500, etaMin: 1e-4 } }],
    { lrs: [0.1, 0.04], usesCos: true }),
];

const OPTIMIZERS = { SGD, Adam, AdamW, RMSprop, Adagrad };

/** The optimizer of a case, as sched_oracle.py makes it. */
export function makeOptimizer(c: SchedCase): Optimizer<{ lr: number }> {
  const groups = c.lrs.map((lr) => ({ params: [new Parameter(new Float64Array(2))], lr }));
  const defaults = c.optimizer === 'SGD' ? { lr: 0.1, momentum: 0.9 } : c.optimizer === 'RMSprop' ? { lr: 0.1, momentum: 0.5 } : { lr: 0.1 };
  return new OPTIMIZERS[c.optimizer](groups as never, defaults as never) as unknown as Optimizer<{ lr: number }>;
}

/** A scheduler from its spec, the lambdas resolved. */
export function makeScheduler(opt: Optimizer<{ lr: number }>, spec: SchedSpec): LRScheduler | lib.ReduceLROnPlateau {
  const children = spec.children?.map((s) => makeScheduler(opt, s) as LRScheduler);
  if (spec.kind === 'SequentialLR') return new lib.SequentialLR(opt, { schedulers: children!, milestones: spec.options!.milestones as number[] });
  if (spec.kind === 'ChainedScheduler') return new lib.ChainedScheduler(children!);
  const options: Record<string, unknown> = { ...spec.options };
  for (const key of ['lrLambda', 'scaleFn']) {
    const v = options[key];
    if (typeof v === 'string') options[key] = LAMBDAS[v];
    else if (Array.isArray(v)) options[key] = v.map((name) => LAMBDAS[name as string]);
  }
  const Class = (lib as unknown as Record<string, new (o: unknown, options: unknown) => LRScheduler>)[spec.kind];
  return new Class(opt, options);
}

/** Every group's lr, then its momentum (betas[0] or momentum) where it has one: what the oracle records. */
function record(opt: Optimizer<{ lr: number }>, out: number[]): void {
  for (const g of opt.paramGroups as unknown as Record<string, unknown>[]) {
    out.push(g.lr as number);
    if (Array.isArray(g.betas)) out.push(g.betas[0] as number);
    else if ('momentum' in g) out.push(g.momentum as number);
  }
}

const pack = (values: number[]) => Buffer.from(new Float64Array(values).buffer).toString('base64');

/** The spec in PyTorch's names, for the oracle. */
function torchSpec(spec: SchedSpec): Record<string, unknown> {
  const args = Object.fromEntries(Object.entries(spec.options ?? {}).map(([k, v]) => [snake(k), v]));
  return { kind: spec.kind, args, ...(spec.children ? { children: spec.children.map(torchSpec) } : {}) };
}

/** The case as the oracle takes it. */
export function schedRequest(c: SchedCase, extra: Record<string, unknown> = {}) {
  return { name: c.name, optimizer: c.optimizer, lrs: c.lrs, steps: c.steps, scheduler: torchSpec(c.scheduler), metrics: c.metrics, ...extra };
}

export interface SchedAnswer {
  name: string;
  /** Every recorded value, as float64 bits in base64 (a fixture of 1.13: their digest). */
  values: string;
  last_lr: number[];
  /** The error of a case this PyTorch version refuses (1.13's CyclicLR takes no betas). */
  error?: string;
}

/** What the oracle answers. */
export interface SchedOracleAnswer {
  torch: string;
  cases: SchedAnswer[];
}

/** 'sha256:<hex>' of the values' bytes. */
export function valuesDigest(values: string): string {
  return 'sha256:' + crypto.createHash('sha256').update(Buffer.from(values, 'base64')).digest('hex');
}

/** Steps one scheduler of a case once. */
export function stepOnce(c: SchedCase, sched: LRScheduler | lib.ReduceLROnPlateau, t: number): void {
  if (sched instanceof lib.ReduceLROnPlateau) sched.step(c.metrics![t]);
  else sched.step();
}

/**
 * The same run in simd-optim. With `resumeAt`, it stops there, goes through
 * both state dicts into a fresh optimizer and scheduler, and goes on.
 * `beforeStep` is told each step's index (0 for the first after construction).
 */
export function schedOurs(c: SchedCase, resumeAt?: number, beforeStep?: (t: number) => void): SchedAnswer {
  let opt = makeOptimizer(c);
  let sched = makeScheduler(opt, c.scheduler);
  const values: number[] = [];
  record(opt, values);
  for (let t = 0; t < c.steps; t++) {
    if (t === resumeAt) {
      const optDict = opt.stateDict();
      const schedDict = sched.stateDict();
      opt = makeOptimizer(c);
      sched = makeScheduler(opt, c.scheduler);
      opt.loadStateDict(optDict);
      sched.loadStateDict(schedDict);
    }
    beforeStep?.(t);
    stepOnce(c, sched, t);
    record(opt, values);
  }
  return { name: c.name, values: pack(values), last_lr: sched.getLastLr() };
}

/** Both state dicts of a run at some step, as a checkpoint holds them. */
export interface SchedCheckpoint {
  optimizer: StateDict;
  scheduler: Record<string, unknown>;
}

/** A run of the case up to `step`, and its checkpoint there. */
export function schedCheckpoint(c: SchedCase, step: number): SchedCheckpoint {
  const opt = makeOptimizer(c);
  const sched = makeScheduler(opt, c.scheduler);
  for (let t = 0; t < step; t++) stepOnce(c, sched, t);
  return { optimizer: opt.stateDict(), scheduler: sched.stateDict() };
}

/** A fresh optimizer and scheduler loaded from a checkpoint at `step`, run to the end: the values from the load on. */
export function schedResumed(c: SchedCase, checkpoint: SchedCheckpoint, step: number): Float64Array {
  const opt = makeOptimizer(c);
  const sched = makeScheduler(opt, c.scheduler);
  opt.loadStateDict(checkpoint.optimizer);
  sched.loadStateDict(checkpoint.scheduler);
  const values: number[] = [];
  record(opt, values);
  for (let t = step; t < c.steps; t++) {
    stepOnce(c, sched, t);
    record(opt, values);
  }
  return new Float64Array(values);
}

/** The values of an answer, as doubles. */
export function unpack(values: string): Float64Array {
  const bytes = Buffer.from(values, 'base64');
  return new Float64Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
}

/** A digest of every input, so fixtures made from another case list fail loudly. */
export function schedInputsDigest(): string {
  return crypto.createHash('sha256').update(JSON.stringify(schedCases.map((c) => schedRequest(c)))).digest('hex');
}

/** Regenerates the fixtures from both oracles (test/torch/make-sched-fixtures.ts). */
export function makeSchedFixtures(): void {
  const oracles = pythonOracles();
  if (oracles.length !== 2) throw new Error('both PyTorch oracles are needed: bash scripts/setup-torch.sh');
  const results = oracles.map((o) => o.run(schedScript, { cases: schedCases.map((c) => schedRequest(c)) }) as SchedOracleAnswer);
  // 2.6's values in full; 1.13's as a digest (the test compares them with 2.6's).
  for (const r of results) {
    if (!r.torch.startsWith('1.13')) continue;
    for (const a of r.cases) if (a.values !== undefined) a.values = valuesDigest(a.values);
  }
  fs.writeFileSync(schedFixtureFile, zlib.gzipSync(JSON.stringify({ inputs: schedInputsDigest(), results })));
  // Checkpoints PyTorch 2.6 wrote mid-run, for the resume test on machines without Python.
  const torch26 = oracles.find((o) => o.id === 'torch-2.6')!;
  const dir = torch26.tempDir();
  try {
    torch26.run(schedScript, {
      cases: checkpointCases().map(({ c, file }) =>
        schedRequest(c, { save: { step: checkpointStep(c), file: path.posix.join(dir.python, file) } })),
    });
    for (const { file } of checkpointCases()) fs.copyFileSync(path.join(dir.host, file), path.join(checkpointDir, file));
  } finally {
    fs.rmSync(dir.host, { recursive: true, force: true });
  }
}

/** Where the committed checkpoints PyTorch 2.6 wrote are. */
export const checkpointDir = path.join(__dirname, '..', 'fixtures', 'torch-files', 'torch-2.6');

/** The step a checkpoint of a case is taken at. */
export const checkpointStep = (c: SchedCase) => Math.floor(c.steps * 0.4);

/** The cases with a committed checkpoint: those whose state dicts hold more than numbers and lists. */
export function checkpointCases(): { c: SchedCase; file: string }[] {
  const pick = (kind: string) => schedCases.find((c) => c.scheduler.kind === kind)!;
  return ['MultiStepLR', 'OneCycleLR', 'ReduceLROnPlateau', 'SequentialLR', 'CyclicLR'].map((kind) => ({
    c: pick(kind),
    file: `sched-${kind.toLowerCase()}.pt`,
  }));
}
