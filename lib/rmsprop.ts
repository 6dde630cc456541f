// torch.optim.RMSprop: defaults, validation, state, and one kernel call per
// param group per step. The arithmetic is in the kernels (native/kernels and
// lib/reference), following docs/spec/rmsprop-arithmetic.md.
import { currentBackend, type KernelGroup } from './backend';
import { checkBoolean, checkHyper, checkOptionNames, describe } from './errors';
import { KernelBinding } from './kernel-binding';
import { Optimizer, type ParamGroup, type ParamGroupInput, type ParamState } from './optimizer';
import type { FloatArray, Parameter } from './tensor';

/** Which PyTorch generation to match: numerics of the centered update and state dict form. */
export type Compat = '2.x' | '1.13';

export interface RMSpropOptions {
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
  /** Normalize by the variance (v - E[g]²) instead of v. Default false. */
  centered: boolean;
  /** Maximize the objective instead of minimizing. Default false. */
  maximize: boolean;
  /** PyTorch generation to match, bit for bit. Default '2.x'. */
  compat: Compat;
  /**
   * Threads for one step of a large group (native backend). 0, the default,
   * means SIMD_OPTIM_THREADS or every core. Results do not depend on it.
   */
  threads: number;
}

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

// PyTorch's `defaults` dict order, which is its state_dict group key order.
const TORCH_KEYS: Record<Compat, readonly string[]> = {
  '1.13': ['lr', 'momentum', 'alpha', 'eps', 'centered', 'weight_decay', 'foreach', 'maximize', 'differentiable'],
  '2.x': ['lr', 'momentum', 'alpha', 'eps', 'centered', 'weight_decay', 'capturable', 'foreach', 'maximize', 'differentiable'],
};
const REQUIRED_TORCH_KEYS = ['lr', 'momentum', 'alpha', 'eps', 'centered', 'weight_decay'];
const STATE_KEYS = ['step', 'square_avg', 'momentum_buffer', 'grad_avg'];
const ROLES_PER_SLOT = 5; // param, grad, square_avg, momentum_buffer, grad_avg (binding.d.ts)

export class RMSprop extends Optimizer<RMSpropOptions> {
  private readonly bindings = new WeakMap<RMSpropGroup, KernelBinding>();

  constructor(
    params: Iterable<Parameter> | Iterable<ParamGroupInput<RMSpropOptions>>,
    options: Partial<RMSpropOptions> = {},
  ) {
    super(params, RMSprop.checkedDefaults(options));
  }

  private static checkedDefaults(options: Partial<RMSpropOptions>): RMSpropOptions {
    if (options === null || typeof options !== 'object') {
      throw new TypeError(`Expected an options object for RMSprop options but received ${describe(options)}`);
    }
    checkOptionNames('RMSprop', options, Object.keys(DEFAULTS));
    return { ...DEFAULTS, ...options };
  }

  protected override validateGroup(g: RMSpropGroup, where: string): void {
    checkHyper('learning rate', 'lr', g.lr, { min: 0 }, where);
    checkHyper('alpha value', 'alpha', g.alpha, { min: 0, max: 1, maxExclusive: true }, where);
    checkHyper('epsilon value', 'eps', g.eps, { min: 0 }, where);
    checkHyper('weight_decay value', 'weightDecay', g.weightDecay, { min: 0 }, where);
    checkHyper('momentum value', 'momentum', g.momentum, { min: 0 }, where);
    checkBoolean(`centered (${where})`, g.centered);
    checkBoolean(`maximize (${where})`, g.maximize);
    checkHyper('thread count', 'threads', g.threads, { min: 0, max: 1024 }, where);
    if (!Number.isInteger(g.threads)) throw new RangeError(`Invalid thread count: ${g.threads} (threads must be an integer, in ${where})`);
    if (g.compat !== '2.x' && g.compat !== '1.13') {
      throw new TypeError(`Expected '2.x' or '1.13' for compat (${where}) but received ${describe(g.compat)}`);
    }
  }

