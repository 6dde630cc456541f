// A storage's bytes as a typed array: mapped in place from the file (loading
// with `mmap: true`) or read into memory. Mapping needs the native addon, a
// path, bytes stored as they are, aligned for their dtype and at most 4 GiB
// (the most Node puts in one external buffer); anything else is copied, and
// the reason is kept for `simd-optim inspect`.
import { constants as bufferConstants } from 'buffer';
import { arrayTypeOf, type DType, type DTypeArrays } from '../core/tensor';
import { checkOptionNames, describe } from '../core/errors';
import { fileBuffers } from '../engine/backend';
import { CHUNK, MAX_TYPED_LENGTH, type ByteSource } from './byte-source';
import { FileFormatError } from './format-error';
import { swapBytes, valueSize } from './torch-dtypes';
import type { EntryBytes } from './zip';
import type { MappedFile } from '../../binding';

/** Options of loadTorch, loadSafetensors and readSafetensors. */
export interface LoadOptions {
  /**
   * Map the file instead of reading it (default false): tensors are then
   * views of a private, copy-on-write mapping. Nothing is read until it is
   * touched, writes never reach the file, and the mapping is released when
   * the last array over it is garbage collected. The file must not shrink
   * while it is mapped (touching a lost page raises SIGBUS). Needs a path
   * and the native addon; tensors that cannot be mapped are read as usual.
   */
  mmap?: boolean;
}

/** Why each copied storage was not mapped, by its buffer, when mapping was asked for. */
const copiedBecause = new WeakMap<ArrayBufferLike, string>();
const mappedBuffers = new WeakSet<ArrayBufferLike>();

/** 'mapped', or why a tensor loaded with mmap was read into memory (undefined if mapping was not asked for). */
export function mappingOf(array: ArrayBufferView): string | undefined {
  return mappedBuffers.has(array.buffer) ? 'mapped' : copiedBecause.get(array.buffer);
}

/** The mmap flag of a load's options, checked. */
export function mmapOption(fn: string, options: unknown, file: unknown): boolean {
  if (options === null || typeof options !== 'object' || Array.isArray(options)) {
    throw new TypeError(`Expected an options object for ${fn} options but received ${describe(options)}`);
  }
  checkOptionNames(fn, options, ['mmap']);
  const { mmap } = options as LoadOptions;
  if (mmap !== undefined && typeof mmap !== 'boolean') throw new TypeError(`Expected a boolean for ${fn} options.mmap but received ${describe(mmap)}`);
  if (mmap === true && typeof file !== 'string') {
    throw new TypeError(`${fn} options.mmap needs a file path: bytes already in memory cannot be mapped`);
  }
  return mmap === true;
}

/** Where a storage's bytes lie in the file, and what reading them needs. */
export interface StorageLocation {
  offset: number;
  bytes: number;
  /** The bytes are in the file as they are (not compressed). */
  stored: boolean;
  /** The file has the other byte order. */
  swap: boolean;
}

/**
 * The typed array over a tensor's bytes (a whole safetensors tensor), mapped
 * if asked and possible; see storageBytes.
 */
export async function storageArray<D extends DType>(
  source: ByteSource, dtype: D, where: StorageLocation, mmap: boolean, read: () => Promise<EntryBytes>,
): Promise<DTypeArrays[D]> {
  const values = where.bytes / valueSize(dtype);
  if (values > MAX_TYPED_LENGTH) {
    throw new FileFormatError(source.name, `a ${dtype} tensor of ${values} values is larger than a typed array holds in Node (2^32 values)`);
  }
  const bytes = await storageBytes(source, dtype, where, mmap, read);
  return new (arrayTypeOf(dtype))(bytes.buffer, bytes.byteOffset, values);
}

/**
 * A storage's bytes in a buffer aligned for `dtype`, in the host's byte
 * order: the file's pages if `mmap` is asked and possible, else what `read`
 * gives (a zip entry's reader checks its CRC and inflates). A storage may
 * hold more values than one typed array; its tensors are views of it.
 */
export async function storageBytes(
  source: ByteSource, dtype: DType, where: StorageLocation, mmap: boolean, read: () => Promise<EntryBytes>,
): Promise<EntryBytes> {
  const size = valueSize(dtype);
  if (!mmap) return copied(await read(), size, where.swap);
  const reason = whyNotMapped(source, dtype, where);
  if (reason !== undefined) {
    const bytes = await copied(await read(), size, where.swap);
    copiedBecause.set(bytes.buffer, reason);
    return bytes;
  }
  if (where.offset + where.bytes > source.size) {
    throw new FileFormatError(source.name, `truncated: needs bytes ${where.offset}..${where.offset + where.bytes} but the file has ${source.size}`);
  }
  // Uncounted: V8 would count the whole buffer as external memory and start
  // full GCs for pages that cost nothing until they are touched.
  const buffer = fileBuffers!.mappedBuffer(source.map() as MappedFile, where.offset, where.bytes, true);
  mappedBuffers.add(buffer);
  return { buffer, byteOffset: 0, byteLength: where.bytes };
}

/** The most bytes one external buffer takes in every Node the package supports. */
const MAX_MAPPED = Math.min(bufferConstants.MAX_LENGTH, 2 ** 32);

function whyNotMapped(source: ByteSource, dtype: DType, where: StorageLocation): string | undefined {
  if (fileBuffers === undefined) return 'copied: the native addon is not loaded';
  if (!where.stored) return 'copied: the entry is compressed';
  if (where.swap) return 'copied: its bytes are in the other byte order';
  if (where.offset % valueSize(dtype) !== 0) return `copied: misaligned (at byte ${where.offset}, not a multiple of ${valueSize(dtype)})`;
  if (where.bytes > MAX_MAPPED) return 'copied: larger than the 4 GiB Node maps into one buffer';
  const mapped = source.map();
  return typeof mapped === 'string' ? `copied: the file cannot be mapped (${mapped})` : undefined;
}

async function copied(bytes: EntryBytes, size: number, swap: boolean): Promise<EntryBytes> {
  let { buffer, byteOffset } = bytes;
  if (byteOffset % size !== 0) {
    buffer = buffer.slice(byteOffset, byteOffset + bytes.byteLength);
    byteOffset = 0;
  }
  if (swap) {
    for (let at = 0; at < bytes.byteLength; at += CHUNK) {
      swapBytes(new Uint8Array(buffer, byteOffset + at, Math.min(CHUNK, bytes.byteLength - at)), size);
    }
  }
  return { buffer, byteOffset, byteLength: bytes.byteLength };
}
