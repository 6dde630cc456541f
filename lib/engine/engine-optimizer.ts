// The engine's optimizer: a step that checks everything first, then makes
// one kernel call per param group over arrays bound to it (see
// kernel-binding.ts), synchronously or off the main thread. Everything it
// knows of the algorithm comes from the optimizer's spec (optimizer-spec.ts).
import { libm, type KernelGroup } from './backend';
import { checkBoolean, checkHyper, describe, typeError } from '../core/errors';
import { KernelBinding } from './kernel-binding';
import type { KernelOptions, OptimizerSpec } from './optimizer-spec';
import { stateAccess, type StateAccess } from './state-access';
import { wrongKindError } from './dict-kinds';
import { fromTorchGroup, toTorchGroup, type Compat } from './torch-groups';
import { checkOptimizerDict, checkStateKeys, Optimizer, toSnake, withDefaults, type ParamGroup, type ParamGroupInput, type ParamState, type StateDict } from '../core/optimizer';
import { DICT_GENERATIONS, STEP_FORMS } from '../core/python-values';
import type { Parameter } from '../core/tensor';
import { ModelState } from '../core/model-state';
import { groupValues } from './group-values';
import { StepGuard } from './step-guard';

export type { KernelOptions };

/** Options of the optimizer as a whole (not per group, not in state dicts). */
export interface OptimizerWideOptions {
  /**
   * When true, a step whose gradients contain NaN or ±Inf changes nothing and
   * is counted in `skippedSteps`. Default false: they propagate as in PyTorch.
   */
  skipNonFinite?: boolean;
}

/** Splits constructor options into per-group hyperparameters and optimizer-wide ones. */
function splitOptions<H>(options: (Partial<H> & OptimizerWideOptions) | undefined): [Partial<H>, boolean] {
  if (options === null || typeof options !== 'object') return [options as unknown as Partial<H>, false];
  const { skipNonFinite = false, ...hyper } = options;
  return [hyper as Partial<H>, checkBoolean('skipNonFinite', skipNonFinite)];
}

/** The spec of an EngineOptimizer class: its static `spec`. */
function specOf<H extends KernelOptions>(cls: unknown): OptimizerSpec<H> {
  const spec = (cls as { spec?: OptimizerSpec<H> }).spec;
  if (spec === undefined) throw new TypeError('an EngineOptimizer class needs a static spec (an OptimizerSpec)');
  return spec;
}

/** Each kernel's state accessors, compiled once (state-access.ts). */
const accessors = new WeakMap<object, StateAccess>();

/**
 * The base of the built-in optimizers, whose steps run in the kernels: one
 * native call per param group, on threads for large groups, or off the main
 * thread with {@link EngineOptimizer.stepAsync}. A subclass gives its spec
 * (lib/optim/) and nothing else.
 */
export class EngineOptimizer<H extends KernelOptions> extends Optimizer<H> {
  /**
   * When true, a step whose gradients contain NaN or ±Inf (in any group)
   * changes nothing and is counted in skippedSteps, the way mixed-precision
   * grad scalers survive a bad batch. Default false: non-finite values
   * propagate exactly as in PyTorch.
   */
  skipNonFinite = false;
  /** Whether the last step was skipped for non-finite gradients. */
  lastStepSkipped = false;
  /** How many steps were skipped for non-finite gradients. */
  skippedSteps = 0;
  private readonly bindings = new WeakMap<ParamGroup<H>, KernelBinding>();
  private readonly guard: StepGuard;
  /** Whether the constructor's options chose compat (groups' choices are in givenOptionNames). */
  private readonly compatGiven: boolean;
  /** The warnings of the load in progress (loadStateDict), said once it succeeds. */
  private pendingWarnings: string[] = [];
  /** The generation warnings this optimizer has given. */
  private readonly warned = new Set<string>();
  private readonly access: StateAccess;
  private readonly stateNames: readonly string[];

