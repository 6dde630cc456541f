// Keeps one backend KernelGroup per param group in step with the arrays it
// should see. Arrays are bound once and rebound only when they change
// (a new grad array, a replaced param.data, a state load, a backend switch),
// so a step costs one native call however many tensors the group has.
import { currentBackend, type Backend, type KernelGroup, type Role } from './backend';
import type { FloatArray } from './tensor';

export class KernelBinding {
  /** Hyperparameters the kernels read at each step; see binding.d.ts. */
  readonly hyper = new Float64Array(8);
  private backend: Backend | undefined;
  private group: KernelGroup | undefined;
  private bound: (FloatArray | null)[] = [];

  constructor(private readonly rolesPerSlot: number) {}

  /** The kernel group with `arrayOf(slot, role)` bound for every slot and role. */
  sync(slotCount: number, arrayOf: (slot: number, role: Role) => FloatArray | null): KernelGroup {
    const backend = currentBackend();
    const size = slotCount * this.rolesPerSlot;
    if (this.group === undefined || backend !== this.backend || this.bound.length !== size) {
      this.backend = backend;
      this.group = backend.createGroup(slotCount, this.hyper);
      this.bound = new Array<FloatArray | null>(size).fill(null);
    }
    for (let slot = 0, i = 0; slot < slotCount; slot++) {
      for (let role = 0; role < this.rolesPerSlot; role++, i++) {
        const array = arrayOf(slot, role as Role);
        if (array !== this.bound[i]) {
          this.group.bind(slot, role as Role, array);
          this.bound[i] = array;
        }
      }
    }
    return this.group;
  }
}
