// PyTorch's dtypes as files name them, both ways: the legacy storage classes
// (`torch.FloatStorage`) that torch.save writes for the older dtypes, and the
// dtype objects (`torch.uint16`) that 2.x pairs with an untyped storage for
// the newer ones.
import { valuesPerElement, type DType } from '../core/tensor';

interface DTypeInfo {
  /** Bytes per element (a complex element is two floats). */
  readonly itemSize: number;
  /** The legacy storage class, for dtypes PyTorch 1.x already had; newer ones are written untyped. */
  readonly storage?: string;
}

const DTYPES: Record<DType, DTypeInfo> = {
  float32: { itemSize: 4, storage: 'FloatStorage' },
  float64: { itemSize: 8, storage: 'DoubleStorage' },
  float16: { itemSize: 2, storage: 'HalfStorage' },
  bfloat16: { itemSize: 2, storage: 'BFloat16Storage' },
  int64: { itemSize: 8, storage: 'LongStorage' },
  int32: { itemSize: 4, storage: 'IntStorage' },
  int16: { itemSize: 2, storage: 'ShortStorage' },
  int8: { itemSize: 1, storage: 'CharStorage' },
  uint8: { itemSize: 1, storage: 'ByteStorage' },
  bool: { itemSize: 1, storage: 'BoolStorage' },
  complex64: { itemSize: 8, storage: 'ComplexFloatStorage' },
  complex128: { itemSize: 16, storage: 'ComplexDoubleStorage' },
  uint64: { itemSize: 8 },
  uint32: { itemSize: 4 },
  uint16: { itemSize: 2 },
  float8_e4m3fn: { itemSize: 1 },
  float8_e5m2: { itemSize: 1 },
  float8_e4m3fnuz: { itemSize: 1 },
  float8_e5m2fnuz: { itemSize: 1 },
};

/** What a pickle's storage class stands for: a dtype, or 'untyped' bytes whose dtype the tensor names. */
export interface StorageType {
  /** `torch.FloatStorage` and friends: what a pickle names. */
  readonly global: string;
  readonly dtype: DType | 'untyped';
}

/** A dtype object in a pickle (`torch.uint16`), as `_rebuild_tensor_v3` takes it. */
export interface DTypeObject {
  readonly global: string;
  readonly torchDType: DType;
}

export const STORAGE_TYPES: ReadonlyMap<string, StorageType> = new Map(
  Object.entries(DTYPES)
    .filter(([, info]) => info.storage !== undefined)
    .map(([dtype, info]) => [info.storage!, Object.freeze({ global: `torch.${info.storage}`, dtype: dtype as DType })]),
);

/** 2.x's `torch.storage.UntypedStorage`: bytes, typed by the tensor that uses them. */
export const UNTYPED_STORAGE: StorageType = Object.freeze({ global: 'torch.storage.UntypedStorage', dtype: 'untyped' });

export const DTYPE_OBJECTS: ReadonlyMap<string, DTypeObject> = new Map(
  (Object.keys(DTYPES) as DType[]).map((dtype) => [dtype, Object.freeze({ global: `torch.${dtype}`, torchDType: dtype })]),
);

/** PyTorch dtypes that files may hold and no typed array here represents, by the names pickles use. */
const UNSUPPORTED: ReadonlyMap<string, string> = new Map([
  ['QInt8Storage', 'qint8'], ['QUInt8Storage', 'quint8'], ['QInt32Storage', 'qint32'],
  ['QUInt4x2Storage', 'quint4x2'], ['QUInt2x4Storage', 'quint2x4'], ['ComplexHalfStorage', 'complex32'],
  ['complex32', 'complex32'], ['chalf', 'complex32'], ['bits8', 'bits8'], ['bits16', 'bits16'],
  ['bits1x8', 'bits1x8'], ['bits2x4', 'bits2x4'], ['bits4x2', 'bits4x2'],
  ['qint8', 'qint8'], ['quint8', 'quint8'], ['qint32', 'qint32'], ['quint4x2', 'quint4x2'], ['quint2x4', 'quint2x4'],
  ['float8_e8m0fnu', 'float8_e8m0fnu'], ['float4_e2m1fn_x2', 'float4_e2m1fn_x2'],
]);

/** The dtype a `torch.<name>` global stands for when simd-optim cannot hold it, for the error. */
export function unsupportedDType(name: string): string | undefined {
  return UNSUPPORTED.get(name);
}

/** The legacy storage class of `dtype`, or undefined for dtypes 2.x writes untyped. */
export function storageNameOf(dtype: DType): string | undefined {
  return DTYPES[dtype].storage;
}

/** Bytes per element of each dtype. */
export const ITEM_SIZE: Readonly<Record<DType, number>> = Object.fromEntries(
  Object.entries(DTYPES).map(([dtype, info]) => [dtype, info.itemSize]),
) as Record<DType, number>;

/** Bytes per array value: an element's size, or half of it for complex dtypes. */
export function valueSize(dtype: DType): number {
  return ITEM_SIZE[dtype] / valuesPerElement(dtype);
}

/** Reverses the byte order of each value in place (for files of the other endianness). */
export function swapBytes(bytes: Uint8Array, valueBytes: number): void {
  if (valueBytes === 1) return;
  for (let i = 0; i + valueBytes <= bytes.length; i += valueBytes) bytes.subarray(i, i + valueBytes).reverse();
}
