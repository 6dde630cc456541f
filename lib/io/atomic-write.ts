// Writes a file so that a crash or kill never leaves a half-written file in
// its place: a temporary file in the same folder, fsync, rename over the
// target (atomic on POSIX file systems), then fsync the folder so the rename
// itself is durable.
import { randomBytes } from 'crypto';
import { promises as fsp } from 'fs';
import * as path from 'path';

export async function writeFileAtomic(target: string, fill: (write: (chunk: Uint8Array) => Promise<void>) => Promise<void>): Promise<void> {
  if (typeof target !== 'string' || target.length === 0) {
    throw new TypeError(`Expected a file path for the path argument but received ${JSON.stringify(target)}`);
  }
  const dir = path.dirname(path.resolve(target));
  const temp = path.join(dir, `.${path.basename(target)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
  const handle = await fsp.open(temp, 'wx', 0o644);
  let renamed = false;
  try {
    await fill(async (chunk) => {
      let done = 0;
      while (done < chunk.length) done += (await handle.write(chunk, done, chunk.length - done)).bytesWritten;
    });
    await handle.sync();
    await handle.close();
    await fsp.rename(temp, target);
    renamed = true;
    await syncDirectory(dir);
  } finally {
    if (!renamed) {
      await handle.close().catch(() => {});
      await fsp.unlink(temp).catch(() => {});
    }
  }
}

async function syncDirectory(dir: string): Promise<void> {
  let handle: fsp.FileHandle | undefined;
  try {
    handle = await fsp.open(dir, 'r');
    await handle.sync();
  } catch {
    // Some file systems refuse fsync on a directory; the rename is still atomic.
  } finally {
    await handle?.close();
  }
}
