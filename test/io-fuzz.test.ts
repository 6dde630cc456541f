// Fuzzing of the newer reading paths: zip64 records and extra fields, the
// dtypes added with _rebuild_tensor_v3 and UntypedStorage, and loading with
// mmap. Every case is loaded three ways: from its bytes, from a file, and
// from a file with { mmap: true }. All three must load the same value (same
// structure, byte-equal tensors, the same tensors sharing memory) or all
// three throw a FileFormatError: never another error, a crash or a hang.
// Cases built valid on purpose must also load exactly what was written.
//
// Each run is seeded: a failure prints the seed, the case number and the
// mutations, and keeps the file. Replay one case with
//   SIMD_OPTIM_FUZZ_SEED=<seed> SIMD_OPTIM_FUZZ_CASE=<case> npx mocha test/io-fuzz.test.ts -g '<test>'
// npm test runs a few hundred cases; SIMD_OPTIM_FULL_TESTS=1 ten times as many.
// (The older, byte-level fuzzing of real PyTorch files is in io-bad-files.test.ts.)
import { expect } from 'chai';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { backendInfo, FileFormatError, loadSafetensors, loadTorch, readSafetensors, saveSafetensors, torchBytes } from '../lib';
import { arrayTypeOf, valuesPerElement, type DType, type TensorRecord } from '../lib/core/tensor';
import { mappingOf } from '../lib/io/storage-arrays';
import { ITEM_SIZE, storageNameOf } from '../lib/io/torch-dtypes';
import { crc32 } from '../lib/io/zip';
import { dict, persistentId, pickle, pyGlobal, reduce, tuple, type PyValue } from '../lib/io/pickle-write';
import { fullTests } from './helpers';
import { zipOf, zipRecords } from './zip-helpers';

/**
 * Loading with mmap maps stored storages without reading them, so it does
 * not check their CRC, where a copy does (PyTorch's torch.load(mmap=True)
 * does not either). While that is so, a case whose copy fails only with a
 * CRC mismatch of a data/ record, and whose mmap load succeeds, is counted
 * rather than failed. Set to true if mmap loading comes to check CRCs.
 */
const MMAP_CHECKS_STORAGE_CRC = false;

const ALL_DTYPES: readonly DType[] = [
  'float32', 'float64', 'float16', 'bfloat16', 'int64', 'int32', 'int16', 'int8', 'uint64', 'uint32', 'uint16', 'uint8', 'bool',
  'float8_e4m3fn', 'float8_e5m2', 'float8_e4m3fnuz', 'float8_e5m2fnuz', 'complex64', 'complex128',
];
const NEW_DTYPES: readonly DType[] = [
  'int8', 'int16', 'uint16', 'uint32', 'uint64', 'float8_e4m3fn', 'float8_e5m2', 'float8_e4m3fnuz', 'float8_e5m2fnuz', 'complex64', 'complex128',
];
/** torch.<name> globals simd-optim refuses as dtypes it cannot hold. */
const UNSUPPORTED_DTYPES = ['complex32', 'chalf', 'qint8', 'quint8', 'qint32', 'quint4x2', 'bits8', 'bits16', 'float8_e8m0fnu', 'float4_e2m1fn_x2'];
const STORAGE_CLASSES = [
  'FloatStorage', 'DoubleStorage', 'HalfStorage', 'BFloat16Storage', 'LongStorage', 'IntStorage', 'ShortStorage', 'CharStorage',
  'ByteStorage', 'BoolStorage', 'ComplexFloatStorage', 'ComplexDoubleStorage', 'QInt8Storage', 'ComplexHalfStorage', 'UInt16Storage',
];

// ---- seeded randomness ----

/** mulberry32: the same cases on every machine. */
class Rng {
  private s: number;
  constructor(seed: number) {
    this.s = seed >>> 0;
  }
  next(): number {
    let t = (this.s = (this.s + 0x6d2b79f5) >>> 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  }
  int(n: number): number {
    return Math.floor(this.next() * n);
  }
  /** lo..hi, both included. */
  range(lo: number, hi: number): number {
    return lo + this.int(hi - lo + 1);
  }
  chance(p: number): boolean {
    return this.next() < p;
  }
  pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)];
  }
  bytes(n: number): Uint8Array {
    const out = new Uint8Array(n);
    for (let i = 0; i < n; i++) out[i] = this.int(256);
    return out;
  }
  shuffle<T>(items: T[]): T[] {
    for (let i = items.length - 1; i > 0; i--) {
      const j = this.int(i + 1);
      [items[i], items[j]] = [items[j], items[i]];
    }
    return items;
  }
}

/** Each case's own seed, so that one case replays alone. */
function caseSeed(seed: number, i: number): number {
  let h = Math.imul(seed ^ 0x85ebca6b, 0xc2b2ae35) ^ Math.imul(i + 1, 0x9e3779b1);
  h = Math.imul(h ^ (h >>> 16), 0x7feb352d);
  h = Math.imul(h ^ (h >>> 15), 0x846ca68b);
  return (h ^ (h >>> 16)) >>> 0;
}

const envSeed = process.env.SIMD_OPTIM_FUZZ_SEED;
const envCase = process.env.SIMD_OPTIM_FUZZ_CASE;
const text = (s: string) => new TextEncoder().encode(s);
const hex = (n: number) => `0x${(n >>> 0).toString(16)}`;

// ---- what a case is, and how it is checked ----

type Expectation =
  | { kind: 'ok'; check: (value: unknown) => string | undefined }
  | { kind: 'error'; message: RegExp }
  | { kind: 'any' };

interface Case {
  bytes: Uint8Array;
  /** What was done to make the file, for the failure report. */
  log: string[];
  expect: Expectation;
}

type Loader = (input: string | Uint8Array, mmap: boolean) => Promise<unknown>;
type Outcome = { ok: true; value: unknown; ms: number } | { ok: false; error: unknown; ms: number };

async function outcome(run: () => Promise<unknown>): Promise<Outcome> {
  const start = performance.now();
  try {
    const value = await run();
    return { ok: true, value, ms: performance.now() - start };
  } catch (error) {
    return { ok: false, error, ms: performance.now() - start };
  }
}

const isFormatError = (e: unknown) => e instanceof FileFormatError && (e as Error).name === 'FileFormatError';
const describeError = (e: unknown) => (e instanceof Error ? `${e.name}: ${e.message}` : `non-error ${String(e)}`);
/** Whether a failed copy failed only on a storage's CRC, which a mapped load does not check. */
const storageCrcMismatch = (e: unknown) => isFormatError(e) && /zip entry \S*\/data\/\S+: CRC mismatch/.test((e as Error).message);

/** One case per run, the run's tallies, and the problems found (failing the test at the end). */
class Fuzz {
  readonly problems: string[] = [];
  readonly tally = new Map<string, number>();
  private readonly dir = fs.mkdtempSync(path.join(os.tmpdir(), 'simd-optim-fuzz-'));

  /** `title`: a part of the test's title, for mocha's --grep when replaying a case. */
  constructor(readonly name: string, readonly title: string, readonly seed: number, readonly load: Loader, readonly ext: string) {}

  count(what: string, n = 1): void {
    this.tally.set(what, (this.tally.get(what) ?? 0) + n);
  }

  async run(runs: number, make: (r: Rng, i: number) => Case | Promise<Case>): Promise<void> {
    const only = envCase === undefined ? undefined : Number(envCase);
    try {
      for (let i = 0; i < runs; i++) {
        if (only !== undefined && i !== only) continue;
        const c = await make(new Rng(caseSeed(this.seed, i)), i);
        const problem = await this.check(c, i);
        if (problem !== undefined) {
          const kept = path.join(os.tmpdir(), `simd-optim-fuzz-${this.name}-seed-${hex(this.seed)}-case-${i}${this.ext}`);
          fs.writeFileSync(kept, c.bytes);
          this.problems.push(`${this.name}, seed ${hex(this.seed)}, case ${i} (${c.bytes.length} bytes, kept as ${kept}):\n` +
            `    made by: ${c.log.join('; ')}\n    ${problem}\n` +
            `    replay: SIMD_OPTIM_FUZZ_SEED=${hex(this.seed)} SIMD_OPTIM_FUZZ_CASE=${i} npx mocha test/io-fuzz.test.ts -g '${this.title}'`);
          if (this.problems.length >= 6) break;
        }
      }
    } finally {
      fs.rmSync(this.dir, { recursive: true, force: true });
    }
    if (this.problems.length > 0) {
      throw new Error(`${this.problems.length} fuzz case(s) failed (${[...this.tally].map(([k, v]) => `${k}: ${v}`).join(', ')}):\n\n` +
        this.problems.join('\n\n'));
    }
  }

