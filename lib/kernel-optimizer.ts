// What RMSprop and Adagrad share: a step that checks everything first, then
// makes one kernel call per param group over arrays bound to it (see
// kernel-binding.ts), synchronously or off the main thread.
import type { KernelGroup } from './backend';
import { checkBoolean, checkHyper, describe, typeError } from './errors';
import { BoundMemory } from './bound-memory';
import { KernelBinding } from './kernel-binding';
import { fromTorchGroup, toTorchGroup, type Compat, type TorchGroupSchema } from './torch-groups';
import { Optimizer, sharesMemory, type ParamGroup, type ParamGroupInput, type ParamState } from './optimizer';
import { isFloatArray, type FloatArray, type Parameter } from './tensor';

/** Options every kernel optimizer has besides its hyperparameters. */
export interface KernelOptions {
  /** PyTorch generation to match, bit for bit. Default '2.x'. */
  compat: Compat;
  /**
   * Threads for one step of a large group (native backend). 0, the default,
   * means SIMD_OPTIM_THREADS or every core. Results do not depend on it.
   */
  threads: number;
}

/** Options of the optimizer as a whole (not per group, not in state dicts). */
export interface OptimizerWideOptions {
  /**
   * When true, a step whose gradients contain NaN or ±Inf changes nothing and
   * is counted in `skippedSteps`. Default false: they propagate as in PyTorch.
   */
  skipNonFinite?: boolean;
}

/** Splits constructor options into per-group hyperparameters and optimizer-wide ones. */
export function splitOptions<H>(options: (Partial<H> & OptimizerWideOptions) | undefined): [Partial<H>, boolean] {
  if (options === null || typeof options !== 'object') return [options as unknown as Partial<H>, false];
  const { skipNonFinite = false, ...hyper } = options;
  return [hyper as Partial<H>, checkBoolean('skipNonFinite', skipNonFinite)];
}

/**
 * The base of the built-in optimizers, whose steps run in the kernels: one
 * native call per param group, on threads for large groups, or off the main
 * thread with {@link KernelOptimizer.stepAsync}.
 */
export abstract class KernelOptimizer<H extends KernelOptions> extends Optimizer<H> {
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
  /** Where the bindings' arrays lie, for the checks of memory shared between params. */
  private readonly boundMemory = new BoundMemory(() => this.paramGroups.map((group) => this.bindings.get(group)));
  /** Whether the constructor's options chose compat (groups' choices are in givenOptionNames). */
  private readonly compatGiven: boolean;

  constructor(params: Iterable<Parameter> | Iterable<ParamGroupInput<H>>, defaults: H, compatGiven: boolean) {
    super(params, defaults);
    this.compatGiven = compatGiven;
  }

  /** How this optimizer's param groups look in PyTorch's dicts (torch-groups.ts). */
  protected abstract readonly torchGroups: TorchGroupSchema;

  protected override toTorchGroup(group: ParamGroup<H>): Record<string, unknown> {
    return toTorchGroup(this.torchGroups, group, this.torchKeyOrder.get(group) ?? [], this.extraKeys(group));
  }

  /**
   * A loaded group: its hyperparameters and other keys from the dict, and
   * its compat the generation the dict shows it comes from (so that a 1.13
   * checkpoint goes on as 1.13 would), unless the user chose compat (for
   * the optimizer or any group) or the dict does not tell.
   */
  protected override fromTorchGroup(saved: Record<string, unknown>, current: ParamGroup<H>, where: string): ParamGroup<H> {
    const loaded = fromTorchGroup(this.torchGroups, saved, where, Object.keys(this.defaults));
    const generation = this.torchGroups.generationOf(saved);
    const chosen = this.compatGiven || this.givenOptionNames.has('compat');
    const compat = chosen || generation === undefined ? current.compat : generation;
    return { ...this.withoutExtras(current), ...loaded, compat };
  }

  /** State keys bound to the kernel after param and grad, in role order (binding.d.ts). */
  protected abstract readonly stateRoles: readonly string[];

  /**
   * Writes the arrays of `stateRoles` from a param's state into out[at...]
   * (null where absent). Named property reads here keep the step's hot loop
   * monomorphic.
   */
  protected abstract stateArrays(s: ParamState, out: (FloatArray | null)[], at: number): void;

