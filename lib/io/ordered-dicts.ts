// The objects loadTorch made from Python OrderedDicts (a model's
// state_dict()), so that saveTorch writes them back as OrderedDicts.
export const ORDERED_DICTS = new WeakSet<object>();
