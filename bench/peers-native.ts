// The in-process peers: simd-optim's native kernels (each ISA this machine
// runs, one thread and all cores), its pure-JS backend, and the plain
// JavaScript loop a user would write. They share one set of arrays per cell:
// one RMSprop optimizer whose ISA, thread count and backend are switched
// before each peer's sample (useIsa, paramGroups[0].threads, useBackend), and
// the loop steps the same arrays. Sharing keeps a 128M-element cell within
// memory and gives every peer the same memory placement.
import type { Cell, Host, Peer } from './types';

// Types from the sources, code from the build users get (dist/, made by npm install).
const simd: typeof import('../lib') = require('../dist');
type RMSprop = import('../lib').RMSprop;
type Parameter = import('../lib').Parameter;

/** p in [-1, 1), |g| in [1e-3, 1e-2] with alternating signs: no denormals anywhere. */
export function fillValues(out: Float32Array | Float64Array, seed: number, grad: boolean): void {
  let s = (seed * 2654435761) >>> 0 || 1;
  for (let i = 0; i < out.length; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    const u = s / 2 ** 32;
    out[i] = grad ? (i & 1 ? -1 : 1) * (1e-3 + u * 9e-3) : u * 2 - 1;
  }
}

// The obvious RMSprop a user would write: one for loop, Math.sqrt, no
// rounding games. It is the baseline of issue 5's "6× a plain JavaScript loop".
function plainLoop(p: Float32Array, g: Float32Array, v: Float32Array, lr: number, alpha: number, eps: number): void {
  for (let i = 0; i < p.length; i++) {
    v[i] = alpha * v[i] + (1 - alpha) * g[i] * g[i];
    p[i] -= (lr * g[i]) / (Math.sqrt(v[i]) + eps);
  }
}

function centeredMomentumLoop(
  p: Float32Array,
  g: Float32Array,
  v: Float32Array,
  buf: Float32Array,
  gavg: Float32Array,
  lr: number,
  alpha: number,
  eps: number,
  momentum: number,
): void {
  for (let i = 0; i < p.length; i++) {
    v[i] = alpha * v[i] + (1 - alpha) * g[i] * g[i];
    gavg[i] = alpha * gavg[i] + (1 - alpha) * g[i];
    const avg = Math.sqrt(v[i] - gavg[i] * gavg[i]) + eps;
    buf[i] = momentum * buf[i] + g[i] / avg;
    p[i] -= lr * buf[i];
  }
}

const LR = 1e-3;
const ALPHA = 0.99;
const EPS = 1e-8;

export class NativeHost implements Host {
  name = 'simd-optim';
  peers: Peer[] = [];
  unavailable?: string;
  readonly defaultIsa: string;
  readonly isas: string[];
  private opt: RMSprop | undefined;
  private params: Parameter[] = [];
  private loopArrays: Float32Array[][] = [];
  private cell: Cell | undefined;

  constructor(readonly cores: number) {
    const info = simd.backendInfo();
    this.defaultIsa = info.isa;
    this.isas = info.isas;
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

  describe(): string {
    const info = simd.backendInfo();
    return `simd-optim: backend ${info.backend}, default ISA ${this.defaultIsa}, ISAs ${this.isas.join(', ') || 'none'}` +
      `${info.nativeError ? ` (${info.nativeError})` : ''}; external buffers ${info.externalBuffers}`;
  }

  async setup(cell: Cell): Promise<void> {
    this.cell = cell;
    const F = cell.dtype === 'float32' ? Float32Array : Float64Array;
    this.params = [];
    for (let t = 0; t < cell.workload.tensors; t++) {
      const data = new F(cell.workload.size);
      fillValues(data, 2 * t + 1, false);
      const p = new simd.Parameter(data);
      p.grad = new F(cell.workload.size);
      fillValues(p.grad, 2 * t + 2, true);
      this.params.push(p);
    }
    if (!this.unavailable) simd.useBackend('native');
    this.opt = new simd.RMSprop(this.params, {
      lr: LR,
      alpha: ALPHA,
      eps: EPS,
      momentum: cell.config.momentum,
      centered: cell.config.centered,
      threads: 1,
    });
    this.opt.step(); // creates the state (native, 64-byte aligned)
    this.loopArrays = this.params.map((p) => {
      const s = this.opt!.state.get(p)!;
      return [p.data, p.grad, s.square_avg, s.momentum_buffer, s.grad_avg].filter((a) => a !== undefined) as Float32Array[];
    });
  }

  private runNative(isa: string, threads: number, steps: number): number {
    const opt = this.opt!;
    simd.useBackend('native');
    simd.useIsa(isa);
    opt.paramGroups[0].threads = threads;
    const t0 = process.hrtime.bigint();
    for (let s = 0; s < steps; s++) opt.step();
    const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
    simd.useIsa(this.defaultIsa);
    return seconds;
  }

  private runJsBackend(steps: number): number {
    const opt = this.opt!;
    simd.useBackend('js');
    try {
      const t0 = process.hrtime.bigint();
      for (let s = 0; s < steps; s++) opt.step();
      return Number(process.hrtime.bigint() - t0) / 1e9;
    } finally {
      if (!this.unavailable) simd.useBackend('native');
    }
  }

  private runLoop(steps: number): number {
    const arrays = this.loopArrays;
    const centered = this.cell!.config.centered;
    const momentum = this.cell!.config.momentum;
    const t0 = process.hrtime.bigint();
    for (let s = 0; s < steps; s++) {
      for (let t = 0; t < arrays.length; t++) {
        const a = arrays[t];
        if (centered) centeredMomentumLoop(a[0], a[1], a[2], a[3], a[4], LR, ALPHA, EPS, momentum);
        else plainLoop(a[0], a[1], a[2], LR, ALPHA, EPS);
      }
    }
    return Number(process.hrtime.bigint() - t0) / 1e9;
  }

  async teardown(): Promise<void> {
    this.opt = undefined;
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
