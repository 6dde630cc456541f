// Random access to a file's bytes, from memory or from disk. Readers ask for
// the ranges they need (a zip's directory, one record), so a multi-gigabyte
// checkpoint is never read into one buffer.
import { promises as fsp } from 'fs';
import { FileFormatError } from './format-error';
import { typeError } from '../core/errors';
import { isDetached } from '../core/tensor';

export interface ByteSource {
  /** The path, or `<bytes>`: used in error messages. */
  readonly name: string;
  readonly size: number;
  /** Exactly `length` bytes at `offset`, in a fresh buffer; a FileFormatError past the end. */
  read(offset: number, length: number): Promise<Uint8Array>;
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
  return {
    name: input,
    size,
    async read(offset, length) {
      checkRange(input, size, offset, length);
      const out = new Uint8Array(length);
      let done = 0;
      while (done < length) {
        const { bytesRead } = await handle.read(out, done, length - done, offset + done);
        if (bytesRead === 0) throw new FileFormatError(input, `the file ended early (it shrank while being read?)`);
        done += bytesRead;
      }
      return out;
    },
    close: () => handle.close(),
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
    close: async () => {},
  };
}

function checkRange(name: string, size: number, offset: number, length: number): void {
  if (!(Number.isSafeInteger(offset) && Number.isSafeInteger(length) && offset >= 0 && length >= 0 && offset + length <= size)) {
    throw new FileFormatError(name, `truncated: needs bytes ${offset}..${offset + length} but the file has ${size}`);
  }
}
