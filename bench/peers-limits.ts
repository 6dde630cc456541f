// The limits, measured in the same run over the same sizes: memory (or cache)
// bandwidth by copy, triad and a loop with exactly the config's streams (its
// reads and writes per element, bench/algorithms.ts; bench/limits.c),
// single-threaded and with all cores; and the in-cache bound, a loop doing
// only the square root and the divide of a step over the step's own
// streams, per ISA, for the optimizers whose step takes them.
//
// bench/limits.c is compiled here with `cc` into build/bench/. Without a C
// compiler (or OpenMP), the limits are typed-array JavaScript loops, labelled
// as such, single-threaded only.
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Cell, Host, Peer } from './types';
import { LineWorker, quietThreadsEnv } from './worker-client';

const root = path.join(__dirname, '..');
const source = path.join(__dirname, 'limits.c');
const binary = path.join(root, 'build', 'bench', 'limits');

type Kernel = 'copy' | 'triad' | 'streams' | 'sqrtdiv';

/** Elements a kernel counts as moved per element (its GB/s = Melem/s × this × element size). */
function countedArrays(kernel: Kernel, cell: Cell): number {
  if (kernel === 'copy') return 2;
  if (kernel === 'triad') return 3;
  return cell.config.reads + cell.config.writes; // streams and sqrtdiv: the step's own arrays
}

/**
 * Where the sqrt+div loop runs: in-cache rows (one tensor of at most 1M
 * elements) of a step with a square root and a divide, whose streams it has
 * (every array but g stored; up to five arrays).
 */
const boundRow = (cell: Cell) =>
  cell.workload.tensors === 1 && cell.elements <= 1 << 20 && cell.config.sqrtDiv &&
  cell.config.reads >= 3 && cell.config.reads <= 5 && cell.config.writes === cell.config.reads - 1;

/** bench/limits.c's name of a kernel over the cell's streams. */
function cKernel(kernel: Kernel, cell: Cell): string {
  if (kernel === 'streams') return `streams-${cell.config.reads}-${cell.config.writes}`;
  if (kernel === 'sqrtdiv') return `sqrtdiv-${cell.config.reads}`;
  return kernel;
}

/** Compiles bench/limits.c if needed; returns a reason on failure. */
export function buildLimits(): { ok: true; compiler: string; binary: string } | { ok: false; why: string } {
  const cc = process.env.CC || 'cc';
  const version = spawnSync(cc, ['--version'], { encoding: 'utf8' });
  if (version.error || version.status !== 0) return { ok: false, why: `no C compiler (${cc})` };
  const compiler = version.stdout.split('\n')[0].trim();
  const fresh = fs.existsSync(binary) && fs.statSync(binary).mtimeMs >= fs.statSync(source).mtimeMs;
  if (!fresh) {
    fs.mkdirSync(path.dirname(binary), { recursive: true });
    const r = spawnSync(cc, ['-O3', '-fno-math-errno', '-fopenmp', '-o', binary, source, '-lm'], { encoding: 'utf8' });
    if (r.status !== 0) return { ok: false, why: `${cc} failed: ${(r.stderr || String(r.error)).split('\n').slice(0, 2).join(' ')}` };
  }
  return { ok: true, compiler, binary };
}

/** bench/limits.c in a child process. */
class CLimitsHost implements Host {
  name = 'limits (C)';
  peers: Peer[] = [];
  unavailable?: string;
  isas: string[] = [];
  private worker: LineWorker;
  private cell: Cell | undefined;

  constructor(private readonly compiler: string, private readonly cores: number) {
    this.worker = new LineWorker('limits', [binary], {
      parse: (line) => (/^(ok|error)\b/.test(line) ? line : undefined),
      env: quietThreadsEnv(),
    });
  }

  private async cmd(line: string): Promise<string> {
    const r = (await this.worker.request(line)) as string;
    if (r.startsWith('error')) throw new Error(r.slice(6));
    return r.slice(3);
  }

