// Hyperparameter helpers for RMSprop's decay α.
//
// v_t = α·v_{t-1} + (1-α)·g_t² weighs the gradient of k steps ago by
// (1-α)·α^k: an exponential memory, an average over about 1/(1-α) recent
// steps (α = 0.9 → 10 steps, α = 0.99 → 100), after which a gradient's weight
// has fallen to about 1/e. The usual advice: small, noisy batches want a
// shorter memory, so that the step size follows the gradient scale as it
// moves; large batches give steadier gradients and can afford α near 1
// (0.99-0.999) for a smooth normaliser. The demo's α × batch-size sweep puts
// that to a test: over 400 steps on the digits, large batches did best with
// the shortest memory (α = 0.5), and α = 0.999 needed the smallest learning
// rate, since PyTorch does not bias-correct v. Sweep α; these helpers let
// you think of it as a number of steps.
import { checkHyper } from './errors';

/** The number of recent steps RMSprop's average effectively spans: 1 / (1 - alpha). */
export function effectiveWindow(alpha: number): number {
  checkHyper('alpha value', 'alpha', alpha, { min: 0, max: 1, maxExclusive: true });
  return 1 / (1 - alpha);
}

/** The alpha whose average spans about `steps` recent steps: 1 - 1 / steps (the inverse of effectiveWindow). */
export function alphaForWindow(steps: number): number {
  checkHyper('window', 'steps', steps, { min: 1 });
  const alpha = 1 - 1 / steps;
  // Past about 5.6e16 steps 1 - 1/steps rounds to 1, which no optimizer takes.
  if (alpha >= 1) throw new RangeError(`Invalid window: ${steps} (steps must be below 2^54 for alpha to stay below 1)`);
  return alpha;
}