  step<T>(closure?: () => T): T | undefined {
    this.assertNotBusy('step()');
    const loss = closure ? closure() : undefined;
    this.checkStep();
    for (const group of this.paramGroups) this.prepareGroup(group).rmspropStep();
    this.countStep();
    return loss;
  }

  /**
   * The same step, computed off the main thread (libuv's pool), so the event
   * loop stays free. Until the promise settles, the params, grads and state
   * must not be touched, and step(), stepAsync(), zeroGrad() and
   * loadStateDict() throw.
   */
  async stepAsync<T>(closure?: () => T | Promise<T>): Promise<T | undefined> {
    this.assertNotBusy('stepAsync()');
    const loss = closure ? await closure() : undefined;
    this.assertNotBusy('stepAsync()');
    this.checkStep();
    const kernels = this.paramGroups.map((group) => this.prepareGroup(group));
    this.busy = true;
    try {
      await Promise.all(kernels.map((k) => k.rmspropStepAsync()));
    } finally {
      this.busy = false;
    }
    this.countStep();
    return loss;
  }

  /**
   * Checks everything before anything is written. Arrays still bound from
   * the last step passed the full checks then and need only their lengths.
   */
  private checkStep(): void {
    this.paramGroups.forEach((group, gi) => {
      this.validateGroup(group, `param group ${gi}`);
      const binding = this.bindingFor(group);
      const current = binding.isCurrent();
      const params = group.params;
      for (let pi = 0; pi < params.length; pi++) {
        const p = params[pi];
        const s = p.grad === null ? undefined : this.state.get(p);
        binding.states[pi] = s;
        if (p.grad !== null && !(current && s !== undefined && unchangedSinceLastStep(p, s, binding, pi * ROLES_PER_SLOT))) {
          this.checkParamForStep(p, `param ${pi} of group ${gi}`);
        }
      }
    });
  }

  /** After a step: every param that had a grad has taken one more step. */
  private countStep(): void {
    for (const group of this.paramGroups) {
      const states = this.bindingFor(group).states;
      for (let i = 0; i < group.params.length; i++) {
        const s = states[i];
        if (s !== undefined) (s.step as number) += 1;
      }
    }
  }

  private bindingFor(group: RMSpropGroup): KernelBinding {
    let binding = this.bindings.get(group);
    if (binding === undefined) this.bindings.set(group, (binding = new KernelBinding(ROLES_PER_SLOT)));
    return binding;
  }

  /** Creates missing state, binds the group's arrays and hyperparameters; returns its kernels. */
  private prepareGroup(group: RMSpropGroup): KernelGroup {
    const binding = this.bindingFor(group);
    const { arrays } = binding;
    const params = group.params;
    for (let slot = 0, i = 0; slot < params.length; slot++, i += ROLES_PER_SLOT) {
      const p = params[slot];
      arrays[i] = p.data;
      arrays[i + 1] = p.grad;
      if (p.grad === null) continue; // its state stays bound as it was
      const s = this.stateFor(p, group, binding.states[slot] as ParamState | undefined);
      binding.states[slot] = s;
      arrays[i + 2] = s.square_avg as FloatArray;
      arrays[i + 3] = (s.momentum_buffer as FloatArray | undefined) ?? null;
      arrays[i + 4] = (s.grad_avg as FloatArray | undefined) ?? null;
    }
    const kernels = binding.sync(params.length);
    const h = binding.hyper;
    h[0] = group.lr;
    h[1] = group.alpha;
    h[2] = group.eps;
    h[3] = group.weightDecay;
    h[4] = group.momentum;
    h[5] = group.centered ? 1 : 0;
    h[6] = group.maximize ? 1 : 0;
    h[7] = group.compat === '1.13' ? 0 : 1;
    h[8] = group.threads;
    return kernels;
  }

