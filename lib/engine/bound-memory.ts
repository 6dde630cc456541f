// Where the arrays an optimizer has bound for its steps lie in memory, so
// that a step can tell cheaply whether a new grad may share memory with what
// a step writes. Threads, and the groups of a stepAsync, write at once: an
// array written through two params, or read through one while written
// through another, would give results that depend on the order of the writes.
import type { KernelBinding } from './kernel-binding';
import type { FloatArray } from '../core/tensor';

/** The arrays bound in one buffer, sorted by start: each one's start, and the furthest end up to it. */
interface Ranges {
  starts: Float64Array;
  reach: Float64Array;
}

/**
 * The bound arrays other than grads (data and state, of every slot and role,
 * stepped or not) of all of an optimizer's groups, by buffer. The bindings
 * are the last step's, so an answer is a maybe: the step's full check, over
 * the arrays of now, decides.
 */
export class BoundMemory {
  private ranges: Map<ArrayBufferLike, Ranges> | undefined;
  private overlapping = false;

  constructor(private readonly bindings: () => Iterable<KernelBinding | undefined>) {}

  /** Call when a binding rebinds anything but a grad. */
  invalidate(): void {
    this.ranges = undefined;
  }

  /** Whether `array` (whose buffer is `buffer`) may overlap a bound array. One Map lookup for a grad in a buffer of its own. */
  mayOverlap(array: FloatArray, buffer: ArrayBufferLike): boolean {
    const ranges = this.find().get(buffer);
    if (ranges === undefined || array.length === 0) return false;
    const start = array.byteOffset;
    const end = start + array.byteLength;
    // The last range that starts before `array` ends; its reach covers every range before it.
    let lo = 0;
    let hi = ranges.starts.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (ranges.starts[mid] < end) lo = mid + 1;
      else hi = mid;
    }
    return lo > 0 && ranges.reach[lo - 1] > start;
  }

  /**
   * Whether two bound arrays overlap. Harmless while one of them is not used
   * by a step (its slot has no grad, or its role is off), but a grad coming
   * back or a setting switched on can bring it into use without rebinding.
   */
  hasOverlaps(): boolean {
    this.find();
    return this.overlapping;
  }

  private find(): Map<ArrayBufferLike, Ranges> {
    if (this.ranges !== undefined) return this.ranges;
    const lists = new Map<ArrayBufferLike, FloatArray[]>();
    for (const binding of this.bindings()) {
      if (binding === undefined) continue;
      const bound = binding.boundArrays();
      for (let i = 0; i < bound.length; i++) {
        const array = bound[i];
        if (i % binding.rolesPerSlot === 1 || array === null || array.length === 0) continue;
        const buffer = binding.boundBufferAt(i)!;
        const list = lists.get(buffer);
        if (list === undefined) lists.set(buffer, [array]);
        else list.push(array);
      }
    }
    this.overlapping = false;
    this.ranges = new Map();
    for (const [buffer, list] of lists) {
      list.sort((a, b) => a.byteOffset - b.byteOffset);
      const reach = new Float64Array(list.length);
      list.forEach((a, k) => {
        if (k > 0 && a.byteOffset < reach[k - 1]) this.overlapping = true;
        reach[k] = Math.max(k > 0 ? reach[k - 1] : 0, a.byteOffset + a.byteLength);
      });
      this.ranges.set(buffer, { starts: Float64Array.from(list, (a) => a.byteOffset), reach });
    }
    return this.ranges;
  }
}
