// PyTorch's storage classes and the dtypes of our tensor records, both ways.
import type { DType, DTypeArrays } from '../core/tensor';

export interface StorageType {
  /** `torch.FloatStorage` and friends: what a pickle names. */
  readonly global: string;
  readonly dtype: DType;
}

const STORAGE_OF: Record<DType, string> = {
  float32: 'FloatStorage',
  float64: 'DoubleStorage',
  float16: 'HalfStorage',
  bfloat16: 'BFloat16Storage',
  int64: 'LongStorage',
  int32: 'IntStorage',
  uint8: 'ByteStorage',
  bool: 'BoolStorage',
};

export const STORAGE_TYPES: ReadonlyMap<string, StorageType> = new Map(
  Object.entries(STORAGE_OF).map(([dtype, name]) => [name, Object.freeze({ global: `torch.${name}`, dtype: dtype as DType })]),
);

export function storageNameOf(dtype: DType): string {
  return STORAGE_OF[dtype];
}

export const ITEM_SIZE: Record<DType, number> = {
  float32: 4, float64: 8, float16: 2, bfloat16: 2, int64: 8, int32: 4, uint8: 1, bool: 1,
};

/** A typed array of `dtype` over `bytes` (copied first if misaligned for the element size). */
export function typedArrayOf<D extends DType>(dtype: D, bytes: Uint8Array): DTypeArrays[D] {
  const size = ITEM_SIZE[dtype];
  // new Uint8Array(bytes) copies; Buffer#slice would not (it is a view).
  const aligned = bytes.byteOffset % size === 0 ? bytes : new Uint8Array(bytes);
  const n = aligned.byteLength / size;
  const buffer = aligned.buffer as ArrayBuffer;
  const at = aligned.byteOffset;
  const arrays: { [K in DType]: () => DTypeArrays[K] } = {
    float32: () => new Float32Array(buffer, at, n),
    float64: () => new Float64Array(buffer, at, n),
    float16: () => new Uint16Array(buffer, at, n),
    bfloat16: () => new Uint16Array(buffer, at, n),
    int64: () => new BigInt64Array(buffer, at, n),
    int32: () => new Int32Array(buffer, at, n),
    uint8: () => new Uint8Array(buffer, at, n),
    bool: () => new Uint8Array(buffer, at, n),
  };
  return arrays[dtype]() as DTypeArrays[D];
}

/** Reverses the byte order of each element in place (for files of the other endianness). */
export function swapBytes(bytes: Uint8Array, itemSize: number): void {
  if (itemSize === 1) return;
  for (let i = 0; i + itemSize <= bytes.length; i += itemSize) bytes.subarray(i, i + itemSize).reverse();
}

/** The bytes of a typed array, viewed in place. */
export function bytesOf(array: ArrayBufferView): Uint8Array {
  return new Uint8Array(array.buffer, array.byteOffset, array.byteLength);
}
