// saveTorch: writes what torch.save writes, in the form of the PyTorch
// generation the dict comes from, so that torch.load reads it (2.x with its
// default weights_only=True) and optimizer.load_state_dict takes it.
import { randomInt } from 'crypto';
import * as os from 'os';
import * as path from 'path';
import { checkOptionNames, describe } from '../core/errors';
import { checkRecord, isFloatArray, Parameter, type DType, type TensorRecord } from '../core/tensor';
import { writeFileAtomic } from './atomic-write';
import { CHUNK } from './byte-source';
import { isFloat8 } from '../core/float8';
import { isOptimizerDict, type OptimizerDict } from './optimizer-dict';
import { COUNTERS, isIntKey, LOADED_STORAGES, ORDERED_DICTS, DICT_GENERATIONS, STEP_FORMS } from '../core/python-values';
import { pickle, dict, persistentId, pyGlobal, reduce, tuple, tupleOf, type PyValue } from './pickle-write';
import { ITEM_SIZE, storageNameOf, swapBytes, valueSize } from './torch-dtypes';
import { ZipWriter } from './zip';
import { stepFormOf } from '../engine/dict-kinds';

/** Which PyTorch's file layout to write: '2.x' (byteorder, serialization id, tensor steps) or '1.13'. */
export type TorchFileForm = '2.x' | '1.13';

/** Options of {@link saveTorch} and {@link torchBytes}. */
export interface SaveTorchOptions {
  /**
   * The PyTorch generation to write for. By default it follows the dict: an
   * optimizer's stateDict() is written in the generation of its groups'
   * `compat`; another optimizer dict is '2.x' if its groups carry 2.x-only
   * keys (`capturable`, `fused`), else '1.13'. Each optimizer dict in the
   * value stores `step` as its optimizer does in that generation; the file's
   * records follow the first. Anything else is written as '2.x'.
   */
  form?: TorchFileForm;
}

/**
 * Writes `value` (a state dict, a model dict of tensors, or plain data) as a
 * torch.save file at `file`, atomically: a crash leaves the old file or the
 * new one, never a mix. `torch.load` reads it, in PyTorch 1.13 and 2.x
 * (with 2.6's default `weights_only=True` too).
 *
 * @example
 * ```ts
 * await saveTorch({ weight, bias }, 'model.pt');
 * await saveTorch(opt.stateDict(), 'optimizer.pt');
 * ```
 */
export async function saveTorch(value: unknown, file: string, options: SaveTorchOptions = {}): Promise<void> {
  const archive = archiveName(file);
  const parts = encode(value, options);
  await writeFileAtomic(file, (write) => writeArchive(parts, archive, write));
}

/** The bytes saveTorch would write, with the archive folder named "archive" (as torch.save into a buffer). */
export async function torchBytes(value: unknown, options: SaveTorchOptions = {}): Promise<Uint8Array> {
  const chunks: Uint8Array[] = [];
  await writeArchive(encode(value, options), 'archive', async (chunk) => {
    chunks.push(chunk.slice());
  });
  return Buffer.concat(chunks);
}

interface Encoded {
  form: TorchFileForm;
  pickle: Uint8Array;
  /** Each storage's bytes, in parts. */
  storages: Uint8Array[][];
}

function encode(value: unknown, options: SaveTorchOptions): Encoded {
  if (options === null || typeof options !== 'object' || Array.isArray(options)) {
    throw new TypeError(`Expected an options object for saveTorch options but received ${describe(options)}`);
  }
  checkOptionNames('saveTorch', options, ['form']);
  const forced = options.form;
  if (forced !== undefined && forced !== '2.x' && forced !== '1.13') {
    throw new RangeError(`Expected '2.x' or '1.13' for saveTorch options.form but received ${describe(forced)}`);
  }
  const encoder = new Encoder(forced);
  const tree = encoder.value(value, 'value');
  const form = forced ?? encoder.firstOptimizerForm ?? '2.x';
  const storages = encoder.storages(form);
  return { form, pickle: pickle(tree), storages };
}

async function writeArchive(e: Encoded, archive: string, write: (chunk: Uint8Array) => Promise<void>): Promise<void> {
  const zip = new ZipWriter(write);
  const record = (name: string, ...parts: Uint8Array[]): Promise<void> => zip.add(`${archive}/${name}`, parts);
  const text = (s: string): Uint8Array => new TextEncoder().encode(s);
  await record('data.pkl', e.pickle);
  // The order PyTorch writes: 2.x sorts storage keys as strings, 1.13 in creation order.
  const keys = e.storages.map((_, i) => String(i));
  if (e.form === '2.x') {
    await record('byteorder', text('little'));
    keys.sort();
  }
  for (const key of keys) await record(`data/${key}`, ...e.storages[Number(key)]);
  await record('version', text('3\n'));
  if (e.form === '2.x') await record('.data/serialization_id', text(serializationId()));
  await zip.finish();
}

