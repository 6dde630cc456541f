// torch.optim.Adam and torch.optim.AdamW as specs for the engine: one kernel,
// with AdamW's decay taken out of the gradient and applied to the param.
// Defaults, validation with PyTorch's wording, their dict forms per
// generation, and how their hyperparameters and bias corrections reach the
// kernel. Arithmetic: native/kernels/adam_step.h, lib/reference/adam.ts,
// docs/spec/adam-arithmetic.md.
import { checkBoolean, checkHyper, typeError } from '../core/errors';
import type { ParamGroup, ParamGroupInput } from '../core/optimizer';
import type { Parameter } from '../core/tensor';
import type { LibMath } from '../engine/backend';
import { EngineOptimizer, type KernelOptions, type OptimizerWideOptions } from '../engine/engine-optimizer';
import type { OptimizerSpec } from '../engine/optimizer-spec';
import type { TorchGroupSchema } from '../engine/torch-groups';
import { ADAM_HYPER as H, ADAM_KERNEL, ADAM_SCALARS as S } from '../reference/adam';
import { checkLearningRate } from './hyper';

export interface AdamOptions extends KernelOptions {
  /** Learning rate. Default 0.001. */
  lr: number;
  /** Decays of the first and second moment averages, each in [0, 1). Default [0.9, 0.999]. */
  betas: readonly [number, number];
  /** Added to the bias-corrected √v. Default 1e-8. */
  eps: number;
  /** Weight decay: Adam's is added to the gradient (L2), AdamW's shrinks the param. Default 0 (AdamW 0.01). */
  weightDecay: number;
  /** Divide by the running maximum of the second moment (AMSGrad). Default false. */
  amsgrad: boolean;
  /** Maximize the objective instead of minimizing. Default false. */
  maximize: boolean;
}

/** One of an Adam's or AdamW's `paramGroups`. */
export type AdamGroup = ParamGroup<AdamOptions>;

const DEFAULTS: AdamOptions = {
  lr: 0.001,
  betas: Object.freeze([0.9, 0.999]) as readonly [number, number],
  eps: 1e-8,
  weightDecay: 0,
  amsgrad: false,
  maximize: false,
  compat: '2.x',
  threads: 0,
};

const OURS = { lr: 'lr', betas: 'betas', eps: 'eps', weight_decay: 'weightDecay', amsgrad: 'amsgrad', maximize: 'maximize' };

const ADAM_GROUP: TorchGroupSchema = {
  order: {
    '1.13': ['lr', 'betas', 'eps', 'weight_decay', 'amsgrad', 'maximize', 'foreach', 'capturable', 'differentiable', 'fused'],
    '2.x': ['lr', 'betas', 'eps', 'weight_decay', 'amsgrad', 'maximize', 'foreach', 'capturable', 'differentiable', 'fused'],
  },
  ours: OURS,
  fixed: { foreach: null, capturable: false, differentiable: false, fused: null },
  fixedIn: { '1.13': { fused: false } },
  required: ['lr', 'betas', 'eps', 'weight_decay', 'amsgrad'],
  optional: { maximize: false },
  disowns: (saved) =>
    saved.decoupled_weight_decay === true ? 'decoupled_weight_decay is True'
    : isAdamW113(saved) ? "its groups have 1.13 AdamW's keys: no differentiable or fused, foreach before maximize"
    : undefined,
  // 2.x writes fused: None (or True); 1.13 fused: False. A 2.x Adam made
  // with fused=False writes 1.13's keys and values: taken for 1.13, the
  // common case (docs/pytorch-files.md says to pass compat then).
  generationOf: (saved) =>
    saved.fused === null || saved.fused === true || 'decoupled_weight_decay' in saved ? '2.x'
    : saved.fused === false ? '1.13'
    : undefined,
  ambiguous: 'a group without fused does not say',
};

/**
 * A group as 1.13's AdamW writes it, which 1.13's Adam does not: without
 * differentiable and fused, and with foreach before maximize. (From 2.0 the
 * two write the same keys in the same order; later PyTorch adds
 * decoupled_weight_decay, True for AdamW.)
 */
function isAdamW113(saved: Record<string, unknown>): boolean {
  const keys = Object.keys(saved);
  return !('differentiable' in saved) && !('fused' in saved) && keys.indexOf('foreach') >= 0 && keys.indexOf('foreach') < keys.indexOf('maximize');
}

const ADAMW_GROUP: TorchGroupSchema = {
  order: {
    '1.13': ['lr', 'betas', 'eps', 'weight_decay', 'amsgrad', 'foreach', 'maximize', 'capturable'],
    '2.x': ['lr', 'betas', 'eps', 'weight_decay', 'amsgrad', 'foreach', 'maximize', 'capturable', 'differentiable', 'fused'],
  },
  ours: OURS,
  fixed: { foreach: null, capturable: false, differentiable: false, fused: null },
  required: ['lr', 'betas', 'eps', 'weight_decay', 'amsgrad'],
  optional: { maximize: false },
  disowns: (saved) => (saved.decoupled_weight_decay === false ? 'decoupled_weight_decay is False' : undefined),
  // 1.13's AdamW writes neither differentiable nor fused; a group with
  // fused: False is 1.13 Adam's (or a 2.x one built with fused=False), as Adam's rule says.
  generationOf: (saved) => (!('differentiable' in saved) || saved.fused === false ? '1.13' : '2.x'),
};

