// Gradient clipping, as torch.nn.utils.clip_grad_norm_ and clip_grad_value_:
// the total norm over every grad (native, vectorised, on threads, in a fixed
// order: the same on every backend, ISA and thread count), then PyTorch's
// clip coefficient in its operation order, multiplied into each grad.
import { currentBackend, libm, NormKind } from '../engine/backend';
import { typeError } from '../core/errors';
import { checkOptions, checkThreads } from './scheduler';
import { sharesMemory } from '../core/optimizer';
import { isFloatArray, memoryProblem, Parameter, type FloatArray } from '../core/tensor';

/** Options of {@link clipGradNorm} and {@link getTotalNorm}. */
export interface ClipGradNormOptions {
  /** The norm's order: 2 (default), 1, any p > 0, or Infinity (the largest |g|). */
  normType?: number;
  /** Throw if the total norm is NaN or infinite, before any grad changes (default false: clip anyway, as PyTorch). */
  errorIfNonfinite?: boolean;
  /** Threads for the native backend (0 or absent: the default, SIMD_OPTIM_THREADS or the hardware's). */
  threads?: number;
}

/** Options of {@link clipGradValue}. */
export interface ClipGradValueOptions {
  /** Threads for the native backend (0 or absent: the default). */
  threads?: number;
}

const ELEMENTWISE = { mulScalar: 0, clamp: 8 } as const;

/** The grads of `params` that are set, checked: float arrays of their params' length, in usable memory, not sharing memory. */
function gradsOf(params: unknown, owner: string): FloatArray[] {
  const list = params instanceof Parameter ? [params] : iterable(params) ? Array.from(params as Iterable<unknown>) : undefined;
  if (list === undefined) throw typeError(`${owner} params`, 'a Parameter or an array of Parameters', params);
  const grads: FloatArray[] = [];
  const where: string[] = [];
  list.forEach((p, i) => {
    if (!(p instanceof Parameter)) throw typeError(`${owner} params[${i}]`, 'a Parameter', p);
    if (p.grad === null) return;
    checkArray(`${owner} params[${i}].grad`, p.grad);
    if (p.grad.length !== p.numel) throw new RangeError(`${owner} params[${i}].grad has ${p.grad.length} elements, its parameter ${p.numel}`);
    grads.push(p.grad);
    where.push(`params[${i}].grad`);
  });
  checkDisjoint(owner, grads, where);
  return grads;
}

function iterable(x: unknown): boolean {
  return x !== null && typeof x === 'object' && Symbol.iterator in x;
}

function checkArray(where: string, a: unknown): asserts a is FloatArray {
  if (!isFloatArray(a)) throw typeError(where, 'a Float32Array or Float64Array', a);
  const problem = memoryProblem(a);
  if (problem !== undefined) throw new TypeError(`${where} ${problem}`);
}

/** Grads are scaled in place, on threads: two sharing memory would be scaled twice, or raced. */
function checkDisjoint(owner: string, arrays: FloatArray[], where: string[]): void {
  // Grouped by buffer, then by offset: only neighbours within a buffer can overlap.
  const byBuffer = new Map<ArrayBufferLike, number[]>();
  arrays.forEach((a, i) => {
    if (a.length === 0) return;
    const list = byBuffer.get(a.buffer) ?? [];
    list.push(i);
    byBuffer.set(a.buffer, list);
  });
  for (const list of byBuffer.values()) {
    list.sort((i, j) => arrays[i].byteOffset - arrays[j].byteOffset);
    for (let k = 1; k < list.length; k++) {
      if (sharesMemory(arrays[list[k - 1]], arrays[list[k]])) {
        throw new RangeError(`${owner}: ${where[list[k - 1]]} and ${where[list[k]]} share memory`);
      }
    }
  }
}

/** The norm's order, checked: 1, 2, any p > 0, or Infinity. */
function checkNormType(owner: string, normType: unknown): number {
  if (typeof normType !== 'number' || !(normType > 0)) {
    throw typeError(`${owner} normType`, 'a number > 0, or Infinity', normType);
  }
  return normType;
}

/**
 * The total norm of `grads`, as one vector, rounded to their dtype (float64
 * if any is float64): the norm PyTorch's clip_grad_norm_ returns, computed
 * in double in a fixed order, so at least as close to the exact norm as
 * PyTorch's (docs/clipping.md measures both).
 */
function totalNorm(grads: FloatArray[], normType: number, threads: number): number {
  const f64 = grads.some((g) => g instanceof Float64Array);
  const round = f64 ? (x: number) => x : Math.fround;
  if (grads.length === 0) return 0;
  const backend = currentBackend();
  let norm: number;
  if (normType === Infinity) norm = backend.listNorm(grads, NormKind.linf, 0, threads) + 0; // + 0: no -0
  else if (normType === 1) norm = backend.listNorm(grads, NormKind.l1, 1, threads);
  else if (normType === 2) norm = Math.sqrt(backend.listNorm(grads, NormKind.l2, 2, threads));
  else norm = libm.pow(backend.listNorm(grads, NormKind.lp, normType, threads), 1 / normType);
  return round(norm);
}

function nonfiniteError(normType: number): Error {
  return new RangeError(
    `The total norm of order ${normType} for gradients from \`parameters\` is non-finite, so it cannot be clipped. ` +
      'To disable this error and scale the gradients by the non-finite norm anyway, set errorIfNonfinite: false',
  );
}

/**
 * The total norm of the arrays, as one vector: PyTorch's
 * `torch.nn.utils.get_total_norm`. Rounded to their dtype.
 *
 * @example
 * ```ts
 * const norm = getTotalNorm(params.map((p) => p.grad!));
 * ```
 */
