// A storage's bytes as a typed array: mapped in place from the file (loading
// with `mmap: true`) or read into memory. Mapping needs the native addon, a
// path, bytes stored as they are, aligned for their dtype and at most 4 GiB
// (the most Node puts in one external buffer); anything else is copied, and
// the reason is kept for `simd-optim inspect`.
import { constants as bufferConstants } from 'buffer';
import { arrayTypeOf, type DType, type DTypeArrays } from '../core/tensor';
import { describe } from '../core/errors';
import { fileMapping } from '../engine/backend';
import { CHUNK, MAX_TYPED_LENGTH, type ByteSource } from './byte-source';
import { FileFormatError } from './format-error';
import { swapBytes, valueSize } from './torch-dtypes';
import type { EntryBytes } from './zip';

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
  const unknown = Object.keys(options).find((k) => k !== 'mmap');
  if (unknown !== undefined) throw new TypeError(`${fn} has no option '${unknown}' (it takes: mmap)`);
  const { mmap } = options as LoadOptions;
  if (mmap !== undefined && typeof mmap !== 'boolean') throw new TypeError(`Expected a boolean for ${fn} options.mmap but received ${describe(mmap)}`);
  if (mmap === true && typeof file !== 'string') {
    throw new TypeError(`${fn} options.mmap needs a file path: bytes already in memory cannot be mapped`);
  }
  return mmap === true;
}

/**
 * The typed array over `bytes` bytes of the file at `offset`, mapped if
 * asked and possible. `read` gives the bytes when they are not mapped (a
 * zip entry's reader checks its CRC and inflates).
 */
export async function storageArray<D extends DType>(
  source: ByteSource,
  dtype: D,
  where: { offset: number; bytes: number; stored: boolean; swap: boolean },
  mmap: boolean,
  read: () => Promise<EntryBytes>,
): Promise<DTypeArrays[D]> {
  const size = valueSize(dtype);
  const values = where.bytes / size;
  if (values > MAX_TYPED_LENGTH) {
    throw new FileFormatError(source.name, `a ${dtype} tensor of ${values} values is larger than a typed array holds in Node (2^32 values)`);
  }
  const Type = arrayTypeOf(dtype);
  if (mmap) {
    const reason = whyNotMapped(source, dtype, where);
    if (reason === undefined) {
      if (where.offset + where.bytes > source.size) {
        throw new FileFormatError(source.name, `truncated: needs bytes ${where.offset}..${where.offset + where.bytes} but the file has ${source.size}`);
      }
      const buffer = fileMapping!.mappedBuffer(source.map()!, where.offset, where.bytes);
      mappedBuffers.add(buffer);
      return new Type(buffer, 0, values);
    }
    const array = await copied(Type, await read(), size, where.swap);
    copiedBecause.set(array.buffer, reason);
    return array;
  }
  return copied(Type, await read(), size, where.swap);
}

function whyNotMapped(source: ByteSource, dtype: DType, where: { offset: number; bytes: number; stored: boolean; swap: boolean }): string | undefined {
  if (fileMapping === undefined) return 'copied: the native addon is not loaded';
  if (!where.stored) return 'copied: the entry is compressed';
  if (where.swap) return 'copied: its bytes are in the other byte order';
  if (where.offset % valueSize(dtype) !== 0) return `copied: misaligned (at byte ${where.offset}, not a multiple of ${valueSize(dtype)})`;
  if (where.bytes > bufferConstants.MAX_LENGTH) return 'copied: larger than the 4 GiB Node maps into one buffer';
  return source.map() === undefined ? 'copied: the file cannot be mapped' : undefined;
}

async function copied<D extends DType>(
  Type: new (buffer: ArrayBuffer, byteOffset?: number, length?: number) => DTypeArrays[D],
  bytes: EntryBytes,
  size: number,
  swap: boolean,
): Promise<DTypeArrays[D]> {
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
  return new Type(buffer, byteOffset, bytes.byteLength / size);
}
