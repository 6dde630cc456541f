// The cases that every optimizer is checked on against real PyTorch,
// how they are sent to the oracle (test/torch/optim_oracle.py), how the same
// run is made in simd-optim, and the committed fixtures made from both
// PyTorch versions. Used by test/pytorch-bits.test.ts and
// test/torch/make-optim-fixtures.ts.
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as zlib from 'node:zlib';
import { Adagrad, Adam, AdamW, Parameter, RMSprop, SGD, type FloatArray, type TensorRecord } from '../../lib';
import { pythonOracles } from './python';

export const fixtureFile = path.join(__dirname, '..', 'fixtures', 'pytorch-optim.json.gz');
export const script = fs.readFileSync(path.join(__dirname, 'optim_oracle.py'), 'utf8');

type DType = 'float32' | 'float64';
type Grads = 'range' | 'zeros';

export interface Case {
  name: string;
  optimizer: 'RMSprop' | 'Adagrad' | 'SGD' | 'Adam' | 'AdamW';
  dtype: DType;
  sizes: number[];
  /** Constructor keyword arguments (PyTorch names). */
  defaults: Record<string, unknown>;
  /** Groups: param indices and per-group keyword arguments (PyTorch names). */
  groups: Record<string, unknown>[];
  steps: number;
  /** Gradients span 2^±spread ('range'), or are all zero. */
  grads: Grads;
  spread: number;
  /** lr of every group from this step on (a schedule), if any. */
  lrFrom?: { step: number; lr: number[] };
  /** Other group keys set at a step, per group (PyTorch names): betas, eps, momentum. */
  setAt?: { step: number; groups: Record<string, unknown>[] };
  /**
   * Whether +0 and -0 count as different bits. Not with Adam's b1 = 0 under
   * 2.x: PyTorch's lerp_ takes two forms there, its vector loop's and its
   * scalar remainder's, whose zeros differ in sign (docs/spec/adam-arithmetic.md).
   */
  zeroSigns?: boolean;
  /**
   * Whether its bits depend on where the C library's pow is not correctly
   * rounded (Adam's bc2 ** 0.5 at b2 = 0.995, t = 69): the pure-JS backend
   * without the addon, whose pow is, differs there in float64.
   */
  glibcPow?: boolean;
}

/** A seeded stream of 32-bit integers (xorshift32). */
function stream(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    return s >>> 0;
  };
}

/** Values over many orders of magnitude, both signs, some exact zeros. */
function values(n: number, seed: number, dtype: DType, spread: number): FloatArray {
  const next = stream(seed);
  const out = dtype === 'float32' ? new Float32Array(n) : new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const r = next();
    out[i] = r % 17 === 0 ? 0 : (r & 1 ? -1 : 1) * (1 + next() / 2 ** 32) * 2 ** ((next() % (2 * spread + 1)) - spread);
  }
  return out;
}

const SIZES = [0, 1, 7, 8, 9, 31, 33, 1000];
const all = (sizes: number[]) => sizes.map((_, i) => i);

function rmspropCases(dtype: DType): Case[] {
  const base = { optimizer: 'RMSprop' as const, dtype, sizes: SIZES, defaults: {}, steps: 6, grads: 'range' as Grads, spread: 4 };
  const one = (name: string, group: Record<string, unknown>, extra: Partial<Case> = {}): Case => ({
    ...base, name: `RMSprop ${dtype} ${name}`, groups: [{ params: all(base.sizes), ...group }], ...extra,
  });
  return [
    one('plain', {}),
    one('first step, momentum and centered', { momentum: 0.9, centered: true }, { steps: 1 }),
    one('weight decay', { weight_decay: 0.1 }),
    one('momentum', { momentum: 0.9, lr: 0.02 }),
    one('centered', { centered: true }),
    one('centered, alpha < 0.5', { centered: true, alpha: 0.3 }),
    one('maximize', { maximize: true }),
    one('everything, 60 steps', { lr: 0.005, alpha: 0.9, eps: 1e-6, weight_decay: 0.05, momentum: 0.5, centered: true, maximize: true }, { steps: 60 }),
    one('zero grads, eps = 0 (NaN)', { eps: 0 }, { grads: 'zeros', steps: 2 }),
    {
      ...base, name: `RMSprop ${dtype} three groups, lr changed mid-run`, defaults: { lr: 0.03, momentum: 0.2 }, steps: 8,
      groups: [{ params: [0, 1, 2] }, { params: [3, 4, 5], alpha: 0.9, centered: true }, { params: [6, 7], lr: 0.1, weight_decay: 0.01 }],
      lrFrom: { step: 4, lr: [0.01, 0.002, 0.05] },
    },
    {
      ...base, name: `RMSprop ${dtype} huge range, 100003 elements`, sizes: [33, 100003], steps: 3, spread: dtype === 'float32' ? 60 : 300,
      groups: [{ params: [0, 1], momentum: 0.9, centered: true, weight_decay: 0.01 }],
    },
  ];
}

