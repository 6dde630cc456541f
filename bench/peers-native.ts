// The in-process peers: simd-optim's native kernels (each ISA this machine
// runs, one thread and all cores), its pure-JS backend, and the plain
// JavaScript loop a user would write (bench/loops.ts). They share one set of
// params and grads per cell: the native peers step one optimizer (the cell's,
// from bench/algorithms.ts) whose ISA and thread count are switched before
// each sample (useIsa, paramGroups[0].threads), the
// JS backend steps a second optimizer of its own over the same params (see
// jsBackendOpt), and the loop steps the first one's arrays. Sharing keeps a
// 128M-element cell within memory and gives every peer the same memory
// placement. One more peer steps an optimizer over params and grads made with
// `new Float32Array`, to show what a user who does not allocate with `zeros`
// loses.
import type { Cell, Host, Peer } from './types';

// Types from the sources, code from the build users get (dist/, made by npm install).
const simd: typeof import('../lib') = require('../dist');
type Optimizer = import('../lib').Optimizer<import('../lib').KernelOptions>;
type Parameter = import('../lib').Parameter;
type OptimizerClass = new (params: Parameter[], options: Record<string, unknown>) => Optimizer;

/** p in [-1, 1), |g| in [1e-3, 1e-2] with alternating signs: no denormals anywhere. */
export function fillValues(out: Float32Array | Float64Array, seed: number, grad: boolean): void {
  let s = (seed * 2654435761) >>> 0 || 1;
  for (let i = 0; i < out.length; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    const u = s / 2 ** 32;
    out[i] = grad ? (i & 1 ? -1 : 1) * (1e-3 + u * 9e-3) : u * 2 - 1;
  }
}

type Alloc = (length: number) => Float32Array | Float64Array;

/** Seconds for `steps` steps of `opt`, back to back. */
function timeSteps(opt: Optimizer, steps: number): number {
  const t0 = process.hrtime.bigint();
  for (let s = 0; s < steps; s++) opt.step();
  return Number(process.hrtime.bigint() - t0) / 1e9;
}

/** The cell's parameters, filled as every peer's, with data and grads from `alloc`. */
function makeParams(cell: Cell, alloc: Alloc): Parameter[] {
  const params: Parameter[] = [];
  for (let t = 0; t < cell.workload.tensors; t++) {
    const data = alloc(cell.workload.size);
    fillValues(data, 2 * t + 1, false);
    const p = new simd.Parameter(data);
    p.grad = alloc(cell.workload.size);
    fillValues(p.grad, 2 * t + 2, true);
    params.push(p);
  }
  return params;
}

export class NativeHost implements Host {
  name = 'simd-optim';
  peers: Peer[] = [];
  unavailable?: string;
  readonly defaultIsa: string;
  readonly isas: string[];
  readonly hugePages: boolean;
  private opt: Optimizer | undefined;
  private params: Parameter[] = [];
  /** The second optimizer, over params and grads from `new Float32Array` (its state is its own). */
  private jsArraysOpt: Optimizer | undefined;
  /** In cells of many tensors, an optimizer over one tensor of the same total size (zeros). */
  private oneTensorOpt: Optimizer | undefined;
  /**
   * The JS backend's own optimizer over the same params (float32 cells). An
   * optimizer binds its arrays to one backend at a time: stepping the native
   * peers' optimizer on the JS backend would make the next native sample
   * rebind every array first (3-6 ms for 1,000 tensors, then slower steps
   * while V8 re-optimises), which is the native peer's cost in no real use.
   */
  private jsBackendOpt: Optimizer | undefined;
  private loopArrays: Float32Array[][] = [];
  /** The plain loop's step count (Adam's bias corrections); the optimizer has taken one step. */
  private loopStep = 1;
  private cell: Cell | undefined;

  constructor(readonly cores: number) {
    const info = simd.backendInfo();
    this.defaultIsa = info.isa;
    this.isas = info.isas;
    this.hugePages = info.hugePages;
    if (info.backend !== 'native') this.unavailable = `native addon not loaded: ${info.nativeError}`;
    const threadCounts = cores > 1 ? [1, cores] : [1];
    for (const threads of threadCounts) {
      for (const isa of this.isas.length ? this.isas : ['(none)']) {
        this.peers.push({
          id: `native-${isa}-${threads === 1 ? '1t' : 'all'}`,
          label: `simd-optim ${isa}${threads > 1 ? ` ${threads}T` : ''}`,
          kind: 'native',
          threads,
          isa,
          applies: () => (this.unavailable ? this.unavailable : true),
          run: async (steps) => this.runNative(isa, threads, steps),
        });
      }
    }
    this.peers.push({
      id: 'native-jsarrays-1t',
      label: `simd-optim ${this.defaultIsa} (new Float32Array / Float64Array params)`,
      kind: 'native-jsarrays',
      threads: 1,
      isa: this.defaultIsa,
      applies: () => (this.unavailable ? this.unavailable : true),
      run: async (steps) => this.runAtDefaultIsa(this.jsArraysOpt!, steps),
    });
    this.peers.push({
      id: 'native-one-tensor-1t',
      label: `simd-optim ${this.defaultIsa}, one tensor of the cell's total size`,
      kind: 'native-one-tensor',
      threads: 1,
      isa: this.defaultIsa,
      applies: (cell) => (cell.workload.tensors === 1 ? null : this.unavailable ? this.unavailable : true),
      run: async (steps) => this.runAtDefaultIsa(this.oneTensorOpt!, steps),
    });
    this.peers.push({
      id: 'js-backend',
      label: 'simd-optim JS backend',
      kind: 'js',
      threads: 1,
      isa: 'js',
      applies: (cell) => (cell.dtype === 'float32' ? true : null),
      run: async (steps) => this.runJsBackend(steps),
    });
    this.peers.push({
      id: 'js-loop',
      label: 'plain JS loop',
      kind: 'js',
      threads: 1,
      applies: (cell) => (cell.dtype === 'float32' ? true : null),
      run: async (steps) => this.runLoop(steps),
    });
  }

