// An optimizer as a value: everything the engine needs to know of one
// algorithm (its options, validation, state, PyTorch's dict form, and how
// its hyperparameters reach the kernels), so that the engine itself names
// none. lib/optim/ holds one spec per optimizer.
import type { KernelSpec } from '../reference/kernel-spec';
import type { StateValue } from '../core/optimizer';
import type { LibMath } from './backend';
import type { Compat, TorchGroupSchema } from './torch-groups';

/** Options every engine optimizer has besides its hyperparameters. */
export interface KernelOptions {
  /** PyTorch generation to match, bit for bit. Default '2.x'. */
  compat: Compat;
  /**
   * Threads for one step of a large group (native backend). 0, the default,
   * means SIMD_OPTIM_THREADS or every core. Results do not depend on it.
   */
  threads: number;
}

/** A param's state as the engine keeps it: `step` (where the optimizer counts steps) and its tensors, by PyTorch's names. */
export type EngineState = Record<string, number | Float32Array | Float64Array>;

export interface OptimizerSpec<H extends KernelOptions> {
  /** The class name, for messages: 'RMSprop'. */
  readonly name: string;
  /** The kernels: the native algorithm and its JS reference. */
  readonly kernel: KernelSpec;
  /** Every option, camelCase, with PyTorch's default (compat and threads too). */
  readonly defaults: H;
  /**
   * Throws if a group's hyperparameters are invalid: PyTorch's wording, plus
   * the option's name and `where` ("in param group 0"). The engine checks
   * compat and threads itself. `changed`: a live group's value changed, or
   * a dict was loaded, where PyTorch checks nothing (the lr rule relaxes).
   */
  validate(group: H, where: string, changed: boolean): void;
  /**
   * Checks PyTorch makes on the constructor's options alone, not on groups
   * or later values (SGD's Nesterov rule): runs once, on the options merged
   * with the defaults.
   */
  validateOptions?(options: H): void;
  /** How its groups look in PyTorch's dicts. */
  readonly torchGroups: TorchGroupSchema;
  /**
   * What of a group's step differs between PyTorch 1.13 and 2.x, if
   * anything (RMSprop's centered average): a loaded dict of the other
   * generation then deserves a warning. Absent: the same arithmetic.
   */
  numericsDiffer?(group: H): string | undefined;
  /** Whether a param's state counts its steps in `step` (SGD's does not). */
  readonly countsSteps: boolean;
  /** Whether PyTorch keeps that count in a float32 tensor for this group (then it stops at 2^24). */
  stepIsFloat32(group: H): boolean;
  /**
   * Whether the state of every param is made with the optimizer, as PyTorch
   * does for Adagrad (else at a param's first step).
   */
  readonly stateAtConstruction: boolean;
  /**
   * The value a new state tensor starts from (default 0). `atConstruction`:
   * made with the optimizer, from its defaults (`group` is then the defaults).
   */
  initialValue?(key: string, group: H, atConstruction: boolean): number;
  /** Fills the kernel's hyperparameter array for a group (its layout: kernel.hyper). */
  writeHyper(group: H, hyper: Float64Array): void;
  /**
   * Fills one tensor's scalars (kernel.scalars) for the step it is about to
   * take: `step` is its count after this step, as PyTorch counts it (after
   * its `+= 1`), and `created` says which state keys were made for this step
   * (bit k for kernel.states[k]). `math` has the C library's maths, as
   * PyTorch's Python computes such scalars.
   */
  writeScalars?(group: H, step: number, created: number, out: Float64Array, at: number, math: LibMath): void;
  /**
   * A param's entry in stateDict() as the group's PyTorch generation writes
   * it, from the entry as the engine keeps it; undefined for none. Without
   * this, the entry as it is.
   */
  stateDictEntry?(entry: Record<string, StateValue>, group: H): Record<string, StateValue | null> | undefined;
}
