// How a step reaches TF.js's memory: each path points the Parameters' data
// and grads at arrays the kernels may use (prepare), and afterwards makes
// the variables hold the stepped values (commit) or lets go (abort). Each
// path says what its backend allows, and why.
import * as tf from '@tensorflow/tfjs-core';
import { sharesMemory } from '../core/optimizer';
import type { Parameter } from '../core/tensor';

/** Which path a step took: the cpu backend's arrays, the wasm heap, or dataSync/assign copies. */
export type TransferPath = 'cpu-shared' | 'wasm-heap' | 'copy';

/** One variable stepped through a Parameter. */
export interface Slot {
  readonly name: string;
  variable: tf.Variable;
  readonly param: Parameter;
  /** The array this slot gave the cpu backend, while the variable still holds it alone. */
  own: Float32Array | null;
}

/** What a path did in one step: variables stepped in their own memory, and variables copied in and out. */
export interface TransferCounts {
  /** Variables stepped in TF.js's own memory (the cpu backend's arrays, the wasm heap), with no copy of their values. */
  inPlace: number;
  /** Variables whose values were copied out, stepped, and written back. */
  copied: number;
}

/** One step's use of a path: prepare, then commit (after the step) or abort (when it threw). */
export interface Transfer {
  readonly path: TransferPath;
  prepare(slots: readonly Slot[], grads: readonly tf.Tensor[], counts: TransferCounts): void;
  commit(slots: readonly Slot[]): void;
  abort(): void;
}

/** The cpu backend's storage and its writes, as its backend_cpu.js has them. */
interface CpuBackend {
  data: { get(dataId: object): { values?: unknown; refCount: number } | undefined };
  /** Makes a tensor's data of `values`, keeping the array (kernels' outputs and tf.tensor() come this way). */
  write(values: unknown, shape: number[], dtype: string): object;
  /** Takes a tensor's data over from another backend, keeping the array. */
  move(dataId: object, values: unknown, shape: number[], dtype: string, refCount: number): void;
}

/** The engine's reads, which give a tensor's values to the app (dataSync, data, arraySync, print, io). */
interface EngineReads {
  readSync(dataId: object): unknown;
  read(dataId: object): Promise<unknown>;
}

/**
 * The buffers of the arrays this bridge gave the cpu backend (one buffer
 * each), by the dataId that holds them, and those of them seen elsewhere
 * since: handed to the app, or kept by another tensor (a contiguous slice
 * is a subarray of its input on cpu). A step writes a buffer in place only
 * while no one else can see it.
 */
const ownBuffers = new WeakSet<ArrayBufferLike>();
const ownData = new WeakMap<object, ArrayBufferLike>();
const seen = new WeakSet<ArrayBufferLike>();
const WATCHED = Symbol('simd-optim reads watched');

/** Marks the buffer of `values` as seen, if it is one of ours. */
function noteValues(values: unknown): void {
  if (ArrayBuffer.isView(values) && ownBuffers.has(values.buffer)) seen.add(values.buffer);
}

/**
 * Watches the engine's reads (what the app is given: the cpu backend hands
 * out its own array, which the app may keep or wrap in another tensor) and
 * the cpu backend's writes (a kernel's output, or a new tensor, that keeps
 * one of our arrays or a view of it). The kernels' own reads of their
 * inputs (an embedding's Gather too) are not watched: a training step does
 * not count. A read is noted before it starts, so that a pending data()
 * resolves to the values it was asked for.
 */
function watch(engine: EngineReads, backend: CpuBackend): void {
  const e = engine as EngineReads & { [WATCHED]?: true };
  if (!e[WATCHED]) {
    const { readSync, read } = e;
    const noteRead = (dataId: object) => {
      const buffer = ownData.get(dataId);
      if (buffer !== undefined) seen.add(buffer);
    };
    e.readSync = function (this: EngineReads, dataId: object): unknown {
      noteRead(dataId);
      const values = readSync.call(this, dataId);
      noteValues(values);
      return values;
    };
    e.read = function (this: EngineReads, dataId: object): Promise<unknown> {
      noteRead(dataId);
      return read.call(this, dataId).then((values) => (noteValues(values), values));
    };
    e[WATCHED] = true;
  }
  const b = backend as CpuBackend & { [WATCHED]?: true };
  if (!b[WATCHED]) {
    const { write, move } = b;
    b.write = function (this: CpuBackend, values, shape, dtype) {
      noteValues(values);
      return write.call(this, values, shape, dtype);
    };
    b.move = function (this: CpuBackend, dataId, values, shape, dtype, refCount) {
      noteValues(values);
      return move.call(this, dataId, values, shape, dtype, refCount);
    };
    b[WATCHED] = true;
  }
}

/** The wasm backend's storage, as its backend_wasm.js keeps it. */
interface WasmBackend {
  wasm: { HEAPU8: Uint8Array };
  dataIdMap: { get(dataId: object): { memoryOffset: number | null } | undefined };
}

/** The dataId of a tensor (internal to TF.js, but stable across 4.x). */
const dataIdOf = (t: tf.Tensor): object => (t as unknown as { dataId: object }).dataId;

/** The grad's values as the kernels read them: its own array unless it overlaps the data (on wasm all share one heap). */
function gradArray(values: Float32Array, data: Float32Array): Float32Array {
  return sharesMemory(values, data) ? values.slice() : values;
}

/**
 * cpu: each variable holds an array this bridge made, stepped in place
 * while the backend's `values` is still that array, nothing else holds it
 * (refCount 1) and no one has seen it (watch). Otherwise (first step,
 * setWeights, a clone sharing the data, a dataSync, a slice) the values are
 * copied, stepped, and the copy is assigned and adopted.
 */