  /** The optimizer's spec: each concrete class names its own (static `spec`). */
  private readonly spec: OptimizerSpec<H>;

  constructor(params: Iterable<Parameter> | Iterable<ParamGroupInput<H>>, options: Partial<H> & OptimizerWideOptions = {}) {
    const spec = specOf<H>(new.target);
    const [hyper, skipNonFinite] = splitOptions<H>(options);
    const merged = withDefaults(spec.name, spec.defaults, hyper);
    spec.validateOptions?.(merged);
    super(params, merged);
    this.spec = spec;
    this.compatGiven = hyper !== null && typeof hyper === 'object' && 'compat' in hyper;
    this.skipNonFinite = skipNonFinite;
    this.stateNames = spec.kernel.states;
    let access = accessors.get(spec.kernel);
    if (access === undefined) accessors.set(spec.kernel, (access = stateAccess(spec.kernel.states)));
    this.access = access;
    const names = Object.keys(spec.defaults);
    const readValues = groupValues(spec.defaults, names.map(toSnake).filter((snake, i) => snake !== names[i]));
    this.guard = new StepGuard({
      groups: () => this.paramGroups,
      state: this.state,
      bindingFor: (group) => this.bindingFor(group as ParamGroup<H>),
      validate: (group, where) => {
        this.checkTorchSpellings(group as ParamGroup<H>, where);
        this.validateGroup(group as ParamGroup<H>, where, true);
      },
      hyperValues: readValues,
      usedStates: (group, hyper) => this.usedStates(group as ParamGroup<H>, hyper),
      stateKeys: (used) => this.stateKeys(used),
      stateNames: this.stateNames,
      access,
      stateComplete: (s, used) => this.stateComplete(s, used),
      countsSteps: spec.countsSteps,
      checkParam: (p, where) => this.checkParamForStep(p, where),
      checkGrad: (p, grad, where) => this.checkGradForStep(p, grad, where),
    });
    if (spec.stateAtConstruction) {
      // PyTorch makes this optimizer's state with it, so its state_dict has every param from the start.
      const all = this.paramGroups.flatMap((g) => g.params);
      const keys = this.stateNames;
      this.withPreallocated(all.flatMap((p) => keys.map((key) => ({ p, key }))), () => {
        for (const p of all) this.state.set(p, this.newState(p, this.defaults as H, true, keys));
      });
    }
  }

  protected override validateGroup(group: ParamGroup<H>, where: string, changed = false): void {
    // The base constructor adds the groups before `spec` is set.
    (this.spec ?? specOf<H>(this.constructor)).validate(group, where, changed);
    checkHyper('thread count', 'threads', group.threads, { min: 0, max: 1024 }, where);
    if (!Number.isInteger(group.threads)) {
      throw new RangeError(`Invalid thread count: ${group.threads} (threads must be an integer, in ${where})`);
    }
    if (group.compat !== '2.x' && group.compat !== '1.13') {
      throw new TypeError(`Expected '2.x' or '1.13' for compat (${where}) but received ${describe(group.compat)}`);
    }
  }

  protected override toTorchGroup(group: ParamGroup<H>): Record<string, unknown> {
    return toTorchGroup(this.spec.torchGroups, group, this.torchKeyOrder.get(group) ?? [], this.extraKeys(group));
  }

  /**
   * A loaded group: its hyperparameters and other keys from the dict, and
   * its compat the generation the dict shows it comes from (so that a 1.13
   * checkpoint goes on as 1.13 would), unless the user chose compat (for
   * the optimizer or any group) or the dict does not tell.
   */
  protected override fromTorchGroup(saved: Record<string, unknown>, current: ParamGroup<H>, where: string): ParamGroup<H> {
    const schema = this.spec.torchGroups;
    const wrongKind = wrongKindError(this.spec, saved);
    if (wrongKind !== undefined) throw wrongKind;
    const loaded = fromTorchGroup(schema, saved, where, Object.keys(this.defaults));
    const generation = schema.generationOf(saved);
    const chosen = this.compatGiven || this.givenOptionNames.has('compat');
    const compat = chosen || generation === undefined ? current.compat : generation;
    const next = { ...this.withoutExtras(current), ...loaded, compat } as ParamGroup<H>;
    const warning = generationWarning(this.spec, next, generation, chosen);
    if (warning !== undefined) this.pendingWarnings.push(warning);
    return next;
  }