/** torch.save names the archive folder after the file, without its extension. */
function archiveName(file: string): string {
  if (typeof file !== 'string' || file.length === 0) {
    throw new TypeError(`Expected a file path for the path argument but received ${describe(file)}`);
  }
  const base = path.basename(file, path.extname(file));
  return base.length > 0 && !base.includes('/') ? base : 'archive';
}

/** 2.x writes a random 40-digit id per file. */
function serializationId(): string {
  let id = '';
  while (id.length < 40) id += String(randomInt(0, 10));
  return id;
}

/**
 * The generation an optimizer dict comes from: as its optimizer's
 * stateDict() marked it, else 2.x if a group has a 2.x-only key.
 */
function formOf(sd: OptimizerDict): TorchFileForm {
  const marked = DICT_GENERATIONS.get(sd);
  if (marked !== undefined) return marked;
  const newer = sd.param_groups.some((g) => g !== null && typeof g === 'object' && ('capturable' in g || 'fused' in g));
  return newer ? '2.x' : '1.13';
}

/** How many values writing shared parts again may cost (countRepeat). */
const MAX_REPEATED = 10_000_000;

/** A tensor written: its record, and the parts of its pickle that name its storage, filled in by Encoder.storages(). */
interface WrittenView {
  record: TensorRecord;
  where: string;
  /** `('storage', storage type, key, 'cpu', numel)` */
  pid: PyValue[];
  /** The rebuild call's arguments; [1] is the offset into the storage. */
  args: PyValue[];
}

class Encoder {
  private readonly views: WrittenView[] = [];
  private readonly seen = new Set<object>();
  /** Every container written, and how many values writing them again has cost (countRepeat). */
  private readonly written = new Set<object>();
  private repeated = 0;

  /** The form of the first optimizer dict encoded: the file's records follow it. */
  firstOptimizerForm: TorchFileForm | undefined;

  constructor(private readonly forced: TorchFileForm | undefined) {}

  /**
   * An optimizer dict: state keys become Python ints, and `step` takes the
   * type its PyTorch generation uses, as its optimizer's stateDict() marked
   * it: a 0-dim float32 tensor (2.x; Adam and Adagrad in 1.13 too) or a
   * Python int (1.13's RMSprop). Unmarked (a dict from a file), as the
   * optimizer its groups' keys name stores it (dict-kinds.ts); else a
   * tensor in 2.x and an int in 1.13.
   */
  optimizerDict(sd: OptimizerDict): PyValue {
    const form = this.forced ?? formOf(sd);
    this.firstOptimizerForm ??= form;
    const groupOf = new Map<string, Record<string, unknown>>();
    for (const group of sd.param_groups) {
      if (group === null || typeof group !== 'object' || !Array.isArray(group.params)) continue;
      for (const id of group.params) groupOf.set(String(id), group);
    }
    const state: Array<[PyValue, PyValue]> = Object.entries(sd.state).map(([key, entry]) => {
      if (!/^\d+$/.test(key)) throw new TypeError(`state dict state key ${describe(key)} is not a parameter index`);
      const where = `state[${key}]`;
      if (entry === null || typeof entry !== 'object') throw new TypeError(`Expected an object for ${where} but received ${describe(entry)}`);
      const stepForm = STEP_FORMS.get(entry)?.[form] ?? stepFormOf(groupOf.get(key) ?? {}, form) ?? (form === '2.x' ? 'tensor' : 'int');
      const tensorStep = stepForm === 'tensor';
      const fields: Array<[PyValue, PyValue]> = Object.entries(entry).map(([name, v]) =>
        [name, name === 'step' ? this.step(v, tensorStep, `${where}.step`) : this.value(v, `${where}.${name}`)]);
      return [Number(key), dict(fields)];
    });
    return dict([
      ['state', dict(state)],
      ['param_groups', this.value(sd.param_groups, 'param_groups')],
    ]);
  }

  /** `step` as its generation stores it: a 0-dim float32 tensor, or a Python int. */
  private step(value: unknown, asTensor: boolean, where: string): PyValue {
    const isNumber = typeof value === 'number' || typeof value === 'bigint';
    if (asTensor && isNumber) return this.tensor({ dtype: 'float32', shape: [], data: new Float32Array([Number(value)]) }, where);
    if (!asTensor && !isNumber && value !== null && typeof value === 'object') {
      const record = checkRecord(where, value);
      // Raw bits (float16, bfloat16, float8) are not the step's value.
      if (record.data.length === 1 && record.dtype !== 'float16' && record.dtype !== 'bfloat16' && !isFloat8(record.dtype)) {
        const step = Number(record.data[0]);
        if (Number.isSafeInteger(step) && step >= 0) return step;
      }
      throw new RangeError(`${where} must be one non-negative integer value to be written as a Python int, got ${describe(value)}`);
    }
    return this.value(value, where);
  }