class CpuShared implements Transfer {
  readonly path = 'cpu-shared' as const;
  private adopt: boolean[] = [];
  constructor(private readonly backend: CpuBackend) {
    watch(tf.engine() as unknown as EngineReads, backend);
  }

  prepare(slots: readonly Slot[], grads: readonly tf.Tensor[], counts: TransferCounts): void {
    const data = this.backend.data;
    this.adopt = slots.map((slot, i) => {
      // Data still on another backend (the app switched) is read through the engine, which moves it.
      const info = data.get(dataIdOf(slot.variable));
      const own = info !== undefined && slot.own !== null && info.values === slot.own && info.refCount === 1 && !seen.has(slot.own.buffer);
      slot.param.data = own ? slot.own! : (slot.variable.dataSync() as Float32Array).slice();
      const g = (data.get(dataIdOf(grads[i]))?.values ?? grads[i].dataSync()) as Float32Array;
      slot.param.grad = gradArray(g, slot.param.data as Float32Array);
      if (own) counts.inPlace++;
      else counts.copied++;
      return !own;
    });
  }

  commit(slots: readonly Slot[]): void {
    const data = this.backend.data;
    slots.forEach((slot, i) => {
      if (!this.adopt[i]) return;
      const values = slot.param.data as Float32Array;
      const t = tf.tensor(values, slot.variable.shape, 'float32'); // the cpu backend keeps this array
      slot.variable.assign(t);
      t.dispose();
      const dataId = dataIdOf(slot.variable);
      const info = data.get(dataId)!;
      slot.own = info.values === values && info.refCount === 1 && values.byteLength === values.buffer.byteLength ? values : null;
      if (slot.own !== null) {
        ownBuffers.add(values.buffer);
        ownData.set(dataId, values.buffer);
      }
    });
  }

  abort(): void {}
}

/**
 * wasm: never in place (its matMul caches packed weights per tensor id).
 * Each variable is cloned (a copy with a new id), the clone is stepped in
 * the heap, then assigned. Views are made after every clone, as a growing
 * heap replaces its buffer.
 */
class WasmHeap implements Transfer {
  readonly path = 'wasm-heap' as const;
  private clones: tf.Tensor[] = [];
  constructor(private readonly backend: WasmBackend) {}

  prepare(slots: readonly Slot[], grads: readonly tf.Tensor[], counts: TransferCounts): void {
    this.clones = slots.map((slot) => tf.clone(slot.variable));
    const heap = this.backend.wasm.HEAPU8.buffer;
    // A tensor's values in the heap, or undefined where another backend holds it.
    const view = (t: tf.Tensor) => {
      const offset = this.backend.dataIdMap.get(dataIdOf(t))?.memoryOffset;
      return offset == null ? undefined : new Float32Array(heap, offset, t.size);
    };
    slots.forEach((slot, i) => {
      const data = view(this.clones[i]);
      if (data === undefined || dataIdOf(this.clones[i]) === dataIdOf(slot.variable)) throw new Error('tf.clone did not copy into the wasm heap');
      slot.param.data = data;
      // Gradients still held by another backend (the app switched since) are read through the engine.
      slot.param.grad = gradArray(view(grads[i]) ?? (grads[i].dataSync() as Float32Array), data);
      counts.copied++;
    });
  }

  commit(slots: readonly Slot[]): void {
    slots.forEach((slot, i) => slot.variable.assign(this.clones[i]));
    this.abort();
  }

  abort(): void {
    for (const c of this.clones) c.dispose();
    this.clones = [];
  }
}

/** Any backend: dataSync copies in, a new tensor assigned out (which the backend takes over). */
class Copy implements Transfer {
  readonly path = 'copy' as const;

  prepare(slots: readonly Slot[], grads: readonly tf.Tensor[], counts: TransferCounts): void {
    slots.forEach((slot, i) => {
      slot.param.data = (slot.variable.dataSync() as Float32Array).slice();
      slot.param.grad = gradArray(grads[i].dataSync() as Float32Array, slot.param.data as Float32Array);
      counts.copied++;
    });
  }

  commit(slots: readonly Slot[]): void {
    for (const slot of slots) {
      // A backend may keep the array given (cpu does): it is TF.js's now, and the next step copies afresh.
      const t = tf.tensor(slot.param.data as Float32Array, slot.variable.shape, 'float32');
      slot.variable.assign(t);
      t.dispose();
      slot.own = null;
    }
  }

  abort(): void {}
}

/** The path for the current backend: its memory where it is known to be safe to reach, else copies. */
export function transferFor(mode: 'auto' | 'copy'): Transfer {
  const name = tf.getBackend();
  const backend = tf.backend() as unknown as Partial<CpuBackend & WasmBackend>;
  if (mode === 'auto' && name === 'cpu' && typeof backend.data?.get === 'function' && typeof backend.write === 'function' && typeof backend.move === 'function') {
    return new CpuShared(backend as CpuBackend);
  }
  if (mode === 'auto' && name === 'wasm' && backend.wasm?.HEAPU8 !== undefined && typeof backend.dataIdMap?.get === 'function') {
    // The threaded build's heap is a SharedArrayBuffer, which the kernels refuse.
    const shared = typeof SharedArrayBuffer !== 'undefined' && backend.wasm.HEAPU8.buffer instanceof SharedArrayBuffer;
    if (!shared) return new WasmHeap(backend as WasmBackend);
  }
  return new Copy();
}
