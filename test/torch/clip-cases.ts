// The gradient clipping and weight EMA cases checked against real PyTorch
// (test/torch/clip_oracle.py), and the committed fixtures of PyTorch 2.6.
// Used by test/clip-ema.test.ts and test/torch/make-clip-fixtures.ts.
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as zlib from 'node:zlib';
import type { FloatArray } from '../../lib';
import { pythonOracles } from './python';

export const clipFixtureFile = path.join(__dirname, '..', 'fixtures', 'pytorch-clip-ema.json.gz');
export const clipScript = fs.readFileSync(path.join(__dirname, 'clip_oracle.py'), 'utf8');

type DType = 'float32' | 'float64';

export interface ClipCase {
  name: string;
  dtype: DType;
  sizes: number[];
  /** Magnitudes spread over 2^±spread. */
  spread: number;
  maxNorm: number;
  normType: number;
  clipValue?: number;
  /** Values planted at element 0 of the first tensor (NaN, Infinity). */
  plant?: number;
  seed: number;
}

export interface EmaCase {
  name: string;
  dtype: DType;
  sizes: number[];
  decay: number;
  updates: number;
  seed: number;
}

const many = (count: number, max: number, seed: number) => Array.from({ length: count }, (_, i) => 1 + ((i * 7919 + seed) % max));

export const clipCases: ClipCase[] = [
  { name: 'L2, one tensor of 1,000', dtype: 'float32', sizes: [1000], spread: 4, maxNorm: 1, normType: 2, clipValue: 0.5, seed: 1 },
  { name: 'L2, 300 small tensors', dtype: 'float32', sizes: many(300, 50, 3), spread: 8, maxNorm: 0.5, normType: 2, clipValue: 0.01, seed: 2 },
  { name: 'L2, 133,000 elements in 5 tensors', dtype: 'float32', sizes: [100000, 20000, 12000, 999, 1], spread: 2, maxNorm: 5, normType: 2, seed: 3 },
  { name: 'L1, 133,000 elements in 5 tensors', dtype: 'float32', sizes: [100000, 20000, 12000, 999, 1], spread: 2, maxNorm: 5, normType: 1, seed: 4 },
  { name: 'L1, 300 small tensors', dtype: 'float32', sizes: many(300, 50, 5), spread: 6, maxNorm: 10, normType: 1, seed: 5 },
  { name: 'Linf', dtype: 'float32', sizes: [33, 4097, 7], spread: 10, maxNorm: 0.25, normType: Infinity, clipValue: 2, seed: 6 },
  { name: 'L3', dtype: 'float32', sizes: [5000, 17], spread: 3, maxNorm: 1, normType: 3, seed: 7 },
  { name: 'L0.5', dtype: 'float32', sizes: [2000, 31], spread: 3, maxNorm: 1e3, normType: 0.5, seed: 8 },
  { name: 'no clipping: the norm is below maxNorm', dtype: 'float32', sizes: [100, 20], spread: 1, maxNorm: 1e6, normType: 2, seed: 9 },
  { name: 'a norm near 1e-6', dtype: 'float32', sizes: [64], spread: 1, maxNorm: 1e-7, normType: 2, seed: 10 },
  { name: 'L2 float64, 20,000 elements', dtype: 'float64', sizes: [16000, 4000, 3], spread: 20, maxNorm: 1, normType: 2, clipValue: 0.1, seed: 11 },
  { name: 'L1 float64', dtype: 'float64', sizes: [5000, 9], spread: 20, maxNorm: 1, normType: 1, seed: 12 },
  { name: 'a NaN grad', dtype: 'float32', sizes: [100, 10], spread: 1, maxNorm: 1, normType: 2, clipValue: 0.5, plant: NaN, seed: 13 },
  { name: 'an infinite grad', dtype: 'float32', sizes: [100, 10], spread: 1, maxNorm: 1, normType: 2, clipValue: 0.5, plant: Infinity, seed: 14 },
  { name: 'an infinite grad, Linf', dtype: 'float32', sizes: [100], spread: 1, maxNorm: 1, normType: Infinity, plant: -Infinity, seed: 15 },
];

export const emaCases: EmaCase[] = [
  { name: 'decay 0.999', dtype: 'float32', sizes: [1, 17, 1000], decay: 0.999, updates: 40, seed: 21 },
  { name: 'decay 0.3 (weight 0.7, the lerp from the end)', dtype: 'float32', sizes: [5, 100], decay: 0.3, updates: 20, seed: 22 },
  { name: 'decay 0.5 (weight 0.5 exactly)', dtype: 'float32', sizes: [9], decay: 0.5, updates: 10, seed: 23 },
  { name: 'decay 0.9 float64', dtype: 'float64', sizes: [3, 300], decay: 0.9, updates: 30, seed: 24 },
  { name: 'decay 1 and 0', dtype: 'float32', sizes: [8], decay: 1, updates: 4, seed: 25 },
  { name: 'decay 0', dtype: 'float32', sizes: [8], decay: 0, updates: 4, seed: 26 },
];

