// safetensors (https://github.com/huggingface/safetensors): an 8-byte
// little-endian header length, a JSON header { name: { dtype, shape,
// data_offsets }, __metadata__: { string: string } }, then the tensor bytes.
//
// Model dicts map one to one. Optimizer state dicts are flattened: tensors as
// `state.<index>.<name>`, `param_groups` as JSON in the metadata, and number
// steps (PyTorch 1.13's Python ints) in `state_scalars`, so `step` keeps its
// exact type and value either way.
import * as os from 'os';
import { describe, typeError } from '../core/errors';
import { checkRecord, dtypeOf, isFloatArray, numelOf, Parameter, type DType, type TensorRecord } from '../core/tensor';
import { isOptimizerDict, type OptimizerDict } from './optimizer-dict';
import { checkFilePath, writeFileAtomic } from './atomic-write';
import { CHUNK, openSource, type ByteSource } from './byte-source';
import { FileFormatError } from './format-error';
import { ITEM_SIZE } from './torch-dtypes';
import { mmapOption, storageArray, type LoadOptions } from './storage-arrays';

/** The format's dtype codes; float8's "fnuz" variants and complex128 have none. */
const CODE_OF: Partial<Record<DType, string>> = {
  float32: 'F32', float64: 'F64', float16: 'F16', bfloat16: 'BF16', int64: 'I64', int32: 'I32', int16: 'I16', int8: 'I8',
  uint64: 'U64', uint32: 'U32', uint16: 'U16', uint8: 'U8', bool: 'BOOL', float8_e4m3fn: 'F8_E4M3', float8_e5m2: 'F8_E5M2',
  complex64: 'C64',
};
const DTYPE_OF = new Map(Object.entries(CODE_OF).map(([dtype, code]) => [code, dtype as DType]));
/** The reference implementation refuses headers above 100 MB. */
const MAX_HEADER = 100_000_000;
/** Metadata key marking a flattened optimizer state dict. */
const FORMAT_KEY = 'format';
const OPTIMIZER_FORMAT = 'simd-optim/optimizer-state-dict';

/** What {@link loadSafetensors} returns: a model dict, or an optimizer state dict that saveSafetensors flattened. */
export type SafetensorsValue =
  | Record<string, TensorRecord>
  | {
      /** Each parameter's state, by index (numbers, tensors, and null for PyTorch's None). */
      state: Record<string, Record<string, number | null | TensorRecord>>;
      /** The groups, as stored in the file's metadata. */
      param_groups: unknown[];
    };

/** A .safetensors file's raw contents ({@link readSafetensors}). */
export interface SafetensorsFile {
  /** Every tensor, by name. */
  tensors: Record<string, TensorRecord>;
  /** The `__metadata__` strings. */
  metadata: Record<string, string>;
}

/**
 * Reads a .safetensors file. A file saveSafetensors wrote from an optimizer
 * state dict comes back as that state dict; any other as `{ name: tensor }`.
 *
 * @param options - `{ mmap: true }` maps the file instead of reading it ({@link LoadOptions})
 */
export async function loadSafetensors<T = SafetensorsValue>(file: string | Uint8Array, options: LoadOptions = {}): Promise<T> {
  const { tensors, metadata } = await readFile(file, mmapOption('loadSafetensors', options, file));
  return (metadata[FORMAT_KEY] === OPTIMIZER_FORMAT ? unflatten(tensors, metadata, String(file)) : tensors) as T;
}

/**
 * Writes a model dict (name → tensor record, Parameter or typed array) or an
 * optimizer state dict as a .safetensors file, atomically (a temporary file,
 * fsync, rename). An optimizer dict is flattened to tensors
 * `state.<i>.<name>`, with `param_groups` as JSON in the metadata.
 *
 * @param metadata - strings for `__metadata__`; the `format` key is simd-optim's own
 */
export async function saveSafetensors(value: unknown, file: string, metadata: Record<string, string> = {}): Promise<void> {
  checkFilePath(file);
  const { tensors, meta } = isOptimizerDict(value) ? flatten(value) : { tensors: tensorsOf(value), meta: {} };
  if (metadata === null || typeof metadata !== 'object' || Array.isArray(metadata)) {
    throw typeError('saveSafetensors metadata', 'an object of strings', metadata);
  }
  for (const [k, v] of Object.entries(metadata)) {
    if (typeof v !== 'string') throw new TypeError(`Expected a string for safetensors metadata ${k} but received ${describe(v)}`);
    if (k === FORMAT_KEY) throw new TypeError(`saveSafetensors metadata cannot set '${FORMAT_KEY}': simd-optim uses it to mark optimizer dicts`);
  }
  const parts = encode(tensors, { ...metadata, ...meta });
  await writeFileAtomic(file, async (write) => {
    for (const part of parts) await write(part);
  });
}

