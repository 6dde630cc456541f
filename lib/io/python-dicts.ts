// What a JS object cannot say about the Python dict it came from, kept on
// the side so that saveTorch writes back what loadTorch read: which dicts
// were OrderedDicts (a model's state_dict()), and which keys were ints
// (JS object keys are always strings).
export const ORDERED_DICTS = new WeakSet<object>();
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