  value(v: unknown, where: string): PyValue {
    if (v === null || v === undefined) return null;
    if (typeof v === 'boolean' || typeof v === 'string' || typeof v === 'bigint') return v;
    if (typeof v === 'number') return v;
    if (typeof v !== 'object') throw new TypeError(`saveTorch cannot write ${where} = ${describe(v)}`);
    if (this.seen.has(v)) throw new TypeError(`saveTorch cannot write ${where}: it contains itself`);
    this.countRepeat(v, where);
    this.seen.add(v);
    try {
      if (v instanceof Parameter) return this.tensor({ dtype: v.dtype, shape: [...v.shape], data: v.data }, where);
      if (isFloatArray(v) || v instanceof Int32Array || v instanceof BigInt64Array) {
        return this.tensor(checkRecord(where, { dtype: arrayDType(v), shape: [v.length], data: v }), where);
      }
      // Python bytes, as protocol 2 spells them: _codecs.encode(latin-1 text, 'latin1').
      if (v instanceof Uint8Array) {
        return reduce(pyGlobal('_codecs', 'encode'), Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString('latin1'), 'latin1');
      }
      if (ArrayBuffer.isView(v)) {
        throw new TypeError(`saveTorch cannot write ${where} = ${describe(v)}: pass a tensor record { dtype, shape, data }`);
      }
      // Frozen arrays are tuples (loadTorch returns Python tuples frozen), others lists.
      if (Array.isArray(v)) {
        const items = v.map((item, i) => this.value(item, `${where}[${i}]`));
        return Object.isFrozen(v) ? tupleOf(items) : items;
      }
      if ('dtype' in v && 'data' in v && 'shape' in v) return this.tensor(checkRecord(where, v), where);
      // At any depth (a checkpoint's 'optimizer' too): its state keys must be Python ints for load_state_dict.
      if (isOptimizerDict(v)) return this.optimizerDict(v);
      if (v instanceof Map) {
        return dict([...v].map(([key, item]) => [this.key(key, where), this.value(item, `${where}.${String(key)}`)]));
      }
      const proto = Object.getPrototypeOf(v);
      if (proto !== Object.prototype && proto !== null) {
        throw new TypeError(`saveTorch cannot write ${where} = ${describe(v)}`);
      }
      const entries = Object.entries(v).map(([key, item]): [PyValue, PyValue] =>
        [isIntKey(v, key) ? Number(key) : key, this.value(item, `${where}.${key}`)]);
      // A Counter pickles as Counter(dict), as Python's Counter.__reduce__ writes it.
      if (COUNTERS.has(v)) return reduce(pyGlobal('collections', 'Counter'), dict(entries));
      return dict(entries, ORDERED_DICTS.has(v));
    } finally {
      this.seen.delete(v);
    }
  }

  /**
   * A container met again is written again, once per place it appears (as
   * JSON would): a value that shares its parts many times over (2^60 times,
   * from a 2 KB file) must not unfold without end.
   */
  private countRepeat(v: object, where: string): void {
    if (!this.written.has(v)) {
      this.written.add(v);
      return;
    }
    this.repeated += 1 + (Array.isArray(v) ? v.length : ArrayBuffer.isView(v) ? 0 : Object.keys(v).length);
    if (this.repeated > MAX_REPEATED) {
      throw new RangeError(`saveTorch cannot write ${where}: the value shares its parts so often that writing each place would take over ${MAX_REPEATED} values`);
    }
  }

  private key(key: unknown, where: string): PyValue {
    if (typeof key === 'string' || typeof key === 'bigint' || (typeof key === 'number' && Number.isSafeInteger(key))) return key;
    throw new TypeError(`saveTorch cannot write a dict key ${describe(key)} in ${where}: only strings and integers`);
  }

  /**
   * `torch._utils._rebuild_tensor_v2(storage, offset, size, stride, False,
   * OrderedDict())`, as torch writes it (v3, with the dtype, for the dtypes
   * 2.x writes untyped). The storage is named once every tensor is known.
   */
  private tensor(record: TensorRecord, where: string): PyValue {
    checkRecord(where, record);
    const untyped = storageNameOf(record.dtype) === undefined;
    const pid: PyValue[] = ['storage', null, null, 'cpu', null];
    const args: PyValue[] = [
      persistentId(tupleOf(pid)),
      0,
      tuple(...record.shape),
      tuple(...contiguousStride(record.shape)),
      false,
      reduce(pyGlobal('collections', 'OrderedDict')),
      ...(untyped ? [pyGlobal('torch', record.dtype)] : []),
    ];
    this.views.push({ record, where, pid, args });
    return { py: 'reduce', callable: pyGlobal('torch._utils', untyped ? '_rebuild_tensor_v3' : '_rebuild_tensor_v2'), args };
  }

