// The effective step size of an adaptive optimizer: the factor lr / (√v + ε)
// that multiplies each weight's gradient. AdaGrad's v is a running sum of g²,
// so this factor can only shrink; RMSprop's v is a decaying average, so it
// follows the current gradient scale.
import { RMSprop, type Adagrad, type FloatArray } from 'simd-optim';

/** Quartiles over a set of weights. */
export interface Quartiles {
  q25: number;
  median: number;
  q75: number;
}

export interface StepSizeStats {
  /** lr / (√v + ε), over the weights the step moved (gradient not 0): how far a unit gradient moved them. */
  factor: Quartiles;
  /** |lr · g / (√v + ε)|: how far the step moved each of those weights. */
  update: Quartiles;
  /**
   * The share of all weights whose factor is at its cap, lr/ε to within 2×
   * (√v ≤ ε): weights whose gradient has been 0 for so long that v decayed
   * below ε², or was never anything but 0.
   */
  capShare: number;
  /** The share of all weights whose v is exactly 0: they never had a gradient. */
  neverShare: number;
}

/**
 * Reads v from the optimizer's state (RMSprop's `square_avg`, Adagrad's
 * `sum`) and g from the grads of the step just taken. The quartiles are over
 * the weights the step moved: a weight with no gradient has a factor that
 * multiplies 0. Those are many here: units whose ReLU is off on every
 * training image pass no gradient to their weights, and pixels blank in
 * every image none to theirs. RMSprop's v for such a weight decays towards 0,
 * so its factor rises to the cap lr/ε (10⁶ at lr 0.01), which quartiles
 * over all weights could show instead of the factors in use; capShare counts
 * them. Quartiles, not the mean: a few weights of rarely inked pixels have
 * factors 10⁴ times the median.
 */
export function effectiveStepSize(opt: RMSprop | Adagrad): StepSizeStats {
  const factors: number[] = [];
  const updates: number[] = [];
  let total = 0;
  let capped = 0;
  let never = 0;
  const key = opt instanceof RMSprop ? 'square_avg' : 'sum';
  for (const group of opt.paramGroups) {
    if ('centered' in group && group.centered) throw new Error('effectiveStepSize: centered RMSprop divides by √(v - E[g]²), not √v');
    if ('momentum' in group && group.momentum !== 0) throw new Error('effectiveStepSize: with momentum a step is not lr·g/(√v+ε)');
    for (const p of group.params) {
      const v = opt.state.get(p)?.[key] as FloatArray | undefined;
      if (v === undefined || p.grad === null) continue;
      total += v.length;
      for (let i = 0; i < v.length; i++) {
        const root = Math.sqrt(v[i]);
        if (v[i] === 0) never++;
        if (root <= group.eps) capped++;
        if (p.grad[i] === 0) continue;
        const factor = group.lr / (root + group.eps);
        factors.push(factor);
        updates.push(factor * Math.abs(p.grad[i]));
      }
    }
  }
  return { factor: quartiles(factors), update: quartiles(updates), capShare: capped / total, neverShare: never / total };
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
