// Keeps one backend KernelGroup per param group in step with the arrays it
// should see. Arrays are bound once and rebound only when they change (a new
// grad array, a replaced param.data, a state load, a backend switch), so a
// step costs one native call however many tensors the group has, and arrays
// that are still bound need only a length check before the next step.
import { currentBackend, place, Role, type Backend, type KernelGroup } from './backend';
import type { KernelSpec } from '../reference/kernel-spec';
import type { FloatArray } from '../core/tensor';

export class KernelBinding {
  /** Hyperparameters the kernels read at each step, laid out as the kernel's `hyper` names them. */
  readonly hyper: Float64Array;
  /** Arrays per slot: param, grad and the kernel's states. */
  readonly rolesPerSlot: number;
  /** Scratch list the caller fills before sync(): slot-major, rolesPerSlot per slot. */
  readonly arrays: (FloatArray | null)[] = [];
  /** Each slot's scalars the kernels read (the kernel's `scalars` per slot); sized by sync(). */
  slotScalars = new Float64Array(0);
  /** Per slot, which state keys the step being prepared created (bit k: the kernel's states[k]). */
  readonly created: number[] = [];
  /** Which state arrays the group's step uses (bit k: states[k]), as of the step's checks. */
  used = 0;
  /** The group's option values when they were last validated (StepGuard), and scratch to read them into. */
  validatedValues: unknown[] = [];
  readonly hyperScratch: unknown[] = [];
  /** Each slot's optimizer state as of the last step (undefined: none, or no grad). */
  readonly states: (Record<string, unknown> | undefined)[] = [];
  /**
   * The param each entry of `states` belongs to: a group's params can be
   * reordered or replaced between steps, and a slot's cached state is its
   * param's only while the same param sits in the slot.
   */
  readonly stateOwners: (object | undefined)[] = [];
  /** The StateMap version `states` was read at; -1 when never. */
  statesVersion = -1;
  /** Set by the step's checks: every array is already bound as the next step needs it. */
  clean = false;
  /**
   * Which optional state roles the group's settings used when its state was
   * last completed and bound (EngineOptimizer: bit k for the kernel's states[k]); -1 when unknown.
   */
  needs = -1;
  private backend: Backend | undefined;
  private group: KernelGroup | undefined;
  private bound: (FloatArray | null)[] = [];
  /** sync()'s scratch: where each changed array goes (place(slot, role)), and the arrays. */
  private where = new Uint32Array(0);
  private readonly changed: (FloatArray | null)[] = [];
  /** Each bound array's buffer (read once at binding: a typed array's buffer never changes). */
  private boundBuffers: (ArrayBufferLike | null)[] = [];
  /** See sharedBufferRuns: all zeros from a rebind until findSharedBufferRuns. */
  private runs = new Uint8Array(0);
  private runsFound = false;

  /** @param onBoundMemoryChange called when anything but a grad is rebound (BoundMemory.invalidate). */
  constructor(
    private readonly kernel: KernelSpec,
    private readonly onBoundMemoryChange: () => void = () => undefined,
  ) {
    this.hyper = new Float64Array(kernel.hyper.length);
    this.rolesPerSlot = Role.firstState + kernel.states.length;
  }

  /** Whether the bindings were made on the backend in use now. */
  isCurrent(): boolean {
    return this.backend === currentBackend();
  }

  /** The kernel group as last synced (only meaningful when `clean`). */
  current(): KernelGroup {
    return this.group!;
  }

  /** The array bound at flat index slot * rolesPerSlot + role, if any. */
  boundAt(index: number): FloatArray | null {
    return this.bound[index] ?? null;
  }

  /** The buffer of the array bound at a flat index, if any (cheaper than reading `.buffer` again). */
  boundBufferAt(index: number): ArrayBufferLike | null {
    return this.boundBuffers[index] ?? null;
  }

  /** Every bound array, slot-major (null where nothing is bound). Read-only. */
  boundArrays(): readonly (FloatArray | null)[] {
    return this.bound;
  }