  /**
   * Loads a dict from stateDict() or from PyTorch (either generation), as
   * Optimizer's does. A group whose dict shows (or does not tell) that it
   * comes from a PyTorch generation whose arithmetic differs from the
   * group's `compat` is loaded with a warning that says how to match it.
   */
  override loadStateDict(dict: StateDict): void {
    this.pendingWarnings = [];
    let loaded = false;
    try {
      super.loadStateDict(dict);
      loaded = true;
    } finally {
      const warnings = this.pendingWarnings;
      this.pendingWarnings = [];
      // Only once it has loaded (a refused dict changes nothing, and says nothing more), and once per optimizer.
      if (loaded) {
        for (const w of warnings) {
          if (this.warned.has(w)) continue;
          this.warned.add(w);
          process.emitWarning(w, { code: 'SIMD_OPTIM_GENERATION' });
        }
      }
    }
  }

  /**
   * An optimizer of this class built from a state dict: one group per
   * saved group, with its hyperparameters and its state (PyTorch's
   * `optimizer_state_dict`, or stateDict()'s). `params` are the dict's
   * parameters in its index order, as `model.parameters()` gives them, or a
   * {@link ModelState} (whose count is checked, naming likely buffers; its
   * parameters are matched by the groups' `param_names` where the dict has
   * them, else taken in its order, which must be the dict's). The
   * generation is the one the dict shows; where it does not tell, pass
   * `compat`.
   *
   * @example
   * ```ts
   * const opt = AdamW.fromStateDict(model.parameters(), checkpoint.optimizer_state_dict);
   * ```
   */
  static fromStateDict<O>(
    this: new (params: ParamGroupInput<any>[], options?: object) => O,
    params: Iterable<Parameter> | ModelState,
    dict: StateDict,
    options: FromStateDictOptions = {},
  ): O {
    const spec = specOf<KernelOptions>(this);
    const owner = `${spec.name}.fromStateDict`;
    checkOptimizerDict(dict);
    if (options === null || typeof options !== 'object') throw typeError(`${owner} options`, 'an options object', options);
    for (const key of Object.keys(options)) {
      if (!['compat', 'threads', 'skipNonFinite'].includes(key)) throw new TypeError(`Unknown option '${key}' for ${owner}; known options: compat, threads, skipNonFinite`);
    }
    if (params instanceof ModelState) params.checkOptimizerDict(dict, owner);
    const source = params instanceof ModelState ? params.parameters : params;
    if (source === null || typeof source !== 'object' || !(Symbol.iterator in source)) throw typeError(`${owner} params`, 'an array of Parameters, or a ModelState', params);
    const list = Array.from(source);
    const ids = dict.param_groups.flatMap((g) => (Array.isArray(g?.params) ? g.params : []));
    if (ids.length !== list.length) {
      throw new RangeError(`${owner}: the dict's param_groups list ${ids.length} params, but ${list.length} were given` +
        (list.length > ids.length ? ' (does the list hold buffers, such as running_mean or num_batches_tracked? pass the parameters only)' : ''));
    }
    // PyTorch numbers params group by group; 2.6 also writes their names where the optimizer was given them.
    const byName = params instanceof ModelState && dict.param_groups.every((g) => Array.isArray(g.param_names) && g.param_names.length === g.params.length);
    const groups = dict.param_groups.map((g, gi) => ({
      params: g.params.map((id, k) => {
        const name = byName ? (g.param_names as unknown[])[k] : undefined;
        const p = byName ? (params as ModelState).parameter(String(name))
          : Number.isSafeInteger(id) && id >= 0 && id < list.length ? list[id] : undefined;
        if (p === undefined) {
          throw new RangeError(byName
            ? `${owner}: param_groups[${gi}].param_names[${k}] = ${describe(name)} is not a parameter of the model state`
            : `${owner}: param_groups[${gi}].params[${k}] = ${describe(id)} is not an index below ${list.length}`);
        }
        return p;
      }),
    }));
    let compat = options.compat;
    if (compat === undefined) {
      const found = dict.param_groups.map((g) => {
        const wrongKind = wrongKindError(spec, g as Record<string, unknown>);
        if (wrongKind !== undefined) throw wrongKind;
        return spec.torchGroups.generationOf(g as Record<string, unknown>);
      });
      const known = new Set(found);
      if (known.has(undefined) || known.size > 1) {
        const why = known.size > 1 ? 'its groups show different generations' : spec.torchGroups.ambiguous ?? 'it does not say';
        throw new TypeError(`${owner}: this dict does not tell which PyTorch generation wrote it (${why}): pass { compat: '1.13' } or { compat: '2.x' }`);
      }
      compat = found[0] ?? '2.x';
    }
    const opt = new this(groups, { ...options, compat });
    (opt as unknown as Optimizer).loadStateDict(dict);
    return opt;
  }

