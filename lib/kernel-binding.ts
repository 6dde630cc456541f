// Keeps one backend KernelGroup per param group in step with the arrays it
// should see. Arrays are bound once and rebound only when they change (a new
// grad array, a replaced param.data, a state load, a backend switch), so a
// step costs one native call however many tensors the group has, and arrays
// that are still bound need only a length check before the next step.
import { currentBackend, type Backend, type KernelGroup, type Role } from './backend';
import type { FloatArray } from './tensor';

export class KernelBinding {
  /** Hyperparameters the kernels read at each step; see binding.d.ts. */
  readonly hyper = new Float64Array(9);
  /** Scratch list the caller fills before sync(): slot-major, rolesPerSlot per slot. */
  readonly arrays: (FloatArray | null)[] = [];
  /** Per-slot scalars the kernels read (Adagrad's learning rate); sized by sync(). */
  slotScalars = new Float64Array(0);
  /** Each slot's optimizer state as of the last step (undefined: none, or no grad). */
  readonly states: (Record<string, unknown> | undefined)[] = [];
  /** The StateMap version `states` was read at; -1 when never. */
  statesVersion = -1;
  /** Set by the step's checks: every array is already bound as the next step needs it. */
  clean = false;
  /**
   * Which optional state roles the group's settings used when its state was
   * last completed and bound (KernelOptimizer.stateNeeds); -1 when unknown.
   */
  needs = -1;
  private backend: Backend | undefined;
  private group: KernelGroup | undefined;
  private bound: (FloatArray | null)[] = [];
  /** See sharedBufferRuns; recomputed after anything is rebound. */
  private runs = new Uint8Array(0);
  private runsStale = true;

  constructor(readonly rolesPerSlot: number) {}

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
      if (this.slotScalars.length !== slotCount) this.slotScalars = new Float64Array(slotCount);
      this.group = backend.createGroup(slotCount, this.hyper, this.slotScalars);
      this.bound = Array.from({ length: size }, () => null); // packed: no hole checks on reads
    }
    const { arrays, bound, rolesPerSlot } = this;
    for (let i = 0; i < size; i++) {
      const array = arrays[i] ?? null;
      if (array !== bound[i]) {
        this.group.bind((i / rolesPerSlot) | 0, (i % rolesPerSlot) as Role, array);
        bound[i] = array;
        this.runsStale = true;
      }
    }
    return this.group;
  }

  /**
   * Per slot, bit `1 << role` is set when that role's array is a view of the
   * same ArrayBuffer as the same role's array in the previous slot with a
   * grad. A bound buffer is never resizable (checkUsableMemory), so a view's
   * length can change only by its buffer being detached, which empties every
   * view of that buffer at once: checking the first view of each such run
   * checks them all. Slots without a grad are left out, as the step leaves
   * them out. Computed when first asked after a rebind, so that a group
   * rebound at every step never pays for it.
   */
  sharedBufferRuns(): Uint8Array {
    if (!this.runsStale) return this.runs;
    const { bound, rolesPerSlot } = this;
    const slots = bound.length / rolesPerSlot;
    if (this.runs.length !== slots) this.runs = new Uint8Array(slots);
    const runs = this.runs.fill(0);
    for (let role = 0; role < rolesPerSlot; role++) {
      let previous: ArrayBufferLike | undefined;
      for (let slot = 0, at = role; slot < slots; slot++, at += rolesPerSlot) {
        if (bound[slot * rolesPerSlot + 1] === null) continue;
        const buffer = bound[at]?.buffer;
        if (buffer !== undefined && buffer === previous) runs[slot] |= 1 << role;
        previous = buffer;
      }
    }
    this.runsStale = false;
    return runs;
  }
}
