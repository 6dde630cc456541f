// Reading a param's state arrays in the kernel's role order. The step does it
// for every tensor at every step, and with a thousand small tensors that is
// much of what JS does per step: a named property read compiles to one
// monomorphic load, while a loop over the key names would make each read a
// keyed, megamorphic one. So each kernel's accessors are compiled once, from
// its state names.
import type { FloatArray } from '../core/tensor';

export interface StateAccess {
  /** out[at + k] = the state array under keys[k], or null. */
  read(state: object, out: (FloatArray | null)[], at: number): void;
  /**
   * Whether the state array under each keys[k] is bound[at + k] (absent:
   * null) with n elements; the length is not read when bit k of `shared`
   * says another view of its buffer is checked (KernelBinding.sharedBufferRuns).
   */
  same(state: object, bound: readonly (FloatArray | null)[], at: number, n: number, shared: number): boolean;
}

/** The accessors for a kernel's state keys (identifiers: PyTorch's names). */
export function stateAccess(keys: readonly string[]): StateAccess {
  for (const key of keys) {
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(key)) throw new Error(`simd-optim internal error: state key ${JSON.stringify(key)}`);
  }
  const read = keys.map((key, k) => `out[at + ${k}] = s.${key} ?? null;`).join('\n');
  const same = keys
    .map((key, k) => `((a = s.${key}) === undefined ? bound[at + ${k}] === null : a === bound[at + ${k}] && ((shared & ${1 << k}) !== 0 || a.length === n))`)
    .join(' &&\n');
  return {
    read: new Function('s', 'out', 'at', read) as StateAccess['read'],
    same: new Function('s', 'bound', 'at', 'n', 'shared', `let a;\nreturn ${same || 'true'};`) as StateAccess['same'],
  };
}
