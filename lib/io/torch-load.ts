// loadTorch: reads the zip-based files torch.save writes (PyTorch ≥ 1.6),
// with nothing executed: pickle globals go through an allowlist like
// torch.load(weights_only=True), and tensors come back as contiguous
// TensorRecords. Contiguous views of one storage share its memory, as
// torch.load's tensors do (tied weights stay tied); strided views are copied.
import * as os from 'os';
import { arrayTypeOf, numelOf, valuesPerElement, type DType, type TensorRecord } from '../core/tensor';
import { MAX_TYPED_LENGTH, openSource, type ByteSource } from './byte-source';
import { FileFormatError } from './format-error';
import { newDict, unpickle, type PickleGlobal } from './pickle-read';
import { COUNTERS, copyPythonValue, LOADED_STORAGES, ORDERED_DICTS, STORAGE_VIEWS } from '../core/python-values';
import { mmapOption, storageBytes, type LoadOptions } from './storage-arrays';
import {
  DTYPE_OBJECTS, ITEM_SIZE, STORAGE_TYPES, UNTYPED_STORAGE, unsupportedDType, type DTypeObject, type StorageType,
} from './torch-dtypes';
import { isStored, readZipDirectory, readZipEntry, readZipEntryBytes, storedDataOffset, type EntryBytes, type ZipEntry } from './zip';

/** Counts loads, so that storage keys (per file) name one load's storages. */
let loads = 0;

/** What copied-out views may take beyond 4× the file's storages (see loadTorch). */
const COPY_ALLOWANCE = 256 * 2 ** 20;

/** What loadTorch returns: Python data as plain JS, tensors as records. */
export type TorchValue =
  | null
  | boolean
  | number
  | bigint
  | string
  | Uint8Array
  | TensorRecord
  | readonly TorchValue[]
  | { [key: string]: TorchValue };

/** A tensor whose storage is not read yet: filled in once the pickle is parsed. */
interface PendingTensor {
  record: TensorRecord;
  storage: StorageRef;
  offset: number;
  stride: number[];
}

interface StorageRef {
  key: string;
  type: StorageType;
  /** Elements of a typed storage, bytes of an untyped one. */
  numel: number;
  /** The element type: a typed storage's, or that of the tensors over an untyped one. */
  dtype?: DType;
}

/**
 * Reads a file written by `torch.save` (a path, or its bytes). Optimizer
 * dicts come back in the layout `loadStateDict` takes; model dicts as
 * `{ name: TensorRecord }`. Nothing in the file is run: only the globals
 * torch writes for data are accepted, like `torch.load(weights_only=True)`.
 * Throws FileFormatError for anything that is not a readable, safe
 * torch.save file, naming the file and the problem. Contiguous views of one
 * storage share memory, as in PyTorch (tied weights stay tied).
 *
 * @param options - `{ mmap: true }` maps the file instead of reading it ({@link LoadOptions})
 * @typeParam T - what you expect the file to hold (not checked)
 * @example
 * ```ts
 * const model = await loadTorch<Record<string, TensorRecord<'float32'>>>('model.pt');
 * opt.loadStateDict(await loadTorch<StateDict>('optimizer.pt'));
 * const big = await loadTorch('llm.pt', { mmap: true }); // read only as touched
 * ```
 */
export async function loadTorch<T = TorchValue>(file: string | Uint8Array, options: LoadOptions = {}): Promise<T> {
  const mmap = mmapOption('loadTorch', options, file);
  const source = await openSource(file);
  try {
    return (await readTorch(source, mmap)) as T;
  } finally {
    await source.close();
  }
}

