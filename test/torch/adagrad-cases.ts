// The Adagrad cases checked against PyTorch, the oracle's script, and the
// fixtures made from it. Used by test/adagrad-torch.test.ts and
// test/torch/make-adagrad-fixtures.ts.
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as zlib from 'node:zlib';
import { Adagrad, Parameter, type FloatArray } from '../../lib';
import { pythonOracles } from './python';

export const fixtureFile = path.join(__dirname, '..', 'fixtures', 'adagrad-torch.json.gz');
export const script = fs.readFileSync(path.join(__dirname, 'adagrad_oracle.py'), 'utf8');

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
function values(n: number, seed: number, dtype: 'float32' | 'float64', spread: number): FloatArray {
  const next = stream(seed);
  const out = dtype === 'float32' ? new Float32Array(n) : new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const r = next();
    out[i] = r % 17 === 0 ? 0 : (r & 1 ? -1 : 1) * (1 + next() / 2 ** 32) * 2 ** ((next() % (2 * spread + 1)) - spread);
  }
  return out;
}

export interface Case {
  name: string;
  dtype: 'float32' | 'float64';
  sizes: number[];
  groups: Record<string, unknown>[];
  steps: number;
  spread: number;
}

export const cases: Case[] = [];
for (const dtype of ['float32', 'float64'] as const) {
  const sizes = [0, 1, 7, 8, 9, 31, 33, 1000];
  cases.push(
    { name: `${dtype} defaults`, dtype, sizes, groups: [{ params: sizes.map((_, i) => i) }], steps: 5, spread: 4 },
    { name: `${dtype} everything`, dtype, sizes, groups: [{ params: sizes.map((_, i) => i), lr: 0.1, lr_decay: 0.01, weight_decay: 0.05, initial_accumulator_value: 0.1, eps: 1e-6, maximize: true }], steps: 50, spread: 6 },
    { name: `${dtype} two groups, huge range`, dtype, sizes: [33, 100003], groups: [{ params: [0], lr: 0.5 }, { params: [1], lr_decay: 0.5, eps: 0 }], steps: 3, spread: 30 },
  );
}

/** Inputs as the oracle takes them; grads are skipped (null) now and then. */
export function request(c: Case) {
  const b64 = (a: FloatArray) => Buffer.from(a.buffer, a.byteOffset, a.byteLength).toString('base64');
  return {
    name: c.name,
    dtype: c.dtype,
    params: c.sizes.map((n, i) => b64(values(n, 1000 + i, c.dtype, 2))),
    groups: c.groups,
    steps: Array.from({ length: c.steps }, (_, s) =>
      c.sizes.map((n, i) => ((s + i) % 7 === 3 ? null : b64(values(n, 7919 * s + i, c.dtype, c.spread))))),
  };
}

const camel: Record<string, string> = { lr_decay: 'lrDecay', weight_decay: 'weightDecay', initial_accumulator_value: 'initialAccumulatorValue' };

/** The same run in simd-optim, in the oracle's answer format. */
export function ours(c: Case, compat: '2.x' | '1.13') {
  const req = request(c);
  const decode = (s: string) => {
    const bytes = Buffer.from(s, 'base64');
    const copy = new Uint8Array(bytes).buffer;
    return c.dtype === 'float32' ? new Float32Array(copy) : new Float64Array(copy);
  };
  const params = req.params.map((p) => new Parameter(decode(p)));
  const groups = c.groups.map((g) => {
    const out: Record<string, unknown> = { params: (g.params as number[]).map((i) => params[i]), compat };
    for (const [k, v] of Object.entries(g)) if (k !== 'params') out[camel[k] ?? k] = v;
    return out;
  });
  const opt = new Adagrad(groups as never);
  for (const grads of req.steps) {
    params.forEach((p, i) => (p.grad = grads[i] === null ? null : decode(grads[i]!)));
    opt.step();
  }
  const b64 = (a: FloatArray) => Buffer.from(a.buffer, a.byteOffset, a.byteLength).toString('base64');
  const sd = opt.stateDict();
  return {
    params: params.map((p) => b64(p.data)),
    state: Object.fromEntries(Object.entries(sd.state).map(([i, s]) => [i, { step: s.step, sum: b64((s.sum as { data: FloatArray }).data) }])),
    param_groups: sd.param_groups.map((g) => Object.keys(g)),
  };
}

/** A digest of every input, so stale fixtures fail loudly. */
export function inputsDigest(): string {
  return require('node:crypto').createHash('sha256').update(JSON.stringify(cases.map(request))).digest('hex');
}

/** Regenerates the fixtures from both oracles (test/torch/make-adagrad-fixtures.ts). */
export function makeFixtures(): void {
  const oracles = pythonOracles();
  if (oracles.length !== 2) throw new Error('both PyTorch oracles are needed: bash scripts/setup-torch.sh');
  const results = oracles.map((o) => o.run(script, { cases: cases.map(request) }));
  // Large arrays are kept as digests of their bytes: still bit-exact, and small.
  const compact = (_key: string, v: unknown) => (typeof v === 'string' && v.length > 4096 ? digestOf(v) : v);
  fs.writeFileSync(fixtureFile, zlib.gzipSync(JSON.stringify({ inputs: inputsDigest(), results }, compact)));
}

/** 'sha256:<hex>' of a base64 array's bytes, as fixtures store large arrays. */
export function digestOf(base64: string): string {
  return 'sha256:' + require('node:crypto').createHash('sha256').update(Buffer.from(base64, 'base64')).digest('hex');
}
