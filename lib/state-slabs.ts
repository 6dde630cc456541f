// Memory for the state tensors an optimizer creates or loads at once. Small
// ones share one buffer per state key and dtype, as consecutive views in the
// order asked for (parameter order), which makes a step over many small
// tensors faster twice over: the kernel streams through contiguous state
// rather than a thousand scattered allocations, and the step's checks read
// one length per run of views of a buffer instead of one per view
// (KernelBinding.sharedBufferRuns). Each view holds exactly its tensor's
// elements; only its `.buffer` is shared, as with Node's pooled Buffers.
import type { FloatArray, FloatDType } from './tensor';

/**
 * From this size (bytes) a state tensor gets an allocation of its own, which
 * the native backend places against 4K aliasing (binding.d.ts allocState).
 */
export const SHARED_STATE_MAX_BYTES = 16 * 1024;

export interface StateRequest {
  dtype: FloatDType;
  length: number;
  /** The state key ('square_avg', ...): each gets buffers of its own. */
  key: string;
  /** The parameter's data, for allocState's placement. */
  like: FloatArray;
}

export type AllocState = (dtype: FloatDType, length: number, like?: FloatArray, quarter?: 1 | 2 | 3) => FloatArray;

/**
 * Zeroed arrays for `requests`, in their order. Small ones are views of one
 * buffer per key and dtype; the rest, and keys asked for once, are allocated
 * alone. `quarter` gives each key's page quarter (allocState).
 */
export function allocStates(requests: readonly StateRequest[], alloc: AllocState, quarter: (key: string) => 1 | 2 | 3): FloatArray[] {
  const out: FloatArray[] = new Array(requests.length);
  const shared = new Map<string, number[]>(); // key and dtype -> indices of its small requests
  requests.forEach((r, i) => {
    const bytes = r.length * (r.dtype === 'float32' ? 4 : 8);
    if (bytes >= SHARED_STATE_MAX_BYTES || bytes === 0) {
      out[i] = alloc(r.dtype, r.length, r.like, quarter(r.key));
      return;
    }
    const id = `${r.key}\0${r.dtype}`;
    const list = shared.get(id);
    if (list === undefined) shared.set(id, [i]);
    else list.push(i);
  });
  for (const indices of shared.values()) {
    const first = requests[indices[0]];
    if (indices.length === 1) {
      out[indices[0]] = alloc(first.dtype, first.length, first.like, quarter(first.key));
      continue;
    }
    const total = indices.reduce((sum, i) => sum + requests[i].length, 0);
    const buffer = alloc(first.dtype, total, first.like, quarter(first.key));
    let at = 0;
    for (const i of indices) {
      out[i] = buffer.subarray(at, at + requests[i].length);
      at += requests[i].length;
    }
  }
  return out;
}
