// The plain JavaScript loops a user would write for each optimizer: one for
// loop per tensor, Math.sqrt, scalars computed once per step, no rounding
// games. They are the baseline of the targets "N× a plain JavaScript loop".
// Each steps the arrays of simd-optim's own optimizer (bench/peers-native.ts):
// `tensors[t]` is [p, g, ...state] in the order of its `state` keys.
//
// Each tensor's loop is a function of its own, with the hyperparameters as
// arguments: written as closures over them, the same RMSprop loop ran 10-20%
// slower in V8, which would change what the loop targets measure.

/** One optimizer's plain loop over the state simd-optim keeps under `state`. */
export interface PlainLoop {
  /** The simd-optim state keys whose arrays follow p and g, in order. */
  state: string[];
  /** One step over every tensor; `step` counts from 1 (Adam's bias corrections). */
  step(tensors: Float32Array[][], step: number): void;
}

function rmspropTensor(p: Float32Array, g: Float32Array, v: Float32Array, lr: number, alpha: number, eps: number): void {
  for (let i = 0; i < p.length; i++) {
    v[i] = alpha * v[i] + (1 - alpha) * g[i] * g[i];
    p[i] -= (lr * g[i]) / (Math.sqrt(v[i]) + eps);
  }
}

function rmspropCenteredMomentumTensor(
  p: Float32Array,
  g: Float32Array,
  v: Float32Array,
  buf: Float32Array,
  gavg: Float32Array,
  lr: number,
  alpha: number,
  eps: number,
  momentum: number,
): void {
  for (let i = 0; i < p.length; i++) {
    v[i] = alpha * v[i] + (1 - alpha) * g[i] * g[i];
    gavg[i] = alpha * gavg[i] + (1 - alpha) * g[i];
    const avg = Math.sqrt(v[i] - gavg[i] * gavg[i]) + eps;
    buf[i] = momentum * buf[i] + g[i] / avg;
    p[i] -= lr * buf[i];
  }
}

function sgdMomentumTensor(p: Float32Array, g: Float32Array, buf: Float32Array, lr: number, momentum: number): void {
  for (let i = 0; i < p.length; i++) {
    buf[i] = momentum * buf[i] + g[i];
    p[i] -= lr * buf[i];
  }
}

function sgdTensor(p: Float32Array, g: Float32Array, lr: number): void {
  for (let i = 0; i < p.length; i++) p[i] -= lr * g[i];
}

function adamTensor(p: Float32Array, g: Float32Array, m: Float32Array, v: Float32Array,
  b1: number, b2: number, eps: number, stepSize: number, bc2Sqrt: number): void {
  for (let i = 0; i < p.length; i++) {
    m[i] = b1 * m[i] + (1 - b1) * g[i];
    v[i] = b2 * v[i] + (1 - b2) * g[i] * g[i];
    p[i] -= (stepSize * m[i]) / (Math.sqrt(v[i]) / bc2Sqrt + eps);
  }
}

function adamWTensor(p: Float32Array, g: Float32Array, m: Float32Array, v: Float32Array,
  b1: number, b2: number, eps: number, stepSize: number, bc2Sqrt: number, shrink: number): void {
  for (let i = 0; i < p.length; i++) {
    p[i] *= shrink;
    m[i] = b1 * m[i] + (1 - b1) * g[i];
    v[i] = b2 * v[i] + (1 - b2) * g[i] * g[i];
    p[i] -= (stepSize * m[i]) / (Math.sqrt(v[i]) / bc2Sqrt + eps);
  }
}

/** RMSprop without momentum, not centered. */
export function rmspropLoop(lr: number, alpha: number, eps: number): PlainLoop {
  return {
    state: ['square_avg'],
    step(tensors) {
      for (let t = 0; t < tensors.length; t++) {
        const a = tensors[t];
        rmspropTensor(a[0], a[1], a[2], lr, alpha, eps);
      }
    },
  };
}

/** RMSprop with momentum, centered. */
export function rmspropCenteredMomentumLoop(lr: number, alpha: number, eps: number, momentum: number): PlainLoop {
  return {
    state: ['square_avg', 'momentum_buffer', 'grad_avg'],
    step(tensors) {
      for (let t = 0; t < tensors.length; t++) {
        const a = tensors[t];
        rmspropCenteredMomentumTensor(a[0], a[1], a[2], a[3], a[4], lr, alpha, eps, momentum);
      }
    },
  };
}

/** SGD with momentum (no dampening, no Nesterov). */
export function sgdMomentumLoop(lr: number, momentum: number): PlainLoop {
  return {
    state: ['momentum_buffer'],
    step(tensors) {
      for (let t = 0; t < tensors.length; t++) {
        const a = tensors[t];
        sgdMomentumTensor(a[0], a[1], a[2], lr, momentum);
      }
    },
  };
}

/** SGD without momentum. */
export function sgdLoop(lr: number): PlainLoop {
  return {
    state: [],
    step(tensors) {
      for (let t = 0; t < tensors.length; t++) sgdTensor(tensors[t][0], tensors[t][1], lr);
    },
  };
}

/**
 * Adam (no weight decay, no amsgrad), or AdamW with `decoupledDecay` > 0:
 * the param shrinks by lr · decay before the update. Bias corrections once per step.
 */
export function adamLoop(lr: number, b1: number, b2: number, eps: number, decoupledDecay: number): PlainLoop {
  return {
    state: ['exp_avg', 'exp_avg_sq'],
    step(tensors, step) {
      const stepSize = lr / (1 - b1 ** step);
      const bc2Sqrt = Math.sqrt(1 - b2 ** step);
      const shrink = 1 - lr * decoupledDecay;
      for (let t = 0; t < tensors.length; t++) {
        const a = tensors[t];
        if (decoupledDecay) adamWTensor(a[0], a[1], a[2], a[3], b1, b2, eps, stepSize, bc2Sqrt, shrink);
        else adamTensor(a[0], a[1], a[2], a[3], b1, b2, eps, stepSize, bc2Sqrt);
      }
    },
  };
}