function adagradCases(dtype: DType): Case[] {
  const base = { optimizer: 'Adagrad' as const, dtype, sizes: SIZES, defaults: {}, steps: 5, grads: 'range' as Grads, spread: 4 };
  return [
    { ...base, name: `Adagrad ${dtype} defaults`, groups: [{ params: all(SIZES) }] },
    {
      ...base, name: `Adagrad ${dtype} everything, 50 steps`, steps: 50, spread: 6, defaults: { initial_accumulator_value: 0.2 },
      groups: [{ params: all(SIZES), lr: 0.1, lr_decay: 0.01, weight_decay: 0.05, initial_accumulator_value: 0.1, eps: 1e-6, maximize: true }],
    },
    {
      ...base, name: `Adagrad ${dtype} two groups, huge range`, sizes: [33, 100003], steps: 3, spread: 30,
      groups: [{ params: [0], lr: 0.5 }, { params: [1], lr_decay: 0.5, eps: 0 }], lrFrom: { step: 2, lr: [0.05, 0.3] },
    },
  ];
}

/** Every valid combination of SGD's options, and groups, schedules and sizes. */
function sgdCases(dtype: DType): Case[] {
  const base = { optimizer: 'SGD' as const, dtype, sizes: SIZES, defaults: { lr: 0.01 }, steps: 6, grads: 'range' as Grads, spread: 4 };
  const out: Case[] = [];
  for (const momentum of [0, 0.9]) {
    for (const dampening of [0, 0.1]) {
      for (const nesterov of momentum > 0 && dampening === 0 ? [false, true] : [false]) {
        for (const wd of [0, 0.01]) {
          for (const maximize of [false, true]) {
            const group = { params: all(SIZES), momentum, dampening, nesterov, weight_decay: wd, maximize };
            out.push({ ...base, name: `SGD ${dtype} ${JSON.stringify(group).replace(/"params":\[[^\]]*\],/, '')}`, groups: [group] });
          }
        }
      }
    }
  }
  out.push(
    {
      ...base, name: `SGD ${dtype} everything, 120 steps`, steps: 120, spread: 6,
      groups: [{ params: all(SIZES), lr: 0.01, momentum: 0.9, nesterov: true, weight_decay: 0.01, maximize: true }],
    },
    {
      ...base, name: `SGD ${dtype} three groups, 110 steps, lr changed, momentum halved then switched on`, steps: 110,
      defaults: { lr: 0.03, momentum: 0.5 },
      groups: [{ params: [0, 1, 2] }, { params: [3, 4, 5], momentum: 0, weight_decay: 0.01 }, { params: [6, 7], lr: 0.1, nesterov: true }],
      lrFrom: { step: 40, lr: [0.01, 0.002, 0.05] },
      setAt: { step: 70, groups: [{ momentum: 0.25 }, { momentum: 0.9 }, { momentum: 0.45 }] },
    },
    {
      ...base, name: `SGD ${dtype} huge range, 100003 elements`, sizes: [33, 100003], steps: 3, spread: dtype === 'float32' ? 60 : 300,
      groups: [{ params: [0, 1], momentum: 0.9, weight_decay: 0.01, dampening: 0.1 }],
    },
  );
  return out;
}

