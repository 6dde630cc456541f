// SGD in plain JavaScript with the kernels' exact arithmetic: every float32
// operation rounds once (Math.fround), and fma is exact. Operation order:
// docs/spec/sgd-arithmetic.md. With its layout, the twin of
// native/kernels/sgd.h and sgd_step.h.
import type { FloatArray } from '../core/tensor';
import { fma64, fmaf32 } from './fma';
import { slots, type KernelSpec } from './kernel-spec';

/** The hyperparameter array's slots (native/kernels/sgd.h): Python floats, booleans as 0/1. */
export const SGD_HYPER = slots(['lr', 'momentum', 'dampening', 'weightDecay', 'nesterov', 'maximize']);
/** Each tensor's scalars: `first` is 1 when its momentum buffer was made for this step. */
export const SGD_SCALARS = slots(['first']);

const H = SGD_HYPER;

/** SGD's kernels: native id 2. */
export const SGD_KERNEL: KernelSpec = {
  id: 2,
  name: 'sgd',
  hyper: Object.keys(SGD_HYPER),
  states: ['momentum_buffer'],
  scalars: Object.keys(SGD_SCALARS),
  usedStates: (h) => (h[H.momentum] !== 0 ? 1 : 0),
  reference(h, { p, g, states: [buf], scalars }) {
    const momentum = h[H.momentum];
    const step = p instanceof Float32Array ? sgd32 : sgd64;
    step(
      h[H.lr], momentum, h[H.dampening], h[H.weightDecay], momentum !== 0 && h[H.nesterov] !== 0, h[H.maximize] !== 0,
      momentum !== 0 && scalars[SGD_SCALARS.first] !== 0, p, g, momentum !== 0 ? buf : null,
    );
  },
};

type Step = (lr: number, momentum: number, dampening: number, weightDecay: number, nesterov: boolean, maximize: boolean,
  first: boolean, p: FloatArray, g: FloatArray, buf: FloatArray | null) => void;

// One loop per dtype, each monomorphic for V8 (see rmsprop.ts).
const sgd32: Step = (lr, momentum, dampening, weightDecay, nesterov, maximize, first, p, g, buf) => {
  const f = Math.fround;
  const nlr = f(-lr);
  const mom = f(momentum);
  const keep = f(1 - dampening);
  const wd = f(weightDecay);
  const hasWd = weightDecay !== 0;
  for (let i = 0; i < p.length; i++) {
    let d = maximize ? -g[i] : g[i];
    const pi = p[i];
    if (hasWd) d = fmaf32(wd, pi, d);
    if (buf !== null) {
      const b = first ? d : fmaf32(keep, d, f(buf[i] * mom)); // a new buffer is a copy: no dampening
      buf[i] = b;
      d = nesterov ? fmaf32(mom, b, d) : b;
    }
    p[i] = fmaf32(nlr, d, pi);
  }
};

const sgd64: Step = (lr, momentum, dampening, weightDecay, nesterov, maximize, first, p, g, buf) => {
  const nlr = -lr;
  const keep = 1 - dampening;
  const hasWd = weightDecay !== 0;
  for (let i = 0; i < p.length; i++) {
    let d = maximize ? -g[i] : g[i];
    const pi = p[i];
    if (hasWd) d = fma64(weightDecay, pi, d);
    if (buf !== null) {
      const b = first ? d : fma64(keep, d, buf[i] * momentum);
      buf[i] = b;
      d = nesterov ? fma64(momentum, b, d) : b;
    }
    p[i] = fma64(nlr, d, pi);
  }
};
