// Checkpoints survive crashes (issue #7): a child process saves a checkpoint
// after every step and is killed with SIGKILL at a random moment, 50 times
// over the same file. After every kill the file must load, and must equal
// exactly the state after one of the steps the child took. saveTorch writes
// a temporary file, fsyncs it and renames it over the old one, so a kill
// mid-write leaves the previous checkpoint (and a stray temporary file,
// which a later save removes once it is old: tested at the end).
import { expect } from 'chai';
import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { loadTorch, Parameter, RMSprop, saveTorch, type StateDict, type TensorRecord } from '../lib';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const { trainingRun } = require('./crash/training-run') as {
  trainingRun(numel: number, lib: { Parameter: typeof Parameter; RMSprop: typeof RMSprop }): {
    opt: RMSprop; step: number; next(): void;
  };
};

const NUMEL = 1 << 20; // 12 MiB of state per checkpoint: a save takes long enough to be hit mid-write
const KILLS = 50;

/** A digest of the state buffers (step is checked apart: an int in memory, a 0-dim tensor in 2.x files). */
const digest = (sd: StateDict): string => {
  const hash = createHash('sha256');
  for (const [key, value] of Object.entries(sd.state[0])) {
    if (key === 'step') continue;
    const { data } = value as TensorRecord;
    hash.update(key).update(new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
  }
  return hash.digest('hex');
};

/** Runs the child until its first save, then kills it after `delayMs`; resolves with the last step it reported. */
function runAndKill(file: string, delayMs: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [path.join(__dirname, 'crash', 'save-loop.js'), file, String(NUMEL)], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let last = 0;
    let stderr = '';
    let armed = false;
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      const steps = [...chunk.matchAll(/saved (\d+)/g)].map((m) => Number(m[1]));
      if (steps.length > 0) last = steps[steps.length - 1];
      if (!armed && last > 0) {
        armed = true;
        setTimeout(() => child.kill('SIGKILL'), delayMs);
      }
    });
    child.stderr.on('data', (chunk) => (stderr += chunk));
    child.on('exit', (code, signal) => {
      if (signal === 'SIGKILL') resolve(last);
      else reject(new Error(`the child exited by itself (code ${code}): ${stderr}`));
    });
  });
}

describe('checkpoints survive SIGKILL', function () {
  this.timeout(600_000);

  it(`${KILLS} kills at random moments: the file always loads and equals a state that was saved`, async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'simd-optim-crash-'));
    const file = path.join(dir, 'checkpoint.pt');
    const expected: string[] = []; // digest of the state after step s, at index s
    const replay = trainingRun(NUMEL, { Parameter, RMSprop });
    let random = 12345;
    let midWrite = 0;
    try {
      for (let kill = 0; kill < KILLS; kill++) {
        random = (random * 1103515245 + 12345) % 2 ** 31;
        const lastReported = await runAndKill(file, random % 200);
        const strays = fs.readdirSync(dir).filter((name) => name.endsWith('.tmp'));
        if (strays.length > 0) midWrite++;
        for (const name of strays) fs.rmSync(path.join(dir, name));
        const sd = await loadTorch<StateDict>(file);
        const step = Number((sd.state[0].step as TensorRecord).data[0]);
        // The file holds the last reported save, or one that finished just before the kill.
        expect(step, `kill ${kill}`).to.be.within(lastReported, lastReported + 1);
        while (replay.step < step) {
          replay.next();
          expected[replay.step] = digest(replay.opt.stateDict());
        }
        expect(digest(sd), `kill ${kill}: the state of step ${step}`).to.equal(expected[step]);
      }
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
    // The kills must really land inside saves for this test to mean anything.
    expect(midWrite, 'kills that interrupted a save').to.be.at.least(5);
  });
});

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