/** Adam's and AdamW's options in combination (both lerp branches, w = 0.5 and b1 = 0), and groups, schedules and sizes. */
function adamCases(optimizer: 'Adam' | 'AdamW', dtype: DType): Case[] {
  const base = { optimizer, dtype, sizes: SIZES, defaults: {}, steps: 6, grads: 'range' as Grads, spread: 4 };
  const out: Case[] = [];
  for (const betas of [[0.9, 0.999], [0.0, 0.99], [0.5, 0.9], [0.3, 0.995]]) {
    for (const wd of [0, 0.1]) {
      for (const amsgrad of [false, true]) {
        for (const maximize of [false, true]) {
          const group = { params: all(SIZES), betas, weight_decay: wd, amsgrad, maximize };
          out.push({ ...base, name: `${optimizer} ${dtype} ${JSON.stringify(group).replace(/"params":\[[^\]]*\],/, '')}`, groups: [group], zeroSigns: betas[0] !== 0 });
        }
      }
    }
  }
  out.push(
    {
      ...base, name: `${optimizer} ${dtype} everything, 120 steps`, steps: 120, spread: 6,
      groups: [{ params: all(SIZES), lr: 0.01, betas: [0.8, 0.99], eps: 1e-6, weight_decay: 0.05, amsgrad: true, maximize: true }],
    },
    {
      ...base, name: `${optimizer} ${dtype} three groups, lr and betas changed mid-run`, steps: 105, defaults: { lr: 0.002 },
      groups: [{ params: [0, 1, 2] }, { params: [3, 4, 5], betas: [0.5, 0.9], amsgrad: true }, { params: [6, 7], lr: 0.01, weight_decay: 0.02 }],
      lrFrom: { step: 50, lr: [0.001, 0.004, 0.02] },
      setAt: { step: 80, groups: [{ betas: [0.95, 0.9999] }, { eps: 1e-5, betas: [0.85, 0.98] }, { betas: [0.9, 0.995] }] },
    },
    {
      // b2 = 0.9 reaches bc2 = 1 - 2^-53 at t = 345 to 355, where 2.x's pow(bc2, 0.5) is 1 and 1.13's sqrt is not.
      ...base, name: `${optimizer} ${dtype} 360 steps past bc2 = 1 - 2^-53`, sizes: [1, 9, 33], steps: 360,
      groups: [{ params: [0, 1, 2], betas: [0.9, 0.9], lr: 0.01 }],
    },
    {
      // At t = 69, glibc's pow(bc2, 0.5) is one ulp from the correctly rounded sqrt (docs/spec/adam-arithmetic.md).
      ...base, name: `${optimizer} ${dtype} 90 steps past pow(bc2, 0.5) != sqrt(bc2) at b2 = 0.995`, sizes: [1, 9, 33], steps: 90,
      groups: [{ params: [0, 1, 2], betas: [0.9, 0.995], lr: 0.01 }], glibcPow: true,
    },
    { ...base, name: `${optimizer} ${dtype} zero grads, eps = 0 (NaN)`, grads: 'zeros', steps: 2, groups: [{ params: all(SIZES), eps: 0 }] },
    {
      ...base, name: `${optimizer} ${dtype} huge range, 100003 elements`, sizes: [33, 100003], steps: 3, spread: dtype === 'float32' ? 60 : 300,
      groups: [{ params: [0, 1], amsgrad: true, weight_decay: 0.01 }],
    },
  );
  return out;
}

export const cases: Case[] = (['float32', 'float64'] as const).flatMap((d) => [
  ...rmspropCases(d), ...adagradCases(d), ...sgdCases(d), ...adamCases('Adam', d), ...adamCases('AdamW', d),
]);

const b64 = (a: FloatArray) => Buffer.from(a.buffer, a.byteOffset, a.byteLength).toString('base64');

/** The case as the oracle takes it; grads are missing (null) now and then. */
export function request(c: Case) {
  return {
    name: c.name,
    optimizer: c.optimizer,
    dtype: c.dtype,
    params: c.sizes.map((n, i) => b64(values(n, 1000 + i, c.dtype, 2))),
    defaults: c.defaults,
    groups: c.groups,
    steps: Array.from({ length: c.steps }, (_, s) => ({
      grads: c.sizes.map((n, i) =>
        (s + i) % 7 === 3 ? null : b64(c.grads === 'zeros' ? values(n, 0, c.dtype, 0).fill(0) : values(n, 7919 * s + i, c.dtype, c.spread))),
      ...(c.lrFrom && s === c.lrFrom.step ? { lr: c.lrFrom.lr } : {}),
      ...(c.setAt && s === c.setAt.step ? { set: c.setAt.groups } : {}),
    })),
  };
}

export type Answer = ReturnType<typeof ours>;

const CAMEL: Record<string, string> = {
  weight_decay: 'weightDecay', lr_decay: 'lrDecay', initial_accumulator_value: 'initialAccumulatorValue',
};
const OPTIMIZERS = { RMSprop, Adagrad, SGD, Adam, AdamW };
const camel = (o: Record<string, unknown>) => Object.fromEntries(Object.entries(o).map(([k, v]) => [CAMEL[k] ?? k, v]));

