// zeros(): arrays for parameters and grads, laid out for fast steps.
import { backendInfo, currentBackend } from './backend';
import { typeError } from './errors';
import type { FloatArray, FloatDType } from './tensor';

/** From this size an array can hold a whole 2 MiB huge page. */
const HUGE_PAGE_BYTES = 2 ** 21;

/**
 * A zeroed Float32Array (or Float64Array) for a parameter or its grad. From
 * 2 MiB, on the native backend, it is allocated as simd-optim allocates its
 * own state: on a 2 MiB boundary, asking Linux for transparent huge pages
 * (`backendInfo().hugePages`), which makes steps over large tensors faster
 * where THP is on "madvise" (see the README's Benchmark section).
 *
 * Under 4 KiB, on the native backend with external buffers, it is a view of
 * a shared 64 KiB native buffer, after the view made before it, as Node pools
 * small Buffers: a model's many small tensors then lie together in memory
 * however fragmented the heap is, and a step over a group of them measured up
 * to 10% faster (1,000 × 100, momentum+centered). Only `.buffer` is shared.
 * The buffer is external, which postMessage and structuredClone never
 * transfer (Node 20 copies it, Node 21+ throws a DataCloneError);
 * `ArrayBuffer.prototype.transfer()` can detach it (Node 21+, before
 * nodejs/node#61372), emptying every view of it: copy with slice().
 *
 * From 16 KiB up to 2 MiB, on the native backend with external buffers, it
 * starts on a 4 KiB page and is carved, one after another, from 16 MiB
 * native allocations on huge pages: arrays this size cannot hold a huge page
 * of their own, and a step over 100 tensors of 100K floats measured about 10%
 * faster with its params and grads on huge pages (20% with the state too,
 * which simd-optim lays out the same way). Each array has an ArrayBuffer of
 * its own (structuredClone copies just it); a collected array's whole pages
 * go back to the system at once, and an allocation is unmapped with the
 * last array carved from it.
 *
 * Other sizes (4 to 16 KiB), and every array on the JS backend, are
 * `new Float32Array(length)`: a run of native allocations of 16 KiB measured
 * slower (4K-float momentum+centered at about half speed: its arrays sat at
 * nearly the same page offsets, where loads wait on stores, 4K aliasing).
 */
export function zeros(length: number): Float32Array;
export function zeros(length: number, dtype: 'float32'): Float32Array;
export function zeros(length: number, dtype: 'float64'): Float64Array;
export function zeros(length: number, dtype?: FloatDType): FloatArray;
export function zeros(length: number, dtype: FloatDType = 'float32'): FloatArray {
  if (typeof length !== 'number') throw typeError('zeros length', 'a non-negative integer', length);
  if (!Number.isSafeInteger(length) || length < 0) {
    throw new RangeError(`Invalid length: ${length} (zeros length must be a non-negative integer)`);
  }
  if (dtype !== 'float32' && dtype !== 'float64') throw typeError('zeros dtype', "'float32' or 'float64'", dtype);
  try {
    return allocate(length, dtype);
  } catch (e) {
    if (!(e instanceof RangeError)) throw e;
    const bytes = length * (dtype === 'float32' ? 4 : 8);
    throw new RangeError(`Invalid length: ${length} (zeros length: ${bytes} bytes of ${dtype} cannot be allocated: ${e.message})`);
  }
}

function allocate(length: number, dtype: FloatDType): FloatArray {
  const bytes = length * (dtype === 'float32' ? 4 : 8);
  if (bytes >= HUGE_PAGE_BYTES) return currentBackend().allocState(dtype, length);
  if (bytes > 0 && poolable()) {
    if (bytes < POOLED_MAX_BYTES) return pooled(dtype, length, bytes);
    if (bytes >= ARENA_MIN_BYTES) return currentBackend().allocZeros(dtype, length);
  }
  return dtype === 'float32' ? new Float32Array(length) : new Float64Array(length);
}

/** From this size (to HUGE_PAGE_BYTES) arrays come from the native arena. */
const ARENA_MIN_BYTES = 16 * 1024;
/** Arrays under this size come from the pool. */
const POOLED_MAX_BYTES = 4 * 1024;
const POOL_BYTES = 64 * 1024;
/** Views start at multiples of this (a Float64Array needs 8). */
const POOL_ALIGN = 16;

/** The pool's current buffer (a view of all of it) and how much of it is handed out. */
let pool: Float64Array | undefined;
let poolUsed = 0;

function poolable(): boolean {
  const info = backendInfo();
  return info.backend === 'native' && info.externalBuffers;
}

/** `length` zeroed elements of `dtype` (`bytes` in all) from the pool. */
function pooled(dtype: FloatDType, length: number, bytes: number): FloatArray {
  if (pool === undefined || poolUsed + bytes > POOL_BYTES) {
    pool = currentBackend().allocState('float64', POOL_BYTES / 8) as Float64Array; // zeroed, 64-byte aligned
    poolUsed = 0;
  }
  const at = pool.byteOffset + poolUsed;
  poolUsed += Math.ceil(bytes / POOL_ALIGN) * POOL_ALIGN;
  return dtype === 'float32' ? new Float32Array(pool.buffer, at, length) : new Float64Array(pool.buffer, at, length);
}