  /**
   * The storages' bytes, in key order, once the value is encoded. Views of
   * one ArrayBuffer, of one dtype, that overlap share one storage (tied
   * weights, a slice of a tensor), as do all views of a storage loadTorch
   * made (as the file had them); any other view gets its own, so that
   * neighbours in a pooled buffer are not written together.
   */
  storages(form: TorchFileForm): Uint8Array[][] {
    const groups = new Map<ArrayBufferLike, Map<DType, WrittenView[]>>();
    for (const view of this.views) {
      if (form === '1.13' && storageNameOf(view.record.dtype) === undefined) {
        throw new TypeError(`saveTorch cannot write ${view.where} for PyTorch 1.13: it has no dtype ${view.record.dtype} (write form '2.x')`);
      }
      const byDType = groups.get(view.record.data.buffer) ?? new Map<DType, WrittenView[]>();
      groups.set(view.record.data.buffer, byDType);
      const views = byDType.get(view.record.dtype) ?? [];
      byDType.set(view.record.dtype, views);
      views.push(view);
    }
    type Span = { first: number; views: WrittenView[]; start: number; end: number };
    const spans: Span[] = [];
    const order = new Map(this.views.map((v, i) => [v, i]));
    const newSpan = (view: WrittenView): Span => {
      const span = { first: order.get(view)!, views: [view], start: view.record.data.byteOffset, end: view.record.data.byteOffset + view.record.data.byteLength };
      spans.push(span);
      return span;
    };
    for (const [buffer, byDType] of groups) {
      const loaded = LOADED_STORAGES.has(buffer);
      for (const [dtype, views] of byDType) {
        const size = ITEM_SIZE[dtype];
        // The open span of each alignment (byte offset modulo the element size): only views of one alignment can share.
        const open = new Map<number, Span>();
        const sorted = [...views].sort((a, b) => a.record.data.byteOffset - b.record.data.byteOffset);
        for (const view of sorted) {
          const { byteOffset, byteLength } = view.record.data;
          if (byteLength === 0) {
            newSpan(view);
            continue;
          }
          const span = open.get(byteOffset % size);
          if (span !== undefined && (loaded || byteOffset < span.end)) {
            span.views.push(view);
            span.end = Math.max(span.end, byteOffset + byteLength);
            span.first = Math.min(span.first, order.get(view)!);
          } else {
            open.set(byteOffset % size, newSpan(view));
          }
        }
      }
    }
    // Keys in the order the tensors first appear, as torch.save numbers them.
    spans.sort((a, b) => a.first - b.first);
    return spans.map((span, key) => {
      const { dtype, data } = span.views[0].record;
      const name = storageNameOf(dtype);
      const bytes = span.end - span.start;
      for (const view of span.views) {
        view.pid[1] = name === undefined ? pyGlobal('torch.storage', 'UntypedStorage') : pyGlobal('torch', name);
        view.pid[2] = String(key);
        view.pid[4] = name === undefined ? bytes : bytes / ITEM_SIZE[dtype];
        view.args[1] = (view.record.data.byteOffset - span.start) / ITEM_SIZE[dtype];
      }
      // In parts of at most CHUNK bytes: a Uint8Array holds at most 4 GiB, and fs writes take less.
      const parts: Uint8Array[] = [];
      for (let at = 0; at < bytes; at += CHUNK) {
        parts.push(littleEndianBytes(new Uint8Array(data.buffer, span.start + at, Math.min(CHUNK, bytes - at)), dtype));
      }
      return parts;
    });
  }
}

function contiguousStride(shape: readonly number[]): number[] {
  const stride = new Array<number>(shape.length);
  let step = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    stride[i] = step;
    step *= Math.max(shape[i], 1);
  }
  return stride;
}

function arrayDType(v: ArrayBufferView): DType {
  if (v instanceof Float32Array) return 'float32';
  if (v instanceof Float64Array) return 'float64';
  return v instanceof Int32Array ? 'int32' : 'int64';
}

/** Bytes in little-endian order (a copy only on big-endian hosts). */
function littleEndianBytes(bytes: Uint8Array, dtype: DType): Uint8Array {
  if (os.endianness() === 'LE') return bytes;
  const copy = bytes.slice();
  swapBytes(copy, valueSize(dtype));
  return copy;
}

