// The benchmark's core pinning (bench/affinity.ts): a one-thread pair must
// really run on one core, and every process must get all cores back. Checked
// on a real child through /proc, where the machine allows pinning at all.
import { expect } from 'chai';
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import { Pinning } from '../bench/affinity';

/** The CPU list of a /proc status text, ranges expanded: "0-2" -> "0,1,2". */
function cpusIn(status: string): string {
  return /^Cpus_allowed_list:\s*(\S+)/m.exec(status)![1]
    .split(',')
    .flatMap((part) => {
      const [lo, hi] = part.split('-').map(Number);
      return Array.from({ length: (hi ?? lo) - lo + 1 }, (_, i) => lo + i);
    })
    .join(',');
}

const allowedOf = (pid: number) => cpusIn(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));

describe('bench: pinning one-thread pairs to a core', () => {
  const pinning = new Pinning();

  if (pinning.off) {
    it(`says why it is off (${pinning.off}) and pins nothing`, () => {
      expect(pinning.describe()).to.match(/^One-thread samples not pinned to a core: .+\.$/);
      expect(pinning.coreForRound(0)).to.equal(undefined);
      expect(pinning.spawnArgv(['node', '-v'])).to.deep.equal(['node', '-v']);
    });
    return;
  }

  it('gives each core two rounds in turn', () => {
    const cores = pinning.cpus;
    const rounds = Array.from({ length: 2 * cores.length + 2 }, (_, r) => pinning.coreForRound(r));
    const expected = cores.flatMap((c) => [c, c]);
    expect(rounds).to.deep.equal([...expected, cores[0], cores[0]]);
  });

  it('pins every thread of a child to one core and gives all cores back', async () => {
    // Node's own threads (V8 platform, libuv) are running once it prints.
    const child = spawn(process.execPath, ['-e', "process.stdout.write('ready'); setTimeout(() => {}, 20000)"]);
    try {
      await new Promise((resolve) => child.stdout.once('data', resolve));
      expect(fs.readdirSync(`/proc/${child.pid}/task`).length, 'threads').to.be.greaterThan(1);
      const pid = child.pid!;
      const all = pinning.cpus.join(',');
      const core = pinning.cpus[1];
      pinning.set(pid, core);
      expect(pinning.off).to.equal(undefined);
      for (const tid of fs.readdirSync(`/proc/${pid}/task`)) expect(allowedOf(Number(tid)), `thread ${tid}`).to.equal(String(core));
      pinning.set(pid, undefined);
      for (const tid of fs.readdirSync(`/proc/${pid}/task`)) expect(allowedOf(Number(tid)), `thread ${tid}`).to.equal(all);
    } finally {
      child.kill();
    }
  });

  it('starts children on every allowed core while this process is pinned', async () => {
    const all = pinning.cpus.join(',');
    pinning.set(process.pid, pinning.cpus[0]);
    try {
      expect(allowedOf(process.pid)).to.equal(String(pinning.cpus[0]));
      const argv = pinning.spawnArgv([process.execPath, '-e', "process.stdout.write(require('fs').readFileSync('/proc/self/status', 'utf8'))"]);
      const status = await new Promise<string>((resolve, reject) => {
        const c = spawn(argv[0], argv.slice(1));
        let out = '';
        c.stdout.on('data', (d) => (out += d));
        c.on('error', reject);
        c.on('exit', () => resolve(out));
      });
      expect(cpusIn(status), 'the child\'s CPUs').to.equal(all);
    } finally {
      pinning.set(process.pid, undefined);
    }
    expect(allowedOf(process.pid)).to.equal(all);
  });
});
