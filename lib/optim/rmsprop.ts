// torch.optim.RMSprop as a spec for the engine: defaults, validation with
// PyTorch's wording, its dict form per generation, and how its
// hyperparameters reach the kernel. The arithmetic is in the kernels
// (native/kernels/rmsprop_step.h, lib/reference/rmsprop.ts), following
// docs/spec/rmsprop-arithmetic.md.
import { checkBoolean, checkHyper } from '../core/errors';
import type { ParamGroup, ParamGroupInput } from '../core/optimizer';
import type { Parameter } from '../core/tensor';
import { EngineOptimizer, type KernelOptions, type OptimizerWideOptions } from '../engine/engine-optimizer';
import type { OptimizerSpec } from '../engine/optimizer-spec';
import type { Compat, TorchGroupSchema } from '../engine/torch-groups';
import { RMSPROP_HYPER as H, RMSPROP_KERNEL } from '../reference/rmsprop';
import { checkLearningRate } from './hyper';

export type { Compat };

export interface RMSpropOptions extends KernelOptions {
  /** Learning rate η. Default 0.01. */
  lr: number;
  /** Decay of the squared-gradient average; memory ≈ 1/(1-alpha) steps. Default 0.99. */
  alpha: number;
  /** Added to √v for numerical stability. Default 1e-8. */
  eps: number;
  /** L2 penalty added to the gradient. Default 0. */
  weightDecay: number;
  /** Momentum factor. Default 0. */
  momentum: number;
  /** Divide by √(v − E[g]²) + ε, the gradient's variance, instead of √v + ε. Default false. */
  centered: boolean;
  /** Maximize the objective instead of minimizing. Default false. */
  maximize: boolean;
}

/** One of an RMSprop's `paramGroups`. */
export type RMSpropGroup = ParamGroup<RMSpropOptions>;

const DEFAULTS: RMSpropOptions = {
  lr: 0.01,
  alpha: 0.99,
  eps: 1e-8,
  weightDecay: 0,
  momentum: 0,
  centered: false,
  maximize: false,
  compat: '2.x',
  threads: 0,
};

const TORCH_GROUP: TorchGroupSchema = {
  order: {
    '1.13': ['lr', 'momentum', 'alpha', 'eps', 'centered', 'weight_decay', 'foreach', 'maximize', 'differentiable'],
    '2.x': ['lr', 'momentum', 'alpha', 'eps', 'centered', 'weight_decay', 'capturable', 'foreach', 'maximize', 'differentiable'],
  },
  ours: {
    lr: 'lr', momentum: 'momentum', alpha: 'alpha', eps: 'eps', centered: 'centered',
    weight_decay: 'weightDecay', maximize: 'maximize',
  },
  fixed: { capturable: false, foreach: null, differentiable: false },
  required: ['lr', 'momentum', 'alpha', 'eps', 'centered', 'weight_decay'],
  optional: { maximize: false },
  // Only 2.4 and later write capturable. A group without it comes from 1.13
  // or from 2.0-2.3, which write the same keys and an int step: it does not tell.
  generationOf: (saved) => ('capturable' in saved ? '2.x' : undefined),
  ambiguous: 'PyTorch 1.13 and 2.0 to 2.3 write the same keys and an int step',
};
export const RMSPROP: OptimizerSpec<RMSpropOptions> = {
  name: 'RMSprop',
  kernel: RMSPROP_KERNEL,
  defaults: DEFAULTS,
  validate(g, where, changed) {
    checkLearningRate(g.lr, where, changed);
    checkHyper('alpha value', 'alpha', g.alpha, { min: 0, max: 1, maxExclusive: true }, where);
    checkHyper('epsilon value', 'eps', g.eps, { min: 0 }, where);
    checkHyper('weight_decay value', 'weightDecay', g.weightDecay, { min: 0 }, where);
    checkHyper('momentum value', 'momentum', g.momentum, { min: 0 }, where);
    checkBoolean(`centered (${where})`, g.centered);
    checkBoolean(`maximize (${where})`, g.maximize);
  },
  torchGroups: TORCH_GROUP,
  numericsDiffer: (g) => (g.centered ? 'centered: 2.x averages the gradient with lerp' : undefined),
  countsSteps: true,
  // 2.x counts in a float32 tensor; 1.13 in a Python int.
  stepIsFloat32: (g) => g.compat !== '1.13',
  stateAtConstruction: false,
  writeHyper(g, h) {
    h[H.lr] = g.lr;
    h[H.alpha] = g.alpha;
    h[H.eps] = g.eps;
    h[H.weightDecay] = g.weightDecay;
    h[H.momentum] = g.momentum;
    h[H.centered] = g.centered ? 1 : 0;
    h[H.maximize] = g.maximize ? 1 : 0;
    h[H.lerpGradAvg] = g.compat === '1.13' ? 0 : 1;
  },
};

/**
 * `torch.optim.RMSprop`, bit for bit: every option, both PyTorch generations
 * (`compat: '2.x'`, the default, or `'1.13'`), float32 and float64, one
 * native call per param group per step.
 *
 * v = α·v + (1-α)·g², then θ = θ - lr·g / (√v + ε); `centered` divides by
 * √(v − E[g]²) + ε instead, `momentum` keeps a buffer of the steps. The exact
 * operation order is in docs/spec/rmsprop-arithmetic.md.
 *
 * @example
 * ```ts
 * const opt = new RMSprop([w, b], { lr: 1e-3, alpha: 0.9, centered: true });
 * opt.step();   // after writing w.grad and b.grad
 * ```
 */
export class RMSprop extends EngineOptimizer<RMSpropOptions> {
  /** @internal What the engine knows of RMSprop. */
  static readonly spec: OptimizerSpec<RMSpropOptions> = RMSPROP;

  /**
   * @param params - the parameters, or param groups `{ params, ...options }`
   *   whose options override these
   * @param options - hyperparameters (PyTorch's defaults where left out),
   *   `compat`, `threads` and `skipNonFinite`
   * @throws TypeError or RangeError naming the option and value, with
   *   PyTorch's wording, before anything is created
   */
  constructor(
    params: Iterable<Parameter> | Iterable<ParamGroupInput<RMSpropOptions>>,
    options: Partial<RMSpropOptions> & OptimizerWideOptions = {},
  ) {
    super(params, options);
  }
}