  /** Bit k: a step of the group uses state kernel.states[k]. Writes the group's hyperparameters into `hyper` to find out. */
  private usedStates(group: ParamGroup<H>, hyper: Float64Array): number {
    this.spec.writeHyper(group, hyper);
    return this.spec.kernel.usedStates(hyper);
  }

  /** The state keys a step of this group needs in every param's state (ensureState creates the missing ones). */
  private stateKeys(used: number): string[] {
    return this.stateNames.filter((_, k) => ((used >> k) & 1) !== 0);
  }

  /** A new state entry for `p`: `step` (if counted) and the `keys` tensors, zeroed or at their initial value. */
  private newState(p: Parameter, group: H, atConstruction: boolean, keys: readonly string[]): ParamState {
    // From {}, which V8 gives room for four properties in the object itself: a
    // literal with fewer keys would keep the later ones in a separate array,
    // one more memory access per tensor at every step.
    const s: ParamState = {};
    if (this.spec.countsSteps) s.step = 0;
    for (const key of keys) this.addStateTensor(p, s, key, group, atConstruction);
    return s;
  }

  private addStateTensor(p: Parameter, s: ParamState, key: string, group: H, atConstruction: boolean): void {
    const tensor = this.stateBuffer(p, key);
    const start = this.spec.initialValue?.(key, group, atConstruction) ?? 0;
    if (start !== 0) tensor.fill(start); // as torch.full_like: rounded to the param's dtype
    s[key] = tensor;
  }

  /**
   * The state of a param about to be stepped: `existing`, completed with the
   * tensors this step uses (also when a setting such as momentum is switched
   * on mid-run, where PyTorch would fail), or made. Sets `created` bits.
   */
  private ensureState(p: Parameter, group: ParamGroup<H>, existing: ParamState | undefined, used: number, binding: KernelBinding, slot: number): ParamState {
    let s = existing ?? this.state.get(p);
    let created = 0;
    if (s === undefined) {
      s = this.newState(p, group, false, []);
      this.state.set(p, s);
    }
    const names = this.stateNames;
    for (let k = 0; k < names.length; k++) {
      if (((used >> k) & 1) !== 0 && s[names[k]] === undefined) {
        this.addStateTensor(p, s, names[k], group, false);
        created |= 1 << k;
      }
    }
    binding.created[slot] = created;
    return s;
  }

  /** Whether a param's state has every tensor the group's settings use (else the step creates them). */
  private stateComplete(s: ParamState, used: number): boolean {
    const names = this.stateNames;
    for (let k = 0; k < names.length; k++) if (((used >> k) & 1) !== 0 && s[names[k]] === undefined) return false;
    return true;
  }

