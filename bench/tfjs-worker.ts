// A TensorFlow.js optimizer (tf.train.rmsprop, momentum, adam, ...), timed
// inside a child Node process, one per backend ('cpu' or 'wasm'), for
// bench/peers-tfjs.ts. One JSON request per
// stdin line, one response per stdout line prefixed "@@bench " (TensorFlow.js
// prints banners on stdout; they are ignored).
//
//   {"cmd": "info"}
//   {"cmd": "setup", "tensors": T, "size": N, "optimizer": "adam", "args": [lr, ...]}
//       tf.train[optimizer](...args) over T variables of N elements
//   {"cmd": "run", "steps": s}   -> {"seconds": ...}
//   {"cmd": "free"}
//
// The wasm backend loads the .wasm files shipped in its npm package
// (node_modules/@tensorflow/tfjs-backend-wasm/dist), nothing is downloaded.
// Both backends compute synchronously on the calling thread, so the time of
// applyGradients is the time of the step.
import * as path from 'node:path';
import * as readline from 'node:readline';

// The few TensorFlow.js entry points used here (typed locally: the packages
// are optional, and `npm test` type-checks bench/ without them).
interface TfTensor {
  dispose(): void;
}
interface TfVariable extends TfTensor {
  name: string;
}
interface TfOptimizer {
  applyGradients(grads: Record<string, TfTensor>): void;
  dispose(): void;
}
interface Tf {
  setBackend(name: string): Promise<boolean>;
  getBackend(): string;
  ready(): Promise<void>;
  enableProdMode(): void;
  tensor1d(values: Float32Array, dtype?: 'float32'): TfTensor;
  variable(t: TfTensor, trainable?: boolean, name?: string): TfVariable;
  train: Record<string, ((...args: (number | boolean)[]) => TfOptimizer) | undefined>;
  env(): { getAsync(flag: string): Promise<unknown> };
  backend(): unknown;
  version_core: string;
}

const backend = process.argv[2];
let tf: Tf;
let wasmFlavour = '';
let cell: { vars: TfVariable[]; grads: Record<string, TfTensor>; gradList: TfTensor[]; opt: TfOptimizer } | undefined;
let cellCount = 0;

const reply = (obj: unknown) => process.stdout.write(`@@bench ${JSON.stringify(obj)}\n`);

async function init(): Promise<Record<string, unknown>> {
  tf = require('@tensorflow/tfjs-core') as Tf;
  let version = tf.version_core;
  if (backend === 'cpu') {
    require('@tensorflow/tfjs-backend-cpu');
  } else if (backend === 'wasm') {
    const wasm = require('@tensorflow/tfjs-backend-wasm') as { setWasmPaths(p: string): void; version_wasm: string };
    const dir = path.dirname(require.resolve('@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm'));
    wasm.setWasmPaths(`${dir}${path.sep}`);
    version = `${version}, backend-wasm ${wasm.version_wasm}`;
  } else {
    throw new Error(`unknown backend ${backend}`);
  }
  if (!(await tf.setBackend(backend))) throw new Error(`tf.setBackend('${backend}') failed`);
  await tf.ready();
  tf.enableProdMode();
  if (backend === 'wasm') {
    const simd = await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT');
    const threads = await tf.env().getAsync('WASM_HAS_MULTITHREAD_SUPPORT');
    wasmFlavour = `${simd ? 'SIMD' : 'no SIMD'}, ${threads ? 'multithreaded' : 'single-threaded (no wasm threads in Node)'}`;
  }
  return { version, backend: tf.getBackend(), flavour: wasmFlavour };
}

/** |g| in [1e-3, 1e-2], p in [-1, 1): the same kind of values as every peer. */
function values(n: number, seed: number, grad: boolean): Float32Array {
  const out = new Float32Array(n);
  let s = (seed * 2654435761) >>> 0 || 1;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    const u = s / 2 ** 32;
    out[i] = grad ? (i & 1 ? -1 : 1) * (1e-3 + u * 9e-3) : u * 2 - 1;
  }
  return out;
}

function free(): void {
  if (!cell) return;
  cell.opt.dispose();
  for (const v of cell.vars) v.dispose();
  for (const g of cell.gradList) g.dispose();
  cell = undefined;
  (globalThis as { gc?: () => void }).gc?.();
}

interface SetupRequest {
  tensors: number;
  size: number;
  optimizer: string;
  args: (number | boolean)[];
}

function setup(req: SetupRequest): void {
  free();
  const make = tf.train[req.optimizer];
  if (typeof make !== 'function') throw new Error(`tf.train has no ${req.optimizer}`);
  cellCount++;
  const vars: TfVariable[] = [];
  const grads: Record<string, TfTensor> = {};
  const gradList: TfTensor[] = [];
  for (let t = 0; t < req.tensors; t++) {
    const init = tf.tensor1d(values(req.size, 2 * t + 1, false), 'float32');
    const v = tf.variable(init, true, `c${cellCount}_p${t}`);
    init.dispose();
    const g = tf.tensor1d(values(req.size, 2 * t + 2, true), 'float32');
    vars.push(v);
    gradList.push(g);
    grads[v.name] = g;
  }
  const opt = make.apply(tf.train, req.args);
  cell = { vars, grads, gradList, opt };
}

function run(steps: number): number {
  const { opt, grads } = cell!;
  const t0 = process.hrtime.bigint();
  for (let s = 0; s < steps; s++) opt.applyGradients(grads);
  return Number(process.hrtime.bigint() - t0) / 1e9;
}

/** After a wasm failure, the heap's size tells whether wasm32's 4 GiB address space ran out. */
function wasmHeapNote(): string {
  if (backend !== 'wasm' || tf === undefined) return '';
  const heap = (tf.backend() as { wasm?: { HEAPU8?: Uint8Array } } | undefined)?.wasm?.HEAPU8?.buffer.byteLength;
  return heap ? ` (its wasm heap had grown to ${(heap / 2 ** 30).toFixed(1)} GiB; wasm32 addresses 4 GiB at most)` : '';
}

async function main(): Promise<void> {
  const lines = readline.createInterface({ input: process.stdin });
  for await (const line of lines) {
    if (!line.trim()) continue;
    const req = JSON.parse(line) as SetupRequest & { cmd: string; steps: number };
    try {
      if (req.cmd === 'info') reply(await init());
      else if (req.cmd === 'setup') reply((setup(req), {}));
      else if (req.cmd === 'run') reply({ seconds: run(req.steps) });
      else if (req.cmd === 'free') reply((free(), {}));
      else reply({ error: `unknown command ${req.cmd}` });
    } catch (e) {
      const msg = e instanceof Error ? `${e.name}: ${e.message}` : String(e);
      reply({ error: msg.split('\n')[0].slice(0, 300) + wasmHeapNote() });
    }
  }
}

void main();
