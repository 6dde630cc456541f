// Adam and AdamW in plain JavaScript with the kernels' exact arithmetic:
// every float32 operation rounds once (Math.fround), and fma is exact.
// Operation order: docs/spec/adam-arithmetic.md. With its layout, the twin
// of native/kernels/adam.h and adam_step.h.
import type { FloatArray } from '../core/tensor';
import { fma64, fmaf32 } from './fma';
import { slots, type KernelSpec } from './kernel-spec';

/** The hyperparameter array's slots (native/kernels/adam.h): Python floats, booleans as 0/1. */
export const ADAM_HYPER = slots(['lr', 'beta1', 'beta2', 'eps', 'weightDecay', 'amsgrad', 'maximize', 'decoupled', 'lerpExpAvg']);
/** Each tensor's scalars, in double from its own step count t: lr / (1 - b1^t), and (1 - b2^t)^0.5. */
export const ADAM_SCALARS = slots(['stepSize', 'bc2Sqrt']);

const H = ADAM_HYPER;

/** Adam's kernels (AdamW's too, with `decoupled`): native id 3. */
export const ADAM_KERNEL: KernelSpec = {
  id: 3,
  name: 'adam',
  hyper: Object.keys(ADAM_HYPER),
  states: ['exp_avg', 'exp_avg_sq', 'max_exp_avg_sq'],
  scalars: Object.keys(ADAM_SCALARS),
  usedStates: (h) => 3 | (h[H.amsgrad] !== 0 ? 4 : 0),
  reference(h, { p, g, states: [m, v, vmax], scalars }) {
    const step = p instanceof Float32Array ? adam32 : adam64;
    step(h, scalars[ADAM_SCALARS.stepSize], scalars[ADAM_SCALARS.bc2Sqrt], p, g, m!, v!, h[H.amsgrad] !== 0 ? vmax : null);
  },
};

type Step = (h: Float64Array, stepSize: number, bc2Sqrt: number, p: FloatArray, g: FloatArray, m: FloatArray, v: FloatArray,
  vmax: FloatArray | null) => void;

/** torch.maximum: NaN if either is NaN. */
const maximum = (a: number, b: number): number => (a !== a || b !== b ? NaN : a > b ? a : b);

// One loop per dtype, each monomorphic for V8 (see rmsprop.ts).
const adam32: Step = (h, stepSize, bc2Sqrt, p, g, m, v, vmax) => {
  const f = Math.fround;
  const b1 = f(h[H.beta1]);
  const w = f(1 - h[H.beta1]); // lerp's weight, and 1.13's factor of g
  const b2 = f(h[H.beta2]);
  const omb2 = f(1 - h[H.beta2]);
  const eps = f(h[H.eps]);
  const wd = f(h[H.weightDecay]);
  const decay = f(1 - h[H.lr] * h[H.weightDecay]);
  const decoupled = h[H.decoupled] !== 0 && h[H.weightDecay] !== 0;
  const coupled = h[H.decoupled] === 0 && h[H.weightDecay] !== 0;
  const lerp = h[H.lerpExpAvg] !== 0;
  const fromGrad = !(Math.abs(w) < 0.5);
  const lerpCoeff = fromGrad ? f(w - 1) : w;
  const maximize = h[H.maximize] !== 0;
  const nss = f(-stepSize);
  const bc2 = f(bc2Sqrt);
  for (let i = 0; i < p.length; i++) {
    let gi = maximize ? -g[i] : g[i];
    let pi = p[i];
    if (decoupled) pi = f(pi * decay);
    else if (coupled) gi = fmaf32(wd, pi, gi);
    let mi = m[i];
    mi = lerp ? fmaf32(lerpCoeff, f(gi - mi), fromGrad ? gi : mi) : fmaf32(w, gi, f(mi * b1));
    m[i] = mi;
    const vi = fmaf32(f(omb2 * gi), gi, f(v[i] * b2));
    v[i] = vi;
    let s = vi;
    if (vmax !== null) s = vmax[i] = maximum(vmax[i], vi);
    const denom = f(f(f(Math.sqrt(s)) / bc2) + eps);
    p[i] = f(pi + f(f(nss * mi) / denom));
  }
};

const adam64: Step = (h, stepSize, bc2Sqrt, p, g, m, v, vmax) => {
  const b1 = h[H.beta1];
  const w = 1 - h[H.beta1];
  const b2 = h[H.beta2];
  const omb2 = 1 - h[H.beta2];
  const eps = h[H.eps];
  const wd = h[H.weightDecay];
  const decay = 1 - h[H.lr] * h[H.weightDecay];
  const decoupled = h[H.decoupled] !== 0 && wd !== 0;
  const coupled = h[H.decoupled] === 0 && wd !== 0;
  const lerp = h[H.lerpExpAvg] !== 0;
  const fromGrad = !(Math.abs(w) < 0.5);
  const lerpCoeff = fromGrad ? w - 1 : w;
  const maximize = h[H.maximize] !== 0;
  const nss = -stepSize;
  for (let i = 0; i < p.length; i++) {
    let gi = maximize ? -g[i] : g[i];
    let pi = p[i];
    if (decoupled) pi = pi * decay;
    else if (coupled) gi = fma64(wd, pi, gi);
    let mi = m[i];
    mi = lerp ? fma64(lerpCoeff, gi - mi, fromGrad ? gi : mi) : fma64(w, gi, mi * b1);
    m[i] = mi;
    const vi = fma64(omb2 * gi, gi, v[i] * b2);
    v[i] = vi;
    let s = vi;
    if (vmax !== null) s = vmax[i] = maximum(vmax[i], vi);
    const denom = Math.sqrt(s) / bc2Sqrt + eps;
    p[i] = pi + (nss * mi) / denom;
  }
};
