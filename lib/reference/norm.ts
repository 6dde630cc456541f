// The gradient norm's reduction in plain JavaScript, in the native kernels'
// order (native/kernels/norm.h): blocks of 4096 elements of one array,
// element k of a block in lane k mod 16, each lane summed in double in
// element order, the lanes joined in a fixed tree, the blocks added in
// order. So the norm is the same on every backend, ISA and thread count.
import type { FloatArray } from '../core/tensor';

/** Which reduction (binding.d.ts `listNorm`). */
export const NormKind = { l1: 0, l2: 1, linf: 2, lp: 3 } as const;

const BLOCK = 4096;
const LANES = 16;

/** max for the ∞-norm: NaN if either is NaN. */
const maxNaN = (a: number, b: number): number => (a !== a || b !== b ? a + b : b > a ? b : a);

function block(kind: number, x: FloatArray, begin: number, end: number, p: number, pow: (x: number, y: number) => number): number {
  const lanes = new Float64Array(LANES);
  for (let i = begin; i < end; i++) {
    const l = (i - begin) % LANES;
    const v = x[i];
    if (kind === NormKind.l1) lanes[l] += Math.abs(v);
    else if (kind === NormKind.l2) lanes[l] += v * v;
    else if (kind === NormKind.lp) lanes[l] += pow(Math.abs(v), p);
    else lanes[l] = maxNaN(lanes[l], Math.abs(v));
  }
  for (let s = LANES / 2; s >= 1; s /= 2) {
    for (let l = 0; l < s; l++) lanes[l] = kind === NormKind.linf ? maxNaN(lanes[l], lanes[l + s]) : lanes[l] + lanes[l + s];
  }
  return lanes[0];
}

/** binding.d.ts `listNorm`, with `pow` for |x|^p. */
export function listNorm(arrays: FloatArray[], kind: number, p: number, pow: (x: number, y: number) => number): number {
  let result = 0;
  for (const x of arrays) {
    for (let begin = 0; begin < x.length; begin += BLOCK) {
      const v = block(kind, x, begin, Math.min(x.length, begin + BLOCK), p, pow);
      result = kind === NormKind.linf ? maxNaN(result, v) : result + v;
    }
  }
  return result;
}
