// zeros(): arrays for parameters and grads, laid out for fast steps.
import { backendInfo, currentBackend } from './backend';
import { typeError } from '../core/errors';
import type { FloatArray, FloatDType } from '../core/tensor';

/** From this size an array can hold a whole 2 MiB huge page. */
const HUGE_PAGE_BYTES = 2 ** 21;

/**
 * A zeroed Float32Array (or Float64Array) for a parameter or its grad, laid
 * out for fast steps on the native backend: from 2 MiB on a 2 MiB boundary
 * and advised as transparent huge pages; from 16 KiB page-aligned, carved
 * from huge-page allocations; under 4 KiB a view of a shared 64 KiB buffer,
 * so that a model's many small tensors lie together. Other sizes, and every
 * array on the JS backend, are `new Float32Array(length)`.
 *
 * Allocate parameters and grads once and reuse them. Arrays from 16 KiB up,
 * and those under 4 KiB, are external buffers, which `postMessage` and
 * `structuredClone` never transfer: Node 20 copies them, Node 21 and later
 * throw a DataCloneError. The layouts and what they gain are in
 * docs/threads-and-memory.md.
 *
 * `zeros(n)` is a Float32Array; `zeros(n, 'float64')` a Float64Array.
 *
 * @example
 * ```ts
 * const w = new Parameter(zeros(4096 * 4096), [4096, 4096]);
 * w.grad = zeros(w.numel);
 * ```
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
