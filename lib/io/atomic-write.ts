// Writes a file so that a crash or kill never leaves a half-written file in
// its place: a temporary file in the same folder, fsync, rename over the
// target (atomic on POSIX file systems), then fsync the folder so the rename
// itself is durable. Otherwise it behaves as writing the file in place
// would: through a symlink (even one whose file does not exist yet), keeping
// an existing file's permissions (and owner, where allowed), refusing a file
// we may not write and anything that is not a regular file. Unlike writing
// in place, hard links to the old file keep the old contents.
import { randomBytes } from 'crypto';
import { constants as fsConstants, promises as fsp } from 'fs';
import * as path from 'path';
import { typeError } from '../core/errors';
import { CHUNK } from './byte-source';

/** A temporary file left by a killed writer is removed once this old (ms) and its process is gone. */
const STALE_AFTER = 10 * 60 * 1000;

/** Throws unless `file` is a path to write to (a non-empty string). */
export function checkFilePath(file: unknown): asserts file is string {
  if (typeof file !== 'string' || file.length === 0) throw typeError('the path argument', 'a file path', file);
}

export async function writeFileAtomic(target: string, fill: (write: (chunk: Uint8Array) => Promise<void>) => Promise<void>): Promise<void> {
  checkFilePath(target);
  const file = await followLinks(target);
  const existing = await fsp.stat(file).catch(() => undefined);
  if (existing !== undefined) {
    if (!existing.isFile()) throw writeError(target, { code: 'EINVAL' } as NodeJS.ErrnoException, 'not a regular file');
    await fsp.access(file, fsConstants.W_OK).catch((e: NodeJS.ErrnoException) => {
      throw writeError(target, e, 'the file is not writable');
    });
  }
  const dir = path.dirname(file);
  const base = path.basename(file);
  await removeStaleTemps(dir, base);
  const temp = path.join(dir, `.${base}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
  const handle = await fsp.open(temp, 'wx', 0o666).catch((e: NodeJS.ErrnoException) => {
    throw writeError(target, e, `cannot create a temporary file in ${dir} to rename over it`);
  });
  inFlight.add(temp);
  let renamed = false;
  try {
    if (existing !== undefined) {
      await handle.chown(existing.uid, existing.gid).catch(() => {}); // allowed to root, or as the owner within one's groups
      await handle.chmod(existing.mode & 0o7777);
    }
    await fill(async (chunk) => {
      let done = 0;
      // At most CHUNK bytes per call: Node's fs refuses more than 2 GiB in one write.
      while (done < chunk.length) done += (await handle.write(chunk, done, Math.min(CHUNK, chunk.length - done))).bytesWritten;
    });
    await handle.sync();
    await handle.close();
    await fsp.rename(temp, file);
    renamed = true;
    await syncDirectory(dir);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw code === undefined ? e : writeError(target, e as NodeJS.ErrnoException, `${(e as Error).message}; the file was left as it was`);
  } finally {
    inFlight.delete(temp);
    if (!renamed) {
      await handle.close().catch(() => {});
      await fsp.unlink(temp).catch(() => {});
    }
  }
}

/** This process's temporary files being written: any other with our pid was left by an earlier process (a container restarts with the same pid). */
const inFlight = new Set<string>();

/** The file a path names, through symlinks, as open() finds it: also when the last link's file does not exist yet. */
async function followLinks(target: string): Promise<string> {
  let file = path.resolve(target);
  for (let hops = 0; hops < 40; hops++) {
    const stat = await fsp.lstat(file).catch(() => undefined);
    if (stat === undefined || !stat.isSymbolicLink()) {
      // Links in the folders above are the folder's business: the rename stays in it.
      return file;
    }
    file = path.resolve(path.dirname(file), await fsp.readlink(file));
  }
  throw writeError(target, { code: 'ELOOP' } as NodeJS.ErrnoException, 'too many levels of symbolic links');
}

/** An fs error that names the file the caller asked for (not the temporary one), keeping its code. */
function writeError(target: string, cause: NodeJS.ErrnoException, what: string): Error {
  const error: NodeJS.ErrnoException = new Error(`cannot write ${target}: ${cause.code ?? cause.message} (${what})`, { cause });
  error.code = cause.code;
  return error;
}

/**
 * Temporary files of `base` whose writer was killed: its process gone (or it
 * had our pid and is not ours), the file untouched for a while. A process in
 * another pid namespace looks gone, but a live writer keeps touching its file.
 */
async function removeStaleTemps(dir: string, base: string): Promise<void> {
  const names = await fsp.readdir(dir).catch(() => [] as string[]);
  const prefix = `.${base}.`;
  for (const name of names) {
    if (!name.startsWith(prefix)) continue;
    const match = /^(\d+)\.[0-9a-f]{8}\.tmp$/.exec(name.slice(prefix.length));
    const temp = path.join(dir, name);
    const pid = match === null ? 0 : Number(match[1]);
    if (match === null || inFlight.has(temp) || (pid !== process.pid && processAlive(pid))) continue;
    const stat = await fsp.stat(temp).catch(() => undefined);
    if (stat !== undefined && Date.now() - stat.mtimeMs > STALE_AFTER) await fsp.unlink(temp).catch(() => {});
  }
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM'; // alive, someone else's
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