  /** The page quarter of a state buffer: a different one for each buffer a step streams through. */
  protected override stateQuarter(key: string): 1 | 2 | 3 {
    return Math.min(3, Math.max(1, this.stateNames.indexOf(key) + 1)) as 1 | 2 | 3;
  }

  /**
   * The optimizer's state and hyperparameters in PyTorch's `state_dict()`
   * layout, as each group's PyTorch generation writes it, holding copies:
   * pass it to `saveTorch` for `torch.load`.
   */
  override stateDict(): StateDict {
    // The spec shapes each entry (1.13 SGD's None buffers); the marks tell
    // saveTorch the dict's generation and how each entry's `step` is stored.
    const dict = super.stateDict();
    const groupAt: ParamGroup<H>[] = this.paramGroups.flatMap((g) => g.params.map(() => g));
    const state: StateDict['state'] = {};
    for (const [key, entry] of Object.entries(dict.state)) {
      const group = groupAt[Number(key)];
      const out = this.spec.stateDictEntry ? this.spec.stateDictEntry(entry, group) : entry;
      if (out === undefined) continue;
      if ('step' in out) {
        const form = (compat: Compat) => (this.spec.stepIsFloat32({ ...group, compat }) ? 'tensor' : 'int');
        STEP_FORMS.set(out, { '1.13': form('1.13'), '2.x': form('2.x') });
      }
      state[Number(key)] = out;
    }
    const result: StateDict = { state, param_groups: dict.param_groups };
    DICT_GENERATIONS.set(result, this.paramGroups.some((g) => g.compat === '2.x') ? '2.x' : '1.13');
    return result;
  }

  protected override checkLoadedStateKeys(keys: string[], group: ParamGroup<H>, where: string): void {
    const step = this.spec.countsSteps ? ['step'] : [];
    const used = this.usedStates(group, new Float64Array(this.spec.kernel.hyper.length));
    checkStateKeys(keys, [...step, ...this.stateNames], [...step, ...this.stateKeys(used)], where);
  }

  /**
   * One step over every param with a grad. The closure, if given, runs first
   * (to compute the loss and the grads) and its result is returned. Every
   * group and param is checked before anything is written: a bad one throws
   * and changes nothing.
   */
  step<T>(closure?: () => T): T | undefined {
    this.assertNotBusy('step()');
    checkClosure(closure);
    const loss = closure ? closure() : undefined;
    refuseAsyncLoss(loss);
    this.guard.check();
    if (this.skipForNonFinite()) return loss;
    for (const group of this.paramGroups) this.prepareGroup(group).step(group.threads);
    this.countStep();
    return loss;
  }

  /**
   * The same step, computed off the main thread (libuv's pool), so the event
   * loop stays free. Until the promise settles, the params, grads and state
   * must not be touched, and step(), stepAsync(), zeroGrad(), addParamGroup(),
   * loadStateDict() and stateDict() throw.
   */
  async stepAsync<T>(closure?: () => T | Promise<T>): Promise<T | undefined> {
    this.assertNotBusy('stepAsync()');
    checkClosure(closure);
    const loss = closure ? await closure() : undefined;
    this.assertNotBusy('stepAsync()');
    this.guard.check();
    if (this.skipForNonFinite()) return loss;
    const kernels = this.paramGroups.map((group) => this.prepareGroup(group));
    this.busy = true;
    const running: Promise<void>[] = [];
    try {
      this.paramGroups.forEach((group, gi) => running.push(kernels[gi].stepAsync(group.threads)));
      await Promise.all(running);
    } finally {
      // A group that failed to start, or failed, must not free the arrays the others still write.
      await Promise.allSettled(running);
      this.busy = false;
    }
    this.countStep();
    return loss;
  }

