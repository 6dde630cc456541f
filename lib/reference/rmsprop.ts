// RMSprop in plain JavaScript with the kernels' exact arithmetic: every
// float32 operation rounds once (Math.fround), and fma is exact (fmaf32 /
// fma64). Operation order: docs/spec/rmsprop-arithmetic.md. With its layout,
// the twin of native/kernels/rmsprop.h and rmsprop_step.h.
import type { FloatArray } from '../core/tensor';
import { fma64, fmaf32 } from './fma';
import { slots, type KernelSpec } from './kernel-spec';

/** The hyperparameter array's slots (native/kernels/rmsprop.h): Python floats, booleans as 0/1. */
export const RMSPROP_HYPER = slots(['lr', 'alpha', 'eps', 'weightDecay', 'momentum', 'centered', 'maximize', 'lerpGradAvg']);
/** The state arrays, in role order. */
export const RMSPROP_STATES = slots(['square_avg', 'momentum_buffer', 'grad_avg']);

const H = RMSPROP_HYPER;

/** RMSprop's kernels: native id 0. */
export const RMSPROP_KERNEL: KernelSpec = {
  id: 0,
  name: 'rmsprop',
  hyper: Object.keys(RMSPROP_HYPER),
  states: Object.keys(RMSPROP_STATES),
  scalars: [],
  usedStates: (h) => 1 | (h[H.momentum] > 0 ? 2 : 0) | (h[H.centered] !== 0 ? 4 : 0),
  reference(h, { p, g, states: [v, buf, gavg] }) {
    const hyper: RmspropHyper = {
      lr: h[H.lr], alpha: h[H.alpha], eps: h[H.eps], weightDecay: h[H.weightDecay], momentum: h[H.momentum],
      centered: h[H.centered] !== 0, maximize: h[H.maximize] !== 0, lerpGradAvg: h[H.lerpGradAvg] !== 0,
    };
    rmspropStep(hyper, p, g, v!, hyper.momentum > 0 ? buf : null, hyper.centered ? gavg : null);
  },
};

/** The hyperparameters of one step, decoded. */
interface RmspropHyper {
  lr: number;
  alpha: number;
  eps: number;
  weightDecay: number;
  momentum: number;
  centered: boolean;
  maximize: boolean;
  /** PyTorch 2.x's grad_avg.lerp_ (true) or 1.13's mul_().add_() (false). */
  lerpGradAvg: boolean;
}

/** One tensor, in place. buf/gavg are needed when momentum > 0 / centered. */
function rmspropStep(
  h: RmspropHyper,
  p: FloatArray,
  g: FloatArray,
  v: FloatArray,
  buf: FloatArray | null,
  gavg: FloatArray | null,
): void {
  if (p instanceof Float32Array) {
    rmsprop32(h, p, g as Float32Array, v as Float32Array, buf as Float32Array | null, gavg as Float32Array | null);
  } else {
    rmsprop64(h, p, g as Float64Array, v as Float64Array, buf as Float64Array | null, gavg as Float64Array | null);
  }
}

// Two loops, one per dtype, rather than one generic loop: each stays
// monomorphic for V8 (one array type, Math.fround or not inlined), which is
// what makes this backend a fair baseline.
function rmsprop32(
  h: RmspropHyper,
  p: Float32Array,
  g: Float32Array,
  v: Float32Array,
  buf: Float32Array | null,
  gavg: Float32Array | null,
): void {
  const f = Math.fround;
  // PyTorch rounds each Python float to float32 where it is used.
  const alpha = f(h.alpha);
  const c = f(1 - h.alpha);
  const eps = f(h.eps);
  const wd = f(h.weightDecay);
  const mom = f(h.momentum);
  const nlr = f(-h.lr);
  const lerpFromGrad = !(Math.abs(c) < 0.5);
  const lerpCoeff = lerpFromGrad ? f(c - 1) : c;
  const { maximize, centered, lerpGradAvg } = h;
  const hasWd = h.weightDecay !== 0;
  const hasMom = h.momentum > 0;
  for (let i = 0; i < p.length; i++) {
    let gi = g[i];
    const pi = p[i];
    if (maximize) gi = -gi;
    if (hasWd) gi = fmaf32(wd, pi, gi);
    const vi = fmaf32(f(c * gi), gi, f(v[i] * alpha));
    v[i] = vi;
    let avg: number;
    if (centered) {
      let ga = gavg![i];
      if (lerpGradAvg) {
        const d = f(gi - ga);
        ga = fmaf32(lerpCoeff, d, lerpFromGrad ? gi : ga);
      } else {
        ga = fmaf32(c, gi, f(ga * alpha));
      }
      gavg![i] = ga;
      avg = f(f(Math.sqrt(fmaf32(-ga, ga, vi))) + eps);
    } else {
      avg = f(f(Math.sqrt(vi)) + eps);
    }
    if (hasMom) {
      const b = f(f(buf![i] * mom) + f(gi / avg));
      buf![i] = b;
      p[i] = fmaf32(nlr, b, pi);
    } else {
      p[i] = f(pi + f(f(nlr * gi) / avg));
    }
  }
}

function rmsprop64(
  h: RmspropHyper,
  p: Float64Array,
  g: Float64Array,
  v: Float64Array,
  buf: Float64Array | null,
  gavg: Float64Array | null,
): void {
  const alpha = h.alpha;
  const c = 1 - h.alpha;
  const eps = h.eps;
  const wd = h.weightDecay;
  const mom = h.momentum;
  const nlr = -h.lr;
  const lerpFromGrad = !(Math.abs(c) < 0.5);
  const lerpCoeff = lerpFromGrad ? c - 1 : c;
  const { maximize, centered, lerpGradAvg } = h;
  const hasWd = h.weightDecay !== 0;
  const hasMom = h.momentum > 0;
  for (let i = 0; i < p.length; i++) {
    let gi = g[i];
    const pi = p[i];
    if (maximize) gi = -gi;
    if (hasWd) gi = fma64(wd, pi, gi);
    const vi = fma64(c * gi, gi, v[i] * alpha);
    v[i] = vi;
    let avg: number;
    if (centered) {
      let ga = gavg![i];
      if (lerpGradAvg) {
        ga = fma64(lerpCoeff, gi - ga, lerpFromGrad ? gi : ga);
      } else {
        ga = fma64(c, gi, ga * alpha);
      }
      gavg![i] = ga;
      avg = Math.sqrt(fma64(-ga, ga, vi)) + eps;
    } else {
      avg = Math.sqrt(vi) + eps;
    }
    if (hasMom) {
      const b = buf![i] * mom + gi / avg;
      buf![i] = b;
      p[i] = fma64(nlr, b, pi);
    } else {
      p[i] = pi + (nlr * gi) / avg;
    }
  }
}
