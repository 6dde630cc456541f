// torch.optim.Adagrad as a spec for the engine: the running sum of squared
// gradients that RMSprop replaces with a decaying average. Kept for contrast
// (its steps shrink towards zero) and for users who want it. Arithmetic:
// native/kernels/adagrad_step.h, lib/reference/adagrad.ts,
// docs/spec/adagrad-arithmetic.md.
import { checkBoolean, checkHyper } from '../core/errors';
import type { ParamGroup, ParamGroupInput } from '../core/optimizer';
import type { Parameter } from '../core/tensor';
import { EngineOptimizer, type KernelOptions, type OptimizerWideOptions } from '../engine/engine-optimizer';
import type { OptimizerSpec } from '../engine/optimizer-spec';
import type { TorchGroupSchema } from '../engine/torch-groups';
import { ADAGRAD_HYPER as H, ADAGRAD_KERNEL, ADAGRAD_SCALARS } from '../reference/adagrad';
import { checkLearningRate } from './hyper';

export interface AdagradOptions extends KernelOptions {
  /** Learning rate. Default 0.01. */
  lr: number;
  /** Learning-rate decay: step t uses lr / (1 + (t - 1) * lrDecay). Default 0. */
  lrDecay: number;
  /** L2 penalty added to the gradient. Default 0. */
  weightDecay: number;
  /**
   * Starting value of the sum of squared gradients. Default 0. As in PyTorch,
   * the params given to the constructor start from the constructor's value,
   * even in a group that sets its own.
   */
  initialAccumulatorValue: number;
  /** Added to √sum for numerical stability. Default 1e-10. */
  eps: number;
  /** Maximize the objective instead of minimizing. Default false. */
  maximize: boolean;
}

/** One of an Adagrad's `paramGroups`. */
export type AdagradGroup = ParamGroup<AdagradOptions>;

const DEFAULTS: AdagradOptions = {
  lr: 0.01,
  lrDecay: 0,
  weightDecay: 0,
  initialAccumulatorValue: 0,
  eps: 1e-10,
  maximize: false,
  compat: '2.x',
  threads: 0,
};

const TORCH_GROUP: TorchGroupSchema = {
  order: {
    '1.13': ['lr', 'lr_decay', 'eps', 'weight_decay', 'initial_accumulator_value', 'foreach', 'maximize'],
    '2.x': ['lr', 'lr_decay', 'eps', 'weight_decay', 'initial_accumulator_value', 'foreach', 'maximize', 'differentiable', 'fused'],
  },
  ours: {
    lr: 'lr', lr_decay: 'lrDecay', eps: 'eps', weight_decay: 'weightDecay',
    initial_accumulator_value: 'initialAccumulatorValue', maximize: 'maximize',
  },
  fixed: { foreach: null, differentiable: false, fused: null },
  required: ['lr', 'lr_decay', 'eps', 'weight_decay', 'initial_accumulator_value'],
  optional: { maximize: false },
  // Every 2.x writes differentiable (and 2.4+ fused); 1.13 neither.
  generationOf: (saved) => ('differentiable' in saved ? '2.x' : '1.13'),
};

export const ADAGRAD: OptimizerSpec<AdagradOptions> = {
  name: 'Adagrad',
  kernel: ADAGRAD_KERNEL,
  defaults: DEFAULTS,
  validate(g, where, changed) {
    checkLearningRate(g.lr, where, changed);
    checkHyper('lr_decay value', 'lrDecay', g.lrDecay, { min: 0 }, where);
    checkHyper('weight_decay value', 'weightDecay', g.weightDecay, { min: 0 }, where);
    checkHyper('initial_accumulator_value value', 'initialAccumulatorValue', g.initialAccumulatorValue, { min: 0 }, where);
    checkHyper('epsilon value', 'eps', g.eps, { min: 0 }, where);
    checkBoolean(`maximize (${where})`, g.maximize);
  },
  torchGroups: TORCH_GROUP,
  countsSteps: true,
  // Adagrad's step is a float32 tensor in PyTorch 1.13 too.
  stepIsFloat32: () => true,
  // PyTorch makes the state with the optimizer, and fills `sum` with the
  // constructor's initial_accumulator_value even where a group sets its own;
  // a param added later (addParamGroup, where PyTorch would fail) starts from its group's.
  stateAtConstruction: true,
  initialValue: (_key, g) => g.initialAccumulatorValue,
  writeHyper(g, h) {
    h[H.eps] = g.eps;
    h[H.weightDecay] = g.weightDecay;
    h[H.maximize] = g.maximize ? 1 : 0;
  },
  writeScalars(g, step, _created, out, at) {
    // In double, as PyTorch's Python computes it, from the tensor's own count.
    out[at + ADAGRAD_SCALARS.clr] = g.lr / (1 + (step - 1) * g.lrDecay);
  },
};

/**
 * `torch.optim.Adagrad`, bit for bit, in both PyTorch generations: a running
 * sum of squared gradients divides each step, so the effective learning rate
 * only shrinks. Its state
 * (`sum`, `step`) is created with the optimizer, as in PyTorch. The operation
 * order is in docs/spec/adagrad-arithmetic.md.
 *
 * @example
 * ```ts
 * const opt = new Adagrad([w, b], { lr: 0.1, lrDecay: 1e-4 });
 * ```
 */
export class Adagrad extends EngineOptimizer<AdagradOptions> {
  /** @internal What the engine knows of Adagrad. */
  static readonly spec: OptimizerSpec<AdagradOptions> = ADAGRAD;

  /**
   * @param params - the parameters, or param groups `{ params, ...options }`
   *   whose options override these
   * @param options - hyperparameters (PyTorch's defaults where left out),
   *   `compat`, `threads` and `skipNonFinite`
   * @throws TypeError or RangeError naming the option and value, with
   *   PyTorch's wording, before anything is created
   */
  constructor(
    params: Iterable<Parameter> | Iterable<ParamGroupInput<AdagradOptions>>,
    options: Partial<AdagradOptions> & OptimizerWideOptions = {},
  ) {
    super(params, options);
  }
}