async function readTorch(source: ByteSource, mmap: boolean): Promise<TorchValue> {
  const fail = (detail: string): never => {
    throw new FileFormatError(source.name, detail);
  };
  await checkMagic(source, fail);
  const entries = await readZipDirectory(source);
  const prefix = archivePrefix(entries, fail);
  const record = (name: string): ZipEntry | undefined => entries.get(prefix + name);
  const versionEntry = record('.data/version') ?? record('version');
  if (versionEntry === undefined) fail(`no ${prefix}version record: not a torch.save file`);
  const version = new TextDecoder().decode(await readZipEntry(source, versionEntry!)).trim();
  if (!/^\d+$/.test(version) || Number(version) < 1) fail(`unsupported torch.save format version '${version}'`);
  const byteorderEntry = record('byteorder');
  const byteorder = byteorderEntry === undefined ? 'little' : new TextDecoder().decode(await readZipEntry(source, byteorderEntry));
  if (byteorder !== 'little' && byteorder !== 'big') fail(`byteorder record says '${byteorder}'`);

  const pending: PendingTensor[] = [];
  const loadNumber = ++loads;
  const storages = new Map<string, StorageRef>();
  const pickleEntry = record('data.pkl')!;
  const value = unpickle(await readZipEntry(source, pickleEntry), {
    findGlobal: (module, name) => allowedGlobal(module, name, storages, pending, fail, loadNumber),
    persistentLoad: (pid) => storageRef(pid, storages, fail),
    build: (target, state) => {
      // model.state_dict() is an OrderedDict carrying `_metadata` (module
      // versions); it is dropped, as load_state_dict works without it.
      if (!ORDERED_DICTS.has(target as object) || state === null || typeof state !== 'object') {
        fail('pickle BUILD on a value that is not an OrderedDict');
      }
    },
    fail,
  });
  checkNesting(value, new Set(storages.values()), fail);

  const swap = byteorder !== os.endianness().replace('LE', 'little').replace('BE', 'big');
  const loaded = new Map<string, EntryBytes>();
  const jobs = [...storages.values()].map((ref) => {
    const entry = record(`data/${ref.key}`);
    if (entry === undefined) fail(`storage ${ref.key} is missing (no ${prefix}data/${ref.key} record)`);
    if (ref.dtype === undefined) fail(`untyped storage ${ref.key} is used by no tensor`);
    const dtype = ref.dtype!;
    const bytes = ref.type.dtype === 'untyped' ? ref.numel : ref.numel * ITEM_SIZE[dtype];
    if (entry!.size !== bytes) {
      fail(ref.type.dtype === 'untyped'
        ? `storage ${ref.key} holds ${entry!.size} bytes; the file says ${bytes}`
        : `storage ${ref.key} holds ${entry!.size} bytes; ${ref.numel} ${dtype} elements need ${bytes}`);
    }
    if (bytes % ITEM_SIZE[dtype] !== 0) fail(`untyped storage ${ref.key} of ${bytes} bytes does not hold whole ${dtype} elements`);
    let reading: Promise<EntryBytes> | undefined;
    const read = (): Promise<EntryBytes> => (reading ??= readZipEntryBytes(source, entry!));
    return { ref, entry: entry!, dtype, bytes, read };
  });
  // Where each stored entry's data starts, for mapping: read before any
  // buffer is made (small reads between large buffers each cost V8 a GC).
  const offsets = mmap ? await Promise.all(jobs.map((j) => (isStored(j.entry) ? storedDataOffset(source, j.entry) : 0))) : [];
  for (let i = 0; i < jobs.length; i++) {
    const { ref, entry, dtype, bytes, read } = jobs[i];
    // Reading the next storage (in libuv's threads) while this one's CRC is
    // checked here keeps both cores busy; a mapped load reads nothing ahead.
    if (!mmap && i + 1 < jobs.length) jobs[i + 1].read().catch(() => {}); // its error surfaces when it is awaited
    const stored = isStored(entry);
    const at = mmap ? offsets[i] : 0;
    const storage = await storageBytes(source, dtype, { offset: at, bytes, stored, swap }, mmap, read);
    loaded.set(ref.key, storage);
    if (storage.byteOffset === 0 && storage.buffer.byteLength === storage.byteLength) LOADED_STORAGES.add(storage.buffer);
  }
  // Contiguous views share their storage's memory, as in torch.load; any
  // other view is copied out. Stride-0 (expanded) or overlapping views can
  // make copies far larger than the file, which torch would keep as views:
  // the copies may take 4× the storages' bytes plus 256 MiB.
  const copies: PendingTensor[] = [];
  let totalBytes = 0;
  for (const storage of loaded.values()) totalBytes += storage.byteLength;
  let copiedBytes = 0;
  for (const t of pending) {
    const storage = loaded.get(t.storage.key)!;
    const n = numelOf(t.record.shape);
    const per = valuesPerElement(t.record.dtype);
    if (n === 0 || isContiguous(t.record.shape, t.stride)) {
      const Type = arrayTypeOf(t.record.dtype);
      t.record.data = n === 0
        ? new Type(new ArrayBuffer(0))
        : new Type(storage.buffer, storage.byteOffset + t.offset * ITEM_SIZE[t.record.dtype], n * per);
      continue;
    }
    copiedBytes += n * ITEM_SIZE[t.record.dtype];
    copies.push(t);
  }
  if (copiedBytes > 4 * totalBytes + COPY_ALLOWANCE) {
    fail(`its tensors are views that would copy ${copiedBytes} bytes out of ${totalBytes} bytes of storage ` +
      '(expanded or overlapping views, which simd-optim copies out)');
  }
  for (const t of copies) t.record.data = gather(loaded.get(t.storage.key)!, t);
  return value as TorchValue;
}