  /** The kernel group with `this.arrays` bound, rebinding only what changed. */
  sync(slotCount: number): KernelGroup {
    const backend = currentBackend();
    const size = slotCount * this.rolesPerSlot;
    if (this.group === undefined || backend !== this.backend || this.bound.length !== size) {
      this.backend = backend;
      const scalars = slotCount * this.kernel.scalars.length;
      if (this.slotScalars.length !== scalars) this.slotScalars = new Float64Array(scalars);
      this.group = backend.createGroup(this.kernel, slotCount, this.hyper, this.slotScalars);
      this.bound = Array.from({ length: size }, () => null); // packed: no hole checks on reads
      this.boundBuffers = Array.from({ length: size }, () => null);
      this.runs = new Uint8Array(slotCount);
      this.runsFound = false;
      this.onBoundMemoryChange();
    }
    const { arrays, bound, boundBuffers, rolesPerSlot } = this;
    // What changed, bound in one call: a model that writes its grads into
    // new arrays rebinds every grad at every step.
    if (this.where.length < size) this.where = new Uint32Array(size);
    const { where, changed } = this;
    let count = 0;
    for (let i = 0; i < size; i++) {
      const array = arrays[i] ?? null;
      if (array === bound[i]) continue;
      if (i % rolesPerSlot !== Role.grad) this.onBoundMemoryChange();
      where[count] = place((i / rolesPerSlot) | 0, i % rolesPerSlot);
      changed[count++] = array;
      const buffer = array === null ? null : array.buffer;
      // The step's checks refuse these; an accessor that returns another array
      // on a second read would pass one here, and the kernels cannot see a resize.
      if ((buffer as { resizable?: boolean } | null)?.resizable === true) {
        this.backend = undefined; // bound[] would no longer say what is bound: start afresh
        this.group = undefined;
        changed.fill(null);
        throw new TypeError(`Cannot bind an array backed by a resizable ArrayBuffer (slot ${(i / rolesPerSlot) | 0}, role ${i % rolesPerSlot}): it changed after the step's checks`);
      }
      bound[i] = array;
      boundBuffers[i] = buffer;
    }
    if (count === 0) return this.group;
    if (this.runsFound) {
      this.runs.fill(0);
      this.runsFound = false;
    }
    try {
      this.group.bindMany(where.subarray(0, count), changed); // it reads the first `count`
    } catch (error) {
      // Some were bound, `bound` says all were: no longer current, so the next step checks and binds afresh.
      this.backend = undefined;
      this.group = undefined;
      throw error;
    } finally {
      changed.fill(null); // hold no arrays between steps
    }
    return this.group;
  }

  /**
   * Per slot, bit `1 << role` is set when that role's array need not have its
   * length read by the step's check: it is a view of the same ArrayBuffer as
   * the same role's array in an earlier slot with a grad, and the first of
   * those views (the run's head, whose bit is clear) is not empty. A bound
   * buffer is never resizable (checkUsableMemory), so a view's length can
   * change only by its buffer being detached, which empties every view of it
   * at once: the head's check then fails for all of them. An empty view
   * cannot be a head (detached, it still has the length it should), and a
   * slot without a grad is left out, as the step leaves it out.
   *
   * All zeros (every length read) from a rebind until findSharedBufferRuns.
   */
  sharedBufferRuns(): Uint8Array {
    return this.runs;
  }

  /** Whether sharedBufferRuns has been found since the last rebind. */
  hasSharedBufferRuns(): boolean {
    return this.runsFound;
  }

  /**
   * Finds sharedBufferRuns. Call it only when a check that read every length
   * has just found each array bound, of its param's length: then no buffer is
   * detached, and only an empty param's views are empty. Not done at the
   * rebind itself, so that a group rebound at every step never pays for it.
   */
  findSharedBufferRuns(): void {
    const { bound, rolesPerSlot, runs } = this;
    const slots = runs.length;
    runs.fill(0);
    for (let role = 0; role < rolesPerSlot; role++) {
      let head: ArrayBufferLike | undefined; // buffer of the current run's (non-empty) head
      for (let slot = 0, at = role; slot < slots; slot++, at += rolesPerSlot) {
        if (bound[slot * rolesPerSlot + 1] === null) continue; // not stepped, not checked
        const array = bound[at];
        if (array === null || array.length === 0) continue;
        if (array.buffer === head) runs[slot] |= 1 << role;
        else head = array.buffer;
      }
    }
    this.runsFound = true;
  }
}

