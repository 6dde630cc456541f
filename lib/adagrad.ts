// torch.optim.Adagrad: the running sum of squared gradients that RMSprop
// replaces with a decaying average. Kept for contrast (its steps shrink
// towards zero) and for users who want it. Arithmetic:
// docs/spec/adagrad-arithmetic.md.
import type { KernelGroup } from './backend';
import { checkBoolean, checkHyper } from './errors';
import { KernelOptimizer, sameBound, splitOptions, type KernelOptions, type OptimizerWideOptions } from './kernel-optimizer';
import { checkStateKeys, withDefaults, type ParamGroup, type ParamGroupInput, type ParamState } from './optimizer';
import type { FloatArray, Parameter } from './tensor';
import type { TorchGroupSchema } from './torch-groups';

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
export class Adagrad extends KernelOptimizer<AdagradOptions> {
  protected readonly stateRoles = ['sum'] as const;
  protected readonly torchGroups = TORCH_GROUP;

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
    const [hyper, skipNonFinite] = splitOptions<AdagradOptions>(options);
    super(params, withDefaults('Adagrad', DEFAULTS, hyper), 'compat' in hyper);
    this.skipNonFinite = skipNonFinite;
    // PyTorch creates Adagrad's state when the optimizer is made, so its
    // state_dict has every param from the start, and it fills `sum` with the
    // constructor's initial_accumulator_value even where a group sets its own.
    const start = this.defaults.initialAccumulatorValue;
    const all = this.paramGroups.flatMap((g) => g.params);
    this.withPreallocated(all.map((p) => ({ p, key: 'sum' })), () => {
      for (const p of all) this.createState(p, start);
    });
  }

  protected override validateGroup(g: AdagradGroup, where: string): void {
    checkHyper('learning rate', 'lr', g.lr, { min: 0 }, where);
    checkHyper('lr_decay value', 'lrDecay', g.lrDecay, { min: 0 }, where);
    checkHyper('weight_decay value', 'weightDecay', g.weightDecay, { min: 0 }, where);
    checkHyper('initial_accumulator_value value', 'initialAccumulatorValue', g.initialAccumulatorValue, { min: 0 }, where);
    checkHyper('epsilon value', 'eps', g.eps, { min: 0 }, where);
    checkBoolean(`maximize (${where})`, g.maximize);
    this.validateCommon(g, where);
  }

  /**
   * State for a param that has none: one added by addParamGroup (PyTorch
   * would fail there) starts from its group's initialAccumulatorValue.
   */
  protected ensureState(p: Parameter, group: AdagradGroup, existing: ParamState | undefined): ParamState {
    return existing ?? this.state.get(p) ?? this.createState(p, group.initialAccumulatorValue);
  }

  private createState(p: Parameter, initialAccumulatorValue: number): ParamState {
    const sum = this.stateBuffer(p, 'sum');
    sum.fill(initialAccumulatorValue); // torch.full_like: rounded to the param's dtype
    const s: ParamState = { step: 0, sum };
    this.state.set(p, s);
    return s;
  }

  protected stateKeys(): readonly string[] {
    return ['sum'];
  }

  /** Adagrad's step is a float32 tensor in PyTorch 1.13 too. */
  protected override stepIsFloat32(): boolean {
    return true;
  }

  protected stateArrays(s: ParamState, out: (FloatArray | null)[], at: number): void {
    out[at] = (s.sum as FloatArray | undefined) ?? null;
  }

  protected stateStillBound(s: ParamState, bound: readonly (FloatArray | null)[], at: number, n: number, shared: number): boolean {
    return sameBound(s.sum as FloatArray | undefined, bound[at], n, shared);
  }

  protected writeHyper(
    group: AdagradGroup,
    h: Float64Array,
    clr: Float64Array,
    states: readonly (ParamState | undefined)[],
  ): void {
    h[2] = group.eps;
    h[3] = group.weightDecay;
    h[6] = group.maximize ? 1 : 0;
    // Each tensor's own step, counted from 1 as PyTorch does after its += 1,
    // in its float32 step tensor (stepIsFloat32).
    for (let i = 0; i < group.params.length; i++) {
      const s = states[i];
      if (s !== undefined) clr[i] = group.lr / (1 + (Math.fround((s.step as number) + 1) - 1) * group.lrDecay);
    }
  }

  protected runKernel(kernels: KernelGroup): void {
    kernels.adagradStep();
  }

  protected runKernelAsync(kernels: KernelGroup): Promise<void> {
    return kernels.adagradStepAsync();
  }

  protected override checkLoadedStateKeys(keys: string[], _group: AdagradGroup, where: string): void {
    checkStateKeys(keys, ['step', 'sum'], ['step', 'sum'], where);
  }
}