export function getTotalNorm(tensors: Iterable<FloatArray>, options: ClipGradNormOptions = {}): number {
  const owner = 'getTotalNorm';
  const o = checkOptions(owner, options, ['normType', 'errorIfNonfinite', 'threads']);
  if (!iterable(tensors)) throw typeError(`${owner} tensors`, 'an array of Float32Array or Float64Array', tensors);
  const arrays = Array.from(tensors);
  arrays.forEach((a, i) => checkArray(`${owner} tensors[${i}]`, a));
  const normType = checkNormType(owner, o.normType ?? 2);
  const norm = totalNorm(arrays, normType, checkThreads(owner, o.threads));
  if (o.errorIfNonfinite === true && !Number.isFinite(norm)) throw nonfiniteError(normType);
  return norm;
}

/**
 * The factor clip_grad_norm_ scales the grads by: PyTorch's
 * `(max_norm / (total_norm + 1e-6)).clamp(max=1)`, in the dtype of the norm
 * and PyTorch's order (a reciprocal, then a product), which a plain division
 * does not match on about one input in ten.
 */
export function clipCoefficient(maxNorm: number, totalNorm: number, dtype: 'float32' | 'float64'): number {
  if (dtype === 'float32') {
    const coef = Math.fround(Math.fround(1 / Math.fround(totalNorm + Math.fround(1e-6))) * Math.fround(maxNorm));
    return coef > 1 ? 1 : coef;
  }
  const coef = (1 / (totalNorm + 1e-6)) * maxNorm;
  return coef > 1 ? 1 : coef;
}

function checkMaxNorm(owner: string, maxNorm: unknown): number {
  if (typeof maxNorm !== 'number' || !(maxNorm >= 0)) throw typeError(`${owner} maxNorm`, 'a number >= 0 (Infinity: no clipping)', maxNorm);
  return maxNorm;
}

/**
 * Scales the grads of `params` by the clip coefficient of `totalNorm`:
 * PyTorch's `torch.nn.utils.clip_grads_with_norm_`. Given PyTorch's
 * total_norm, the grads come out as PyTorch's, bit for bit.
 */
export function clipGradsWithNorm(params: Iterable<Parameter> | Parameter, maxNorm: number, totalNorm: number, options: ClipGradValueOptions = {}): void {
  const owner = 'clipGradsWithNorm';
  const o = checkOptions(owner, options, ['threads']);
  const grads = gradsOf(params, owner);
  checkMaxNorm(owner, maxNorm);
  if (typeof totalNorm !== 'number') throw typeError(`${owner} totalNorm`, 'a number', totalNorm);
  scale(grads, maxNorm, totalNorm, checkThreads(owner, o.threads));
}

function scale(grads: FloatArray[], maxNorm: number, norm: number, threads: number): void {
  if (grads.length === 0) return;
  const dtype = grads.some((g) => g instanceof Float64Array) ? 'float64' : 'float32';
  const coef = clipCoefficient(maxNorm, norm, dtype);
  // PyTorch multiplies by a clamped 1 too; x * 1 is x, so that pass is skipped.
  if (coef !== 1) currentBackend().mapList(ELEMENTWISE.mulScalar, grads, null, coef, 0, threads);
}

/**
 * Clips the grads of `params` in place so that their total norm is at most
 * `maxNorm`, and returns the total norm before clipping, as PyTorch's
 * `torch.nn.utils.clip_grad_norm_`. Params without a grad are skipped.
 *
 * @example
 * ```ts
 * opt.zeroGrad();
 * // ... backward: each p.grad
 * const norm = clipGradNorm(params, 1.0);
 * opt.step();
 * ```
 */
export function clipGradNorm(params: Iterable<Parameter> | Parameter, maxNorm: number, options: ClipGradNormOptions = {}): number {
  const owner = 'clipGradNorm';
  const o = checkOptions(owner, options, ['normType', 'errorIfNonfinite', 'threads']);
  const grads = gradsOf(params, owner);
  checkMaxNorm(owner, maxNorm);
  const normType = checkNormType(owner, o.normType ?? 2);
  if (o.errorIfNonfinite !== undefined && typeof o.errorIfNonfinite !== 'boolean') {
    throw typeError(`${owner} errorIfNonfinite`, 'a boolean', o.errorIfNonfinite);
  }
  const threads = checkThreads(owner, o.threads);
  const norm = totalNorm(grads, normType, threads);
  if (o.errorIfNonfinite === true && !Number.isFinite(norm)) throw nonfiniteError(normType);
  scale(grads, maxNorm, norm, threads);
  return norm;
}

/**
 * Clamps every grad of `params` to [-clipValue, clipValue] in place, as
 * PyTorch's `torch.nn.utils.clip_grad_value_`. NaN stays NaN.
 *
 * @example
 * ```ts
 * clipGradValue(params, 0.5);
 * ```
 */
export function clipGradValue(params: Iterable<Parameter> | Parameter, clipValue: number, options: ClipGradValueOptions = {}): void {
  const owner = 'clipGradValue';
  const o = checkOptions(owner, options, ['threads']);
  const grads = gradsOf(params, owner);
  // 0 would make every grad ±0, with signs PyTorch itself leaves to the code path.
  if (typeof clipValue !== 'number' || !(clipValue > 0)) throw typeError(`${owner} clipValue`, 'a number > 0', clipValue);
  if (grads.length === 0 || clipValue === Infinity) return;
  currentBackend().mapList(ELEMENTWISE.clamp, grads, null, -clipValue, clipValue, checkThreads(owner, o.threads));
}
