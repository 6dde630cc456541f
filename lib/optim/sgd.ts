// torch.optim.SGD as a spec for the engine: defaults, validation with
// PyTorch's wording, its dict form per generation, and how its
// hyperparameters reach the kernel. Arithmetic: native/kernels/sgd_step.h,
// lib/reference/sgd.ts, docs/spec/sgd-arithmetic.md.
import { checkBoolean, checkFiniteHyper, checkHyper } from '../core/errors';
import type { ParamGroup, ParamGroupInput } from '../core/optimizer';
import type { Parameter } from '../core/tensor';
import { EngineOptimizer, type KernelOptions, type OptimizerWideOptions } from '../engine/engine-optimizer';
import type { OptimizerSpec } from '../engine/optimizer-spec';
import type { TorchGroupSchema } from '../engine/torch-groups';
import { SGD_HYPER as H, SGD_KERNEL, SGD_SCALARS } from '../reference/sgd';
import { checkLearningRate } from './hyper';

export interface SGDOptions extends KernelOptions {
  /** Learning rate. Default 0.001 (PyTorch 2.x's; 1.13 has no default). */
  lr: number;
  /** Momentum factor; 0 keeps no buffer. Default 0. */
  momentum: number;
  /** Dampening of the momentum: the buffer adds (1 - dampening) · the step's direction. Default 0. */
  dampening: number;
  /** L2 penalty added to the gradient. Default 0. */
  weightDecay: number;
  /** Nesterov momentum (needs momentum > 0 and no dampening). Default false. */
  nesterov: boolean;
  /** Maximize the objective instead of minimizing. Default false. */
  maximize: boolean;
}

/** One of an SGD's `paramGroups`. */
export type SGDGroup = ParamGroup<SGDOptions>;

const DEFAULTS: SGDOptions = {
  lr: 0.001,
  momentum: 0,
  dampening: 0,
  weightDecay: 0,
  nesterov: false,
  maximize: false,
  compat: '2.x',
  threads: 0,
};

const TORCH_GROUP: TorchGroupSchema = {
  order: {
    '1.13': ['lr', 'momentum', 'dampening', 'weight_decay', 'nesterov', 'maximize', 'foreach', 'differentiable'],
    '2.x': ['lr', 'momentum', 'dampening', 'weight_decay', 'nesterov', 'maximize', 'foreach', 'differentiable', 'fused'],
  },
  ours: {
    lr: 'lr', momentum: 'momentum', dampening: 'dampening', weight_decay: 'weightDecay', nesterov: 'nesterov', maximize: 'maximize',
  },
  fixed: { foreach: null, differentiable: false, fused: null },
  required: ['lr', 'momentum', 'dampening', 'weight_decay', 'nesterov'],
  optional: { maximize: false },
  // 2.x writes fused; 1.13 does not.
  generationOf: (saved) => ('fused' in saved ? '2.x' : '1.13'),
};

export const SGD_SPEC: OptimizerSpec<SGDOptions> = {
  name: 'SGD',
  kernel: SGD_KERNEL,
  defaults: DEFAULTS,
  validate(g, where, changed) {
    checkLearningRate(g.lr, where, changed);
    checkHyper('momentum value', 'momentum', g.momentum, { min: 0 }, where);
    checkHyper('weight_decay value', 'weightDecay', g.weightDecay, { min: 0 }, where);
    // PyTorch never checks dampening; a finite number is all it needs to be.
    checkFiniteHyper('dampening value', 'dampening', g.dampening, where);
    checkBoolean(`nesterov (${where})`, g.nesterov);
    checkBoolean(`maximize (${where})`, g.maximize);
  },
  // PyTorch checks this on the constructor's arguments only: a group, a
  // momentum schedule down to 0 or a loaded dict may have Nesterov without
  // momentum, which then steps as plain SGD.
  validateOptions(o) {
    // Values of the wrong type are left for the groups' checks to name.
    if (o.nesterov === true && typeof o.momentum === 'number' && typeof o.dampening === 'number' && (o.momentum <= 0 || o.dampening !== 0)) {
      throw new RangeError(`Nesterov momentum requires a momentum and zero dampening (momentum ${o.momentum}, dampening ${o.dampening})`);
    }
  },
  torchGroups: TORCH_GROUP,
  // SGD's state is its momentum buffer alone, with no step count.
  countsSteps: false,
  stepIsFloat32: () => false,
  stateAtConstruction: false,
  writeHyper(g, h) {
    h[H.lr] = g.lr;
    h[H.momentum] = g.momentum;
    h[H.dampening] = g.dampening;
    h[H.weightDecay] = g.weightDecay;
    h[H.nesterov] = g.nesterov ? 1 : 0;
    h[H.maximize] = g.maximize ? 1 : 0;
  },
  writeScalars(_g, _step, created, out, at) {
    // A buffer made for this step starts as the step's direction (PyTorch's None until then).
    out[at + SGD_SCALARS.first] = created & 1;
  },
  stateDictEntry(entry, g) {
    // 1.13 writes momentum_buffer: None for a param stepped without momentum; 2.x writes no entry.
    if (g.compat === '1.13') return { momentum_buffer: entry.momentum_buffer ?? null };
    return entry.momentum_buffer === undefined ? undefined : entry;
  },
};

/**
 * `torch.optim.SGD`, bit for bit in both PyTorch generations: plain, with
 * momentum (the first step's buffer is a copy of the direction), dampening,
 * Nesterov momentum, weight decay and maximize, in float32 and float64. The
 * exact operation order is in docs/spec/sgd-arithmetic.md.
 *
 * @example
 * ```ts
 * const opt = new SGD([w, b], { lr: 0.1, momentum: 0.9, nesterov: true });
 * ```
 */
export class SGD extends EngineOptimizer<SGDOptions> {
  /** @internal What the engine knows of SGD. */
  static readonly spec: OptimizerSpec<SGDOptions> = SGD_SPEC;

  /**
   * @param params - the parameters, or param groups `{ params, ...options }`
   *   whose options override these
   * @param options - hyperparameters (PyTorch's defaults where left out),
   *   `compat`, `threads` and `skipNonFinite`
   * @throws TypeError or RangeError naming the option and value, with
   *   PyTorch's wording, before anything is created
   */
  constructor(params: Iterable<Parameter> | Iterable<ParamGroupInput<SGDOptions>>, options: Partial<SGDOptions> & OptimizerWideOptions = {}) {
    super(params, options);
  }
}