/** Python's default recursion limit: torch.save cannot pickle values nested deeper. */
const MAX_DEPTH = 1000;

/**
 * Refuses what torch.save does not write and code that walks a value
 * recursively cannot take: a value that contains itself, or nesting past
 * MAX_DEPTH; and the unpickler's own objects left as values (an allowed
 * global or a storage not used by a tensor). Shared parts (a DAG) are fine,
 * and each is walked once.
 */
function checkNesting(root: unknown, storages: ReadonlySet<object>, fail: (d: string) => never): void {
  const done = new Set<object>();
  const onPath = new Set<object>();
  const path: { node: object; children: unknown[]; next: number }[] = [];
  const enter = (v: unknown): void => {
    if (typeof v === 'function') fail('a pickle global is used as a value: only tensors and plain data load');
    if (v === null || typeof v !== 'object' || ArrayBuffer.isView(v) || done.has(v)) return;
    // The frozen markers findGlobal returns for storage classes and dtypes (a tuple is a frozen array).
    if ('global' in v && Object.isFrozen(v) && !Array.isArray(v)) {
      fail(`refusing to load global '${(v as { global: string }).global}' as a value: storage types and dtypes are only read as a tensor's`);
    }
    if (storages.has(v)) fail('a storage that is not a tensor (torch.save of a storage): only tensors load');
    if (onPath.has(v)) fail('a value contains itself, which simd-optim does not load');
    if (path.length >= MAX_DEPTH) fail(`values are nested more than ${MAX_DEPTH} levels deep`);
    onPath.add(v);
    path.push({ node: v, children: Array.isArray(v) ? v : Object.values(v), next: 0 });
  };
  enter(root);
  while (path.length > 0) {
    const top = path[path.length - 1];
    if (top.next < top.children.length) {
      enter(top.children[top.next++]);
    } else {
      path.pop();
      onPath.delete(top.node);
      done.add(top.node);
    }
  }
}

async function checkMagic(source: ByteSource, fail: (d: string) => never): Promise<void> {
  const head = await source.read(0, Math.min(source.size, 8));
  if (head[0] === 0x50 && head[1] === 0x4b && head[2] === 0x03 && head[3] === 0x04) return;
  // The legacy format is a pickle stream (protocol 2 by default, whichever torch.save was given).
  if (head[0] === 0x80 && head[1] >= 0x02 && head[1] <= 0x05) {
    fail(`this is the legacy torch.save format (pickle protocol ${head[1]}; PyTorch < 1.6, or _use_new_zipfile_serialization=False); ` +
      're-save it with torch.save(torch.load(path), path) in PyTorch ≥ 1.6');
  }
  if (source.size >= 262) {
    const ustar = new TextDecoder().decode(await source.read(257, 5));
    if (ustar === 'ustar') fail('this is the legacy tar-based torch.save format; re-save it with PyTorch ≥ 1.6');
  }
  fail('not a torch.save file (it does not start with a zip header)');
}

const TORCHSCRIPT = 'this is a TorchScript archive (torch.jit.save), not a torch.save file: simd-optim reads ' +
  'tensors, not code; in Python, save the weights with torch.save(model.state_dict(), path) and load that';

/** The one folder that holds `data.pkl` ("archive/", or the saved file's base name). */
function archivePrefix(entries: Map<string, ZipEntry>, fail: (d: string) => never): string {
  // TorchScript archives hold a data.pkl too, next to constants.pkl and code/.
  if ([...entries.keys()].some((name) => /^[^/]+\/(constants\.pkl$|code\/)/.test(name))) fail(TORCHSCRIPT);
  const pickles = [...entries.keys()].filter((name) => /^[^/]+\/data\.pkl$/.test(name));
  if (pickles.length === 0) fail('no <archive>/data.pkl record: not a torch.save file');
  if (pickles.length > 1) fail(`several archives in one file (${pickles.join(', ')})`);
  return pickles[0].slice(0, -'data.pkl'.length);
}

