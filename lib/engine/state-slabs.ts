// Memory for the state tensors an optimizer creates or loads at once, laid
// out by size:
// - Small ones share one buffer per state key and dtype, as consecutive views
//   in the order asked for (parameter order), which makes a step over many
//   small tensors faster twice over: the kernel streams through contiguous
//   state rather than a thousand scattered allocations, and the step's checks
//   read one length per run of views of a buffer instead of one per view
//   (KernelBinding.sharedBufferRuns). Each view holds exactly its tensor's
//   elements; only its `.buffer` is shared, as with Node's pooled Buffers.
// - Mid-sized ones (16 KiB to 2 MiB) of one key and dtype are laid out
//   together in one native allocation, each placed against 4K aliasing, so
//   that from 2 MiB in all they sit on 2 MiB huge pages, which none of them
//   could alone (`zeros` does the same for params and grads). Each keeps an
//   ArrayBuffer of its own (binding.d.ts allocStateViews).
// - Large ones get an allocation of their own, on huge pages.
import type { FloatArray, FloatDType } from '../core/tensor';

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

/** From this size (bytes) a state tensor fills a 2 MiB huge page of its own. */
export const LARGE_STATE_MIN_BYTES = 2 * 1024 * 1024;

export interface StateAllocator {
  allocState(dtype: FloatDType, length: number, like?: FloatArray, quarter?: 1 | 2 | 3): FloatArray;
  allocStateViews(dtype: FloatDType, lengths: number[], likes: FloatArray[], quarter: 1 | 2 | 3): FloatArray[];
}

/**
 * Zeroed arrays for `requests`, in their order. Small ones are views of one
 * buffer per key and dtype, mid-sized ones are laid out together per key and
 * dtype; the rest, and keys asked for once, are allocated alone. `quarter`
 * gives each key's page quarter (allocState).
 */
export function allocStates(
  requests: readonly StateRequest[],
  alloc: StateAllocator,
  quarter: (key: string) => 1 | 2 | 3,
): FloatArray[] {
  const out: FloatArray[] = new Array(requests.length);
  const small = new Map<string, number[]>(); // key and dtype -> indices of its small requests
  const midSized = new Map<string, number[]>(); // the same for mid-sized ones
  const alone = (i: number) => {
    const r = requests[i];
    out[i] = alloc.allocState(r.dtype, r.length, r.like, quarter(r.key));
  };
  requests.forEach((r, i) => {
    const bytes = r.length * (r.dtype === 'float32' ? 4 : 8);
    const together = bytes === 0 || bytes >= LARGE_STATE_MIN_BYTES ? undefined : bytes < SHARED_STATE_MAX_BYTES ? small : midSized;
    if (together === undefined) {
      alone(i);
      return;
    }
    const id = `${r.key}\0${r.dtype}`;
    const list = together.get(id);
    if (list === undefined) together.set(id, [i]);
    else list.push(i);
  });
  for (const indices of small.values()) {
    if (indices.length === 1) {
      alone(indices[0]);
      continue;
    }
    const first = requests[indices[0]];
    const total = indices.reduce((sum, i) => sum + requests[i].length, 0);
    const buffer = alloc.allocState(first.dtype, total, first.like, quarter(first.key));
    let at = 0;
    for (const i of indices) {
      out[i] = buffer.subarray(at, at + requests[i].length);
      at += requests[i].length;
    }
  }
  for (const indices of midSized.values()) {
    if (indices.length === 1) {
      alone(indices[0]);
      continue;
    }
    const first = requests[indices[0]];
    const lengths = indices.map((i) => requests[i].length);
    const likes = indices.map((i) => requests[i].like);
    alloc.allocStateViews(first.dtype, lengths, likes, quarter(first.key)).forEach((array, j) => (out[indices[j]] = array));
  }
  return out;
}
