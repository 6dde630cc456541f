// What the engine knows of an algorithm's kernels: the twin of its native
// descriptor (native/kernels/<name>.h, checked against the addon when it
// loads) and its pure-JS reference step. The engine binds arrays, checks and
// steps by these alone; it names no algorithm.
import type { FloatArray } from '../core/tensor';

/** One tensor as the reference step sees it: its arrays and its own scalars. */
export interface ReferenceSlice {
  p: FloatArray;
  g: FloatArray;
  /** The state arrays in `KernelSpec.states` order; null where the step does not use them. */
  states: readonly (FloatArray | null)[];
  /** The tensor's scalars, `KernelSpec.scalars` of them. */
  scalars: Float64Array;
}

export interface KernelSpec {
  /** The algorithm's index in the native kernel table. */
  readonly id: number;
  /** Its native name ('rmsprop'). */
  readonly name: string;
  /** The hyperparameter array's slots, in order. */
  readonly hyper: readonly string[];
  /** The state arrays, in role order: PyTorch's state keys. */
  readonly states: readonly string[];
  /** Each tensor's scalars, in order. */
  readonly scalars: readonly string[];
  /** Which state arrays a step with these hyperparameters uses: bit k for states[k]. */
  usedStates(hyper: Float64Array): number;
  /** One tensor's step in plain JavaScript, with the kernels' exact arithmetic (lib/reference/). */
  reference(hyper: Float64Array, slice: ReferenceSlice): void;
}

/**
 * Index constants for a layout: `slots(['lr', 'alpha'])` is `{ lr: 0,
 * alpha: 1 }`, so that code writes `hyper[H.lr]`, not `hyper[0]`.
 */
export function slots<const K extends readonly string[]>(names: K): { readonly [I in K[number]]: number } {
  return Object.freeze(Object.fromEntries(names.map((name, i) => [name, i]))) as { [I in K[number]]: number };
}