  private async check(c: Case, i: number): Promise<string | undefined> {
    // A new file per case, all removed at the end: rewriting one file in place is far slower on some file systems.
    const file = path.join(this.dir, `case-${i}${this.ext}`);
    fs.writeFileSync(file, c.bytes);
    {
      const copy = await outcome(() => this.load(c.bytes, false));
      // The file read without mmap: every case in the full suite, every third in npm test (opening a file costs more than the rest).
      const fromFile = fullTests || i % 3 === 0 ? await outcome(() => this.load(file, false)) : copy;
      const mapped = await outcome(() => this.load(file, true));
      const runs: Array<[string, Outcome]> = [['from bytes', copy], ['from the file', fromFile], ['from the file with mmap', mapped]];
      for (const [how, o] of runs) {
        if (!o.ok && !isFormatError(o.error)) return `loading ${how} threw ${describeError(o.error)}\n${String((o.error as Error)?.stack ?? '').split('\n').slice(1, 4).join('\n')}`;
        if (o.ms > 3000) return `loading ${how} took ${Math.round(o.ms)} ms`;
      }
      if (copy.ok !== fromFile.ok) return `from bytes ${said(copy)}, but from the file ${said(fromFile)}`;
      if (copy.ok !== mapped.ok) {
        if (!MMAP_CHECKS_STORAGE_CRC && !copy.ok && mapped.ok && storageCrcMismatch(copy.error)) {
          this.count('mmap loaded a storage whose CRC is wrong');
          return undefined;
        }
        return `without mmap ${said(copy)}, but with mmap ${said(mapped)}`;
      }
      if (copy.ok && fromFile.ok && mapped.ok) {
        const odd = notData(copy.value);
        if (odd !== undefined) return `loaded a value that is not data: ${odd}`;
        const d1 = diff(copy.value, fromFile.value, true);
        if (d1 !== undefined) return `from bytes and from the file load different values: ${d1}`;
        const d2 = diff(copy.value, mapped.value, true);
        if (d2 !== undefined) return `with and without mmap load different values: ${d2}`;
        for (const t of tensorsIn(mapped.value)) this.count(mappingOf(t.data)?.replace(/ \(at byte \d+.*\)$/, '') ?? 'views copied out');
        this.count('loaded');
      } else {
        this.count('refused');
      }
      if (c.expect.kind === 'ok') {
        if (!copy.ok) return `a valid file was refused: ${describeError(copy.error)}`;
        const wrong = c.expect.check(copy.value);
        if (wrong !== undefined) return `loaded a wrong value: ${wrong}`;
        this.count('valid files checked');
      } else if (c.expect.kind === 'error') {
        if (copy.ok) return `loaded a file that should be refused with ${c.expect.message}`;
        if (!c.expect.message.test((copy.error as Error).message)) return `refused it with '${(copy.error as Error).message}', expected ${c.expect.message}`;
      }
      return undefined;
    }
  }
}

function said(o: Outcome): string {
  return o.ok ? 'it loads' : `it throws ${describeError(o.error)}`;
}

// ---- comparing loaded values ----

interface AnyTensor {
  dtype: string;
  shape: number[];
  data: ArrayBufferView;
}

function isTensor(v: unknown): v is AnyTensor {
  return v !== null && typeof v === 'object' && !Array.isArray(v) && typeof (v as AnyTensor).dtype === 'string' &&
    Array.isArray((v as AnyTensor).shape) && ArrayBuffer.isView((v as AnyTensor).data);
}

const bytesOf = (a: ArrayBufferView) => Buffer.from(a.buffer, a.byteOffset, a.byteLength);

/** Every tensor in a value, each once, in the order a walk meets them. */
function tensorsIn(value: unknown): AnyTensor[] {
  const out: AnyTensor[] = [];
  const seen = new Set<object>();
  const walk = (v: unknown): void => {
    if (v === null || typeof v !== 'object' || ArrayBuffer.isView(v) || seen.has(v)) return;
    seen.add(v);
    if (isTensor(v)) {
      out.push(v);
      return;
    }
    for (const item of Array.isArray(v) ? v : Object.values(v)) walk(item);
  };
  walk(value);
  return out;
}

/** Where a loaded value holds something loadTorch's values never are (a function: a pickle global used as a value). */
function notData(value: unknown): string | undefined {
  const seen = new Set<object>();
  const walk = (v: unknown, at: string): string | undefined => {
    if (typeof v === 'function') return `${at} is a function (${String(v).slice(0, 60)}...)`;
    if (v === null || typeof v !== 'object' || ArrayBuffer.isView(v) || seen.has(v)) return undefined;
    seen.add(v);
    for (const [k, item] of Object.entries(v)) {
      const d = walk(item, `${at}.${k}`);
      if (d !== undefined) return d;
    }
    return undefined;
  };
  return walk(value, 'value');
}

/**
 * Where `a` and `b` differ, or undefined. `strict` (two loads of one file):
 * prototypes, shared objects and which tensors share memory must match too.
 */
function diff(a: unknown, b: unknown, strict: boolean): string | undefined {
  const pairs = new Map<object, object>();
  const back = new Map<object, object>();
  const walk = (x: unknown, y: unknown, at: string): string | undefined => {
    if (typeof x !== typeof y) return `${at}: ${typeof x} vs ${typeof y}`;
    if (x === null || y === null || typeof x !== 'object') return Object.is(x, y) ? undefined : `${at}: ${String(x)} vs ${String(y)}`;
    const o = x as object;
    const p = y as object;
    if (strict) {
      if (pairs.has(o) || back.has(p)) return pairs.get(o) === p ? undefined : `${at}: shared differently`;
      pairs.set(o, p);
      back.set(p, o);
      if (Object.getPrototypeOf(o) !== Object.getPrototypeOf(p)) return `${at}: different prototypes`;
    }
    if (ArrayBuffer.isView(o) || ArrayBuffer.isView(p)) {
      if (!ArrayBuffer.isView(o) || !ArrayBuffer.isView(p)) return `${at}: one is a typed array`;
      if (o.constructor !== p.constructor) return `${at}: ${o.constructor.name} vs ${p.constructor.name}`;
      return bytesOf(o).equals(bytesOf(p)) ? undefined : `${at}: bytes ${bytesOf(o).toString('hex').slice(0, 64)} vs ${bytesOf(p).toString('hex').slice(0, 64)}`;
    }
    if (Array.isArray(o) !== Array.isArray(p)) return `${at}: array vs object`;
    if (Object.isFrozen(o) !== Object.isFrozen(p)) return `${at}: tuple vs list`;
    const ka = Object.keys(o);
    const kb = Object.keys(p);
    if (ka.join('\0') !== kb.join('\0')) return `${at}: keys [${ka}] vs [${kb}]`;
    for (const k of ka) {
      const d = walk((o as Record<string, unknown>)[k], (p as Record<string, unknown>)[k], `${at}.${k}`);
      if (d !== undefined) return d;
    }
    return undefined;
  };
  const d = walk(a, b, 'value');
  if (d !== undefined || !strict) return d;
  // The same tensors share memory, at the same offsets.
  const ta = tensorsIn(a);
  const tb = tensorsIn(b);
  for (let i = 0; i < ta.length; i++) {
    if (ta[i].data.byteOffset !== tb[i].data.byteOffset) return `tensor ${i} starts at byte ${ta[i].data.byteOffset} vs ${tb[i].data.byteOffset} of its buffer`;
    for (let j = i + 1; j < ta.length; j++) {
      const sa = ta[i].data.buffer === ta[j].data.buffer;
      if (sa !== (tb[i].data.buffer === tb[j].data.buffer)) return `tensors ${i} and ${j} share memory in ${sa ? 'the first' : 'the second'} load only`;
    }
  }
  return undefined;
}

// ---- values to write, and what a load of them must give ----

function randomShape(r: Rng, maxRank = 3): number[] {
  return Array.from({ length: r.range(0, maxRank) }, () => (r.chance(0.08) ? 0 : r.range(1, 4)));
}
const numel = (shape: readonly number[]) => shape.reduce((a, d) => a * d, 1);

/** A record of `dtype` with random contents, its data alone in its buffer or a view of a bigger one. */
function randomRecord(r: Rng, dtype: DType, shape = randomShape(r)): TensorRecord {
  const per = valuesPerElement(dtype);
  const values = numel(shape) * per;
  const Type = arrayTypeOf(dtype);
  const size = ITEM_SIZE[dtype] / per;
  const before = r.chance(0.3) ? r.range(1, 3) * per : 0;
  const buffer = r.bytes((before + values + r.range(0, 2) * per) * size).buffer as ArrayBuffer;
  return { dtype, shape, data: new Type(buffer, before * size, values) } as TensorRecord;
}

