// Adagrad in plain JavaScript with the kernels' exact arithmetic (Math.fround
// after every float32 operation, exact fma). Operation order:
// docs/spec/adagrad-arithmetic.md.
import type { FloatArray } from '../tensor';
import { fma64, fmaf32 } from './fma';

export interface AdagradHyper {
  /** This tensor's learning rate for this step: lr / (1 + (step - 1) * lr_decay), in double. */
  clr: number;
  eps: number;
  weightDecay: number;
  maximize: boolean;
}

/** One tensor, in place: p and sum. */
export function adagradStep(h: AdagradHyper, p: FloatArray, g: FloatArray, sum: FloatArray): void {
  const f = p instanceof Float32Array ? Math.fround : (x: number) => x;
  const fma = p instanceof Float32Array ? fmaf32 : fma64;
  const nclr = f(-h.clr);
  const eps = f(h.eps);
  const wd = f(h.weightDecay);
  const hasWd = h.weightDecay !== 0;
  for (let i = 0; i < p.length; i++) {
    let gi = g[i];
    const pi = p[i];
    if (h.maximize) gi = -gi;
    if (hasWd) gi = fma(wd, pi, gi);
    const s = fma(gi, gi, sum[i]);
    sum[i] = s;
    const std = f(f(Math.sqrt(s)) + eps);
    p[i] = f(pi + f(f(nclr * gi) / std));
  }
}
