// A steep ravine in two dimensions, f(x, y) = (x² + κ·y²) / 2: κ times
// steeper across (y) than along (x). Plain SGD must keep its step below 2/κ or
// diverge across the ravine, so it crawls along it; per-coordinate scaling
// (AdaGrad, RMSprop) divides each coordinate by its own gradient scale, so it
// steps alike in both and does not zigzag. Every step is taken by the real
// optimizers, on a two-element Parameter.
import { Adagrad, Parameter, RMSprop, type Optimizer } from 'simd-optim';
import { Sgd } from './sgd';

export const CONDITION = 100;
export const START: readonly [number, number] = [-4.5, 1.5];
export const RAVINE_STEPS = 60;

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

interface RavineRun {
  label: string;
  make(p: Parameter): Optimizer<{ lr: number }>;
}

/**
 * Learning rates: SGD just under its stability limit 2/κ (the fastest it can
 * go); Adagrad and RMSprop chosen so that their first step has the same
 * length along x, about 0.3 (their first steps are ≈ lr·sign(g) scaled by
 * 1 and 1/√(1-α)).
 */
export const RAVINE_RUNS: RavineRun[] = [
  { label: 'SGD lr=0.019', make: (p) => new Sgd([p], { lr: 0.019 }) },
  { label: 'Adagrad lr=0.3', make: (p) => new Adagrad([p], { lr: 0.3 }) },
  { label: 'RMSprop α=0.9 lr=0.1', make: (p) => new RMSprop([p], { lr: 0.1, alpha: 0.9 }) },
];

/** Each optimizer's path from START, RAVINE_STEPS steps, in float64. */
export function ravineTrajectories(steps = RAVINE_STEPS): RavinePoint[] {
  const points: RavinePoint[] = [];
  for (const run of RAVINE_RUNS) {
    const p = new Parameter(Float64Array.from(START));
    const opt = run.make(p);
    const record = (step: number) => {
      const [x, y] = p.data;
      points.push({ optimizer: run.label, step, x, y, loss: ravineLoss(x, y) });
    };
    record(0);
    for (let step = 1; step <= steps; step++) {
      const [x, y] = p.data;
      p.grad = Float64Array.of(x, CONDITION * y);
      opt.step();
      record(step);
    }
  }
  return points;
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
