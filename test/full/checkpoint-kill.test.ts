// Checkpoints survive crashes: a child process saves a checkpoint after every
// step and is killed with SIGKILL at a random moment, 50 times over the same
// file. After every kill the file must load, and must equal exactly the state
// after one of the steps the child took. saveTorch writes a temporary file,
// fsyncs it and renames it over the old one, so a kill mid-write leaves the
// previous checkpoint (and a stray temporary file, which a later save
// removes once it is old: test/atomic-save.test.ts).
import { expect } from 'chai';
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { loadTorch, Parameter, RMSprop, type StateDict, type TensorRecord } from '../../lib';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const { trainingRun } = require('../crash/training-run') as {
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
    const child = spawn(process.execPath, [path.join(__dirname, '..', 'crash', 'save-loop.js'), file, String(NUMEL)], {
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
