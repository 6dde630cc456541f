// Random access to a file's bytes, from memory or from disk. Readers ask for
// the ranges they need (a zip's directory, one record), so a multi-gigabyte
// checkpoint is never read into one buffer, and no fs call is handed more
// than CHUNK bytes (Node's fs takes at most 2 GiB per call, and aborts the
// process beyond that).
import { promises as fsp } from 'fs';
import { FileFormatError } from './format-error';
import { typeError } from '../core/errors';
import { isDetached } from '../core/tensor';
import { fileBuffers } from '../engine/backend';
import type { MappedFile } from '../../binding';

/** The most bytes one fs read or write moves. */
export const CHUNK = 2 ** 30;
/** The longest Uint8Array: a typed array holds at most 2^32 elements. */
export const MAX_TYPED_LENGTH = 2 ** 32;

export interface ByteSource {
  /** The path, or `<bytes>`: used in error messages. */
  readonly name: string;
  readonly size: number;
  /** Exactly `length` bytes at `offset` (at most 4 GiB), in a fresh buffer; a FileFormatError past the end. */
  read(offset: number, length: number): Promise<Uint8Array>;
  /** Exactly `length` bytes at `offset` in a fresh ArrayBuffer of that length (which may pass 4 GiB). */
  readBuffer(offset: number, length: number): Promise<ArrayBuffer>;
  /**
   * The file mapped privately (copy-on-write), mapped once; undefined for
   * bytes in memory or without the native addon, and why as a string when
   * the system refuses the mapping. Throws if the file changed size.
   */
  map(): MappedFile | string | undefined;
  close(): Promise<void>;
}

/** A path is opened (and must be closed); bytes are used in place. */
export async function openSource(input: string | Uint8Array): Promise<ByteSource> {
  if (input instanceof Uint8Array) {
    if (isDetached(input.buffer)) throw new TypeError('Expected readable bytes for the file argument but its Uint8Array is detached (it was transferred)');
    return memorySource(input);
  }
  if (typeof input !== 'string') throw typeError('the file argument', 'a file path or a Uint8Array', input);
  const handle = await fsp.open(input, 'r');
  const stat = await handle.stat();
  if (!stat.isFile()) {
    await handle.close();
    const error: NodeJS.ErrnoException = new Error(`cannot read ${input}: ${stat.isDirectory() ? 'EISDIR (a directory)' : 'not a regular file'}`);
    error.code = stat.isDirectory() ? 'EISDIR' : 'EINVAL';
    throw error;
  }
  const { size } = stat;
  let mapped: MappedFile | string | undefined;
  /** Bytes of the addon's buffers handed out, reported to V8 at close (loadBuffer). */
  let uncounted = 0;
  const readInto = async (out: Uint8Array, offset: number): Promise<void> => {
    for (let done = 0; done < out.length;) {
      const { bytesRead } = await handle.read(out, done, Math.min(CHUNK, out.length - done), offset + done);
      if (bytesRead === 0) throw new FileFormatError(input, `the file ended early (it shrank while being read?)`);
      done += bytesRead;
    }
  };
  return {
    name: input,
    size,
    async read(offset, length) {
      checkRange(input, size, offset, length);
      checkTypedLength(input, length);
      const out = new Uint8Array(length);
      await readInto(out, offset);
      return out;
    },
    async readBuffer(offset, length) {
      checkRange(input, size, offset, length);
      // The addon's buffers are page-aligned (reads into them run faster) and count once per load.
      const native = fileBuffers?.loadBuffer(length);
      if (native !== undefined) uncounted += length;
      const buffer = native ?? new ArrayBuffer(length);
      for (let at = 0; at < length; at += CHUNK) {
        await readInto(new Uint8Array(buffer, at, Math.min(CHUNK, length - at)), offset + at);
      }
      return buffer;
    },
    map() {
      if (fileBuffers === undefined) return undefined;
      try {
        mapped ??= fileBuffers.mapFile(handle.fd, size);
      } catch (err) {
        const message = (err as Error).message;
        // A file rewritten while loading must not be read at all; a refused mapping is read instead.
        if (message.includes('changed size')) throw new FileFormatError(input, message);
        mapped = message;
      }
      return mapped;
    },
    async close() {
      if (uncounted > 0) fileBuffers!.countExternal(uncounted);
      uncounted = 0;
      await handle.close();
    },
  };
}

function memorySource(bytes: Uint8Array): ByteSource {
  return {
    name: '<bytes>',
    size: bytes.length,
    async read(offset, length) {
      checkRange('<bytes>', bytes.length, offset, length);
      // A copy in a fresh ArrayBuffer (Buffer#slice would return a view of the pool).
      return Uint8Array.prototype.slice.call(bytes, offset, offset + length);
    },
    async readBuffer(offset, length) {
      checkRange('<bytes>', bytes.length, offset, length);
      return Uint8Array.prototype.slice.call(bytes, offset, offset + length).buffer as ArrayBuffer;
    },
    map: () => undefined,
    close: async () => {},
  };
}

function checkRange(name: string, size: number, offset: number, length: number): void {
  if (!(Number.isSafeInteger(offset) && Number.isSafeInteger(length) && offset >= 0 && length >= 0 && offset + length <= size)) {
    throw new FileFormatError(name, `truncated: needs bytes ${offset}..${offset + length} but the file has ${size}`);
  }
}

function checkTypedLength(name: string, length: number): void {
  if (length > MAX_TYPED_LENGTH) {
    throw new FileFormatError(name, `a record of ${length} bytes is larger than the 4 GiB (2^32 bytes) a Uint8Array holds in Node`);
  }
}
