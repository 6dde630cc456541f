// Describes a loaded value the way test/torch/io_oracle.py's describe()
// describes the Python value, so the two can be compared as JSON: tensors by
// dtype, shape and the hex of their bytes; tuples (frozen arrays) apart from
// lists; int dict keys marked.
import { isIntKey } from '../../lib/core/python-values';

export function describeValue(v: unknown): unknown {
  if (v === null) return null;
  if (typeof v === 'boolean') return { bool: v };
  if (typeof v === 'number') return { num: v };
  if (typeof v === 'bigint') return { bigint: String(v) };
  if (typeof v === 'string') return { str: v };
  if (v instanceof Uint8Array) return { bytes: Buffer.from(v).toString('hex') };
  if (Array.isArray(v)) return Object.isFrozen(v) ? { tuple: v.map(describeValue) } : { list: v.map(describeValue) };
  const o = v as Record<string, unknown>;
  if (ArrayBuffer.isView(o.data) && typeof o.dtype === 'string') {
    const data = o.data as ArrayBufferView;
    return { tensor: o.dtype, shape: o.shape, hex: Buffer.from(data.buffer, data.byteOffset, data.byteLength).toString('hex') };
  }
  return { dict: Object.entries(o).map(([k, x]) => [isIntKey(o, k) ? `int:${k}` : k, describeValue(x)]) };
}