  pid(): number | undefined {
    return process.pid;
  }

  describe(): string {
    const info = simd.backendInfo();
    return `simd-optim: backend ${info.backend}, default ISA ${this.defaultIsa}, ISAs ${this.isas.join(', ') || 'none'}` +
      `${info.nativeError ? ` (${info.nativeError})` : ''}; external buffers ${info.externalBuffers}; ` +
      `huge pages ${info.hugePages ? 'advised from 2 MiB (params and grads from zeros, and the state)' : 'not advised'}`;
  }

  async setup(cell: Cell): Promise<void> {
    this.cell = cell;
    // Before zeros: it lays arrays out for the native kernels only on the native backend.
    if (!this.unavailable) simd.useBackend('native');
    // Params and grads from zeros, as docs/threads-and-memory.md tells users to allocate large
    // ones: from 2 MiB on transparent huge pages, under 4 KiB pooled (between, plain typed arrays).
    this.params = makeParams(cell, (n) => simd.zeros(n, cell.dtype));
    this.opt = this.optimizer(this.params, cell);
    if (!this.unavailable) {
      const F = cell.dtype === 'float32' ? Float32Array : Float64Array;
      this.jsArraysOpt = this.optimizer(makeParams(cell, (n) => new F(n)), cell);
      if (cell.workload.tensors > 1) {
        const whole = { ...cell, workload: { ...cell.workload, tensors: 1, size: cell.elements } };
        this.oneTensorOpt = this.optimizer(makeParams(whole, (n) => simd.zeros(n, cell.dtype)), cell);
      }
    }
    if (cell.dtype === 'float32') {
      this.jsBackendOpt = this.optimizer(this.params, cell);
      simd.useBackend('js');
      this.jsBackendOpt.step(); // binds it to the JS backend once
      if (!this.unavailable) simd.useBackend('native');
    }
    this.loopStep = 1;
    this.loopArrays = this.params.map((p) => {
      const s = this.opt!.state.get(p)!;
      return [p.data, p.grad, ...cell.config.loop.state.map((k) => s[k])] as Float32Array[];
    });
  }

  /** An optimizer over `params`, stepped once: the first step creates the state (native, like zeros' arrays). */
  private optimizer(params: Parameter[], cell: Cell): Optimizer {
    const Class = simd[cell.algorithm.name] as unknown as OptimizerClass;
    const opt = new Class(params, { ...cell.config.simd, threads: 1 });
    opt.step();
    return opt;
  }

  private runNative(isa: string, threads: number, steps: number): number {
    const opt = this.opt!;
    simd.useBackend('native');
    simd.useIsa(isa);
    opt.paramGroups[0].threads = threads;
    const seconds = timeSteps(opt, steps);
    simd.useIsa(this.defaultIsa);
    return seconds;
  }

  /** The default ISA, one thread, over the params and grads from `new Float32Array`, or over one tensor. */
  private runAtDefaultIsa(opt: Optimizer, steps: number): number {
    simd.useBackend('native');
    simd.useIsa(this.defaultIsa);
    return timeSteps(opt, steps);
  }

  private runJsBackend(steps: number): number {
    simd.useBackend('js');
    try {
      return timeSteps(this.jsBackendOpt!, steps);
    } finally {
      if (!this.unavailable) simd.useBackend('native');
    }
  }

  private runLoop(steps: number): number {
    const arrays = this.loopArrays;
    const loop = this.cell!.config.loop;
    const t0 = process.hrtime.bigint();
    for (let s = 0; s < steps; s++) loop.step(arrays, ++this.loopStep);
    return Number(process.hrtime.bigint() - t0) / 1e9;
  }

  async teardown(): Promise<void> {
    this.opt = undefined;
    this.jsArraysOpt = undefined;
    this.oneTensorOpt = undefined;
    this.jsBackendOpt = undefined;
    this.params = [];
    this.loopArrays = [];
    if (!this.unavailable) {
      simd.useBackend('native');
      simd.useIsa(this.defaultIsa);
    }
    (globalThis as { gc?: () => void }).gc?.();
  }

  async close(): Promise<void> {}
}