  /**
   * With skipNonFinite, checks every grad (natively, vectorised) before
   * anything is created or written; true if the step must be skipped.
   */
  private skipForNonFinite(): boolean {
    if (!this.skipNonFinite) {
      this.lastStepSkipped = false;
      return false;
    }
    const finite = this.paramGroups.every((group) => this.bindGroup(group, false).gradsFinite());
    this.lastStepSkipped = !finite;
    if (!finite) this.skippedSteps += 1;
    return !finite;
  }

  /**
   * Creates missing state and binds the group's arrays (its hyperparameters
   * were written by the step's checks), and each tensor's scalars; returns
   * its kernels.
   */
  private prepareGroup(group: ParamGroup<H>): KernelGroup {
    const binding = this.bindingFor(group);
    const kernels = binding.clean ? binding.current() : this.bindGroup(group, true);
    const write = this.spec.writeScalars;
    if (write !== undefined) {
      const { states, created, slotScalars } = binding;
      const count = this.spec.kernel.scalars.length;
      const float32 = this.spec.stepIsFloat32(group);
      for (let i = 0; i < group.params.length; i++) {
        const s = states[i];
        if (s === undefined) continue;
        // The count after this step, as PyTorch has it when it computes the scalars (after its += 1).
        const next = this.spec.countsSteps ? (s.step as number) + 1 : 0;
        write(group, float32 ? Math.fround(next) : next, created[i] ?? 0, slotScalars, i * count, libm);
        created[i] = 0;
      }
    }
    return kernels;
  }

  /**
   * Binds each param's data and grad, and its state: all of it, created where
   * missing (withState), or only what exists (to check grads before a step
   * changes anything).
   */
  private bindGroup(group: ParamGroup<H>, withState: boolean): KernelGroup {
    const binding = this.bindingFor(group);
    const { arrays, states, stateOwners, rolesPerSlot } = binding;
    const params = group.params;
    this.withPreallocated(withState ? this.missingState(group) : [], () => {
      for (let slot = 0, i = 0; slot < params.length; slot++, i += rolesPerSlot) {
        const p = params[slot];
        arrays[i] = p.data;
        arrays[i + 1] = p.grad;
        if (p.grad === null) continue; // its state stays bound as it was
        let s = states[slot] as ParamState | undefined; // p's: the step's checks looked it up
        if (withState) states[slot] = s = this.ensureState(p, group, s, binding.used, binding, slot);
        stateOwners[slot] = p;
        if (s !== undefined) this.access.read(s, arrays, i + 2);
        else for (let r = 2; r < rolesPerSlot; r++) arrays[i + r] = null;
      }
    });
    if (withState) {
      binding.statesVersion = this.state.version;
      binding.needs = binding.used;
    } else {
      binding.needs = -1; // states left incomplete: the next step checks in full
    }
    return binding.sync(params.length);
  }

  /** The state tensors this step will create, in param order (allocated together: state-slabs.ts). */
  private missingState(group: ParamGroup<H>): { p: Parameter; key: string }[] {
    const binding = this.bindingFor(group);
    const states = binding.states;
    const keys = this.stateKeys(binding.used);
    const missing: { p: Parameter; key: string }[] = [];
    group.params.forEach((p, slot) => {
      if (p.grad === null) return;
      const s = (states[slot] as ParamState | undefined) ?? this.state.get(p);
      for (const key of keys) if (s?.[key] === undefined) missing.push({ p, key });
    });
    return missing;
  }

  /**
   * After a step: every param that had a grad has taken one more step,
   * counted as the group's generation counts it (stepIsFloat32).
   */
  private countStep(): void {
    if (!this.spec.countsSteps) return;
    for (const group of this.paramGroups) {
      const states = this.bindingFor(group).states;
      const float32 = this.spec.stepIsFloat32(group);
      for (let i = 0; i < group.params.length; i++) {
        const s = states[i];
        if (s === undefined) continue;
        const next = (s.step as number) + 1;
        // Exact up to 2^24 either way; Math.fround only past it keeps the field a small integer (V8 Smi).
        s.step = float32 && next > FLOAT32_EXACT ? Math.fround(next) : next;
      }
    }
  }

