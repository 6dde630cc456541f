// The effective step size of an adaptive optimizer: the factor lr / (√v + ε)
// that multiplies each weight's gradient. AdaGrad's v is a running sum of g²,
// so this factor can only shrink; RMSprop's v is a decaying average, so it
// follows the current gradient scale.
import { RMSprop, type Adagrad, type FloatArray } from 'simd-optim';

/** Quartiles over the weights whose v is not 0. */
export interface Quartiles {
  q25: number;
  median: number;
  q75: number;
}

export interface StepSizeStats {
  /** lr / (√v + ε): how far a unit gradient moves a weight. */
  factor: Quartiles;
  /** |lr · g / (√v + ε)|: how far the last step moved each weight (of those whose gradient was not 0). */
  update: Quartiles;
}

/**
 * Reads v from the optimizer's state (RMSprop's `square_avg`, Adagrad's
 * `sum`) and g from the grads of the step just taken. Weights that never had
 * a gradient (pixels that are 0 in every image) keep v = 0 and a factor of
 * lr/ε that is never used; they are left out. Quartiles, not the mean: a few
 * weights that almost never see a gradient (pixels rarely inked) have tiny v
 * and factors 10⁴ times the median, and they would swamp a mean.
 */
export function effectiveStepSize(opt: RMSprop | Adagrad): StepSizeStats {
  const factors: number[] = [];
  const updates: number[] = [];
  const key = opt instanceof RMSprop ? 'square_avg' : 'sum';
  for (const group of opt.paramGroups) {
    if ('centered' in group && group.centered) throw new Error('effectiveStepSize: centered RMSprop divides by √(v - E[g]²), not √v');
    if ('momentum' in group && group.momentum !== 0) throw new Error('effectiveStepSize: with momentum a step is not lr·g/(√v+ε)');
    for (const p of group.params) {
      const v = opt.state.get(p)?.[key] as FloatArray | undefined;
      if (v === undefined || p.grad === null) continue;
      for (let i = 0; i < v.length; i++) {
        if (v[i] === 0) continue;
        const factor = group.lr / (Math.sqrt(v[i]) + group.eps);
        factors.push(factor);
        // A weight the batch did not touch (a pixel blank in all its images,
        // a unit the ReLU switched off) did not move; a log scale has no 0.
        if (p.grad[i] !== 0) updates.push(factor * Math.abs(p.grad[i]));
      }
    }
  }
  return { factor: quartiles(factors), update: quartiles(updates) };
}

function quartiles(values: number[]): Quartiles {
  if (values.length === 0) return { q25: NaN, median: NaN, q75: NaN };
  values.sort((a, b) => a - b);
  return { q25: quantile(values, 0.25), median: quantile(values, 0.5), q75: quantile(values, 0.75) };
}

/** The q-quantile of sorted values, interpolating linearly between neighbours. */
function quantile(sorted: number[], q: number): number {
  const at = (sorted.length - 1) * q;
  const lo = Math.floor(at);
  const hi = Math.min(lo + 1, sorted.length - 1);
  return sorted[lo] + (sorted[hi] - sorted[lo]) * (at - lo);
}