function allowedGlobal(
  module: string,
  name: string,
  storages: Map<string, StorageRef>,
  pending: PendingTensor[],
  fail: (d: string) => never,
  loadNumber: number,
): PickleGlobal {
  const full = `${module}.${name}`;
  if (module === 'torch' && STORAGE_TYPES.has(name)) return STORAGE_TYPES.get(name)!;
  if (module === 'torch' && DTYPE_OBJECTS.has(name)) return DTYPE_OBJECTS.get(name)!;
  switch (full) {
    case 'torch.storage.UntypedStorage':
      return UNTYPED_STORAGE;
    case 'collections.OrderedDict':
      return (...args: unknown[]) => {
        if (args.length !== 0) fail('OrderedDict with constructor arguments');
        const dict = newDict();
        ORDERED_DICTS.add(dict);
        return dict;
      };
    case 'collections.Counter':
      // Counter(dict) (MultiStepLR's milestones): the dict, marked to be written back as a Counter.
      return (...args: unknown[]) => {
        const from = args[0];
        if (args.length > 1 || (args.length === 1 && (from === null || typeof from !== 'object' || Array.isArray(from)))) {
          fail('collections.Counter with arguments other than one dict');
        }
        const counter = args.length === 0 ? newDict() : copyPythonValue(from as Record<string, unknown>);
        COUNTERS.add(counter);
        return counter;
      };
    case 'torch._utils._rebuild_tensor_v2':
    case 'torch._utils._rebuild_tensor':
      return (storage, offset, size, stride) => rebuildTensor(storage, offset, size, stride, undefined, storages, pending, fail, loadNumber);
    case 'torch._utils._rebuild_tensor_v3':
      // 2.x's form for the newer dtypes: an untyped storage and the dtype as the seventh argument.
      return (storage, offset, size, stride, _requiresGrad, _hooks, dtype) => {
        if (dtype === null || typeof dtype !== 'object' || !('torchDType' in dtype)) fail('_rebuild_tensor_v3 without a dtype');
        return rebuildTensor(storage, offset, size, stride, (dtype as DTypeObject).torchDType, storages, pending, fail, loadNumber);
      };
    case 'torch._utils._rebuild_parameter':
      // nn.Parameter(data, requires_grad, hooks): the data is what we keep.
      return (data) => data;
    case 'torch.Size':
      return (dims) => (Array.isArray(dims) ? Object.freeze([...dims]) : fail('torch.Size of something that is not a tuple'));
    case '_codecs.encode':
      // Protocol 2's spelling of Python 3 bytes: encode(text, 'latin1').
      return (text, encoding) => {
        if (typeof text !== 'string' || encoding !== 'latin1') fail('_codecs.encode with unexpected arguments');
        return Uint8Array.from(text as string, (c) => c.charCodeAt(0));
      };
    case 'builtins.bytes':
    case '__builtin__.bytes':
      // Protocol 2 writes b'' as bytes().
      return (...args: unknown[]) => (args.length === 0 ? new Uint8Array(0) : fail('bytes() with arguments'));
    case 'builtins.bytearray':
    case '__builtin__.bytearray':
      // bytearray(), bytearray(b'...') (protocols 3 and 4), bytearray('latin-1 text', 'latin-1') (protocol 2).
      return (...args: unknown[]) => {
        const [from, encoding] = args;
        if (args.length === 0) return new Uint8Array(0);
        if (args.length === 1 && from instanceof Uint8Array) return from.slice();
        if (args.length === 2 && typeof from === 'string' && (encoding === 'latin-1' || encoding === 'latin1')) {
          return Uint8Array.from(from, (c) => c.charCodeAt(0));
        }
        return fail('bytearray with unexpected arguments');
      };
  }
  const unsupported = module === 'torch' ? unsupportedDType(name) : undefined;
  if (unsupported !== undefined) fail(`dtype ${unsupported} is not supported (a tensor of torch.${unsupported} has no typed array here)`);
  if (full === 'torch._utils._rebuild_qtensor') fail('dtype of a quantized tensor is not supported (quantized tensors are not loaded)');
  if (module.startsWith('__torch__')) fail(TORCHSCRIPT);
  const hint = module === 'torch' && name.endsWith('Storage') ? ` (storage type ${name} is not supported)` : '';
  return fail(`refusing to load global '${full}'${hint}: only tensors, storages and plain containers are ` +
    'allowed (torch.device and sets are not), and nothing in a file is run');
}

function storageRef(pid: unknown, storages: Map<string, StorageRef>, fail: (d: string) => never): StorageRef {
  if (!Array.isArray(pid) || pid.length !== 5 || pid[0] !== 'storage') fail('unexpected persistent id (not a storage)');
  const [, type, key, , numel] = pid as [string, unknown, unknown, unknown, unknown];
  if (type === null || typeof type !== 'object' || !('dtype' in type)) fail('storage without a storage type');
  if (typeof key !== 'string' || !Number.isSafeInteger(numel) || (numel as number) < 0) fail('malformed storage id');
  const seen = storages.get(key as string);
  if (seen !== undefined) {
    if (seen.type !== type) fail(`storage ${key} is used with two dtypes`);
    return seen;
  }
  const storageType = type as StorageType;
  const ref: StorageRef = { key: key as string, type: storageType, numel: numel as number };
  if (storageType.dtype !== 'untyped') ref.dtype = storageType.dtype;
  storages.set(ref.key, ref);
  return ref;
}

