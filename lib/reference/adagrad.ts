// Adagrad in plain JavaScript with the kernels' exact arithmetic (Math.fround
// after every float32 operation, exact fma). Operation order:
// docs/spec/adagrad-arithmetic.md. With its layout, the twin of
// native/kernels/adagrad.h and adagrad_step.h.
import type { FloatArray } from '../core/tensor';
import { fma64, fmaf32 } from './fma';
import { slots, type KernelSpec } from './kernel-spec';

/** The hyperparameter array's slots (native/kernels/adagrad.h). */
export const ADAGRAD_HYPER = slots(['eps', 'weightDecay', 'maximize']);
/** Each tensor's scalars: its learning rate for this step, lr / (1 + (step - 1) * lr_decay), in double. */
export const ADAGRAD_SCALARS = slots(['clr']);

const H = ADAGRAD_HYPER;

/** Adagrad's kernels: native id 1. */
export const ADAGRAD_KERNEL: KernelSpec = {
  id: 1,
  name: 'adagrad',
  hyper: Object.keys(ADAGRAD_HYPER),
  states: ['sum'],
  scalars: Object.keys(ADAGRAD_SCALARS),
  usedStates: () => 1,
  reference(h, { p, g, states: [sum], scalars }) {
    adagradStep(scalars[ADAGRAD_SCALARS.clr], h[H.eps], h[H.weightDecay], h[H.maximize] !== 0, p, g, sum!);
  },
};

/** One tensor, in place: p and sum. */
function adagradStep(clr: number, eps: number, weightDecay: number, maximize: boolean, p: FloatArray, g: FloatArray, sum: FloatArray): void {
  const f = p instanceof Float32Array ? Math.fround : (x: number) => x;
  const fma = p instanceof Float32Array ? fmaf32 : fma64;
  const nclr = f(-clr);
  const epsT = f(eps);
  const wd = f(weightDecay);
  const hasWd = weightDecay !== 0;
  for (let i = 0; i < p.length; i++) {
    let gi = g[i];
    const pi = p[i];
    if (maximize) gi = -gi;
    if (hasWd) gi = fma(wd, pi, gi);
    const s = fma(gi, gi, sum[i]);
    sum[i] = s;
    const std = f(f(Math.sqrt(s)) + epsT);
    p[i] = f(pi + f(f(nclr * gi) / std));
  }
}
