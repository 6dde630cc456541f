// The Node side of test/full/io-large.test.ts, one step per process: each
// step's peak RSS is its own, a crash (an abort in native code) fails that
// step instead of killing mocha, and the gigabytes are gone when it exits.
//   node --expose-gc --import tsx test/full/io-large-worker.ts '<json request>'
// prints one line of JSON: what it found, its timings and its peak RSS.
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import { loadSafetensors, loadTorch, saveSafetensors, saveTorch, type TensorRecord } from '../../lib';

/**
 * The tensors both sides write, each > 2 GiB (600M float32), then a small one
 * whose data lies past 4 GiB in the file. Python (the test's script) makes
 * the same values the same way, so the digests match across writers.
 */
export const N = 600_000_000;
export const B_SHAPE = [20_000, 30_000];
export const TAIL = 1000;
/** a[i] = i mod 16777213 (every value exact in float32). */
export const A_PERIOD = 16_777_213;
/** b[i] = (i mod 4099) / 4 - 512. */
export const B_PERIOD = 4099;
export const valueA = (i: number): number => i % A_PERIOD;
export const valueB = (i: number): number => (i % B_PERIOD) * 0.25 - 512;
export const valueTail = (i: number): number => i * 7 - 3000;

/** Hashing goes through views of at most 1 GiB. */
const CHUNK = 2 ** 30;

export type Request =
  | { op: 'write'; format: 'torch' | 'safetensors'; file: string }
  | { op: 'read'; format: 'torch' | 'safetensors'; file: string; mmap: boolean }
  | { op: 'load'; cases: LoadCase[] };

/** A file crafted by the test: loading it either fails, or yields `numel` elements with `markers` at their byte offsets. */
export interface LoadCase {
  label: string;
  format: 'torch' | 'safetensors';
  file: string;
  mmap: boolean;
  markers?: Array<[number, number[]]>;
}

export interface TensorFacts {
  dtype: string;
  shape: number[];
  length: number;
  sha256: string;
  /** The first sampled element that does not follow the pattern, if any. */
  badSample?: { index: number; got: number; want: number };
}

const rssMiB = (): number => Math.round(process.resourceUsage().maxRSS / 1024);
const gc = (): void => (globalThis as { gc?: () => void }).gc?.();

/** `length` bytes of a typed array's data from byte `at`: a view, as the whole may pass the 4 GiB a Uint8Array holds. */
function bytesAt(data: ArrayBufferView, at: number, length: number): Uint8Array {
  return new Uint8Array(data.buffer, data.byteOffset + at, length);
}

export function sha256(data: ArrayBufferView): string {
  const hash = createHash('sha256');
  for (let at = 0; at < data.byteLength; at += CHUNK) hash.update(bytesAt(data, at, Math.min(CHUNK, data.byteLength - at)));
  return hash.digest('hex');
}

/** Fills `array` with f(i mod period): one period by hand, then doubling copies (memmove speed). */
function periodic<T extends Float32Array>(array: T, period: number, f: (i: number) => number): T {
  const n = array.length;
  for (let i = 0; i < Math.min(period, n); i++) array[i] = f(i);
  for (let filled = period; filled < n; filled *= 2) array.copyWithin(filled, 0, Math.min(filled, n - filled));
  return array;
}

/** Indices to check against the pattern: both ends, around every 1 GiB and 2 GiB byte boundary, and 2000 spread by an LCG. */
function samples(n: number, itemSize: number): number[] {
  const out: number[] = [];
  for (let i = 0; i < Math.min(n, 64); i++) out.push(i, n - 1 - i);
  for (let boundary = CHUNK; boundary < n * itemSize; boundary += CHUNK) {
    const at = Math.floor(boundary / itemSize);
    for (let d = -3; d <= 3; d++) if (at + d >= 0 && at + d < n) out.push(at + d);
  }
  let x = 12345;
  for (let k = 0; k < 2000; k++) {
    x = (x * 1103515245 + 12345) % 2 ** 31;
    out.push(Math.floor((x / 2 ** 31) * n));
  }
  return out;
}

/** The first sampled element of tensor `name` off its pattern. */
function badSample(name: string, data: ArrayLike<number> & ArrayBufferView): TensorFacts['badSample'] {
  const pattern = name === 'a' ? valueA : name === 'b' ? valueB : valueTail;
  for (const i of samples(data.length, (data as Float32Array).BYTES_PER_ELEMENT)) {
    if (data[i] !== pattern(i)) return { index: i, got: data[i], want: pattern(i) };
  }
  return undefined;
}