  /**
   * Whether a param's state arrays are those at bound[at...] (in `stateRoles`
   * order, null where absent), each of length n, unless bit `1 << i` of
   * `shared` says the i-th one's length is checked through another view of
   * its buffer (KernelBinding.sharedBufferRuns). Named property reads, like
   * stateArrays.
   */
  protected abstract stateStillBound(
    s: ParamState,
    bound: readonly (FloatArray | null)[],
    at: number,
    n: number,
    shared: number,
  ): boolean;

  /**
   * A number that changes whenever the group's settings change which state
   * buffers a step uses (RMSprop: momentum > 0, centered).
   */
  protected stateNeeds(_group: ParamGroup<H>): number {
    return 0;
  }

  /** The state keys a step of this group needs in every param's state (ensureState creates the missing ones). */
  protected abstract stateKeys(group: ParamGroup<H>): readonly string[];

  /** A param's state for this step: `existing`, completed, or created (zeroed or as the optimizer starts it, through stateBuffer). */
  protected abstract ensureState(p: Parameter, group: ParamGroup<H>, existing: ParamState | undefined): ParamState;

  /** Fills the kernel's hyperparameters for a group (layout in binding.d.ts). */
  protected abstract writeHyper(
    group: ParamGroup<H>,
    hyper: Float64Array,
    slotScalars: Float64Array,
    states: readonly (ParamState | undefined)[],
  ): void;