/** The raw contents: every tensor and the string metadata (`{ mmap: true }` maps the file: {@link LoadOptions}). */
export async function readSafetensors(file: string | Uint8Array, options: LoadOptions = {}): Promise<SafetensorsFile> {
  return readFile(file, mmapOption('readSafetensors', options, file));
}

async function readFile(file: string | Uint8Array, mmap: boolean): Promise<SafetensorsFile> {
  const source = await openSource(file);
  try {
    return await read(source, mmap);
  } finally {
    await source.close();
  }
}

async function read(source: ByteSource, mmap: boolean): Promise<SafetensorsFile> {
  const fail = (detail: string): never => {
    throw new FileFormatError(source.name, detail);
  };
  if (source.size < 8) fail('too short for a safetensors file');
  const head = await source.read(0, 8);
  const length = new DataView(head.buffer, head.byteOffset, 8).getBigUint64(0, true);
  if (length > BigInt(Math.min(MAX_HEADER, source.size - 8))) fail(`safetensors header length ${length} is impossible for this file`);
  let header: Record<string, unknown>;
  try {
    header = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(await source.read(8, Number(length))));
  } catch (err) {
    return fail(`safetensors header is not valid JSON (${(err as Error).message})`);
  }
  if (header === null || typeof header !== 'object' || Array.isArray(header)) fail('safetensors header is not a JSON object');
  const dataStart = 8 + Number(length);
  const metadata: Record<string, string> = {};
  const raw = header.__metadata__;
  if (raw !== undefined) {
    if (raw === null || typeof raw !== 'object' || Object.values(raw).some((v) => typeof v !== 'string')) {
      fail('__metadata__ must map strings to strings');
    }
    Object.assign(metadata, raw);
  }
  const specs = Object.entries(header).filter(([name]) => name !== '__metadata__');
  const tensors: Record<string, TensorRecord> = {};
  let covered = 0;
  // By (start, end), as the reference does: an empty tensor may share its start with the next one.
  for (const [name, spec] of specs.sort((a, b) => offsetOf(a[1], 0) - offsetOf(b[1], 0) || offsetOf(a[1], 1) - offsetOf(b[1], 1))) {
    if (spec === null || typeof spec !== 'object' || Array.isArray(spec)) fail(`tensor ${name} is described by ${describe(spec)}, not an object`);
    const s = spec as { dtype?: unknown; shape?: unknown; data_offsets?: unknown };
    const dtype = DTYPE_OF.get(String(s.dtype));
    if (dtype === undefined) fail(`tensor ${name}: dtype ${describe(s.dtype)} is not supported (simd-optim reads ${[...DTYPE_OF.keys()].join(', ')})`);
    const shape = s.shape;
    if (!Array.isArray(shape) || !shape.every((d) => Number.isSafeInteger(d) && d >= 0)) fail(`tensor ${name} has a malformed shape`);
    const offsets = s.data_offsets;
    if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every((o) => Number.isSafeInteger(o) && o >= 0)) {
      fail(`tensor ${name} has malformed data_offsets`);
    }
    const [begin, end] = offsets as number[];
    const bytes = numelOf(shape as number[]) * ITEM_SIZE[dtype!];
    if (end - begin !== bytes) fail(`tensor ${name} spans ${end - begin} bytes; shape [${shape}] of ${dtype} needs ${bytes}`);
    if (begin !== covered) fail(`tensor ${name} starts at ${begin}, expected ${covered} (overlap or hole in the data)`);
    if (dataStart + end > source.size) fail(`tensor ${name} ends past the end of the file (truncated?)`);
    covered = end;
    if (os.endianness() === 'BE') throw new Error('simd-optim reads safetensors on little-endian hosts only');
    const where = { offset: dataStart + begin, bytes, stored: true, swap: false };
    const data = await storageArray(source, dtype!, where, mmap, async () => ({ buffer: await source.readBuffer(where.offset, bytes), byteOffset: 0, byteLength: bytes }));
    defineKey(tensors, name, { dtype: dtype!, shape: [...(shape as number[])], data });
  }
  if (dataStart + covered !== source.size) fail(`${source.size - dataStart - covered} bytes after the last tensor`);
  return { tensors, metadata };
}