/** Tensors over one buffer of one dtype that overlap or touch: saveTorch writes them as one storage, with offsets. */
function sharedRecords(r: Rng, dtype: DType): TensorRecord[] {
  const per = valuesPerElement(dtype);
  const elements = r.range(2, 12);
  const Type = arrayTypeOf(dtype);
  const base = new Type(r.bytes(elements * ITEM_SIZE[dtype]).buffer as ArrayBuffer, 0, elements * per);
  const out: TensorRecord[] = [];
  let from = 0;
  for (let k = r.range(2, 3); k > 0; k--) {
    const start = Math.min(from, elements - 1);
    const end = r.range(start + 1, elements);
    out.push({ dtype, shape: [end - start], data: base.subarray(start * per, end * per) } as TensorRecord);
    from = r.range(Math.max(0, end - 2), end); // overlap the last one, or touch it
  }
  return out;
}

/** A checkpoint-like value: tensors of any dtype (the new ones most), shared views, plain Python data. */
function randomValue(r: Rng): Record<string, unknown> {
  const value: Record<string, unknown> = {};
  for (let k = r.range(1, 4); k > 0; k--) value[`t${k}`] = randomRecord(r, r.chance(0.7) ? r.pick(NEW_DTYPES) : r.pick(ALL_DTYPES));
  if (r.chance(0.5)) value.tied = sharedRecords(r, r.pick(ALL_DTYPES));
  if (r.chance(0.5)) value.meta = { step: r.range(0, 1000), lr: 0.001 * r.range(1, 9), name: 'w', flags: [true, null], pair: Object.freeze([1, 2.5]) };
  if (r.chance(0.2)) value.raw = r.bytes(r.range(0, 5));
  return value;
}

/** Checks a load against the value written: same structure, tensors of equal dtype, shape and bytes. */
function sameAs(written: unknown): (loaded: unknown) => string | undefined {
  return (loaded) => diff(written, loaded, false);
}

// ---- zip containers, including a loose writer unlike ZipWriter ----

/**
 * A zip written unlike ZipWriter: stored entries with a random amount of
 * padding (so storages may be misaligned), zip64 extra fields holding only
 * the saturated fields (sizes, offset, or both, in the order the format
 * gives), unrelated extra fields before them, zip64 end records or not, and
 * a comment.
 */
function looseZip(r: Rng, records: Array<[string, Uint8Array]>, log: string[]): Uint8Array {
  const parts: Buffer[] = [];
  let offset = 0;
  const push = (b: Buffer) => {
    parts.push(b);
    offset += b.length;
  };
  const central: Buffer[] = [];
  const zip64End = r.chance(0.6);
  let z64entries = 0;
  for (const [name, data] of records) {
    const nameBytes = Buffer.from(name);
    const pad = r.chance(0.3) ? 0 : r.range(4, 67);
    const localZip64 = r.chance(0.5);
    const localExtra = Buffer.alloc((localZip64 ? 20 : 0) + pad);
    if (localZip64) {
      localExtra.writeUInt16LE(1, 0);
      localExtra.writeUInt16LE(16, 2);
      localExtra.writeBigUInt64LE(BigInt(data.length), 4);
      localExtra.writeBigUInt64LE(BigInt(data.length), 12);
    }
    if (pad > 0) {
      localExtra.write('FB', localZip64 ? 20 : 0, 'latin1');
      localExtra.writeUInt16LE(pad - 4, (localZip64 ? 20 : 0) + 2);
    }
    const crc = crc32(data);
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(localZip64 ? 45 : 20, 4);
    local.writeUInt16LE(0x800, 6);
    local.writeUInt16LE(33, 12);
    local.writeUInt32LE(crc, 14);
    local.writeUInt32LE(localZip64 ? 0xffffffff : data.length, 18);
    local.writeUInt32LE(localZip64 ? 0xffffffff : data.length, 22);
    local.writeUInt16LE(nameBytes.length, 26);
    local.writeUInt16LE(localExtra.length, 28);
    const at = offset;
    push(Buffer.concat([local, nameBytes, localExtra]));
    push(Buffer.from(data));
    // The central directory's zip64 field: the saturated values only, in order.
    const sizes = r.chance(0.5);
    const where = r.chance(0.5);
    if (sizes || where) z64entries++;
    const fields: bigint[] = [...(sizes ? [BigInt(data.length), BigInt(data.length)] : []), ...(where ? [BigInt(at)] : [])];
    const other = r.chance(0.3) ? Buffer.from([0x55, 0x54, 5, 0, 1, 0, 0, 0, 0]) : Buffer.alloc(0); // 'UT' timestamp
    const z64 = Buffer.alloc(fields.length > 0 ? 4 + 8 * fields.length : 0);
    if (fields.length > 0) {
      z64.writeUInt16LE(1, 0);
      z64.writeUInt16LE(8 * fields.length, 2);
      fields.forEach((v, k) => z64.writeBigUInt64LE(v, 4 + 8 * k));
    }
    const extra = r.chance(0.5) ? Buffer.concat([other, z64]) : Buffer.concat([z64, other]);
    const head = Buffer.alloc(46);
    head.writeUInt32LE(0x02014b50, 0);
    head.writeUInt16LE(45, 4);
    head.writeUInt16LE(fields.length > 0 ? 45 : 20, 6);
    head.writeUInt16LE(0x800, 8);
    head.writeUInt16LE(33, 14);
    head.writeUInt32LE(crc, 16);
    head.writeUInt32LE(sizes ? 0xffffffff : data.length, 20);
    head.writeUInt32LE(sizes ? 0xffffffff : data.length, 24);
    head.writeUInt16LE(nameBytes.length, 28);
    head.writeUInt16LE(extra.length, 30);
    head.writeUInt32LE(where ? 0xffffffff : at, 42);
    central.push(Buffer.concat([head, nameBytes, extra]));
  }
  const directoryOffset = offset;
  for (const c of central) push(c);
  const directorySize = offset - directoryOffset;
  // Which classic end fields are saturated when zip64 end records are there (any: the locator says zip64).
  const saturate = zip64End ? r.pick(['all', 'count', 'offset', 'none'] as const) : 'none';
  if (zip64End) {
    const record = Buffer.alloc(56 + 20);
    record.writeUInt32LE(0x06064b50, 0);
    record.writeBigUInt64LE(44n, 4);
    record.writeUInt16LE(45, 12);
    record.writeUInt16LE(45, 14);
    record.writeBigUInt64LE(BigInt(records.length), 24);
    record.writeBigUInt64LE(BigInt(records.length), 32);
    record.writeBigUInt64LE(BigInt(directorySize), 40);
    record.writeBigUInt64LE(BigInt(directoryOffset), 48);
    record.writeUInt32LE(0x07064b50, 56);
    record.writeBigUInt64LE(BigInt(offset), 64);
    record.writeUInt32LE(1, 72);
    push(record);
  }
  const comment = r.chance(0.3) ? r.bytes(r.range(1, 40)) : new Uint8Array(0);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  const count = saturate === 'all' || saturate === 'count' ? 0xffff : records.length;
  end.writeUInt16LE(count, 8);
  end.writeUInt16LE(count, 10);
  end.writeUInt32LE(saturate === 'all' ? 0xffffffff : directorySize, 12);
  end.writeUInt32LE(saturate === 'all' || saturate === 'offset' ? 0xffffffff : directoryOffset, 16);
  end.writeUInt16LE(comment.length, 20);
  push(Buffer.concat([end, comment]));
  log.push(`loose zip (${z64entries}/${records.length} zip64 entries, zip64 end: ${zip64End ? `yes, classic fields saturated: ${saturate}` : 'no'}, comment ${comment.length})`);
  return Buffer.concat(parts);
}

/** The records in a zip container: ZipWriter's default, its zip64 layout from some offset on, or the loose writer. */
async function container(r: Rng, records: Array<[string, Uint8Array]>, log: string[], zip64Weight = 0.5): Promise<Uint8Array> {
  const roll = r.next();
  if (roll < zip64Weight * 0.6) {
    const total = records.reduce((n, [, d]) => n + d.length + 128, 0);
    const from = r.chance(0.5) ? 0 : r.range(0, total);
    log.push(`ZipWriter with zip64 records from byte ${from}`);
    return zipOf(records, from);
  }
  if (roll < zip64Weight) return looseZip(r, records, log);
  log.push('ZipWriter');
  return zipOf(records);
}

interface Field {
  at: number;
  width: 2 | 4 | 8;
  what: string;
}

