// How the writers recognise an optimizer state dict among other values:
// exactly the two keys of PyTorch's state_dict(), `state` and `param_groups`.
export type OptimizerDict = {
  state: Record<string, Record<string, unknown>>;
  param_groups: Array<Record<string, unknown>>;
};

export function isOptimizerDict(value: unknown): value is OptimizerDict {
  const v = value as Record<string, unknown> | null;
  return v !== null && typeof v === 'object' && Object.keys(v).length === 2 && Array.isArray(v.param_groups) &&
    v.state !== null && typeof v.state === 'object';
}