function offsetOf(spec: unknown, which: 0 | 1): number {
  const offsets = (spec as { data_offsets?: unknown } | null)?.data_offsets;
  return Array.isArray(offsets) && typeof offsets[which] === 'number' ? offsets[which] : -1;
}

function encode(tensors: Array<[string, TensorRecord]>, metadata: Record<string, string>): Uint8Array[] {
  const header: Record<string, unknown> = {};
  if (Object.keys(metadata).length > 0) header.__metadata__ = metadata;
  let offset = 0;
  for (const [name, t] of tensors) {
    const bytes = t.data.byteLength;
    const code = CODE_OF[t.dtype];
    if (code === undefined) throw new TypeError(`saveSafetensors cannot write ${name}: safetensors has no code for dtype ${t.dtype}`);
    defineKey(header, name, { dtype: code, shape: t.shape, data_offsets: [offset, offset + bytes] });
    offset += bytes;
  }
  let json = JSON.stringify(header);
  // The data starts 8-byte aligned: pad the header with spaces, as the reference does.
  json += ' '.repeat((8 - ((8 + Buffer.byteLength(json)) % 8)) % 8);
  const head = Buffer.alloc(8);
  head.writeBigUInt64LE(BigInt(Buffer.byteLength(json)));
  const parts: Uint8Array[] = [head, Buffer.from(json)];
  // In parts of at most CHUNK bytes: a Uint8Array holds at most 4 GiB, and fs writes take less.
  for (const [, { data }] of tensors) {
    for (let at = 0; at < data.byteLength; at += CHUNK) {
      parts.push(new Uint8Array(data.buffer, data.byteOffset + at, Math.min(CHUNK, data.byteLength - at)));
    }
  }
  return parts;
}

function flatten(sd: OptimizerDict): { tensors: Array<[string, TensorRecord]>; meta: Record<string, string> } {
  const tensors: Array<[string, TensorRecord]> = [];
  const scalars: Record<string, Record<string, number | null>> = {};
  const order: Record<string, string[]> = {};
  for (const [index, entry] of Object.entries(sd.state)) {
    if (!/^\d+$/.test(index)) throw new TypeError(`state dict state key ${describe(index)} is not a parameter index`);
    order[index] = Object.keys(entry);
    for (const [name, v] of Object.entries(entry)) {
      const where = `state[${index}].${name}`;
      if (typeof v === 'number' || typeof v === 'bigint') {
        if (!Number.isSafeInteger(Number(v))) throw new RangeError(`${where} = ${describe(v)} is not an integer`);
        (scalars[index] ??= {})[name] = Number(v);
      } else if (v === null) {
        (scalars[index] ??= {})[name] = null; // PyTorch's None (1.13 SGD's momentum_buffer without momentum)
      } else {
        tensors.push([`state.${index}.${name}`, checkRecord(where, v)]);
      }
    }
  }
  return {
    tensors,
    meta: {
      [FORMAT_KEY]: OPTIMIZER_FORMAT,
      param_groups: strictJson(sd.param_groups, 'param_groups'),
      // JSON has no tuples: which group keys hold one (Adam's betas), as "<group>.<key>".
      param_group_tuples: JSON.stringify(tupleKeys(sd.param_groups)),
      state_keys: JSON.stringify(order),
      state_scalars: JSON.stringify(scalars),
    },
  };
}