  async start(): Promise<void> {
    const info = await this.cmd('info');
    this.isas = /isas=(\S+)/.exec(info)![1].split(',');
    const threadCounts = this.cores > 1 ? [1, this.cores] : [1];
    for (const threads of threadCounts) {
      for (const kernel of ['streams', 'copy', 'triad'] as const) {
        this.peers.push(this.peer(kernel, threads));
      }
    }
    for (const isa of this.isas) this.peers.push(this.peer('sqrtdiv', 1, isa));
  }

  private peer(kernel: Kernel, threads: number, isa?: string): Peer {
    const t = threads === 1 ? '1t' : 'all';
    const T = threads > 1 ? ` ${threads}T` : '';
    const names: Record<Kernel, string> = {
      streams: 'same streams',
      copy: 'copy',
      triad: 'triad',
      sqrtdiv: `sqrt+div loop ${isa}`,
    };
    return {
      id: kernel === 'sqrtdiv' ? `bound-sqrtdiv-${isa}` : `limit-${kernel}-${t}`,
      label: kernel === 'sqrtdiv' ? `bound: ${names[kernel]} (C)` : `limit: ${names[kernel]}${T} (C)`,
      kind: kernel === 'sqrtdiv' ? 'bound' : 'limit',
      threads,
      isa,
      countedArrays: (cell) => countedArrays(kernel, cell),
      applies: (cell) => (kernel === 'sqrtdiv' && !boundRow(cell) ? null : true),
      run: async (steps) => Number(await this.cmd(`run ${cKernel(kernel, this.cell!)} ${isa ?? 'scalar'} ${threads} ${steps}`)),
    };
  }

  pid(): number | undefined {
    return this.worker.pid;
  }

  describe(): string {
    return `limits: bench/limits.c compiled by ${this.compiler} (-O3 -fopenmp; streaming loops for the best ISA via target_clones; sqrt+div loops per ISA: ${this.isas.join(', ')})`;
  }

  async setup(cell: Cell): Promise<void> {
    this.cell = cell;
    await this.cmd(`alloc ${cell.elements} ${cell.dtype === 'float32' ? 'f32' : 'f64'}`);
  }

  async teardown(): Promise<void> {
    if (this.worker.alive) await this.cmd('alloc 0 f32').catch(() => undefined);
  }

  async close(): Promise<void> {
    await this.worker.close();
  }
}

/** Typed-array JavaScript loops, for machines without a C compiler. */
class JsLimitsHost implements Host {
  name = 'limits (JS fallback)';
  peers: Peer[] = [];
  unavailable?: string;
  private arrays: (Float32Array | Float64Array)[] = [];
  private cell: Cell | undefined;

  constructor(private readonly why: string, cores: number) {
    const kernels: Kernel[] = ['streams', 'copy', 'triad'];
    for (const kernel of kernels) {
      this.peers.push(this.peer(kernel, 1));
      if (cores > 1) {
        this.peers.push({
          ...this.peer(kernel, cores),
          applies: () => `not measured: ${why}; the JS fallback is single-threaded`,
        });
      }
    }
    this.peers.push(this.peer('sqrtdiv', 1));
  }

  private peer(kernel: Kernel, threads: number): Peer {
    const t = threads === 1 ? '1t' : 'all';
    const T = threads > 1 ? ` ${threads}T` : '';
    const names = { streams: 'same streams', copy: 'copy', triad: 'triad', sqrtdiv: 'sqrt+div loop' };
    return {
      id: kernel === 'sqrtdiv' ? 'bound-sqrtdiv-js' : `limit-${kernel}-${t}`,
      label: kernel === 'sqrtdiv' ? 'bound: sqrt+div loop (JS typed arrays)' : `limit: ${names[kernel]}${T} (JS typed arrays)`,
      kind: kernel === 'sqrtdiv' ? 'bound' : 'limit',
      threads,
      isa: kernel === 'sqrtdiv' ? 'js' : undefined,
      countedArrays: (cell) => countedArrays(kernel, cell),
      applies: (cell) => (kernel === 'sqrtdiv' && !boundRow(cell) ? null : true),
      run: async (steps) => this.run(kernel, steps),
    };
  }