/**
 * The same run in simd-optim, in the oracle's answer format. With
 * `resumeAt`, the run stops there, goes through stateDict() into a fresh
 * optimizer (on fresh copies of the params) with loadStateDict(), and goes on.
 */
export function ours(c: Case, compat: '2.x' | '1.13', resumeAt?: number) {
  const req = request(c);
  const decode = (s: string): FloatArray => {
    const copy = new Uint8Array(Buffer.from(s, 'base64')).buffer;
    return c.dtype === 'float32' ? new Float32Array(copy) : new Float64Array(copy);
  };
  const make = (params: Parameter[]) => {
    const groups = c.groups.map((g) => ({ ...camel(g), params: (g.params as number[]).map((i) => params[i]), compat }));
    const options = camel(c.defaults);
    return new OPTIMIZERS[c.optimizer](groups as never, options as never);
  };
  let params = req.params.map((p) => new Parameter(decode(p)));
  let opt = make(params);
  req.steps.forEach((step, s) => {
    if (s === resumeAt) {
      const dict = opt.stateDict();
      params = params.map((p) => new Parameter(p.data.slice()));
      opt = make(params);
      opt.loadStateDict(dict);
    }
    step.lr?.forEach((lr, g) => (opt.paramGroups[g].lr = lr));
    step.set?.forEach((values, g) => Object.assign(opt.paramGroups[g], camel(values)));
    params.forEach((p, i) => (p.grad = step.grads[i] === null ? null : decode(step.grads[i]!)));
    opt.step();
  });
  const sd = opt.stateDict();
  return {
    params: params.map((p) => b64(p.data)),
    state: Object.fromEntries(
      Object.entries(sd.state).map(([i, s]) => [
        i,
        Object.fromEntries(Object.entries(s).map(([k, v]) => [k, k === 'step' || v === null ? v : b64((v as TensorRecord<DType>).data)])),
      ]),
    ),
    param_groups: sd.param_groups.map((g) => Object.entries(g)),
  };
}

/**
 * 'sha256:<hex>' of a base64 array's bytes: how fixtures keep large arrays.
 * With `dtype`, 'sha256+0:<hex>' of the bytes with every -0 made +0, for
 * the arrays whose zero signs PyTorch itself does not fix (Case.zeroSigns).
 */
export function digestOf(base64: string, dtype?: DType): string {
  const bytes = Buffer.from(base64, 'base64');
  if (dtype === undefined) return 'sha256:' + crypto.createHash('sha256').update(bytes).digest('hex');
  const width = dtype === 'float32' ? 4 : 8;
  for (let i = 0; i < bytes.length; i += width) {
    if ((width === 4 ? bytes.readFloatLE(i) : bytes.readDoubleLE(i)) === 0) bytes.fill(0, i, i + width);
  }
  return 'sha256+0:' + crypto.createHash('sha256').update(bytes).digest('hex');
}

/** A digest of every input, so fixtures made from another case list fail loudly. */
export function inputsDigest(): string {
  return crypto.createHash('sha256').update(JSON.stringify(cases.map(request))).digest('hex');
}

/** Regenerates the fixtures from both oracles (test/torch/make-optim-fixtures.ts). */
export function makeFixtures(): void {
  const oracles = pythonOracles();
  if (oracles.length !== 2) throw new Error('both PyTorch oracles are needed: bash scripts/setup-torch.sh');
  const results = oracles.map((o) => o.run(script, { cases: cases.map(request) }) as { torch: string; cases: (Answer & { name: string })[] });
  const large = (v: unknown): v is string => typeof v === 'string' && v.length > 4096;
  // Arrays whose zero signs vary in 2.x are digested with their zeros made +0 (digestOf).
  for (const r of results) {
    if (r.torch.startsWith('1.13')) continue;
    for (const answer of r.cases) {
      const c = cases.find((k) => k.name === answer.name)!;
      if (c.zeroSigns !== false) continue;
      answer.params = answer.params.map((v) => (large(v) ? digestOf(v, c.dtype) : v));
      for (const entry of Object.values(answer.state)) {
        for (const [k, v] of Object.entries(entry)) if (large(v)) entry[k] = digestOf(v, c.dtype);
      }
    }
  }
  const compact = (_key: string, v: unknown) => (large(v) ? digestOf(v) : v);
  fs.writeFileSync(fixtureFile, zlib.gzipSync(JSON.stringify({ inputs: inputsDigest(), results }, compact)));
}
