// Which cores the benchmark's processes may run on.
//
// Why: the two samples of a one-thread pair often run in two processes (the
// reference in this one, the C sqrt+div loop or PyTorch in a child), and the
// scheduler may put them on different cores. In a VM the cores are not alike
// from one second to the next: on this project's 2-core VM, the
// momentum+centered step on 64K floats ran at 3410 Melem/s on one core and at
// 2720 on the other at the same time, while the sqrt+div loop lost only 6%
// on the slow core. Pairs split across the two cores gave the step 86% of the
// bound; pairs on one core, 97-102% (the same loops in one process, taken in
// turn). So each one-thread pair runs pinned to one core, the cores taking
// turns every two rounds; all-core samples run on every core.
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';

/** The CPUs this process may run on, from /proc (Linux), or undefined. */
function allowedCpus(): number[] | undefined {
  let status: string;
  try {
    status = fs.readFileSync('/proc/self/status', 'utf8');
  } catch {
    return undefined;
  }
  const list = /^Cpus_allowed_list:\s*(\S+)/m.exec(status)?.[1];
  if (!list) return undefined;
  const cpus: number[] = [];
  for (const part of list.split(',')) {
    const [lo, hi] = part.split('-').map(Number);
    for (let c = lo; c <= (hi ?? lo); c++) cpus.push(c);
  }
  return cpus.length && cpus.every(Number.isInteger) ? cpus : undefined;
}

export class Pinning {
  /** The CPUs this run may use, as found at the start. */
  readonly cpus: number[];
  private readonly all: string;
  /** Why pinning is off, or undefined when it is on. */
  off?: string;
  /** The last setting made here for each process (a CPU list), to skip calls that change nothing; emptied by releaseAll. */
  private readonly current = new Map<number, string>();

  constructor() {
    const cpus = allowedCpus();
    this.cpus = cpus ?? [];
    this.all = this.cpus.join(',');
    if (!cpus) this.off = 'no CPU list in /proc/self/status (not Linux)';
    else if (cpus.length < 2) this.off = 'one CPU only';
    else if (spawnSync('taskset', ['--version'], { stdio: 'ignore' }).status !== 0) this.off = 'taskset (util-linux) not found';
  }

  /** The core that one-thread pairs use in round r: each core for two rounds (both pair orders), in turn. */
  coreForRound(r: number): number | undefined {
    return this.off ? undefined : this.cpus[Math.floor(r / 2) % this.cpus.length];
  }

  /**
   * Runs every thread of process `pid` on `cpu` only, or on every allowed CPU
   * when cpu is undefined. A process that has exited is skipped. Any other
   * failure turns pinning off for the rest of the run, and every process
   * pinned so far gets all CPUs back.
   */
  set(pid: number | undefined, cpu: number | undefined): void {
    if (this.off || pid === undefined) return;
    const list = cpu === undefined ? this.all : String(cpu);
    if (this.current.get(pid) === list) return;
    const r = spawnSync('taskset', ['-a', '-p', '-c', list, String(pid)], { encoding: 'utf8' });
    if (r.status === 0) {
      this.current.set(pid, list);
      return;
    }
    if (!fs.existsSync(`/proc/${pid}`)) {
      this.current.delete(pid);
      return;
    }
    const why = (r.stderr || String(r.error ?? `exit ${r.status}`)).trim().split('\n')[0];
    this.off = `taskset failed (${why})`;
    for (const other of [pid, ...this.current.keys()]) spawnSync('taskset', ['-a', '-p', '-c', this.all, String(other)], { stdio: 'ignore' });
    this.current.clear();
  }

  /** Gives every process set so far all CPUs back and forgets it (at the end of a cell: a pid may be reused later). */
  releaseAll(): void {
    for (const pid of [...this.current.keys()]) this.set(pid, undefined);
    this.current.clear();
  }

  /**
   * The argv that starts a child on every allowed CPU, whatever this process
   * is pinned to at the time (a child inherits its parent's CPUs, and OpenMP
   * counts its default threads from them).
   */
  spawnArgv(argv: string[]): string[] {
    return this.off ? argv : ['taskset', '-c', this.all, ...argv];
  }

  describe(): string {
    if (this.off) return `One-thread samples not pinned to a core: ${this.off}.`;
    const names = this.cpus.length > 1 ? `${this.cpus.slice(0, -1).join(', ')} and ${this.cpus[this.cpus.length - 1]}` : String(this.cpus[0]);
    return `One-thread pairs pinned: both samples of a pair on one core (taskset), cores ${names} in turn every two rounds; all-core samples on every core.`;
  }
}

/** The run's one instance: the worker processes start through it. */
export const pinning = new Pinning();