/** Seeded values in [-1, 1) times 2^±spread, in the case's dtype. */
export function values(n: number, seed: number, spread: number, dtype: DType): FloatArray {
  let s = (seed * 2654435761) >>> 0 || 1;
  const next = () => {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    return (s >>> 0) / 2 ** 32;
  };
  const out = dtype === 'float32' ? new Float32Array(n) : new Float64Array(n);
  for (let i = 0; i < n; i++) out[i] = (next() * 2 - 1) * 2 ** Math.round((next() * 2 - 1) * spread);
  return out;
}

/** The grads of a clip case. */
export function gradsOf(c: ClipCase): FloatArray[] {
  const grads = c.sizes.map((n, i) => values(n, c.seed * 1000 + i, c.spread, c.dtype));
  if (c.plant !== undefined) grads[0][0] = c.plant;
  return grads;
}

/** The weights of an EMA case at each update: a random walk. */
export function weightsOf(c: EmaCase): FloatArray[][] {
  const steps: FloatArray[][] = [];
  let current = c.sizes.map((n, i) => values(n, c.seed * 1000 + i, 2, c.dtype));
  for (let t = 0; t < c.updates; t++) {
    steps.push(current);
    current = current.map((w, i) => {
      const d = values(w.length, c.seed * 1000 + 100 * t + i + 17, 0, c.dtype);
      return w.map((x, k) => x + 0.1 * d[k]) as FloatArray;
    });
  }
  return steps;
}

export const b64 = (a: FloatArray) => Buffer.from(a.buffer, a.byteOffset, a.byteLength).toString('base64');
export const digest = (base64: string) => 'sha256:' + crypto.createHash('sha256').update(Buffer.from(base64, 'base64')).digest('hex');

/** The request for the oracle: `cases` (all by default), with the exact norms (slow in Python for the large cases) unless `exact` is false. */
export function clipRequest(cases: readonly ClipCase[] = clipCases, exact = true) {
  return {
    clip: cases.map((c) => ({
      name: c.name,
      dtype: c.dtype,
      grads: gradsOf(c).map(b64),
      max_norm: c.maxNorm,
      norm_type: c.normType === Infinity ? 'inf' : c.normType,
      exact: exact && c.plant === undefined,
      ...(c.clipValue !== undefined ? { clip_value: c.clipValue } : {}),
    })),
    ema: emaCases.map((c) => ({ name: c.name, dtype: c.dtype, decay: c.decay, weights: weightsOf(c).map((step) => step.map(b64)) })),
  };
}

export interface ClipAnswer {
  name: string;
  /** As float.hex(): parseHexFloat. */
  total_norm: string;
  /** The norm at 200 bits, rounded to a double; absent where a grad is NaN or infinite. */
  exact_norm?: string;
  clipped: string[];
  value_clipped?: string[];
}

export interface EmaAnswer {
  name: string;
  averages: string[][];
  keys: string[];
  n_averaged: number;
}

export interface ClipOracleAnswer {
  torch: string;
  clip: ClipAnswer[];
  ema: EmaAnswer[];
}

/** A double from Python's float.hex() ('inf', '-inf' and 'nan' too). */
export function parseHexFloat(s: string): number {
  if (s === 'inf') return Infinity;
  if (s === '-inf') return -Infinity;
  if (s === 'nan') return NaN;
  const m = /^(-?)0x([01])\.([0-9a-f]+)p([+-]\d+)$/.exec(s);
  if (m === null) throw new Error(`not a hex float: ${s}`);
  const [, sign, lead, fraction, exp] = m;
  const mantissa = Number(lead) + parseInt(fraction, 16) / 16 ** fraction.length;
  return (sign ? -1 : 1) * mantissa * 2 ** Number(exp);
}

/** A digest of every input, so fixtures made from another case list fail loudly. */
export function clipInputsDigest(): string {
  return crypto.createHash('sha256').update(JSON.stringify(clipRequest())).digest('hex');
}

/** Regenerates the fixture from PyTorch 2.6 (test/torch/make-clip-fixtures.ts): arrays as digests. */
export function makeClipFixtures(): void {
  const oracle = pythonOracles().find((o) => o.id === 'torch-2.6');
  if (oracle === undefined) throw new Error('the PyTorch 2.6 oracle is needed: bash scripts/setup-torch.sh');
  const answer = oracle.run(clipScript, clipRequest()) as ClipOracleAnswer;
  for (const c of answer.clip) {
    c.clipped = c.clipped.map(digest);
    if (c.value_clipped) c.value_clipped = c.value_clipped.map(digest);
  }
  for (const e of answer.ema) e.averages = e.averages.map((step) => step.map(digest));
  fs.writeFileSync(clipFixtureFile, zlib.gzipSync(JSON.stringify({ inputs: clipInputsDigest(), answer })));
}