/** The fields of a well-formed zip's headers and end records, and the byte ranges they lie in. */
function zipFields(b: Buffer): { fields: Field[]; regions: Array<{ start: number; end: number; what: string }> } {
  const fields: Field[] = [];
  const regions: Array<{ start: number; end: number; what: string }> = [];
  const f = (at: number, width: 2 | 4 | 8, what: string) => fields.push({ at, width, what });
  let eocd = -1;
  for (let i = b.length - 22; i >= 0; i--) {
    if (b.readUInt32LE(i) === 0x06054b50 && i + 22 + b.readUInt16LE(i + 20) === b.length) {
      eocd = i;
      break;
    }
  }
  if (eocd < 0) return { fields, regions };
  regions.push({ start: eocd, end: b.length, what: 'end of directory' });
  f(eocd + 4, 2, 'eocd.disk');
  f(eocd + 8, 2, 'eocd.diskCount');
  f(eocd + 10, 2, 'eocd.count');
  f(eocd + 12, 4, 'eocd.directorySize');
  f(eocd + 16, 4, 'eocd.directoryOffset');
  f(eocd + 20, 2, 'eocd.commentLength');
  let count = b.readUInt16LE(eocd + 10);
  let directory = b.readUInt32LE(eocd + 16);
  if (eocd >= 20 && b.readUInt32LE(eocd - 20) === 0x07064b50) {
    const loc = eocd - 20;
    regions.push({ start: loc, end: eocd, what: 'zip64 locator' });
    f(loc, 4, 'locator.signature');
    f(loc + 4, 4, 'locator.disk');
    f(loc + 8, 8, 'locator.recordOffset');
    f(loc + 16, 4, 'locator.disks');
    const z = Number(b.readBigUInt64LE(loc + 8));
    if (z + 56 <= b.length && b.readUInt32LE(z) === 0x06064b50) {
      regions.push({ start: z, end: z + 56, what: 'zip64 end of directory' });
      f(z, 4, 'zip64end.signature');
      f(z + 4, 8, 'zip64end.recordSize');
      f(z + 16, 4, 'zip64end.disk');
      f(z + 20, 4, 'zip64end.directoryDisk');
      f(z + 24, 8, 'zip64end.diskCount');
      f(z + 32, 8, 'zip64end.count');
      f(z + 40, 8, 'zip64end.directorySize');
      f(z + 48, 8, 'zip64end.directoryOffset');
      count = Number(b.readBigUInt64LE(z + 32));
      directory = Number(b.readBigUInt64LE(z + 48));
    }
  }
  let at = directory;
  const extras = (start: number, length: number, where: string, saturated: string[]) => {
    for (let e = start; e + 4 <= start + length;) {
      const id = b.readUInt16LE(e);
      const size = b.readUInt16LE(e + 2);
      regions.push({ start: e, end: e + 4 + size, what: `${where} extra field ${hex(id)}` });
      f(e, 2, `${where}.extra.id`);
      f(e + 2, 2, `${where}.extra.size`);
      if (id === 1) for (let k = 0; k < size / 8 && k < saturated.length; k++) f(e + 4 + 8 * k, 8, `${where}.zip64.${saturated[k]}`);
      e += 4 + size;
    }
  };
  for (let i = 0; i < count && at + 46 <= b.length && b.readUInt32LE(at) === 0x02014b50; i++) {
    const nameLength = b.readUInt16LE(at + 28);
    const extraLength = b.readUInt16LE(at + 30);
    const name = b.subarray(at + 46, at + 46 + nameLength).toString();
    const where = `central[${name}]`;
    regions.push({ start: at, end: at + 46 + nameLength + extraLength, what: `${where} header` });
    f(at + 6, 2, `${where}.versionNeeded`);
    f(at + 8, 2, `${where}.flags`);
    f(at + 10, 2, `${where}.method`);
    f(at + 20, 4, `${where}.compressedSize`);
    f(at + 24, 4, `${where}.size`);
    f(at + 28, 2, `${where}.nameLength`);
    f(at + 30, 2, `${where}.extraLength`);
    f(at + 42, 4, `${where}.localHeaderOffset`);
    const saturated = [
      ...(b.readUInt32LE(at + 24) === 0xffffffff ? ['size'] : []),
      ...(b.readUInt32LE(at + 20) === 0xffffffff ? ['compressedSize'] : []),
      ...(b.readUInt32LE(at + 42) === 0xffffffff ? ['localHeaderOffset'] : []),
    ];
    extras(at + 46 + nameLength, extraLength, where, saturated);
    // The local header, wherever the directory (or its zip64 field) puts it.
    let local = b.readUInt32LE(at + 42);
    if (local === 0xffffffff) {
      for (let e = at + 46 + nameLength; e + 4 <= at + 46 + nameLength + extraLength; e += 4 + b.readUInt16LE(e + 2)) {
        if (b.readUInt16LE(e) === 1) local = Number(b.readBigUInt64LE(e + 4 + 8 * saturated.indexOf('localHeaderOffset')));
      }
    }
    if (local + 30 <= b.length && b.readUInt32LE(local) === 0x04034b50) {
      const lw = `local[${name}]`;
      f(local + 18, 4, `${lw}.compressedSize`);
      f(local + 22, 4, `${lw}.size`);
      f(local + 26, 2, `${lw}.nameLength`);
      f(local + 28, 2, `${lw}.extraLength`);
      const ln = b.readUInt16LE(local + 26);
      const localSaturated = b.readUInt32LE(local + 22) === 0xffffffff ? ['size', 'compressedSize'] : [];
      extras(local + 30 + ln, b.readUInt16LE(local + 28), lw, localSaturated);
    }
    at += 46 + nameLength + extraLength + b.readUInt16LE(at + 32);
  }
  return { fields, regions };
}

/** Values worth putting in a size or offset field. */
function interesting(r: Rng, old: bigint, width: 2 | 4 | 8, fileSize: number): bigint {
  const max = (1n << BigInt(8 * width)) - 1n;
  const candidates = [
    0n, 1n, old + 1n, old - 1n, old + 8n, old - 8n, old + 64n, old - 64n, old * 2n, old / 2n, BigInt(fileSize), BigInt(fileSize) - 1n,
    BigInt(r.int(fileSize + 1)), max, max - 1n, 0xffffn, 0xfffen, 0xffffffffn, 0x7fffffffn, 1n << 32n, (1n << 53n) - 1n, 1n << 53n,
    1n << 63n, 20n, 28n, 44n, 56n,
  ];
  const v = r.pick(candidates);
  return ((v % (max + 1n)) + (max + 1n)) % (max + 1n);
}

function readField(b: Buffer, f: Field): bigint {
  return f.width === 2 ? BigInt(b.readUInt16LE(f.at)) : f.width === 4 ? BigInt(b.readUInt32LE(f.at)) : b.readBigUInt64LE(f.at);
}

function writeField(b: Buffer, f: Field, v: bigint): void {
  if (f.width === 2) b.writeUInt16LE(Number(v), f.at);
  else if (f.width === 4) b.writeUInt32LE(Number(v), f.at);
  else b.writeBigUInt64LE(v, f.at);
}

const ZIP64_PART = /zip64|locator|extra|eocd/;