  /** The group's kernel call. */
  protected abstract runKernel(kernels: KernelGroup): void;
  protected abstract runKernelAsync(kernels: KernelGroup): Promise<void>;

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
    this.checkStep();
    if (this.skipForNonFinite()) return loss;
    for (const group of this.paramGroups) this.runKernel(this.prepareGroup(group));
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
    this.checkStep();
    if (this.skipForNonFinite()) return loss;
    const kernels = this.paramGroups.map((group) => this.prepareGroup(group));
    this.busy = true;
    const running: Promise<void>[] = [];
    try {
      for (const k of kernels) running.push(this.runKernelAsync(k));
      await Promise.all(running);
    } finally {
      // A group that failed to start, or failed, must not free the arrays the others still write.
      await Promise.allSettled(running);
      this.busy = false;
    }
    this.countStep();
    return loss;
  }

  /** Checks compat and threads. */
  protected validateCommon(g: KernelOptions, where: string): void {
    checkHyper('thread count', 'threads', g.threads, { min: 0, max: 1024 }, where);
    if (!Number.isInteger(g.threads)) {
      throw new RangeError(`Invalid thread count: ${g.threads} (threads must be an integer, in ${where})`);
    }
    if (g.compat !== '2.x' && g.compat !== '1.13') {
      throw new TypeError(`Expected '2.x' or '1.13' for compat (${where}) but received ${describe(g.compat)}`);
    }
  }

  /**
   * Checks everything before anything is written. A group bound as the last
   * step left it needs only a look at its arrays' lengths (boundAsBefore);
   * any other group gets the full checks.
   */
  private checkStep(): void {
    const version = this.state.version;
    const groups = this.paramGroups;
    let newParams = false;
    for (let gi = 0; gi < groups.length; gi++) {
      const group = groups[gi];
      this.checkTorchSpellings(group, groupName(gi));
      this.validateGroup(group, groupName(gi));
      const binding = this.bindingFor(group);
      binding.clean =
        binding.isCurrent() &&
        binding.statesVersion === version &&
        binding.needs === this.stateNeeds(group) &&
        this.boundAsBefore(group, binding);
      if (!binding.clean) newParams = this.checkGroupInFull(group, gi, binding, version) || newParams;
    }
    if (newParams) this.checkParamsApart();
  }

  /**
   * Throws if a param is in two groups, or twice in one: pushed into
   * paramGroups[i].params past addParamGroup's check, it would be stepped
   * twice with two states. The same for memory a step writes (the data and
   * state of params with a grad) shared with any other such param's data,
   * grad or state: the groups of a stepAsync and the threads of a group write
   * at once. Run when a step meets params it has not bound, a new grad that
   * may share memory, or bound arrays that overlap (BoundMemory).
   */
  private checkParamsApart(): void {
    const seen = new Map<Parameter, string>();
    const byBuffer = new Map<ArrayBufferLike, MemoryUse[]>();
    const use = (array: FloatArray, what: string, written: boolean) => {
      if (array.length === 0) return;
      const uses = byBuffer.get(array.buffer);
      const entry = { start: array.byteOffset, end: array.byteOffset + array.byteLength, what, written };
      if (uses === undefined) byBuffer.set(array.buffer, [entry]);
      else uses.push(entry);
    };
    this.paramGroups.forEach((group, gi) => {
      const keys = this.stateKeys(group);
      group.params.forEach((p, pi) => {
        const name = paramName(pi, gi);
        const first = seen.get(p);
        if (first !== undefined) throw new RangeError(`${name} is also ${first}: a parameter can be in one param group, once`);
        seen.set(p, name);
        if (p.grad === null) return; // not stepped: nothing of it is written or read (a frozen tied param is fine)
        use(p.data, `${name}'s data`, true);
        use(p.grad, `${name}.grad`, false);
        const s = this.state.get(p);
        for (const key of keys) {
          const array = s?.[key];
          if (isFloatArray(array)) use(array, `${name}'s optimizer state ${key}`, true);
        }
      });
    });
    for (const uses of byBuffer.values()) if (uses.length > 1) checkOverlaps(uses);
  }

  /**
   * Whether every array of the group is the one bound at the last step, with
   * the length it had (a transferred or shrunk buffer keeps its typed array
   * but not its length), and each slot's state is the one bound then. With
   * 1,000 small tensors this loop is most of what JS does per step, so it
   * reads only named properties and compares.
   */
  private boundAsBefore(group: ParamGroup<H>, binding: KernelBinding): boolean {
    const params = group.params;
    const bound = binding.boundArrays();
    const { states, stateOwners } = binding;
    const roles = binding.rolesPerSlot;
    if (bound.length !== params.length * roles) return false;
    const found = binding.hasSharedBufferRuns();
    const runs = binding.sharedBufferRuns(); // all zeros until found
    for (let slot = 0, at = 0; slot < params.length; slot++, at += roles) {
      const p = params[slot];
      const grad = p.grad;
      if (grad !== bound[at + 1]) return false;
      if (grad === null) continue;
      const s = states[slot];
      if (s === undefined || stateOwners[slot] !== p || !this.slotBoundAsBefore(p, grad, s as ParamState, bound, at, runs[slot])) {
        return false;
      }
    }
    if (!found) binding.findSharedBufferRuns(); // every length was read: the next steps can skip some
    return true;
  }

  /**
   * Whether a param with a grad has the data, grad and state arrays bound at
   * bound[at...], each still of the param's length. A set bit `1 << role` of
   * `shared` skips that array's length: another view of its buffer checks it
   * (KernelBinding.sharedBufferRuns). With many small tensors whose state
   * shares one buffer (allocStates), that saves most of the reads.
   */
  private slotBoundAsBefore(
    p: Parameter,
    grad: FloatArray,
    s: ParamState,
    bound: readonly (FloatArray | null)[],
    at: number,
    shared: number,
  ): boolean {
    const data = p.data;
    const n = p.numel;
    return (
      data === bound[at] &&
      grad === bound[at + 1] &&
      ((shared & 1) !== 0 || data.length === n) &&
      ((shared & 2) !== 0 || grad.length === n) &&
      typeof s.step === 'number' && // the step counts it; anything else gets the full check's error
      this.stateStillBound(s, bound, at + 2, n, shared >> 2)
    );
  }

  /**
   * Whether a param's data and state are the arrays bound at bound[at...], of
   * its length (its grad aside). Not for an empty param: a detached empty
   * array still has its length, so only the full check can tell.
   */
  private boundExceptGrad(p: Parameter, s: ParamState, bound: readonly (FloatArray | null)[], at: number): boolean {
    const data = p.data;
    const n = p.numel;
    return (
      n !== 0 &&
      data === bound[at] &&
      data.length === n &&
      typeof s.step === 'number' &&
      this.stateStillBound(s, bound, at + 2, n, 0)
    );
  }

  /**
   * checkParamForStep for a param whose grad alone is new: the grad, and that
   * it overlaps none of its state. True if it may share memory with what a
   * step writes for another param (in any group: a stepAsync runs the groups
   * at once), for checkParamsApart to tell.
   */
  private checkNewGrad(p: Parameter, grad: FloatArray, binding: KernelBinding, at: number, where: string): boolean {
    this.checkGradForStep(p, grad, where);
    const roles = this.stateRoles;
    const buffer = grad.buffer;
    for (let r = 0; r < roles.length; r++) {
      // Buffers first: the bound ones were read at binding, and a state array almost never shares the grad's.
      if (binding.boundBufferAt(at + 2 + r) === buffer && sharesMemory(grad, binding.boundAt(at + 2 + r)!)) {
        // The kernels read g while writing the state; the native addon would refuse mid-step.
        throw new RangeError(`${where}.grad shares memory with its optimizer state ${roles[r]}`);
      }
    }
    return this.boundMemory.mayOverlap(grad, buffer);
  }

  /**
   * The full checks of every param of a group (anything rebound, created or
   * changed since the last step). True if it met a param whose data it had
   * not bound in that slot (checkParamsUnique then looks for duplicates).
   */
  private checkGroupInFull(group: ParamGroup<H>, gi: number, binding: KernelBinding, version: number): boolean {
    const current = binding.isCurrent();
    // Entries looked up at the last step are still the Map's if it has not changed since.
    const cached = binding.statesVersion === version;
    const { states, stateOwners, rolesPerSlot } = binding;
    const bound = binding.boundArrays();
    const params = group.params;
    // Clean: every array bound as this step needs it, so binding can be skipped.
    let clean = current && bound.length === params.length * rolesPerSlot;
    // Bound arrays that overlap were harmless while unused; a grad coming back or a setting
    // switched on brings them into use without a rebind, so the full check looks again.
    let newParams = this.boundMemory.hasOverlaps();
    for (let pi = 0; pi < params.length; pi++) {
      const p = params[pi];
      const grad = p.grad;
      if (grad === null) {
        states[pi] = undefined; // not stepped, not counted; looked up afresh when it has a grad
        clean = clean && binding.boundAt(pi * rolesPerSlot + 1) === null;
        continue;
      }
      let s = cached && stateOwners[pi] === p ? (states[pi] as ParamState | undefined) : undefined;
      if (s === undefined) s = this.state.get(p);
      states[pi] = s;
      stateOwners[pi] = p;
      // Identities first: a grad or data that is not a float array fails them before any length is read.
      const at = pi * rolesPerSlot;
      if (current && s !== undefined && this.slotBoundAsBefore(p, grad, s, bound, at, 0)) {
        clean = clean && this.stateComplete(s, group);
      } else if (current && s !== undefined && this.boundExceptGrad(p, s, bound, at)) {
        // Only the grad is new (grads written into fresh arrays): data and state passed when bound.
        clean = false;
        if (this.checkNewGrad(p, grad, binding, at, paramName(pi, gi))) newParams = true;
      } else {
        clean = false;
        newParams = true;
        this.checkParamForStep(p, paramName(pi, gi));
      }
    }
    binding.clean = clean;
    if (clean) {
      // Every state entry is the Map's and complete: the next step can take the short way.
      binding.statesVersion = version;
      binding.needs = this.stateNeeds(group);
    }
    return newParams;
  }

  /** Whether a param's state has every buffer its group's settings use (else the step creates them). */
  protected stateComplete(_s: ParamState, _group: ParamGroup<H>): boolean {
    return true;
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

  /** Creates missing state, binds the group's arrays and hyperparameters; returns its kernels. */
  private prepareGroup(group: ParamGroup<H>): KernelGroup {
    const binding = this.bindingFor(group);
    const kernels = binding.clean ? binding.current() : this.bindGroup(group, true);
    binding.hyper[8] = group.threads;
    this.writeHyper(group, binding.hyper, binding.slotScalars, binding.states as (ParamState | undefined)[]);
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
        if (withState) states[slot] = s = this.ensureState(p, group, s);
        stateOwners[slot] = p;
        if (s !== undefined) this.stateArrays(s, arrays, i + 2);
        else for (let r = 2; r < rolesPerSlot; r++) arrays[i + r] = null;
      }
    });
    if (withState) {
      binding.statesVersion = this.state.version;
      binding.needs = this.stateNeeds(group);
    } else {
      binding.needs = -1; // states left incomplete: the next step checks in full
    }
    return binding.sync(params.length);
  }

  /** The state tensors this step will create, in param order (allocated together: state-slabs.ts). */
  private missingState(group: ParamGroup<H>): { p: Parameter; key: string }[] {
    const states = this.bindingFor(group).states;
    const keys = this.stateKeys(group);
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
    for (const group of this.paramGroups) {
      const states = this.bindingFor(group).states;
      const float32 = this.stepIsFloat32(group);
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
   * Whether PyTorch keeps the group's step count in a float32 tensor (2.x;
   * 1.13 RMSprop counts in a Python int). Counting past 2^24 then stops at
   * 16777216, and a step that reads the count (Adagrad's lr_decay) sees that.
   */
  protected stepIsFloat32(group: ParamGroup<H>): boolean {
    return group.compat !== '1.13';
  }

  protected override loadedStep(step: number, group: ParamGroup<H>): number {
    return this.stepIsFloat32(group) ? Math.fround(step) : step; // PyTorch 2.x loads it into a float32 tensor
  }

  protected override isTensorStateKey(key: string): boolean {
    return this.stateRoles.includes(key);
  }

  /** zeroGrad()'s default, by the group's generation: 1.13's zero_grad() fills grads with zeros. */
  protected override defaultSetToNone(group: ParamGroup<H>): boolean {
    return group.compat !== '1.13';
  }

  private bindingFor(group: ParamGroup<H>): KernelBinding {
    let binding = this.bindings.get(group);
    if (binding === undefined) {
      binding = new KernelBinding(2 + this.stateRoles.length, () => this.boundMemory.invalidate());
      this.bindings.set(group, binding);
    }
    return binding;
  }
}

/** A param's data or state (written by a step) or its grad (read) in a buffer: bytes [start, end). */
interface MemoryUse {
  start: number;
  end: number;
  what: string;
  written: boolean;
}

/**
 * Throws if an array a step writes shares memory with any other (two grads
 * may share: both are only read). Sorted by start, each use need only be
 * compared with the one reaching furthest before it.
 */
function checkOverlaps(uses: MemoryUse[]): void {
  uses.sort((a, b) => a.start - b.start);
  let reach: MemoryUse | undefined; // of all uses so far
  let reachWritten: MemoryUse | undefined; // of the written ones so far
  for (const u of uses) {
    const other = u.written ? reach : reachWritten;
    if (other !== undefined && other.end > u.start) {
      const [written, rest] = other.written ? [other, u] : [u, other];
      throw new RangeError(`${rest.what} shares memory with ${written.what}, which the step writes: ` +
        'parameters, grads and optimizer state each need memory of their own');
    }
    if (reach === undefined || u.end > reach.end) reach = u;
    if (u.written && (reachWritten === undefined || u.end > reachWritten.end)) reachWritten = u;
  }
}

function checkClosure(closure: unknown): void {
  // null too: the port of Python's step(None).
  if (closure !== undefined && closure !== null && typeof closure !== 'function') {
    throw typeError('closure', 'a function (or nothing)', closure);
  }
}

/** Every integer up to here is a float32. */
const FLOAT32_EXACT = 2 ** 24;

const groupNames: string[] = [];
/** "param group <i>", made once per index: the step's checks run every step and should not allocate. */
function groupName(i: number): string {
  return (groupNames[i] ??= `param group ${i}`);
}

const paramNames: string[][] = [];
/** "param <pi> of group <gi>", made once per pair, like groupName: a group whose grads are new arrays at every step checks each. */
function paramName(pi: number, gi: number): string {
  const names = (paramNames[gi] ??= []);
  return (names[pi] ??= `param ${pi} of group ${gi}`);
}

/**
 * Whether `a` (a state array, or undefined) is `bound` (null when nothing is
 * bound) with n elements; its length is not read when bit 0 of `shared` says
 * another view of its buffer is checked (KernelBinding.sharedBufferRuns).
 */
export function sameBound(a: FloatArray | undefined, bound: FloatArray | null, n: number, shared: number): boolean {
  return a === undefined ? bound === null : a === bound && ((shared & 1) !== 0 || a.length === n);
}