  /** The state of a param about to be stepped, created (zeroed) where missing. */
  private stateFor(p: Parameter, group: RMSpropGroup, existing: ParamState | undefined): ParamState {
    let s = existing;
    if (s === undefined) {
      s = { step: 0, square_avg: this.allocState(p.dtype, p.numel) };
      this.state.set(p, s);
    }
    // Created when first needed, also if momentum or centered is switched on
    // mid-run (PyTorch would fail with a KeyError there).
    if (group.momentum > 0 && s.momentum_buffer === undefined) s.momentum_buffer = this.allocState(p.dtype, p.numel);
    if (group.centered && s.grad_avg === undefined) s.grad_avg = this.allocState(p.dtype, p.numel);
    return s;
  }

  protected override allocState(dtype: 'float32' | 'float64', length: number): FloatArray {
    return currentBackend().allocState(dtype, length);
  }

  protected override toTorchGroup(g: RMSpropGroup): Record<string, unknown> {
    const values: Record<string, unknown> = {
      lr: g.lr,
      momentum: g.momentum,
      alpha: g.alpha,
      eps: g.eps,
      centered: g.centered,
      weight_decay: g.weightDecay,
      capturable: false,
      foreach: null,
      maximize: g.maximize,
      differentiable: false,
    };
    const keys = TORCH_KEYS[g.compat];
    const order = new Set([...(this.torchKeyOrder.get(g) ?? []).filter((k) => keys.includes(k)), ...keys]);
    const out: Record<string, unknown> = {};
    for (const key of order) out[key] = values[key];
    return out;
  }

  protected override fromTorchGroup(saved: Record<string, unknown>, current: RMSpropGroup, where: string): RMSpropGroup {
    for (const key of Object.keys(saved)) {
      if (key !== 'params' && !TORCH_KEYS['2.x'].includes(key)) throw new TypeError(`${where} has unknown key '${key}'`);
    }
    for (const key of REQUIRED_TORCH_KEYS) {
      if (!(key in saved)) throw new TypeError(`${where} is missing '${key}'`);
    }
    if ('foreach' in saved && saved.foreach !== null && typeof saved.foreach !== 'boolean') {
      throw new TypeError(`Expected null or a boolean for ${where}.foreach but received ${describe(saved.foreach)}`);
    }
    if ('capturable' in saved) checkBoolean(`${where}.capturable`, saved.capturable);
    if ('differentiable' in saved && saved.differentiable !== false) {
      throw new TypeError(`${where}.differentiable must be false (simd-optim does not differentiate through steps)`);
    }
    return {
      ...current,
      lr: saved.lr as number,
      momentum: saved.momentum as number,
      alpha: saved.alpha as number,
      eps: saved.eps as number,
      centered: saved.centered as boolean,
      weightDecay: saved.weight_decay as number,
      maximize: 'maximize' in saved ? (saved.maximize as boolean) : false,
    };
  }

  protected override checkLoadedStateKeys(keys: string[], group: RMSpropGroup, where: string): void {
    const unknown = keys.find((k) => !STATE_KEYS.includes(k));
    if (unknown !== undefined) throw new TypeError(`${where} has unknown key '${unknown}'`);
    const required = ['step', 'square_avg'];
    if (group.momentum > 0) required.push('momentum_buffer');
    if (group.centered) required.push('grad_avg');
    const missing = required.find((k) => !keys.includes(k));
    if (missing !== undefined) throw new TypeError(`${where} is missing '${missing}'`);
  }
}

/** Same arrays as bound at the last step, with the lengths they had. */
function unchangedSinceLastStep(p: Parameter, s: ParamState, b: KernelBinding, base: number): boolean {
  const n = p.numel;
  if (p.data !== b.boundAt(base) || p.grad !== b.boundAt(base + 1)) return false;
  if (p.data.length !== n || p.grad!.length !== n) return false;
  for (let role = 2; role < ROLES_PER_SLOT; role++) {
    const value = s[ROLE_STATE_KEYS[role]];
    if (value !== undefined && (value !== b.boundAt(base + role) || (value as FloatArray).length !== n)) return false;
  }
  return true;
}

// State key of each kernel role after param and grad.
const ROLE_STATE_KEYS = ['', '', 'square_avg', 'momentum_buffer', 'grad_avg'];