/** 1-3 mutations of a zip's structures, most of them in its zip64 records and extra fields. */
function mutateZip(r: Rng, bytes: Uint8Array, log: string[]): Uint8Array {
  let b = Buffer.from(bytes);
  const { fields, regions } = zipFields(b);
  for (let n = r.range(1, 3); n > 0; n--) {
    const focus = fields.filter((f) => ZIP64_PART.test(f.what));
    const zipRegions = regions.filter((g) => ZIP64_PART.test(g.what));
    switch (r.int(7)) {
      case 6: { // a storage's data moved by whole 64-byte steps (still aligned, so mmap maps it), maybe past the end
        const field = r.pick(fields.filter((g) => /^local\[.*\/data\/.*\.extraLength$/.test(g.what)));
        if (field === undefined) break;
        const old = b.readUInt16LE(field.at);
        const v = Math.min(0xffff, old + 64 * r.pick([1, 2, Math.ceil(b.length / 64)]));
        b.writeUInt16LE(v, field.at);
        log.push(`${field.what} ${old} -> ${v}`);
        break;
      }
      case 0:
      case 1: { // a size, offset, count or id set to a value worth trying
        const field = r.chance(0.75) && focus.length > 0 ? r.pick(focus) : r.pick(fields);
        if (field === undefined || field.at + field.width > b.length) break;
        const old = readField(b, field);
        const v = interesting(r, old, field.width, b.length);
        writeField(b, field, v);
        log.push(`${field.what} ${old} -> ${v}`);
        break;
      }
      case 2: { // bits flipped in or next to a record
        const g = r.chance(0.8) && zipRegions.length > 0 ? r.pick(zipRegions) : r.pick(regions);
        if (g === undefined) break;
        for (let k = r.range(1, 4); k > 0; k--) {
          const at = Math.min(b.length - 1, Math.max(0, r.range(g.start - 4, g.end + 3)));
          const bit = r.int(8);
          b[at] ^= 1 << bit;
          log.push(`flip bit ${bit} of byte ${at} (${g.what})`);
        }
        break;
      }
      case 3: { // a run of random bytes over part of a record
        const g = r.chance(0.8) && zipRegions.length > 0 ? r.pick(zipRegions) : r.pick(regions);
        if (g === undefined) break;
        const at = r.range(g.start, Math.max(g.start, g.end - 1));
        const run = r.range(1, 12);
        b.set(r.bytes(Math.min(run, b.length - at)), at);
        log.push(`${run} random bytes at ${at} (${g.what})`);
        break;
      }
      case 4: { // a record cut out, cut short, or moved by inserted bytes
        const g = r.chance(0.8) && zipRegions.length > 0 ? r.pick(zipRegions) : r.pick(regions);
        if (g === undefined) break;
        const how = r.int(3);
        if (how === 0) {
          b = Buffer.concat([b.subarray(0, g.start), b.subarray(g.end)]);
          log.push(`removed ${g.what} (${g.start}..${g.end})`);
        } else if (how === 1) {
          const at = r.range(g.start, g.end);
          b = Buffer.concat([b.subarray(0, at), Buffer.from(r.bytes(r.range(1, 8)))]);
          log.push(`cut the file at ${at} (in ${g.what}) and added junk`);
        } else {
          const at = r.range(g.start, g.end);
          const k = r.pick([1, 4, 8, 20, 56]);
          b = Buffer.concat([b.subarray(0, at), Buffer.alloc(k), b.subarray(at)]);
          log.push(`inserted ${k} zero bytes at ${at} (${g.what})`);
        }
        return b; // the field offsets are stale now
      }
      default: { // the classic end record saturated (zip64 asked for) or unsaturated (zip64 ignored?)
        const eocd = fields.find((f) => f.what === 'eocd.count');
        if (eocd === undefined) break;
        const base = eocd.at - 10;
        const saturate = r.chance(0.5);
        if (saturate) {
          const which = r.int(3);
          if (which === 0) b.writeUInt16LE(0xffff, base + 10);
          if (which === 1) b.writeUInt32LE(0xffffffff, base + 12);
          if (which === 2) b.writeUInt32LE(0xffffffff, base + 16);
          log.push(`classic end field ${['count', 'directorySize', 'directoryOffset'][which]} saturated`);
        } else {
          b.writeUInt32LE(r.int(b.length), base + 16);
          log.push('classic end directoryOffset set to a random offset');
        }
      }
    }
  }
  return b;
}

// ---- pickles: spelled out from a spec, and mutated opcode by opcode ----

interface StorageSpec {
  key: string;
  untyped: boolean;
  dtype: DType;
  /** What the persistent id says: elements of a typed storage, bytes of an untyped one. */
  numel: number;
  bytes: Uint8Array;
}

interface TensorSpec {
  name: string;
  storage: StorageSpec;
  v3: boolean;
  /** The dtype global _rebuild_tensor_v3 names. */
  dtypeName: string;
  offset: number;
  shape: number[];
  stride: number[];
}

function contiguousStride(shape: readonly number[]): number[] {
  const stride: number[] = [];
  let step = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    stride[i] = step;
    step *= Math.max(shape[i], 1);
  }
  return stride;
}

function isContiguous(shape: readonly number[], stride: readonly number[]): boolean {
  let expected = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    if (shape[i] !== 1 && stride[i] !== expected) return false;
    expected *= shape[i];
  }
  return true;
}

function randomStride(r: Rng, shape: number[]): number[] {
  const contiguous = contiguousStride(shape);
  switch (r.int(5)) {
    case 0:
    case 1:
      return contiguous;
    case 2: { // transposed: the contiguous strides of a permutation
      const order = r.shuffle(shape.map((_, i) => i));
      const permuted = contiguousStride(order.map((i) => shape[i]));
      const out: number[] = [];
      order.forEach((dim, k) => (out[dim] = permuted[k]));
      return out;
    }
    case 3: // expanded somewhere
      return contiguous.map((s) => (r.chance(0.4) ? 0 : s));
    default:
      return shape.map(() => r.range(0, 5));
  }
}

function tensorTree(t: TensorSpec): PyValue {
  const s = t.storage;
  const storageGlobal = s.untyped ? pyGlobal('torch.storage', 'UntypedStorage') : pyGlobal('torch', storageNameOf(s.dtype) ?? 'UntypedStorage');
  const args: PyValue[] = [
    persistentId(tuple('storage', storageGlobal, s.key, 'cpu', s.numel)),
    t.offset, tuple(...t.shape), tuple(...t.stride), false, reduce(pyGlobal('collections', 'OrderedDict')),
  ];
  if (t.v3) args.push(pyGlobal('torch', t.dtypeName));
  return reduce(pyGlobal('torch._utils', t.v3 ? '_rebuild_tensor_v3' : '_rebuild_tensor_v2'), ...args);
}

/** What loading a view must give: its elements gathered row-major (a big-endian file holds them reversed; loading turns them back). */
function gathered(t: TensorSpec): Buffer {
  const size = ITEM_SIZE[t.storage.dtype];
  const n = numel(t.shape);
  const out = Buffer.alloc(n * size);
  const index = t.shape.map(() => 0);
  for (let i = 0; i < n; i++) {
    const element = t.offset + index.reduce((a, k, d) => a + k * t.stride[d], 0);
    const src = t.storage.bytes.subarray(element * size, element * size + size);
    out.set(src, i * size);
    for (let d = t.shape.length - 1; d >= 0; d--) {
      if (++index[d] < t.shape[d]) break;
      index[d] = 0;
    }
  }
  return out;
}

/**
 * A torch.save file spelled out tensor by tensor: storages typed (legacy
 * classes, _rebuild_tensor_v2) or untyped (2.x's UntypedStorage with
 * _rebuild_tensor_v3 naming the dtype), views with offsets, transposed,
 * expanded and odd strides, several views per storage. Half the cases are
 * valid and checked value by value; the others get wrong numels, byte
 * counts, offsets, strides, dtype or storage globals.
 */