function unflatten(tensors: Record<string, TensorRecord>, metadata: Record<string, string>, file: string): SafetensorsValue {
  const fail = (detail: string): never => {
    throw new FileFormatError(file, detail);
  };
  const parse = (key: string): unknown => {
    try {
      return JSON.parse(metadata[key] ?? 'null');
    } catch {
      return fail(`metadata ${key} is not valid JSON`);
    }
  };
  const groups = parse('param_groups');
  const tuples = parse('param_group_tuples') ?? [];
  if (!Array.isArray(tuples) || !tuples.every((t) => typeof t === 'string')) fail('metadata param_group_tuples must be a list of "<group>.<key>"');
  const order = parse('state_keys') as Record<string, string[]> | null;
  const scalars = (parse('state_scalars') ?? {}) as Record<string, Record<string, number | null>>;
  if (!Array.isArray(groups) || order === null || typeof order !== 'object') fail('optimizer metadata lacks param_groups or state_keys');
  const isNames = (names: unknown) => Array.isArray(names) && names.every((n) => typeof n === 'string');
  if (!Object.values(order!).every(isNames)) fail('metadata state_keys must map each param index to a list of names');
  if (scalars === null || typeof scalars !== 'object' || !Object.values(scalars).every((s) => s !== null && typeof s === 'object')) {
    fail('metadata state_scalars must map each param index to an object');
  }
  const state: Record<string, Record<string, number | null | TensorRecord>> = {};
  const used = new Set<string>();
  for (const [index, names] of Object.entries(order!)) {
    const entry: Record<string, number | null | TensorRecord> = {};
    for (const name of names) {
      const key = `state.${index}.${name}`;
      const value = scalars[index] !== undefined && name in scalars[index] ? scalars[index][name] : tensors[key];
      if (value === undefined) fail(`state ${index} lacks ${name}`);
      if (key in tensors) used.add(key);
      entry[name] = value;
    }
    state[index] = entry;
  }
  const extra = Object.keys(tensors).find((k) => !used.has(k));
  if (extra !== undefined) fail(`tensor ${extra} is not part of the optimizer state`);
  for (const at of tuples as string[]) {
    const dot = at.indexOf('.');
    const group = (groups as unknown[])[Number(at.slice(0, dot))] as Record<string, unknown> | undefined;
    const key = at.slice(dot + 1);
    if (dot < 0 || group === null || typeof group !== 'object' || !Array.isArray(group[key])) fail(`metadata param_group_tuples names ${at}, which is not a list`);
    Object.freeze(group![key]); // a frozen array is a tuple, as loadTorch gives them
  }
  return { state, param_groups: groups as unknown[] };
}

/** The "<group>.<key>" of every tuple (frozen array) directly in a group. */
function tupleKeys(groups: readonly unknown[]): string[] {
  return groups.flatMap((g, i) =>
    g !== null && typeof g === 'object'
      ? Object.entries(g).filter(([, v]) => Array.isArray(v) && Object.isFrozen(v)).map(([k]) => `${i}.${k}`)
      : []);
}

function tensorsOf(value: unknown): Array<[string, TensorRecord]> {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new TypeError(`Expected a dict of tensors or an optimizer state dict for saveSafetensors but received ${describe(value)}`);
  }
  const entries = value instanceof Map ? [...value] : Object.entries(value);
  return entries.map(([name, v]) => {
    if (typeof name !== 'string') throw new TypeError(`saveSafetensors cannot name a tensor ${describe(name)}: names are strings`);
    if (name === '__metadata__') throw new TypeError("saveSafetensors cannot name a tensor '__metadata__': safetensors reserves it");
    const where = `saveSafetensors value ${name}`;
    if (v instanceof Parameter) {
      if (!isFloatArray(v.data)) throw typeError(`${where}.data`, 'a Float32Array or Float64Array', v.data);
      return [name, checkRecord(where, { dtype: dtypeOf(v.data), shape: [...v.shape], data: v.data })];
    }
    if (isFloatArray(v)) return [name, checkRecord(where, { dtype: dtypeOf(v), shape: [v.length], data: v })]; // as saveTorch takes them
    return [name, checkRecord(where, v)];
  });
}

/** JSON that refuses what JSON cannot hold exactly (NaN, Infinity, bigint beyond 2^53). */
function strictJson(value: unknown, where: string): string {
  return JSON.stringify(value, function (this: Record<string, unknown>, key, v) {
    const original = key === '' ? value : this[key]; // before toJSON: a Date is still a Date
    const plain = original === null || typeof original !== 'object' || Array.isArray(original) ||
      [Object.prototype, null].includes(Object.getPrototypeOf(original));
    if (typeof original === 'function' || typeof original === 'symbol' || original === undefined || !plain) {
      throw new TypeError(`${where}.${key} = ${describe(original)} cannot be stored in safetensors metadata (JSON)`);
    }
    if (typeof v === 'number' && !Number.isFinite(v)) throw new RangeError(`${where}.${key} = ${v} cannot be stored in safetensors metadata`);
    if (typeof v === 'bigint') {
      if (v > BigInt(Number.MAX_SAFE_INTEGER) || v < -BigInt(Number.MAX_SAFE_INTEGER)) throw new RangeError(`${where}.${key} = ${v}n is too large`);
      return Number(v);
    }
    return v;
  });
}

function defineKey(target: Record<string, unknown>, key: string, value: unknown): void {
  Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
}
