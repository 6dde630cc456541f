// Hyperparameter helpers for RMSprop's decay α.
//
// v_t = α·v_{t-1} + (1-α)·g_t² weighs the gradient of k steps ago by
// (1-α)·α^k: an exponential memory, an average over about 1/(1-α) recent
// steps (α = 0.9 → 10 steps, α = 0.99 → 100), after which a gradient's weight
// has fallen to about 1/e. Small, noisy batches want a shorter memory, so
// that the step size follows the gradient scale as it moves; large batches
// give steadier gradients and can afford α near 1 (0.99-0.999) for a smooth
// normaliser. The demo's α × batch-size sweep shows the trade-off.
import { checkHyper } from './errors';

/** The number of recent steps RMSprop's average effectively spans: 1 / (1 - alpha). */
export function effectiveWindow(alpha: number): number {
  checkHyper('alpha value', 'alpha', alpha, { min: 0, max: 1, maxExclusive: true });
  return 1 / (1 - alpha);
}

/** The alpha whose average spans about `steps` recent steps: 1 - 1 / steps (the inverse of effectiveWindow). */
export function alphaForWindow(steps: number): number {
  checkHyper('window', 'steps', steps, { min: 1 });
  return 1 - 1 / steps;
}
