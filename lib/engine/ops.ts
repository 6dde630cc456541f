// In-place elementwise ops with PyTorch's CPU arithmetic (the same fused
// multiply-adds and roundings), native where the addon is loaded. With them a
// custom optimizer written like PyTorch's tutorial gives the bits of the
// built-in one: see examples/custom-rmsprop.ts.
import { currentBackend } from './backend';
import { typeError } from '../core/errors';
import { checkUsableMemory, isFloatArray, type FloatArray } from '../core/tensor';

/** Op codes of binding.d.ts `elementwise`. */
const Op = { mulScalar: 0, mul: 1, add: 2, addScalar: 3, addcmul: 4, addcdiv: 5, sqrt: 6, lerp: 7 } as const;

function checkTarget(name: string, a: unknown): FloatArray {
  if (!isFloatArray(a)) throw typeError(name, 'a Float32Array or Float64Array', a);
  checkUsableMemory(name, a);
  return a;
}

function checkOperand(op: string, name: string, a: FloatArray, t: unknown): FloatArray {
  if (!isFloatArray(t) || t.constructor !== a.constructor || t.length !== a.length) {
    throw typeError(`${op} ${name}`, `a ${a.constructor.name} of length ${a.length} (like the tensor it updates)`, t);
  }
  checkUsableMemory(`${op} ${name}`, t);
  // The same memory is fine (x.mul_(x) reads each element before writing it), through any view; shifted is not.
  const shift = t.byteOffset - a.byteOffset;
  if (t.buffer === a.buffer && shift !== 0 && Math.abs(shift) < a.byteLength) {
    throw new RangeError(`${op} ${name} and ${op} a overlap, ${Math.abs(shift)} bytes apart (the same array, or arrays apart, are fine)`);
  }
  return t;
}

function checkScalar(op: string, name: string, s: unknown): number {
  if (typeof s !== 'number') throw typeError(`${op} ${name}`, 'a number', s);
  return s;
}

function run(op: number, a: FloatArray, b: FloatArray | null, c: FloatArray | null, s1: number, s2 = 0): FloatArray {
  currentBackend().elementwise(op, a, b, c, s1, s2);
  return a;
}

/**
 * In-place elementwise ops with PyTorch's CPU arithmetic: the same fused
 * multiply-adds and roundings as ATen's kernels, so that an optimizer written
 * with them gives PyTorch's bits (docs/custom-optimizers.md). Each checks its
 * arguments and returns the tensor it updated. Native where the addon loaded.
 */
export const ops = {
  /** `a.mul_(other)`: a *= other (a number or a tensor). Returns a. */
  mul_(a: FloatArray, other: number | FloatArray): FloatArray {
    checkTarget('mul_ a', a);
    return typeof other === 'number' ? run(Op.mulScalar, a, null, null, other) : run(Op.mul, a, checkOperand('mul_', 'other', a, other), null, 0);
  },

  /** `a.add_(other, alpha=alpha)`: a += alpha * other, fused as PyTorch does. Returns a. */
  add_(a: FloatArray, other: number | FloatArray, alpha = 1): FloatArray {
    checkTarget('add_ a', a);
    checkScalar('add_', 'alpha', alpha);
    return typeof other === 'number'
      ? run(Op.addScalar, a, null, null, other, alpha)
      : run(Op.add, a, checkOperand('add_', 'other', a, other), null, alpha);
  },

  /** `a.addcmul_(t1, t2, value=value)`: a += value * t1 * t2 (one rounding for the last step). Returns a. */
  addcmul_(a: FloatArray, t1: FloatArray, t2: FloatArray, value = 1): FloatArray {
    checkTarget('addcmul_ a', a);
    return run(Op.addcmul, a, checkOperand('addcmul_', 't1', a, t1), checkOperand('addcmul_', 't2', a, t2), checkScalar('addcmul_', 'value', value));
  },

  /** `a.addcdiv_(t1, t2, value=value)`: a += value * t1 / t2. Returns a. */
  addcdiv_(a: FloatArray, t1: FloatArray, t2: FloatArray, value = 1): FloatArray {
    checkTarget('addcdiv_ a', a);
    return run(Op.addcdiv, a, checkOperand('addcdiv_', 't1', a, t1), checkOperand('addcdiv_', 't2', a, t2), checkScalar('addcdiv_', 'value', value));
  },

  /** `torch.sqrt(a, out=out)`: a new array (or `out`) holding √a. */
  sqrt<A extends FloatArray>(a: A, out?: A): A {
    checkTarget('sqrt a', a);
    const target = out === undefined ? (a.slice() as A) : (checkOperand('sqrt', 'out', a, out) as A);
    run(Op.sqrt, target, a, null, 0);
    return target;
  },

  /** `a.sqrt_()`. Returns a. */
  sqrt_(a: FloatArray): FloatArray {
    checkTarget('sqrt_ a', a);
    return run(Op.sqrt, a, a, null, 0);
  },

  /** `a.lerp_(end, weight)`: a + weight * (end - a), with ATen's two formulas. Returns a. */
  lerp_(a: FloatArray, end: FloatArray, weight: number): FloatArray {
    checkTarget('lerp_ a', a);
    return run(Op.lerp, a, checkOperand('lerp_', 'end', a, end), null, checkScalar('lerp_', 'weight', weight));
  },

  /** `a.zero_()`. Returns a. */
  zero_(a: FloatArray): FloatArray {
    return checkTarget('zero_ a', a).fill(0);
  },

  /** `a.copy_(src)`: src's values into a (cast to a's dtype, rounding to nearest). Returns a. */
  copy_(a: FloatArray, src: FloatArray): FloatArray {
    checkTarget('copy_ a', a);
    if (!isFloatArray(src) || src.length !== a.length) {
      throw typeError('copy_ src', `a Float32Array or Float64Array of length ${a.length}`, src);
    }
    a.set(src);
    return a;
  },
};