async function specCase(r: Rng): Promise<Case> {
  const log: string[] = [];
  const storages: StorageSpec[] = [];
  const tensors: TensorSpec[] = [];
  for (let s = r.range(1, 3); s > 0; s--) {
    const dtype = r.chance(0.6) ? r.pick(NEW_DTYPES) : r.pick(ALL_DTYPES);
    const untyped = storageNameOf(dtype) === undefined || r.chance(0.5);
    const storage: StorageSpec = { key: String(storages.length), untyped, dtype, numel: 0, bytes: new Uint8Array(0) };
    storages.push(storage);
    let elements = 0;
    for (let k = r.range(1, 3); k > 0; k--) {
      const shape = randomShape(r);
      const stride = randomStride(r, shape);
      const offset = r.range(0, 4);
      const n = numel(shape);
      const last = offset + shape.reduce((a, d, i) => a + (d - 1) * stride[i], 0);
      elements = Math.max(elements, n === 0 ? offset : last + 1);
      // v3 with a typed storage names the same dtype: accepted, as 2.x reads it.
      const v3 = untyped || r.chance(0.15);
      tensors.push({ name: `w${tensors.length}`, storage, v3, dtypeName: dtype, offset, shape, stride });
    }
    elements += r.range(0, 3);
    storage.bytes = r.bytes(elements * ITEM_SIZE[dtype]);
    storage.numel = untyped ? storage.bytes.length : elements;
  }
  log.push(`storages ${storages.map((s) => `${s.key}: ${s.untyped ? 'untyped ' : ''}${s.dtype} x${s.bytes.length / ITEM_SIZE[s.dtype]}`).join(', ')}; ` +
    `views ${tensors.map((t) => `${t.name}: ${t.v3 ? 'v3 ' : ''}@${t.offset} [${t.shape}] stride [${t.stride}] of ${t.storage.key}`).join(', ')}`);

  let expect: Expectation = { kind: 'any' };
  const bigEndian = r.chance(0.1);
  const broken = r.chance(0.5);
  /** The dtype a lone tensor's v3 call was given, when that is the only change and simd-optim does not hold it. */
  let unsupported: string | undefined;
  if (broken) {
    const changes = r.range(1, 2);
    for (let k = changes; k > 0; k--) {
      const s = r.pick(storages);
      const t = r.pick(tensors);
      switch (r.int(8)) {
        case 0:
          s.numel = r.pick([0, s.numel + 1, Math.max(0, s.numel - 1), s.numel * 2, s.numel + ITEM_SIZE[s.dtype], 2 ** 53, 2 ** 32]);
          log.push(`storage ${s.key} numel -> ${s.numel}`);
          break;
        case 1: {
          const n = Math.max(0, s.bytes.length + r.pick([-1, 1, -ITEM_SIZE[s.dtype], 3]));
          s.bytes = s.bytes.length >= n ? s.bytes.subarray(0, n) : Buffer.concat([s.bytes, Buffer.alloc(n - s.bytes.length)]);
          log.push(`storage ${s.key} record -> ${n} bytes`);
          break;
        }
        case 2:
          t.offset = r.pick([t.offset + 1, t.offset + s.bytes.length, -1, 2 ** 31, 2 ** 53, 0.5]);
          log.push(`${t.name} offset -> ${t.offset}`);
          break;
        case 3: {
          const d = r.int(Math.max(1, t.stride.length));
          if (t.stride.length === 0) {
            t.shape = [2];
            t.stride = [1];
          } else {
            t.stride[d] = r.pick([t.stride[d] + 1, t.stride[d] * 7, -1, 2 ** 40]);
          }
          log.push(`${t.name} stride -> [${t.stride}]`);
          break;
        }
        case 4: {
          const name = r.pick([...ALL_DTYPES, ...UNSUPPORTED_DTYPES, 'float9', 'Tensor', 'FloatStorage']);
          t.v3 = true;
          t.dtypeName = name;
          log.push(`${t.name} as _rebuild_tensor_v3 with torch.${name}`);
          if (changes === 1 && UNSUPPORTED_DTYPES.includes(name) && tensors.length === 1) unsupported = name === 'chalf' ? 'complex32' : name;
          break;
        }
        case 5: {
          s.untyped = !s.untyped;
          log.push(`storage ${s.key} ${s.untyped ? 'untyped' : 'typed'} (numel unchanged)`);
          break;
        }
        case 6: {
          const dims = t.shape.map((d) => d + r.range(0, 2));
          t.shape = r.chance(0.2) ? [2 ** 31, 2 ** 31] : dims;
          log.push(`${t.name} shape -> [${t.shape}]`);
          break;
        }
        default:
          t.storage = r.pick(storages);
          log.push(`${t.name} uses storage ${t.storage.key}`);
      }
    }
  } else if (bigEndian) {
    log.push('byteorder big');
  }
  if (!broken) {
    expect = {
      kind: 'ok',
      check: (loaded) => {
        const value = loaded as Record<string, TensorRecord>;
        const byStorage = new Map<string, ArrayBufferLike>();
        for (const t of tensors) {
          const got = value[t.name];
          if (got === undefined || got.dtype !== t.storage.dtype || JSON.stringify(got.shape) !== JSON.stringify(t.shape)) {
            return `${t.name}: ${got?.dtype} [${got?.shape}], expected ${t.storage.dtype} [${t.shape}]`;
          }
          if (!(got.data instanceof arrayTypeOf(t.storage.dtype))) return `${t.name}: data is a ${got.data.constructor.name}`;
          const want = gathered(t);
          if (!bytesOf(got.data).equals(want)) return `${t.name}: bytes ${bytesOf(got.data).toString('hex')}, expected ${want.toString('hex')}`;
          // Contiguous views of one storage share its memory, at their offset.
          if (numel(t.shape) > 0 && isContiguous(t.shape, t.stride)) {
            const seen = byStorage.get(t.storage.key);
            if (seen !== undefined && seen !== got.data.buffer) return `${t.name}: does not share storage ${t.storage.key}'s memory`;
            byStorage.set(t.storage.key, got.data.buffer);
            if (got.data.byteOffset !== t.offset * ITEM_SIZE[t.storage.dtype]) return `${t.name}: at byte ${got.data.byteOffset} of its storage`;
          }
        }
        return undefined;
      },
    };
  }
  const storageBytes = (s: StorageSpec): Uint8Array => {
    if (!bigEndian || broken) return s.bytes;
    // The file holds big-endian values: each value's bytes reversed.
    const size = ITEM_SIZE[s.dtype] / valuesPerElement(s.dtype);
    const out = Buffer.from(s.bytes);
    for (let i = 0; i + size <= out.length; i += size) out.subarray(i, i + size).reverse();
    return out;
  };
  let pkl = pickle(dict(tensors.map((t): [PyValue, PyValue] => [t.name, tensorTree(t)])));
  if (broken && r.chance(0.3)) {
    pkl = mutatePickle(r, pkl, log);
    unsupported = undefined;
  }
  const records: Array<[string, Uint8Array]> = [['archive/data.pkl', pkl], ['archive/byteorder', text(bigEndian ? 'big' : 'little')]];
  for (const s of storages) records.push([`archive/data/${s.key}`, storageBytes(s)]);
  records.push(['archive/version', text('3\n')]);
  if (broken && r.chance(0.1)) {
    records.splice(r.range(2, records.length - 2), 1);
    log.push('a record left out');
    unsupported = undefined;
  }
  if (unsupported !== undefined) expect = { kind: 'error', message: new RegExp(`dtype ${unsupported} is not supported`) };
  return { bytes: await container(r, records, log, 0.4), log, expect };
}

interface PickleOp {
  at: number;
  end: number;
  code: number;
}

/** The opcodes of a pickle as pickle-write spells them, or undefined past one it does not use. */
function pickleOps(p: Uint8Array): PickleOp[] | undefined {
  const ops: PickleOp[] = [];
  const view = new DataView(p.buffer, p.byteOffset, p.byteLength);
  for (let at = 0; at < p.length;) {
    const code = p[at];
    let end = at + 1;
    switch (code) {
      case 0x80: case 0x4b: end += 1; break; // PROTO, BININT1
      case 0x4d: end += 2; break; // BININT2
      case 0x4a: end += 4; break; // BININT
      case 0x47: end += 8; break; // BINFLOAT
      case 0x8a: end += 1 + (p[at + 1] ?? p.length); break; // LONG1
      case 0x8b: case 0x58: end += at + 5 <= p.length ? 4 + view.getUint32(at + 1, true) : p.length; break; // LONG4, BINUNICODE
      case 0x63: end = p.indexOf(0x0a, p.indexOf(0x0a, at) + 1) + 1; break; // GLOBAL module\nname\n
      case 0x2e: case 0x4e: case 0x88: case 0x89: case 0x5d: case 0x28: case 0x65: case 0x29: case 0x85: case 0x86: case 0x87:
      case 0x74: case 0x52: case 0x51: case 0x7d: case 0x75: break;
      default: return undefined;
    }
    if (end <= at || end > p.length) return undefined;
    ops.push({ at, end, code });
    at = end;
  }
  return ops;
}

function intOp(v: bigint): number[] {
  if (v >= 0n && v < 0x100n) return [0x4b, Number(v)];
  if (v >= 0n && v < 0x10000n) return [0x4d, Number(v & 0xffn), Number(v >> 8n)];
  if (v >= -0x80000000n && v < 0x80000000n) {
    const b = Buffer.alloc(4);
    b.writeInt32LE(Number(v));
    return [0x4a, ...b];
  }
  const bytes: number[] = [];
  for (let x = v; ;) {
    const byte = Number(x & 0xffn);
    bytes.push(byte);
    x >>= 8n;
    if ((x === 0n && !(byte & 0x80)) || (x === -1n && byte & 0x80)) break;
  }
  return [0x8a, bytes.length, ...bytes];
}

function intValue(p: Uint8Array, op: PickleOp): bigint {
  const b = Buffer.from(p.subarray(op.at + 1, op.end));
  if (op.code === 0x4b) return BigInt(b[0]);
  if (op.code === 0x4d) return BigInt(b.readUInt16LE(0));
  if (op.code === 0x4a) return BigInt(b.readInt32LE(0));
  let v = 0n;
  for (let i = b.length - 1; i >= 1; i--) v = (v << 8n) | BigInt(b[i]);
  return b.length > 1 && b[b.length - 1] & 0x80 ? v - (1n << BigInt(8 * (b.length - 1))) : v;
}

const GLOBALS: Array<[string, string]> = [
  ...ALL_DTYPES.map((d): [string, string] => ['torch', d]),
  ...UNSUPPORTED_DTYPES.map((d): [string, string] => ['torch', d]),
  ...STORAGE_CLASSES.map((s): [string, string] => ['torch', s]),
  ['torch.storage', 'UntypedStorage'], ['torch', 'UntypedStorage'], ['torch.storage', 'TypedStorage'],
  ['torch._utils', '_rebuild_tensor_v2'], ['torch._utils', '_rebuild_tensor_v3'], ['torch._utils', '_rebuild_tensor'],
  ['torch._utils', '_rebuild_parameter'], ['torch._utils', '_rebuild_qtensor'], ['collections', 'OrderedDict'], ['torch', 'Size'],
  ['torch', 'float9'], ['builtins', 'eval'],
];