function validate(g: AdamOptions, where: string, changed: boolean): void {
  checkLearningRate(g.lr, where, changed);
  checkHyper('epsilon value', 'eps', g.eps, { min: 0 }, where);
  if (!Array.isArray(g.betas) || g.betas.length !== 2) throw typeError(`betas (${where})`, 'two numbers [beta1, beta2]', g.betas);
  checkHyper('beta parameter at index 0', 'betas[0]', g.betas[0], { min: 0, max: 1, maxExclusive: true }, where);
  checkHyper('beta parameter at index 1', 'betas[1]', g.betas[1], { min: 0, max: 1, maxExclusive: true }, where);
  checkHyper('weight_decay value', 'weightDecay', g.weightDecay, { min: 0 }, where);
  checkBoolean(`amsgrad (${where})`, g.amsgrad);
  checkBoolean(`maximize (${where})`, g.maximize);
}

/**
 * The bias corrections of a tensor's step t, in double as PyTorch's Python
 * computes them: step_size = lr / (1 - b1^t), and (1 - b2^t)^0.5, by
 * math.sqrt in 1.13 and by ** 0.5 (the C library's pow) in 2.x. Kept for
 * the last t: the tensors of a group share it.
 */
function biasCorrections(): (g: AdamOptions, t: number, out: Float64Array, at: number, math: LibMath) => void {
  let key: unknown[] = [];
  let stepSize = 0;
  let bc2Sqrt = 0;
  return (g, t, out, at, math) => {
    const [b1, b2] = g.betas;
    if (key[0] !== t || key[1] !== g.lr || key[2] !== b1 || key[3] !== b2 || key[4] !== g.compat) {
      const bc2 = 1 - math.pow(b2, t);
      stepSize = g.lr / (1 - math.pow(b1, t));
      bc2Sqrt = g.compat === '1.13' ? Math.sqrt(bc2) : math.pow(bc2, 0.5);
      key = [t, g.lr, b1, b2, g.compat];
    }
    out[at + S.stepSize] = stepSize;
    out[at + S.bc2Sqrt] = bc2Sqrt;
  };
}

function spec(name: 'Adam' | 'AdamW', decoupled: boolean, torchGroups: TorchGroupSchema, weightDecay: number): OptimizerSpec<AdamOptions> {
  const scalars = biasCorrections();
  return {
    name,
    kernel: ADAM_KERNEL,
    defaults: { ...DEFAULTS, weightDecay },
    validate,
    torchGroups,
    numericsDiffer: () => "the first moment's update, and the square root of the second's bias correction",
    countsSteps: true,
    // A 0-dim float32 tensor in both generations: the count stops at 2^24.
    stepIsFloat32: () => true,
    stateAtConstruction: false,
    writeHyper(g, h) {
      h[H.lr] = g.lr;
      h[H.beta1] = g.betas[0];
      h[H.beta2] = g.betas[1];
      h[H.eps] = g.eps;
      h[H.weightDecay] = g.weightDecay;
      h[H.amsgrad] = g.amsgrad ? 1 : 0;
      h[H.maximize] = g.maximize ? 1 : 0;
      h[H.decoupled] = decoupled ? 1 : 0;
      h[H.lerpExpAvg] = g.compat === '1.13' ? 0 : 1;
    },
    writeScalars: (g, t, _created, out, at, math) => scalars(g, t, out, at, math),
  };
}

export const ADAM: OptimizerSpec<AdamOptions> = spec('Adam', false, ADAM_GROUP, 0);
export const ADAMW: OptimizerSpec<AdamOptions> = spec('AdamW', true, ADAMW_GROUP, 0.01);

/**
 * `torch.optim.Adam`, bit for bit in both PyTorch generations (2.x's
 * `exp_avg.lerp_` and `bc2 ** 0.5`, or 1.13's), with amsgrad, maximize and
 * L2 weight decay, in float32 and float64. One fused pass per tensor reads
 * g, p and both moments and writes p and the moments. The operation order is
 * in docs/spec/adam-arithmetic.md. (Without the native addon, float64 can
 * differ in the last bits where the C library's `pow` is not correctly
 * rounded: docs/backends.md.)
 *
 * @example
 * ```ts
 * const opt = new Adam([w, b], { lr: 1e-3, betas: [0.9, 0.999] });
 * ```
 */
export class Adam extends EngineOptimizer<AdamOptions> {
  /** @internal What the engine knows of Adam. */
  static readonly spec: OptimizerSpec<AdamOptions> = ADAM;

  /**
   * @param params - the parameters, or param groups `{ params, ...options }`
   *   whose options override these
   * @param options - hyperparameters (PyTorch's defaults where left out),
   *   `compat`, `threads` and `skipNonFinite`
   * @throws TypeError or RangeError naming the option and value, with
   *   PyTorch's wording, before anything is created
   */
  constructor(params: Iterable<Parameter> | Iterable<ParamGroupInput<AdamOptions>>, options: Partial<AdamOptions> & OptimizerWideOptions = {}) {
    super(params, options);
  }
}

/**
 * `torch.optim.AdamW`: Adam with decoupled weight decay (the param shrinks by
 * 1 - lr · weightDecay before the step; `weightDecay` defaults to 0.01), bit
 * for bit in both PyTorch generations.
 *
 * @example
 * ```ts
 * const opt = new AdamW(params, { lr: 3e-4, weightDecay: 0.1 });
 * ```
 */
export class AdamW extends EngineOptimizer<AdamOptions> {
  /** @internal What the engine knows of AdamW. */
  static readonly spec: OptimizerSpec<AdamOptions> = ADAMW;

  /**
   * @param params - the parameters, or param groups `{ params, ...options }`
   *   whose options override these
   * @param options - hyperparameters (PyTorch's defaults where left out),
   *   `compat`, `threads` and `skipNonFinite`
   * @throws TypeError or RangeError naming the option and value, with
   *   PyTorch's wording, before anything is created
   */
  constructor(params: Iterable<Parameter> | Iterable<ParamGroupInput<AdamOptions>>, options: Partial<AdamOptions> & OptimizerWideOptions = {}) {
    super(params, options);
  }
}
