// zeros(): arrays for parameters and grads, laid out for fast steps.
import { currentBackend } from './backend';
import { typeError } from './errors';
import type { FloatArray, FloatDType } from './tensor';

/**
 * A zeroed Float32Array (or Float64Array) for a parameter or its grad, laid
 * out the way simd-optim lays out its own state. On the native backend it is
 * 64-byte aligned, and from 2 MiB it starts on a 2 MiB boundary and asks
 * Linux for transparent huge pages (`backendInfo().hugePages`), which makes
 * steps over large tensors faster where THP is on "madvise" (see the README's
 * Benchmark section). On the JS backend it is a plain typed array.
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
  return currentBackend().allocState(dtype, length);
}