/**
 * 1-3 mutations of a pickle's opcodes: an int (numel, offset, size, stride)
 * changed, a global swapped (dtype, storage class, rebuild function), a
 * string changed (storage key, location), an opcode dropped, doubled or
 * swapped with its neighbour, or plain bytes flipped.
 */
function mutatePickle(r: Rng, pkl: Uint8Array, log: string[]): Uint8Array {
  let p = Buffer.from(pkl);
  for (let n = r.range(1, 3); n > 0; n--) {
    const ops = pickleOps(p);
    const replace = (op: PickleOp, bytes: Uint8Array) => Buffer.concat([p.subarray(0, op.at), bytes, p.subarray(op.end)]);
    const of = (codes: number[]) => (ops ?? []).filter((o) => codes.includes(o.code));
    const kind = ops === undefined ? 6 : r.int(7);
    if (kind <= 1) {
      const op = r.pick(of([0x4b, 0x4d, 0x4a, 0x8a]));
      if (op === undefined) continue;
      const old = intValue(p, op);
      const v = r.pick([old + 1n, old - 1n, 0n, 1n, old * 2n, old + 3n, -1n, 255n, 256n, 65536n, 1n << 31n, 1n << 32n, (1n << 53n) + 1n, 1n << 64n]);
      p = replace(op, Uint8Array.from(intOp(v)));
      log.push(`pickle int at ${op.at}: ${old} -> ${v}`);
    } else if (kind <= 3) {
      const op = r.pick(of([0x63]));
      if (op === undefined) continue;
      const [module, name] = r.pick(GLOBALS);
      const old = p.subarray(op.at + 1, op.end - 1).toString('latin1').replace('\n', '.');
      p = replace(op, text(`c${module}\n${name}\n`));
      log.push(`pickle global at ${op.at}: ${old} -> ${module}.${name}`);
    } else if (kind === 4) {
      const op = r.pick(of([0x58]));
      if (op === undefined) continue;
      const s = r.pick(['0', '1', '2', '9', '', 'storage', 'cpu', 'cuda:0', '../0', 'data.pkl']);
      const b = Buffer.alloc(5 + Buffer.byteLength(s));
      b[0] = 0x58;
      b.writeUInt32LE(Buffer.byteLength(s), 1);
      b.write(s, 5);
      p = replace(op, b);
      log.push(`pickle string at ${op.at} -> '${s}'`);
    } else if (kind === 5) {
      const body = ops!.slice(1, -1);
      if (body.length < 2) continue;
      const i = r.int(body.length - 1);
      const [a, b] = [body[i], body[i + 1]];
      const how = r.int(3);
      if (how === 0) p = replace(a, new Uint8Array(0));
      if (how === 1) p = replace(a, Buffer.concat([p.subarray(a.at, a.end), p.subarray(a.at, a.end)]));
      if (how === 2) p = Buffer.concat([p.subarray(0, a.at), p.subarray(b.at, b.end), p.subarray(a.at, a.end), p.subarray(b.end)]);
      log.push(`pickle opcode ${hex(a.code)} at ${a.at} ${['dropped', 'doubled', 'swapped with the next'][how]}`);
    } else {
      const at = r.int(p.length);
      if (r.chance(0.5)) {
        p[at] ^= 1 << r.int(8);
        log.push(`pickle byte ${at} flipped`);
      } else {
        p = p.subarray(0, at);
        log.push(`pickle cut at ${at}`);
      }
    }
  }
  return p;
}

/** The records of torchBytes(value), with its random serialization id replaced by a seeded one (so a case replays byte for byte). */
async function torchRecords(r: Rng, value: unknown): Promise<Array<[string, Uint8Array]>> {
  return (await zipRecords(await torchBytes(value))).map((x): [string, Uint8Array] =>
    [x.name, x.name.endsWith('/.data/serialization_id') ? text(Array.from({ length: 40 }, () => r.int(10)).join('')) : x.data]);
}

/** Files torchBytes writes (the new dtypes, tied views), their data.pkl mutated, in any container. */
async function torchBytesCase(r: Rng): Promise<Case> {
  const log: string[] = [];
  const value = randomValue(r);
  const records = await torchRecords(r, value);
  log.push(`torchBytes of ${Object.entries(value).map(([k, v]) => `${k}: ${Array.isArray(v) ? `${(v as TensorRecord[]).length} tied ${(v[0] as TensorRecord).dtype}` : (v as TensorRecord).dtype ?? typeof v}`).join(', ')}`);
  const mutated = r.chance(0.85);
  if (mutated) {
    const at = records.findIndex(([name]) => name.endsWith('/data.pkl'));
    records[at] = [records[at][0], mutatePickle(r, records[at][1], log)];
  }
  return { bytes: await container(r, records, log), log, expect: mutated ? { kind: 'any' } : { kind: 'ok', check: sameAs(value) } };
}

/** Valid files in the zip64 layouts (ZipWriter's from some offset on, or the loose writer's), their zip structures mutated. */
async function zip64Case(r: Rng): Promise<Case> {
  const log: string[] = [];
  const value = randomValue(r);
  const records = await torchRecords(r, value);
  const clean = await container(r, records, log, 1);
  const mutated = r.chance(0.85);
  const bytes = mutated ? mutateZip(r, clean, log) : clean;
  return { bytes, log, expect: mutated ? { kind: 'any' } : { kind: 'ok', check: sameAs(value) } };
}

// ---- safetensors ----

const CODES: Array<[string, DType]> = [
  ['F32', 'float32'], ['F64', 'float64'], ['F16', 'float16'], ['BF16', 'bfloat16'], ['I64', 'int64'], ['I32', 'int32'], ['I16', 'int16'],
  ['I8', 'int8'], ['U64', 'uint64'], ['U32', 'uint32'], ['U16', 'uint16'], ['U8', 'uint8'], ['BOOL', 'bool'], ['F8_E4M3', 'float8_e4m3fn'],
  ['F8_E5M2', 'float8_e5m2'], ['C64', 'complex64'],
];
const NAMES = ['w', 'layer.0.bias', '__proto__', 'constructor', 'toString', 'ü', '0', ''];

/**
 * safetensors files written by hand: every dtype code, tensor names that
 * are JS special keys, header padding that leaves the data misaligned
 * (mapping falls back to a copy), then for half of them mutated header JSON
 * (offsets, dtypes, shapes, the header length) or data.
 */