  private run(kernel: Kernel, steps: number): number {
    const [p, g, v, m, a] = this.arrays;
    const n = p.length;
    const { reads, writes } = this.cell!.config;
    const t0 = process.hrtime.bigint();
    for (let s = 0; s < steps; s++) {
      if (kernel === 'copy') for (let i = 0; i < n; i++) g[i] = p[i];
      else if (kernel === 'triad') for (let i = 0; i < n; i++) p[i] = g[i] + 0.5 * v[i];
      else if (kernel === 'sqrtdiv') this.sqrtdiv(p, g, v, m, a, reads);
      else this.streams(p, g, v, m, a, reads, writes);
    }
    return Number(process.hrtime.bigint() - t0) / 1e9;
  }

  /** bench/limits.c's streams-R-W: state array k becomes x * 0.5 + g, stored if written, else added into p's step. */
  private streams(p: Float32Array | Float64Array, g: typeof p, v: typeof p, m: typeof p, a: typeof p, reads: number, writes: number): void {
    for (let i = 0, n = p.length; i < n; i++) {
      const gi = g[i];
      let d = gi;
      if (reads > 2) {
        const y = v[i] * 0.5 + gi;
        if (writes > 1) v[i] = y;
        else d += y;
      }
      if (reads > 3) {
        const y = m[i] * 0.5 + gi;
        if (writes > 2) m[i] = y;
        else d += y;
      }
      if (reads > 4) {
        const y = a[i] * 0.5 + gi;
        if (writes > 3) a[i] = y;
        else d += y;
      }
      p[i] = p[i] - 1e-3 * d;
    }
  }

  /** bench/limits.c's sqrtdiv-R: p = g / sqrt(v), every array the step stores stored. */
  private sqrtdiv(p: Float32Array | Float64Array, g: typeof p, v: typeof p, m: typeof p, a: typeof p, reads: number): void {
    const n = p.length;
    let sink = 0;
    for (let i = 0; i < n; i++) {
      sink += p[i]; // loaded, as the step loads it
      p[i] = g[i] / Math.sqrt(v[i]);
      v[i] = v[i];
      if (reads > 3) m[i] = m[i];
      if (reads > 4) a[i] = a[i];
    }
    this.sink = sink;
  }
  /** What the sqrt+div loop read from p, kept so that reading it is not optimized away. */
  sink = 0;

  pid(): number | undefined {
    return process.pid;
  }

  describe(): string {
    return `limits: typed-array JavaScript loops (${this.why}), single-threaded`;
  }

  async setup(cell: Cell): Promise<void> {
    this.cell = cell;
    const F = cell.dtype === 'float32' ? Float32Array : Float64Array;
    this.arrays = Array.from({ length: 5 }, (_, k) => {
      const x = new F(cell.elements);
      for (let i = 0; i < x.length; i++) x[i] = k === 2 ? 1e-4 + ((i * 7) % 13) * 1e-4 : ((i * 7) % 13) * 1e-3;
      return x;
    });
  }

  async teardown(): Promise<void> {
    this.arrays = [];
  }

  async close(): Promise<void> {}
}

export async function limitsHost(cores: number): Promise<Host> {
  if (process.env.SIMD_OPTIM_BENCH_JS_LIMITS === '1') return new JsLimitsHost('forced by SIMD_OPTIM_BENCH_JS_LIMITS=1', cores);
  const b = buildLimits();
  if (!b.ok) return new JsLimitsHost(b.why, cores);
  const host = new CLimitsHost(b.compiler, cores);
  try {
    await host.start();
    return host;
  } catch (e) {
    await host.close();
    return new JsLimitsHost(`build/bench/limits failed: ${(e as Error).message}`, cores);
  }
}
