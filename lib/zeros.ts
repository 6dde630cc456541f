// zeros(): arrays for parameters and grads, laid out for fast steps.
import { currentBackend } from './backend';
import { typeError } from './errors';
import type { FloatArray, FloatDType } from './tensor';

/** From this size an array can hold a whole 2 MiB huge page. */
const HUGE_PAGE_BYTES = 2 ** 21;

/**
 * A zeroed Float32Array (or Float64Array) for a parameter or its grad. From
 * 2 MiB, on the native backend, it is allocated as simd-optim allocates its
 * own state: on a 2 MiB boundary, asking Linux for transparent huge pages
 * (`backendInfo().hugePages`), which makes steps over large tensors faster
 * where THP is on "madvise" (see the README's Benchmark section). Smaller
 * arrays, and every array on the JS backend, are `new Float32Array(length)`:
 * no huge page fits in them, and a run of small native allocations measured
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
  const bytes = length * (dtype === 'float32' ? 4 : 8);
  if (bytes < HUGE_PAGE_BYTES) return dtype === 'float32' ? new Float32Array(length) : new Float64Array(length);
  return currentBackend().allocState(dtype, length);
}
