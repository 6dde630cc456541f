// torch.optim.RMSprop: defaults, validation, state, and one kernel call per
// param group per step. The arithmetic is in the kernels (native/kernels and
// lib/reference), following docs/spec/rmsprop-arithmetic.md.
import type { KernelGroup } from './backend';
import { checkBoolean, checkHyper } from './errors';
import type { Compat, TorchGroupSchema } from './torch-groups';
import {
  KernelOptimizer,
  sameBound,
  splitOptions,
  type KernelOptions,
  type OptimizerWideOptions,
} from './kernel-optimizer';
import { checkStateKeys, withDefaults, type ParamGroup, type ParamGroupInput, type ParamState } from './optimizer';
import type { FloatArray, Parameter } from './tensor';

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
};
const STATE_KEYS = ['step', 'square_avg', 'momentum_buffer', 'grad_avg'];

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
export class RMSprop extends KernelOptimizer<RMSpropOptions> {
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
    const [hyper, skipNonFinite] = splitOptions<RMSpropOptions>(options);
    super(params, withDefaults('RMSprop', DEFAULTS, hyper), 'compat' in hyper);
    this.skipNonFinite = skipNonFinite;
  }

  protected override validateGroup(g: RMSpropGroup, where: string): void {
    checkHyper('learning rate', 'lr', g.lr, { min: 0 }, where);
    checkHyper('alpha value', 'alpha', g.alpha, { min: 0, max: 1, maxExclusive: true }, where);
    checkHyper('epsilon value', 'eps', g.eps, { min: 0 }, where);
    checkHyper('weight_decay value', 'weightDecay', g.weightDecay, { min: 0 }, where);
    checkHyper('momentum value', 'momentum', g.momentum, { min: 0 }, where);
    checkBoolean(`centered (${where})`, g.centered);
    checkBoolean(`maximize (${where})`, g.maximize);
    this.validateCommon(g, where);
  }

  protected readonly stateRoles = ['square_avg', 'momentum_buffer', 'grad_avg'] as const;
  protected readonly torchGroups = TORCH_GROUP;

  protected stateArrays(s: ParamState, out: (FloatArray | null)[], at: number): void {
    out[at] = (s.square_avg as FloatArray | undefined) ?? null;
    out[at + 1] = (s.momentum_buffer as FloatArray | undefined) ?? null;
    out[at + 2] = (s.grad_avg as FloatArray | undefined) ?? null;
  }

  protected stateStillBound(s: ParamState, bound: readonly (FloatArray | null)[], at: number, n: number, shared: number): boolean {
    return (
      sameBound(s.square_avg as FloatArray | undefined, bound[at], n, shared) &&
      sameBound(s.momentum_buffer as FloatArray | undefined, bound[at + 1], n, shared >> 1) &&
      sameBound(s.grad_avg as FloatArray | undefined, bound[at + 2], n, shared >> 2)
    );
  }

  protected override stateQuarter(key: string): 1 | 2 | 3 {
    return key === 'grad_avg' ? 3 : key === 'momentum_buffer' ? 2 : 1;
  }

  protected override stateNeeds(group: RMSpropGroup): number {
    return (group.momentum > 0 ? 1 : 0) | (group.centered ? 2 : 0);
  }

  protected writeHyper(group: RMSpropGroup, h: Float64Array): void {
    h[0] = group.lr;
    h[1] = group.alpha;
    h[2] = group.eps;
    h[3] = group.weightDecay;
    h[4] = group.momentum;
    h[5] = group.centered ? 1 : 0;
    h[6] = group.maximize ? 1 : 0;
    h[7] = group.compat === '1.13' ? 0 : 1;
  }

  protected runKernel(kernels: KernelGroup): void {
    kernels.rmspropStep();
  }

  protected runKernelAsync(kernels: KernelGroup): Promise<void> {
    return kernels.rmspropStepAsync();
  }

  protected override stateComplete(s: ParamState, group: RMSpropGroup): boolean {
    return !(group.momentum > 0 && s.momentum_buffer === undefined) && !(group.centered && s.grad_avg === undefined);
  }

  /** The state of a param about to be stepped, created (zeroed) where missing. */
  protected ensureState(p: Parameter, group: RMSpropGroup, existing: ParamState | undefined): ParamState {
    let s = existing;
    if (s === undefined) {
      // From {}, which V8 gives room for four properties in the object
      // itself: a two-key literal would keep momentum_buffer and grad_avg in
      // a separate array, one more memory access per tensor at every step.
      s = {};
      s.step = 0;
      s.square_avg = this.stateBuffer(p, 'square_avg');
      this.state.set(p, s);
    }
    // Created when first needed, also if momentum or centered is switched on
    // mid-run (PyTorch would fail with a KeyError there).
    if (group.momentum > 0 && s.momentum_buffer === undefined) s.momentum_buffer = this.stateBuffer(p, 'momentum_buffer');
    if (group.centered && s.grad_avg === undefined) s.grad_avg = this.stateBuffer(p, 'grad_avg');
    return s;
  }

  protected stateKeys(group: RMSpropGroup): readonly string[] {
    return ['square_avg', ...(group.momentum > 0 ? ['momentum_buffer'] : []), ...(group.centered ? ['grad_avg'] : [])];
  }

  protected override checkLoadedStateKeys(keys: string[], group: RMSpropGroup, where: string): void {
    checkStateKeys(keys, STATE_KEYS, ['step', ...this.stateKeys(group)], where);
  }
}

