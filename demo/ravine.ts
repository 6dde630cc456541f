// A steep ravine in two dimensions, f(x, y) = (x² + κ·y²) / 2: κ times
// steeper across (y) than along (x). Plain SGD must keep its step below 2/κ or
// diverge across the ravine, so it crawls along it; per-coordinate scaling
// (AdaGrad, RMSprop) divides each coordinate by its own gradient scale, so it
// steps alike in both and does not zigzag. Every step is taken by the real
// optimizers, on a two-element Parameter.
import { Adagrad, Parameter, RMSprop, SGD, type Optimizer } from 'simd-optim';

export const CONDITION = 100;
export const START: readonly [number, number] = [-4.5, 1.5];
/** Long enough to see where each optimizer ends up, not only how it starts (see ravine-tuning.ts). */
export const RAVINE_STEPS = 300;

export function ravineLoss(x: number, y: number): number {
  return (x * x + CONDITION * y * y) / 2;
}

export interface RavinePoint {
  optimizer: string;
  step: number;
  x: number;
  y: number;
  loss: number;
}

export interface RavineOptimizer {
  /** Short name, used as a key in the results file. */
  id: string;
  /** What the chart calls it, before the learning rate. */
  label: string;
  make(p: Parameter, lr: number): Optimizer<{ lr: number }>;
}

export const RAVINE_OPTIMIZERS: RavineOptimizer[] = [
  { id: 'sgd', label: 'SGD', make: (p, lr) => new SGD([p], { lr }) },
  { id: 'adagrad', label: 'Adagrad', make: (p, lr) => new Adagrad([p], { lr }) },
  { id: 'rmsprop-0.9', label: 'RMSprop α=0.9', make: (p, lr) => new RMSprop([p], { lr, alpha: 0.9 }) },
];

/** One optimizer's path from START: f after each of `steps` steps (index 0 is the start), in float64. */
export function ravinePath(opt: RavineOptimizer, lr: number, steps = RAVINE_STEPS): { x: number; y: number; loss: number }[] {
  const p = new Parameter(Float64Array.from(START));
  const optimizer = opt.make(p, lr);
  const path = [{ x: START[0], y: START[1], loss: ravineLoss(START[0], START[1]) }];
  for (let step = 1; step <= steps; step++) {
    const [x, y] = p.data;
    p.grad = Float64Array.of(x, CONDITION * y);
    optimizer.step();
    const [nx, ny] = p.data;
    path.push({ x: nx, y: ny, loss: ravineLoss(nx, ny) });
  }
  return path;
}

/**
 * Where RMSprop settles near the minimum. Once v has forgotten the large early
 * gradients, v ≈ g² (PyTorch does not bias-correct, and ε = 1e-8 is tiny next
 * to |g|), so each step is lr·g/|g| = lr·sign(g): a coordinate jumps between
 * +lr/2 and -lr/2 for ever. Then f = (1 + κ)·(lr/2)²/2.
 */
export function rmspropCycleLoss(lr: number): number {
  return ((1 + CONDITION) * (lr / 2) ** 2) / 2;
}

/**
 * Contour lines of f at `levels`: the ellipses x = √(2c)·cos t,
 * y = √(2c/κ)·sin t, exact rather than traced from a grid.
 */
export function ravineContours(levels: readonly number[], segments = 120): { level: number; order: number; x: number; y: number }[] {
  const lines: { level: number; order: number; x: number; y: number }[] = [];
  for (const level of levels) {
    for (let i = 0; i <= segments; i++) {
      const t = (2 * Math.PI * i) / segments;
      lines.push({ level, order: i, x: Math.sqrt(2 * level) * Math.cos(t), y: Math.sqrt((2 * level) / CONDITION) * Math.sin(t) });
    }
  }
  return lines;
}
