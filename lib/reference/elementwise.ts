// The elementwise ops of lib/ops.ts in plain JavaScript, with the native
// kernels' (and PyTorch's) arithmetic: one rounding per operation, exact fma.
// Op codes and meanings: binding.d.ts `elementwise`.
import type { FloatArray } from '../core/tensor';
import { fma64, fmaf32 } from './fma';

export function elementwise(op: number, a: FloatArray, b: FloatArray | null, c: FloatArray | null, s1: number, s2: number): void {
  const f32 = a instanceof Float32Array;
  const r = f32 ? Math.fround : (x: number) => x;
  const fma = f32 ? fmaf32 : fma64;
  const x = r(s1);
  const y = r(s2);
  const n = a.length;
  switch (op) {
    case 0:
      for (let i = 0; i < n; i++) a[i] = r(a[i] * x);
      return;
    case 1:
      for (let i = 0; i < n; i++) a[i] = r(a[i] * b![i]);
      return;
    case 2:
      for (let i = 0; i < n; i++) a[i] = fma(x, b![i], a[i]);
      return;
    case 3:
      for (let i = 0; i < n; i++) a[i] = fma(y, x, a[i]);
      return;
    case 4:
      for (let i = 0; i < n; i++) a[i] = fma(r(x * b![i]), c![i], a[i]);
      return;
    case 5:
      for (let i = 0; i < n; i++) a[i] = r(a[i] + r(r(x * b![i]) / c![i]));
      return;
    case 6:
      for (let i = 0; i < n; i++) a[i] = r(Math.sqrt(b![i]));
      return;
    case 7: {
      const small = Math.abs(x) < 0.5;
      const coeff = small ? x : r(x - 1);
      for (let i = 0; i < n; i++) {
        const d = r(b![i] - a[i]);
        a[i] = fma(coeff, d, small ? a[i] : b![i]);
      }
      return;
    }
    case 8:
      // x < 0 < y. A NaN is left as it is: Math.max would return V8's own NaN, of another sign.
      for (let i = 0; i < n; i++) if (a[i] === a[i]) a[i] = Math.min(Math.max(a[i], x), y);
      return;
    default:
      throw new RangeError(`elementwise: unknown op ${op}`);
  }
}