  /**
   * A loaded step count as PyTorch loads it: into a float32 tensor where it
   * keeps one (past 2^24 the count then stops at 16777216, and a step that
   * reads it, such as Adagrad's lr_decay, sees that).
   */
  protected override loadedStep(step: number, group: ParamGroup<H>): number {
    return this.spec.stepIsFloat32(group) ? Math.fround(step) : step;
  }

  protected override get countsSteps(): boolean {
    return this.spec.countsSteps;
  }

  protected override isTensorStateKey(key: string): boolean {
    return this.stateNames.includes(key);
  }

  /** zeroGrad()'s default, by the group's generation: 1.13's zero_grad() fills grads with zeros. */
  protected override defaultSetToNone(group: ParamGroup<H>): boolean {
    return group.compat !== '1.13';
  }

  private bindingFor(group: ParamGroup<H>): KernelBinding {
    let binding = this.bindings.get(group);
    if (binding === undefined) {
      binding = new KernelBinding(this.spec.kernel, () => this.guard.boundMemory.invalidate());
      this.bindings.set(group, binding);
    }
    return binding;
  }
}

function checkClosure(closure: unknown): void {
  // null too: the port of Python's step(None).
  if (closure !== undefined && closure !== null && typeof closure !== 'function') {
    throw typeError('closure', 'a function (or nothing)', closure);
  }
}

/**
 * A closure that returns a Promise has not finished when step() would run:
 * its grads may not be there yet. Nothing has been stepped when this throws.
 */
function refuseAsyncLoss(loss: unknown): void {
  if (loss === null || (typeof loss !== 'object' && typeof loss !== 'function') || typeof (loss as { then?: unknown }).then !== 'function') return;
  // The closure's own rejection is reported by this error; do not let it surface again as an unhandled one.
  (loss as Promise<unknown>).then(undefined, () => {});
  throw new TypeError('step() got a closure that returned a Promise, which step() cannot wait for: use await opt.stepAsync(closure)');
}

/** Options of {@link EngineOptimizer.fromStateDict}. */
export interface FromStateDictOptions {
  /** The PyTorch generation, where the dict does not tell (default: the one it shows). */
  compat?: Compat;
  /** Threads for a large group's step (0: the default). */
  threads?: number;
  /** As the constructor's. */
  skipNonFinite?: boolean;
}

/**
 * Why a loaded group may step otherwise than the PyTorch that wrote it, with
 * the remedy: the dict shows a generation other than the group's compat, or
 * does not tell and the user did not choose; only where the two
 * generations' arithmetic differs for this group.
 */
function generationWarning<H extends KernelOptions>(spec: OptimizerSpec<H>, group: H, generation: Compat | undefined, chosen: boolean): string | undefined {
  const differs = spec.numericsDiffer?.(group);
  if (differs === undefined) return undefined;
  const other = group.compat === '2.x' ? '1.13' : '2.x';
  if (generation !== undefined && generation !== group.compat) {
    return `a loaded ${spec.name} state dict was written by PyTorch ${generation}, but its group steps with compat '${group.compat}', ` +
      `whose arithmetic differs for it (${differs}). To go on as PyTorch ${generation} would, construct with compat: '${generation}', ` +
      'or leave compat out (a loaded dict\'s generation is then adopted).';
  }
  if (generation === undefined && !chosen) {
    return `a loaded ${spec.name} state dict does not tell which PyTorch generation wrote it (${spec.torchGroups.ambiguous ?? 'it does not say'}), ` +
      `and the arithmetic differs between them for it (${differs}): it steps with compat '${group.compat}'. ` +
      `If PyTorch ${other} wrote it, construct with compat: '${other}'.`;
  }
  return undefined;
}

/** Every integer up to here is a float32. */
const FLOAT32_EXACT = 2 ** 24;

