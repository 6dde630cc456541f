// RMSprop's decay α as a number of steps. v_t = α·v_{t-1} + (1-α)·g_t²
// weighs the gradient of k steps ago by (1-α)·α^k: an exponential memory
// that averages over about 1/(1-α) recent steps (α = 0.9 → 10, 0.99 → 100).
import { checkFiniteHyper, checkHyper } from '../core/errors';

/**
 * Checks a group's learning rate: at least 0 where PyTorch checks it (the
 * constructor, add_param_group); any finite number once it changes on a
 * live group or comes from a loaded dict, which PyTorch takes unchecked (a
 * LinearLR down to 0 ends a hair below it).
 */
export function checkLearningRate(lr: unknown, where: string, changed: boolean): void {
  if (changed) checkFiniteHyper('learning rate', 'lr', lr, where);
  else checkHyper('learning rate', 'lr', lr, { min: 0 }, where);
}

/**
 * The number of recent steps RMSprop's average effectively spans:
 * 1 / (1 - alpha). After that many steps a gradient's weight has fallen to
 * about 1/e.
 *
 * @example
 * ```ts
 * effectiveWindow(0.5);   // 2
 * ```
 */
export function effectiveWindow(alpha: number): number {
  checkHyper('alpha value', 'alpha', alpha, { min: 0, max: 1, maxExclusive: true });
  return 1 / (1 - alpha);
}

/**
 * The alpha whose average spans about `steps` recent steps: 1 - 1 / steps,
 * the inverse of {@link effectiveWindow}.
 *
 * @example
 * ```ts
 * new RMSprop(params, { alpha: alphaForWindow(50) });   // alpha 0.98
 * ```
 */
export function alphaForWindow(steps: number): number {
  checkHyper('window', 'steps', steps, { min: 1 });
  const alpha = 1 - 1 / steps;
  // Past about 5.6e16 steps 1 - 1/steps rounds to 1, which no optimizer takes.
  if (alpha >= 1) throw new RangeError(`Invalid window: ${steps} (steps must be below 2^54 for alpha to stay below 1)`);
  return alpha;
}
