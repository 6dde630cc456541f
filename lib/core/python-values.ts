// What a JS object cannot say about the Python dict it came from, kept on
// the side so that saveTorch writes back what loadTorch read: which dicts
// were OrderedDicts (a model's state_dict()) or Counters, and which keys were ints
// (JS object keys are always strings).
export const ORDERED_DICTS = new WeakSet<object>();
/**
 * Which view of which storage a loaded tensor was, as "<file load>:<storage>@<offset>:<shape>:<stride>":
 * two records with the same are one tensor in PyTorch (a tied weight under
 * two names of a model's state_dict).
 */
export const STORAGE_VIEWS = new WeakMap<object, string>();

/**
 * The buffers loadTorch made, each one storage of the file: saveTorch writes
 * every view of one as one storage again, gaps and all, as it was.
 */
export const LOADED_STORAGES = new WeakSet<ArrayBufferLike>();

/** Dicts that were a collections.Counter (MultiStepLR keeps its milestones in one). */
export const COUNTERS = new WeakSet<object>();
const INT_KEYS = new WeakMap<object, Set<string>>();

export function markIntKey(dict: object, key: string): void {
  let keys = INT_KEYS.get(dict);
  if (keys === undefined) INT_KEYS.set(dict, (keys = new Set()));
  keys.add(key);
}

/** Whether `key` of a dict loadTorch made was a Python int. */
export function isIntKey(dict: object, key: string): boolean {
  return INT_KEYS.get(dict)?.has(key) ?? false;
}

/**
 * A deep copy of plain data as loadTorch makes it (objects, arrays, frozen
 * arrays for tuples, typed arrays), keeping what saveTorch needs to write it
 * back the same: tuples stay frozen, OrderedDicts, Counters and int keys stay marked.
 * Shared parts stay shared; anything else (a class instance) is not copied.
 */
export function copyPythonValue<T>(value: T, copies = new Map<object, unknown>()): T {
  if (value === null || typeof value !== 'object') return value;
  const done = copies.get(value);
  if (done !== undefined) return done as T;
  if (ArrayBuffer.isView(value)) return (value as unknown as { slice(): T }).slice();
  if (Array.isArray(value)) {
    const out: unknown[] = [];
    copies.set(value, out);
    for (const item of value) out.push(copyPythonValue(item, copies));
    return (Object.isFrozen(value) ? Object.freeze(out) : out) as T;
  }
  const proto = Object.getPrototypeOf(value);
  if (proto !== Object.prototype && proto !== null) return value;
  const out: Record<string, unknown> = {};
  copies.set(value, out);
  for (const [key, item] of Object.entries(value)) {
    // defineProperty: a key named "__proto__" stays an own key, as loadTorch made it.
    Object.defineProperty(out, key, { value: copyPythonValue(item, copies), enumerable: true, writable: true, configurable: true });
    if (isIntKey(value, key)) markIntKey(out, key);
  }
  if (ORDERED_DICTS.has(value)) ORDERED_DICTS.add(out);
  if (COUNTERS.has(value)) COUNTERS.add(out);
  return out as T;
}

/** How a state entry's `step` is stored in each PyTorch generation: a Python int or a 0-dim float32 tensor. */
export type StepForms = Readonly<Record<'1.13' | '2.x', 'int' | 'tensor'>>;

/**
 * What an optimizer's stateDict() knows of the dict it made and saveTorch
 * needs, which the plain values cannot carry: the generation the dict has the
 * form of, and how each state entry's `step` is stored in each generation
 * (1.13 keeps RMSprop's in an int, Adam's and Adagrad's in a tensor).
 */
export const DICT_GENERATIONS = new WeakMap<object, '1.13' | '2.x'>();
export const STEP_FORMS = new WeakMap<object, StepForms>();