function rebuildTensor(storage: unknown, offset: unknown, size: unknown, stride: unknown, dtype: DType | undefined,
  storages: Map<string, StorageRef>, pending: PendingTensor[], fail: (d: string) => never, loadNumber: number): TensorRecord {
  const dims = (v: unknown): v is number[] => Array.isArray(v) && v.every((d) => Number.isSafeInteger(d) && d >= 0);
  // Only a storage the file's persistent ids made will do, not a dict that looks like one.
  const isRef = storage !== null && typeof storage === 'object' && 'key' in storage && storages.get(String(storage.key)) === storage;
  if (!isRef) fail('tensor without a storage');
  if (!Number.isSafeInteger(offset) || (offset as number) < 0 || !dims(size) || !dims(stride) || size.length !== stride.length) {
    fail('tensor with a malformed offset, size or stride');
  }
  const ref = storage as StorageRef;
  if (dtype === undefined && ref.type.dtype === 'untyped') fail(`storage ${ref.key} is untyped and its tensor names no dtype`);
  const elementType = dtype ?? (ref.type.dtype as DType);
  if (ref.dtype !== undefined && ref.dtype !== elementType) fail(`storage ${ref.key} is used with two dtypes (${ref.dtype} and ${elementType})`);
  ref.dtype = elementType;
  const shape = [...(size as number[])];
  const n = numelOf(shape);
  const values = n * valuesPerElement(elementType);
  if (!(values <= MAX_TYPED_LENGTH)) {
    fail(`tensor of shape [${shape.join(', ')}] has ${values} values, more than a typed array holds in Node (2^32)`);
  }
  // The furthest element the view touches must lie inside the storage.
  const elements = ref.type.dtype === 'untyped' ? Math.floor(ref.numel / ITEM_SIZE[elementType]) : ref.numel;
  const last = (offset as number) + shape.reduce((a, d, i) => a + (d - 1) * (stride as number[])[i], 0);
  if (n > 0 && last >= elements) fail(`tensor view reaches element ${last} of storage ${ref.key}, which has ${elements}`);
  if (n === 0 && (offset as number) > elements) fail(`tensor view starts at element ${offset} of storage ${ref.key}, which has ${elements}`);
  const record = { dtype: elementType, shape, data: undefined as unknown } as TensorRecord;
  pending.push({ record, storage: ref, offset: offset as number, stride: [...(stride as number[])] });
  STORAGE_VIEWS.set(record, `${loadNumber}:${ref.key}@${offset}:${shape.join(',')}:${(stride as number[]).join(',')}`);
  return record;
}

function isContiguous(shape: readonly number[], stride: readonly number[]): boolean {
  let expected = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    if (shape[i] !== 1 && stride[i] !== expected) return false;
    expected *= shape[i];
  }
  return true;
}

/** Copies a strided view out of its storage, row-major. */
function gather(storage: EntryBytes, t: PendingTensor): TensorRecord['data'] {
  const n = numelOf(t.record.shape);
  const per = valuesPerElement(t.record.dtype);
  const shape = t.record.shape;
  // The span of elements the view reaches (strides are non-negative), as one typed array.
  const first = t.offset;
  const last = t.offset + shape.reduce((a, d, i) => a + (d - 1) * t.stride[i], 0);
  const Type = arrayTypeOf(t.record.dtype);
  const src = new Type(storage.buffer, storage.byteOffset + first * ITEM_SIZE[t.record.dtype], (last - first + 1) * per) as unknown as { [i: number]: unknown };
  const out = new (Type as unknown as new (n: number) => { [i: number]: unknown })(n * per);
  const index = new Array<number>(shape.length).fill(0);
  let at = 0;
  for (let i = 0; i < n; i++) {
    for (let k = 0; k < per; k++) out[i * per + k] = src[at * per + k];
    // Advance the multi-index like an odometer, moving `at` by the strides.
    for (let d = shape.length - 1; d >= 0; d--) {
      if (++index[d] < shape[d]) {
        at += t.stride[d];
        break;
      }
      at -= (shape[d] - 1) * t.stride[d];
      index[d] = 0;
    }
  }
  return out as unknown as TensorRecord['data'];
}
