// Param-group dicts in PyTorch's form: names, key order per PyTorch
// generation, and the keys PyTorch has that we do not model. Each optimizer
// describes its groups with one schema; this module does the mapping.
import { checkBoolean, describe } from '../core/errors';
import { copyPythonValue } from '../core/python-values';
import { castFloatRecord, checkRecord, isFloatDType } from '../core/tensor';

/** Which PyTorch generation to match: numerics and state-dict form. */
export type Compat = '2.x' | '1.13';

export interface TorchGroupSchema {
  /** PyTorch's `defaults` dict order (its state_dict group key order), per generation. */
  order: Record<Compat, readonly string[]>;
  /** Our option name for each PyTorch hyperparameter we model. */
  ours: Readonly<Record<string, string>>;
  /** What we write for PyTorch keys we do not model (foreach, differentiable, ...). */
  fixed: Readonly<Record<string, unknown>>;
  /** Where a generation writes such a key differently (Adam's fused: False in 1.13, None in 2.x). */
  fixedIn?: Partial<Record<Compat, Readonly<Record<string, unknown>>>>;
  /** Keys a loaded group must have; the others default (old PyTorch dicts lack them). */
  required: readonly string[];
  /** Defaults for modelled keys a loaded group may lack. */
  optional: Readonly<Record<string, unknown>>;
  /**
   * Why a saved group that has the required keys is another optimizer's
   * (an AdamW group offered to Adam), if it says so: the evidence, worded
   * for an error. See dict-kinds.ts.
   */
  disowns?: (saved: Record<string, unknown>) => string | undefined;
  /** The generation a saved group shows it comes from, if it does (see RMSprop's and Adagrad's). */
  generationOf: (saved: Record<string, unknown>) => Compat | undefined;
  /** Where generationOf cannot tell, why: which PyTorch versions write the same group. */
  ambiguous?: string;
}

/**
 * A group's dict as PyTorch writes it: keys the user gave first (PyTorch
 * keeps the user's dict and fills in defaults after), then the rest in the
 * defaults order of the group's generation, then the group's other keys
 * (`extras`: a scheduler's initial_lr, 2.6's param_names, the user's own),
 * as they are. A key PyTorch has and we do not model (foreach, capturable,
 * ...) holds what was loaded, else what simd-optim's step amounts to.
 */
export function toTorchGroup(
  schema: TorchGroupSchema,
  group: { compat: Compat },
  firstKeys: readonly string[],
  extras: readonly string[],
): Record<string, unknown> {
  const keys = schema.order[group.compat];
  const values = group as Record<string, unknown>;
  // A loaded key of the other generation only (2.x's capturable in a 1.13 group) would make the dict look like that one's.
  const other = schema.order[group.compat === '2.x' ? '1.13' : '2.x'];
  const kept = extras.filter((k) => keys.includes(k) || !other.includes(k));
  const order = new Set([...firstKeys.filter((k) => keys.includes(k) || kept.includes(k)), ...keys, ...kept]);
  const fixed = { ...schema.fixed, ...schema.fixedIn?.[group.compat] };
  const otherFixed = { ...schema.fixed, ...schema.fixedIn?.[group.compat === '2.x' ? '1.13' : '2.x'] };
  const out: Record<string, unknown> = {};
  for (const key of order) {
    if (key in schema.ours) {
      // A list option (Adam's betas) is a tuple in PyTorch's dict.
      const value = values[schema.ours[key]];
      out[key] = Array.isArray(value) ? Object.freeze(value.slice()) : value;
    } else if (key in values) {
      // A loaded value that marks the other generation (1.13 Adam's fused: False in a 2.x group) is written as this one's.
      const marksOther = Object.is(values[key], otherFixed[key]) && !Object.is(values[key], fixed[key]);
      out[key] = marksOther ? fixed[key] : values[key];
    } else {
      out[key] = fixed[key];
    }
  }
  return out;
}

/**
 * A loaded PyTorch group under our names: the hyperparameters we model, and
 * every other key as it is (PyTorch keeps them: a scheduler's initial_lr,
 * 2.6's param_names, foreach, ...). Throws on missing required keys, on
 * unmodelled keys whose value we cannot honour, and on a key that is one of
 * our own option names (`ourNames`: compat, weightDecay) rather than
 * PyTorch's. Values are validated by the optimizer afterwards.
 */
export function fromTorchGroup(
  schema: TorchGroupSchema,
  saved: Record<string, unknown>,
  where: string,
  ourNames: readonly string[],
): Record<string, unknown> {
  for (const key of schema.required) {
    if (!(key in saved)) throw new TypeError(`${where} is missing '${key}'`);
  }
  checkUnmodelled(saved, where);
  const out: Record<string, unknown> = {};
  for (const [torchKey, ourKey] of Object.entries(schema.ours)) {
    if (!(torchKey in saved)) out[ourKey] = schema.optional[torchKey];
    else if (torchKey === 'lr') out[ourKey] = loadedLr(saved.lr, `${where}.lr`);
    // A list (Adam's betas) is copied, as PyTorch deep-copies loaded groups, and may be changed in place.
    else out[ourKey] = Array.isArray(saved[torchKey]) ? (saved[torchKey] as unknown[]).slice() : saved[torchKey];
  }
  for (const [key, value] of Object.entries(saved)) {
    if (key === 'params' || key in schema.ours) continue;
    if (ourNames.includes(key)) {
      throw new TypeError(`${where} has key '${key}', which is a simd-optim option name, not a PyTorch one`);
    }
    out[key] = copyPythonValue(value); // PyTorch deep-copies the loaded groups too
  }
  return out;
}

/**
 * The learning rate as PyTorch 2.x may save it: a number, or a 0-dim tensor
 * (`lr=torch.tensor(0.01)`), which becomes its value. Anything else is left
 * for the optimizer's validation to word.
 */
function loadedLr(value: unknown, where: string): unknown {
  if (value === null || typeof value !== 'object' || !('dtype' in value)) return value;
  const record = checkRecord(where, value);
  if (record.data.length !== 1 || !isFloatDType(record.dtype)) return value;
  return castFloatRecord(where, record, 'float64')[0];
}

/**
 * PyTorch keys we do not model, kept as loaded: foreach and fused choose
 * PyTorch's code path (simd-optim's arithmetic is its single-tensor path's),
 * capturable is for CUDA graphs. differentiable: true asks for what we
 * cannot do.
 */
function checkUnmodelled(saved: Record<string, unknown>, where: string): void {
  for (const key of ['foreach', 'fused']) {
    if (key in saved && saved[key] !== null && typeof saved[key] !== 'boolean') {
      throw new TypeError(`Expected null or a boolean for ${where}.${key} but received ${describe(saved[key])}`);
    }
  }
  if ('capturable' in saved) checkBoolean(`${where}.capturable`, saved.capturable);
  if ('differentiable' in saved && saved.differentiable !== false) {
    throw new TypeError(`${where}.differentiable must be false (simd-optim does not differentiate through steps)`);
  }
}