function facts(name: string, t: TensorRecord): TensorFacts {
  const data = t.data as unknown as ArrayLike<number> & ArrayBufferView;
  const out: TensorFacts = { dtype: t.dtype, shape: t.shape, length: data.length, sha256: sha256(data) };
  const bad = badSample(name, data);
  if (bad !== undefined) out.badSample = bad;
  return out;
}

/** The mappings of `file` in this process (/proc/self/maps): how mmap loads show. */
function mappingsOf(file: string): number {
  const real = fs.realpathSync(file);
  return fs.readFileSync('/proc/self/maps', 'utf8').split('\n').filter((line) => line.endsWith(` ${real}`)).length;
}

async function write(format: 'torch' | 'safetensors', file: string): Promise<unknown> {
  let t0 = Date.now();
  const a = periodic(new Float32Array(N), A_PERIOD, (i) => i);
  const b = periodic(new Float32Array(N), B_PERIOD, (i) => i * 0.25 - 512);
  const tail = Int32Array.from({ length: TAIL }, (_, i) => valueTail(i));
  const fillMs = Date.now() - t0;
  // The arrays are checked by samples only: their bytes' digests are checked when read back.
  const bad = { a: badSample('a', a), b: badSample('b', b), tail: badSample('tail', tail) };
  const dict = {
    a: { dtype: 'float32', shape: [N], data: a },
    b: { dtype: 'float32', shape: B_SHAPE, data: b },
    tail: { dtype: 'int32', shape: [TAIL], data: tail },
  } as const;
  t0 = Date.now();
  if (format === 'torch') await saveTorch(dict, file);
  else await saveSafetensors(dict, file);
  const saveMs = Date.now() - t0;
  return { badSamples: bad, size: fs.statSync(file).size, ms: { fill: fillMs, save: saveMs }, maxRssMiB: rssMiB() };
}

async function read(format: 'torch' | 'safetensors', file: string, mmap: boolean): Promise<unknown> {
  let t0 = Date.now();
  let value: Record<string, TensorRecord> | undefined = format === 'torch'
    ? await loadTorch<Record<string, TensorRecord>>(file, { mmap })
    : await loadSafetensors<Record<string, TensorRecord>>(file, { mmap });
  const loadMs = Date.now() - t0;
  const mapped = mappingsOf(file);
  t0 = Date.now();
  const tensors = Object.fromEntries(Object.entries(value).map(([name, t]) => [name, facts(name, t)]));
  const checkMs = Date.now() - t0;
  const maxRssMiB = rssMiB();
  // Dropped and collected, the arrays must let go of the file's mapping.
  value = undefined;
  let mappedAfterGc = mappingsOf(file);
  for (let tries = 0; tries < 20 && mappedAfterGc > 0; tries++) {
    gc();
    await new Promise((resolve) => setTimeout(resolve, 50));
    mappedAfterGc = mappingsOf(file);
  }
  return { keys: Object.keys(tensors), tensors, mapped, mappedAfterGc, ms: { load: loadMs, check: checkMs }, maxRssMiB };
}

async function load(cases: LoadCase[]): Promise<unknown> {
  const results = [];
  for (const c of cases) {
    const t0 = Date.now();
    try {
      const value = c.format === 'torch'
        ? await loadTorch<Record<string, TensorRecord>>(c.file, { mmap: c.mmap })
        : await loadSafetensors<Record<string, TensorRecord>>(c.file, { mmap: c.mmap });
      const t = value.big;
      const size = t.data.byteLength;
      const markersOk = (c.markers ?? []).every(([at, expected]) => bytesAt(t.data, at, expected.length).every((v, k) => v === expected[k]));
      // Spot checks that the rest reads as the file's zeros.
      const zeros = [1 << 20, 2 ** 31, size - (1 << 20)].filter((at) => at >= 8 && at < size - 8).every((at) => bytesAt(t.data, at, 1)[0] === 0);
      results.push({ label: c.label, loaded: { dtype: t.dtype, shape: t.shape, byteLength: size, markersOk, zeros }, ms: Date.now() - t0 });
    } catch (err) {
      const e = err as Error;
      results.push({ label: c.label, error: { name: e.name, message: e.message }, ms: Date.now() - t0 });
    }
    gc();
  }
  return { results, maxRssMiB: rssMiB() };
}

async function main(): Promise<void> {
  const request = JSON.parse(process.argv[2]) as Request;
  const answer = request.op === 'write'
    ? await write(request.format, request.file)
    : request.op === 'read'
      ? await read(request.format, request.file, request.mmap)
      : await load(request.cases);
  process.stdout.write(`${JSON.stringify(answer)}\n`);
}

if (require.main === module) {
  main().catch((err) => {
    process.stderr.write(`${(err as Error).stack ?? String(err)}\n`);
    process.exit(1);
  });
}