async function safetensorsCase(r: Rng): Promise<Case> {
  const log: string[] = [];
  const specs: Array<{ name: string; code: string; dtype: DType; shape: number[]; data: Uint8Array }> = [];
  const names = r.shuffle([...NAMES]);
  for (let k = r.range(1, 4); k > 0; k--) {
    const [code, dtype] = r.pick(CODES);
    const shape = randomShape(r);
    specs.push({ name: names[k], code, dtype, shape, data: r.bytes(numel(shape) * ITEM_SIZE[dtype]) });
  }
  const header: Record<string, unknown> = {};
  if (r.chance(0.3)) header.__metadata__ = { note: 'fuzz' };
  // Data in one order, header keys in another (JSON may list them in any order).
  const order = r.shuffle([...specs]);
  const at = new Map<string, number>();
  order.reduce((offset, s) => (at.set(s.name, offset), offset + s.data.length), 0);
  for (const s of r.shuffle([...specs])) {
    Object.defineProperty(header, s.name, {
      value: { dtype: s.code, shape: s.shape, data_offsets: [at.get(s.name)!, at.get(s.name)! + s.data.length] }, enumerable: true, writable: true, configurable: true,
    });
  }
  let json = JSON.stringify(header);
  const aligned = r.chance(0.6);
  const pad = aligned ? (8 - ((8 + Buffer.byteLength(json)) % 8)) % 8 : r.range(0, 7);
  json += ' '.repeat(pad);
  log.push(`safetensors ${specs.map((s) => `${JSON.stringify(s.name)}: ${s.code} [${s.shape}]`).join(', ')}; data at byte ${8 + Buffer.byteLength(json)}`);
  let head = Buffer.from(json);
  let data = Buffer.concat(order.map((s) => s.data));
  let length = BigInt(head.length);
  const broken = r.chance(0.5);
  if (broken) {
    for (let n = r.range(1, 2); n > 0; n--) {
      const s = r.pick(specs);
      let entry: Record<string, { dtype: unknown; shape: unknown; data_offsets: unknown }> = {};
      try {
        entry = JSON.parse(head.toString()) as typeof entry; // not JSON any more after an earlier byte mutation
      } catch {}
      const found = Object.prototype.hasOwnProperty.call(entry, s.name) ? entry[s.name] : undefined;
      const e = found !== null && typeof found === 'object' && Array.isArray(found.data_offsets) && Array.isArray(found.shape) ? found : undefined;
      const kind = r.int(7);
      if (kind <= 2 && e !== undefined) {
        if (kind === 0) {
          e.dtype = r.pick([...CODES.map(([c]) => c), 'F8_E8M0', 'C128', 'F4', 'I4', 'f32', '', 7, null]);
          log.push(`${JSON.stringify(s.name)} dtype -> ${JSON.stringify(e.dtype)}`);
        } else if (kind === 1) {
          const o = e.data_offsets as number[];
          const i = r.int(2);
          o[i] = r.pick([o[i] + 1, o[i] - 1, o[i] + 2, o[i] + 4, o[i] + 8, 0, -1, 1.5, 2 ** 53, 2 ** 64, o[1 - i]]);
          log.push(`${JSON.stringify(s.name)} data_offsets -> [${o}]`);
        } else {
          e.shape = r.pick([[...s.shape, 1], [...s.shape, 2], s.shape.slice(1), [-1], [1.5], 'x', [2 ** 53], [2 ** 31, 2 ** 31]]);
          log.push(`${JSON.stringify(s.name)} shape -> ${JSON.stringify(e.shape)}`);
        }
        head = Buffer.from(JSON.stringify(entry));
        length = BigInt(head.length);
      } else if (kind === 3) {
        length = r.pick([length + 1n, length - 1n, length + 8n, 0n, 1n << 63n, BigInt(head.length + data.length)]);
        log.push(`header length -> ${length}`);
      } else if (kind === 4) {
        // A digit in the header swapped for another, in place (offsets, shapes, the dtype's bits).
        const digits = [...head.keys()].filter((i) => head[i] >= 0x30 && head[i] <= 0x39);
        if (digits.length > 0) {
          const at = r.pick(digits);
          head[at] = 0x30 + r.int(10);
          log.push(`header byte ${at} -> '${String.fromCharCode(head[at])}'`);
        }
      } else if (kind === 5) {
        const at = r.int(head.length);
        head[at] = r.int(256);
        log.push(`header byte ${at} -> ${head[at]}`);
      } else {
        data = r.chance(0.5) ? Buffer.concat([data, Buffer.from(r.bytes(r.range(1, 8)))]) : data.subarray(0, r.int(data.length + 1));
        log.push(`data -> ${data.length} bytes`);
      }
    }
  }
  const prefix = Buffer.alloc(8);
  prefix.writeBigUInt64LE(BigInt.asUintN(64, length));
  const bytes = Buffer.concat([prefix, head, data]);
  if (broken) return { bytes, log, expect: { kind: 'any' } };
  return {
    bytes, log, expect: {
      kind: 'ok',
      check: (loaded) => {
        const { tensors } = loaded as { tensors: Record<string, TensorRecord> };
        if (Object.keys(tensors).length !== specs.length) return `${Object.keys(tensors).length} tensors, expected ${specs.length}`;
        for (const s of specs) {
          const t = Object.prototype.hasOwnProperty.call(tensors, s.name) ? tensors[s.name] : undefined;
          if (t === undefined || t.dtype !== s.dtype || JSON.stringify(t.shape) !== JSON.stringify(s.shape)) return `${JSON.stringify(s.name)}: ${t?.dtype} [${t?.shape}]`;
          if (!(t.data instanceof arrayTypeOf(s.dtype)) || !bytesOf(t.data).equals(s.data)) return `${JSON.stringify(s.name)}: wrong data`;
        }
        return undefined;
      },
    },
  };
}

/** Optimizer files saveSafetensors writes (flattened state, groups in the metadata), header or data mutated. */
async function optimizerSafetensorsCase(r: Rng, dir: string): Promise<Case> {
  const log: string[] = [];
  const dtype = r.pick(['float32', 'float64'] as const);
  const sd = {
    state: { 0: { step: r.range(0, 9), square_avg: randomRecord(r, dtype, [r.range(1, 4)]) }, 1: { step: 3, square_avg: randomRecord(r, dtype, [2, 2]) } },
    param_groups: [{ lr: 0.01, alpha: 0.99, eps: 1e-8, params: [0, 1] }],
  };
  const file = path.join(dir, 'opt.safetensors');
  await saveSafetensors(sd, file);
  let bytes = Buffer.from(fs.readFileSync(file));
  const mutated = r.chance(0.8);
  if (mutated) {
    const length = Number(bytes.readBigUInt64LE(0));
    for (let n = r.range(1, 3); n > 0; n--) {
      const at = r.chance(0.85) ? 8 + r.int(length) : r.int(bytes.length);
      const digits = bytes[at] >= 0x30 && bytes[at] <= 0x39;
      bytes[at] = digits && r.chance(0.7) ? 0x30 + r.int(10) : r.pick([0x22, 0x5b, 0x5d, 0x7b, 0x7d, 0x2c, 0x3a, 0x30, 0x20, r.int(256)]);
      log.push(`byte ${at} -> ${bytes[at]}`);
    }
    if (r.chance(0.1)) {
      bytes = bytes.subarray(0, r.int(bytes.length));
      log.push(`cut to ${bytes.length} bytes`);
    }
  }
  log.unshift(`optimizer dict (${dtype}) by saveSafetensors`);
  return { bytes, log, expect: mutated ? { kind: 'any' } : { kind: 'ok', check: sameAs(sd) } };
}

// ---- the runs ----

describe('fuzz: zip64, the new dtypes and mmap (copy, file and mmap loads agree)', function () {
  this.timeout(300_000);
  const scale = fullTests ? 10 : 1;
  const seed = (own: number) => (envSeed !== undefined ? Number(envSeed) : own);
  const torch: Loader = (input, mmap) => loadTorch(input, mmap ? { mmap: true } : {});
  const safetensors: Loader = (input, mmap) => readSafetensors(input, mmap ? { mmap: true } : {});
  const optimizer: Loader = (input, mmap) => loadSafetensors(input, mmap ? { mmap: true } : {});

  const done = (f: Fuzz, runs: number) => {
    if (envCase !== undefined) return;
    // Most mutations should break the file; a harness that loads nothing, or maps nothing, tests nothing.
    expect(f.tally.get('refused') ?? 0, `${f.name}: refused`).to.be.greaterThan(runs * 0.2);
    expect(f.tally.get('valid files checked') ?? 0, `${f.name}: valid files`).to.be.greaterThan(runs * 0.05);
    if (backendInfo().nativeLoaded) expect(f.tally.get('mapped') ?? 0, `${f.name}: tensors mapped`).to.be.greaterThan(0);
  };

  it(`zip64 end records, locators and extra fields: ${100 * scale} mutated files`, async () => {
    const f = new Fuzz('zip64', 'zip64 end records', seed(0x2164), torch, '.pt');
    await f.run(100 * scale, (r) => zip64Case(r));
    done(f, 100 * scale);
  });

  it(`new dtypes, _rebuild_tensor_v3 and UntypedStorage, strided and shared views: ${150 * scale} generated pickles`, async () => {
    const f = new Fuzz('dtypes', 'new dtypes, _rebuild_tensor_v3', seed(0xd7e5), torch, '.pt');
    await f.run(150 * scale, (r) => specCase(r));
    done(f, 150 * scale);
  });

  it(`files torchBytes writes with the new dtypes, pickle opcodes mutated: ${80 * scale} files`, async () => {
    const f = new Fuzz('torchBytes', 'files torchBytes writes', seed(0x70b7), torch, '.pt');
    await f.run(80 * scale, (r) => torchBytesCase(r));
    done(f, 80 * scale);
    expect(f.tally.get('copied: misaligned') ?? 0, 'some storages misaligned (mapping falls back to a copy)').to.be.at.least(backendInfo().nativeLoaded ? 1 : 0);
  });

  it(`safetensors with mmap: ${150 * scale} headers with every dtype, misaligned data, mutated offsets and dtypes`, async () => {
    const f = new Fuzz('safetensors', 'safetensors with mmap', seed(0x5afe), safetensors, '.safetensors');
    await f.run(150 * scale, (r) => safetensorsCase(r));
    done(f, 150 * scale);
    expect(f.tally.get('copied: misaligned') ?? 0, 'some tensors misaligned').to.be.at.least(backendInfo().nativeLoaded ? 1 : 0);
  });

  it(`safetensors optimizer files with mmap: ${30 * scale} mutated files`, async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'simd-optim-fuzz-opt-'));
    try {
      const f = new Fuzz('optimizer-safetensors', 'safetensors optimizer files', seed(0x0971), optimizer, '.safetensors');
      await f.run(30 * scale, (r) => optimizerSafetensorsCase(r, dir));
      if (envCase === undefined) expect(f.tally.get('refused') ?? 0).to.be.greaterThan(0);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
