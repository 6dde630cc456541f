// An atomic save (a temporary file, fsync, rename) acts like writing the file
// in place: symlinks, permissions, concurrent saves, errors that name the
// file, and the temporary files a killed save leaves behind. The kill test
// itself is in test/full/checkpoint-kill.test.ts.
import { expect } from 'chai';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { loadTorch, saveTorch } from '../lib';

describe('an atomic save behaves like writing the file in place', () => {
  let dir: string;
  beforeEach(() => (dir = fs.mkdtempSync(path.join(os.tmpdir(), 'simd-optim-save-'))));
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it("keeps an existing file's permissions", async () => {
    const file = path.join(dir, 'ckpt.pt');
    fs.writeFileSync(file, 'old');
    fs.chmodSync(file, 0o640); // neither what umask 022 nor 077 gives a new file
    await saveTorch({ x: 1 }, file);
    expect(fs.statSync(file).mode & 0o777).to.equal(0o640);
  });

  it('writes through a symlink, which stays a symlink', async () => {
    const real = path.join(dir, 'real.pt');
    const link = path.join(dir, 'link.pt');
    fs.writeFileSync(real, 'old');
    fs.symlinkSync(real, link);
    await saveTorch({ x: 2 }, link);
    expect(fs.lstatSync(link).isSymbolicLink()).to.equal(true);
    expect(await loadTorch(real)).to.deep.equal({ x: 2 });
  });

  it('creates the file a dangling symlink names, as open() would', async () => {
    const link = path.join(dir, 'link.pt');
    fs.symlinkSync('sub/real.pt', link);
    fs.mkdirSync(path.join(dir, 'sub'));
    await saveTorch({ x: 3 }, link);
    expect(fs.lstatSync(link).isSymbolicLink()).to.equal(true);
    expect(await loadTorch(path.join(dir, 'sub', 'real.pt'))).to.deep.equal({ x: 3 });
  });

  it('refuses what is not a regular file (a FIFO), leaving it be', async () => {
    const fifo = path.join(dir, 'pipe.pt');
    const made = spawnSync('mkfifo', [fifo]);
    expect(made.status, String(made.stderr)).to.equal(0);
    const err = (await saveTorch({ x: 1 }, fifo).catch((e: unknown) => e)) as Error;
    expect(err.message).to.equal(`cannot write ${fifo}: EINVAL (not a regular file)`);
    expect(fs.lstatSync(fifo).isFIFO()).to.equal(true);
  });

  it('lets concurrent saves of one file each land whole, leaving no temporary file', async () => {
    const file = path.join(dir, 'ckpt.pt');
    await Promise.all(Array.from({ length: 8 }, (_, i) => saveTorch({ i, pad: new Float32Array(1 << 16) }, file)));
    expect((await loadTorch<{ i: number }>(file)).i).to.be.within(0, 7);
    expect(fs.readdirSync(dir)).to.deep.equal(['ckpt.pt']);
  });

  it('names the file asked for, not its temporary file, when it cannot write', async () => {
    const file = path.join(dir, 'missing', 'ckpt.pt');
    const err = (await saveTorch({ x: 1 }, file).catch((e: unknown) => e)) as NodeJS.ErrnoException;
    expect(err.message).to.match(new RegExp(`^cannot write ${file}: ENOENT`));
    expect(err.code).to.equal('ENOENT');
  });

  it("removes a killed writer's temporary file once it is old, and nothing else", async () => {
    const file = path.join(dir, 'ckpt.pt');
    let dead = 4_000_000;
    while (alive(dead)) dead++;
    const stale = path.join(dir, `.ckpt.pt.${dead}.0123abcd.tmp`);
    const recent = path.join(dir, `.ckpt.pt.${dead}.4567cdef.tmp`);
    // Our pid, but not a save of ours: left before a restart that gave us the same pid (pid 1 in a container).
    const restarted = path.join(dir, `.ckpt.pt.${process.pid}.89abcdef.tmp`);
    const living = path.join(dir, `.ckpt.pt.1.0123abcd.tmp`); // pid 1 is alive
    const other = path.join(dir, `.other.pt.${dead}.0123abcd.tmp`);
    for (const f of [stale, recent, restarted, living, other]) fs.writeFileSync(f, 'partial');
    const hourAgo = new Date(Date.now() - 3600_000);
    for (const f of [stale, restarted, living, other]) fs.utimesSync(f, hourAgo, hourAgo);
    await saveTorch({ x: 1 }, file);
    const kept = process.pid === 1 ? [recent, other] : [recent, living, other];
    expect(fs.readdirSync(dir).sort()).to.deep.equal([...kept.map((f) => path.basename(f)), 'ckpt.pt'].sort());
  });
});

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}
