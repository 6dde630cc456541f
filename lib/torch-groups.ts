// Param-group dicts in PyTorch's form: names, key order per PyTorch
// generation, and the keys PyTorch has that we do not model. Each optimizer
// describes its groups with one schema; this module does the mapping.
import { checkBoolean, describe } from './errors';

/** Which PyTorch generation to match: numerics and state-dict form. */
export type Compat = '2.x' | '1.13';

export interface TorchGroupSchema {
  /** PyTorch's `defaults` dict order (its state_dict group key order), per generation. */
  order: Record<Compat, readonly string[]>;
  /** Our option name for each PyTorch hyperparameter we model. */
  ours: Readonly<Record<string, string>>;
  /** What we write for PyTorch keys we do not model (foreach, differentiable, ...). */
  fixed: Readonly<Record<string, unknown>>;
  /** Keys a loaded group must have; the others default (old PyTorch dicts lack them). */
  required: readonly string[];
  /** Defaults for modelled keys a loaded group may lack. */
  optional: Readonly<Record<string, unknown>>;
}

/**
 * A group's hyperparameters as PyTorch writes them: keys the user gave first
 * (PyTorch keeps the user's dict and fills in defaults after), then the rest
 * in the defaults order of the group's generation.
 */
export function toTorchGroup(
  schema: TorchGroupSchema,
  group: { compat: Compat },
  firstKeys: readonly string[],
): Record<string, unknown> {
  const keys = schema.order[group.compat];
  const values = group as Record<string, unknown>;
  const order = new Set([...firstKeys.filter((k) => keys.includes(k)), ...keys]);
  const out: Record<string, unknown> = {};
  for (const key of order) out[key] = key in schema.ours ? values[schema.ours[key]] : schema.fixed[key];
  return out;
}

/**
 * The modelled hyperparameters of a loaded PyTorch group, under our names.
 * Throws on unknown keys, missing required keys, and unmodelled keys whose
 * value we cannot honour. Values are validated by the optimizer afterwards.
 */
export function fromTorchGroup(
  schema: TorchGroupSchema,
  saved: Record<string, unknown>,
  where: string,
): Record<string, unknown> {
  const known = new Set([...schema.order['2.x'], ...schema.order['1.13']]);
  for (const key of Object.keys(saved)) {
    if (key !== 'params' && !known.has(key)) throw new TypeError(`${where} has unknown key '${key}'`);
  }
  for (const key of schema.required) {
    if (!(key in saved)) throw new TypeError(`${where} is missing '${key}'`);
  }
  checkUnmodelled(saved, where);
  const out: Record<string, unknown> = {};
  for (const [torchKey, ourKey] of Object.entries(schema.ours)) {
    out[ourKey] = torchKey in saved ? saved[torchKey] : schema.optional[torchKey];
  }
  return out;
}

/** PyTorch keys we do not model: accepted when their value changes nothing on CPU. */
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
