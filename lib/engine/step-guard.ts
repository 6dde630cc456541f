// The step guard: everything a step checks before it writes anything, and
// nothing else. A group bound as the last step left it needs only a look at
// its arrays' identities and lengths (boundAsBefore); any other group gets
// the full checks, of each param's arrays and of memory shared between
// params (threads, and the groups of a stepAsync, write at once). A group's
// hyperparameters are validated when they change, not at every step. The
// addon checks again, within each group, that nothing it writes is shared:
// the safety net for memory, where these checks word the errors.
import type { ParamState, StateMap } from '../core/optimizer';
import { sharesMemory } from '../core/optimizer';
import { isFloatArray, type FloatArray, type Parameter } from '../core/tensor';
import { BoundMemory } from './bound-memory';
import type { KernelBinding } from './kernel-binding';
import type { StateAccess } from './state-access';

/** A param group as the guard sees it. */
type Group = { params: Parameter[] } & object;

/** What the guard needs of its optimizer. */
export interface GuardHost {
  groups(): readonly Group[];
  readonly state: StateMap;
  bindingFor(group: Group): KernelBinding;
  /** Throws if a group's hyperparameters (or PyTorch spellings of them) are invalid. */
  validate(group: Group, where: string): void;
  /** The option values of a group, in a fixed order: a change of any means validating again. */
  hyperValues(group: Group, into: unknown[]): void;
  /** Writes the group's hyperparameters into `hyper`; returns which state arrays its step uses. */
  usedStates(group: Group, hyper: Float64Array): number;
  /** The state keys a step uses, from usedStates' bits. */
  stateKeys(used: number): readonly string[];
  readonly stateNames: readonly string[];
  readonly access: StateAccess;
  /** Whether a param's state has every tensor `used` names. */
  stateComplete(s: ParamState, used: number): boolean;
  /** Whether a param's state counts its steps in `step`. */
  readonly countsSteps: boolean;
  /** The base optimizer's checks of a param's arrays (and of a grad alone). */
  checkParam(p: Parameter, where: string): void;
  checkGrad(p: Parameter, grad: FloatArray, where: string): void;
}

/** Whether two lists of values are the same, NaN and -0 included (Object.is). */
function sameValues(a: readonly unknown[], b: readonly unknown[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (!Object.is(a[i], b[i])) return false;
  return true;
}

export class StepGuard {
  /** Where the bindings' arrays lie, for the checks of memory shared between params. */
  readonly boundMemory: BoundMemory;

  constructor(private readonly host: GuardHost) {
    this.boundMemory = new BoundMemory(() => host.groups().map((group) => host.bindingFor(group)));
  }

  /**
   * Validates a group's hyperparameters unless they are the values it last
   * validated (one comparison per option).
   */
  private validated(group: Group, binding: KernelBinding, gi: number): void {
    const values = binding.validatedValues;
    const now = binding.hyperScratch;
    this.host.hyperValues(group, now);
    if (sameValues(values, now)) return;
    this.host.validate(group, groupName(gi));
    binding.validatedValues = now.slice();
  }

  /**
   * Checks everything before anything is written. A group bound as the last
   * step left it needs only a look at its arrays' lengths (boundAsBefore);
   * any other group gets the full checks.
   */
  check(): void {
    const version = this.host.state.version;
    const groups = this.host.groups();
    let newParams = false;
    for (let gi = 0; gi < groups.length; gi++) {
      const group = groups[gi];
      const binding = this.host.bindingFor(group);
      this.validated(group, binding, gi);
      const used = (binding.used = this.host.usedStates(group, binding.hyper));
      binding.clean =
        binding.isCurrent() &&
        binding.statesVersion === version &&
        binding.needs === used &&
        this.boundAsBefore(group, binding);
      if (!binding.clean) newParams = this.checkGroupInFull(group, gi, binding, version, used) || newParams;
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
    this.host.groups().forEach((group, gi) => {
      const keys = this.host.stateKeys(this.host.bindingFor(group).used);
      group.params.forEach((p, pi) => {
        const name = paramName(pi, gi);
        const first = seen.get(p);
        if (first !== undefined) throw new RangeError(`${name} is also ${first}: a parameter can be in one param group, once`);
        seen.set(p, name);
        if (p.grad === null) return; // not stepped: nothing of it is written or read (a frozen tied param is fine)
        use(p.data, `${name}'s data`, true);
        use(p.grad, `${name}.grad`, false);
        const s = this.host.state.get(p);
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
  private boundAsBefore(group: Group, binding: KernelBinding): boolean {
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
      (typeof s.step === 'number' || !this.host.countsSteps) && // anything else gets the full check's error
      this.host.access.same(s, bound, at + 2, n, shared >> 2)
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
      (typeof s.step === 'number' || !this.host.countsSteps) &&
      this.host.access.same(s, bound, at + 2, n, 0)
    );
  }

  /**
   * checkParamForStep for a param whose grad alone is new: the grad, and that
   * it overlaps none of its state. True if it may share memory with what a
   * step writes for another param (in any group: a stepAsync runs the groups
   * at once), for checkParamsApart to tell.
   */
  private checkNewGrad(p: Parameter, grad: FloatArray, binding: KernelBinding, at: number, where: string): boolean {
    this.host.checkGrad(p, grad, where);
    const roles = this.host.stateNames;
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
  private checkGroupInFull(group: Group, gi: number, binding: KernelBinding, version: number, used: number): boolean {
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
      if (s === undefined) s = this.host.state.get(p);
      states[pi] = s;
      stateOwners[pi] = p;
      // Identities first: a grad or data that is not a float array fails them before any length is read.
      const at = pi * rolesPerSlot;
      if (current && s !== undefined && this.slotBoundAsBefore(p, grad, s, bound, at, 0)) {
        clean = clean && this.host.stateComplete(s, used);
      } else if (current && s !== undefined && this.boundExceptGrad(p, s, bound, at)) {
        // Only the grad is new (grads written into fresh arrays): data and state passed when bound.
        clean = false;
        if (this.checkNewGrad(p, grad, binding, at, paramName(pi, gi))) newParams = true;
      } else {
        clean = false;
        newParams = true;
        this.host.checkParam(p, paramName(pi, gi));
      }
    }
    binding.clean = clean;
    if (clean) {
      // Every state entry is the Map's and complete: the next step can take the short way.
      binding.statesVersion = version;
      binding.needs = used;
    }
    return newParams;
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
