// Parameter (what an optimizer updates) and TensorRecord (the small tensor
// value that state dicts and files carry).
import { typeError } from './errors';

/** The arrays an optimizer steps: parameters, grads and state are one or the other. */
export type FloatArray = Float32Array | Float64Array;
/** The dtype of a {@link FloatArray}. */
export type FloatDType = 'float32' | 'float64';

/** Every dtype a tensor record can hold (what torch.save files contain). */
export type DType =
  | 'float32' | 'float64' | 'float16' | 'bfloat16'
  | 'int64' | 'int32' | 'int16' | 'int8' | 'uint64' | 'uint32' | 'uint16' | 'uint8' | 'bool'
  | 'float8_e4m3fn' | 'float8_e5m2' | 'float8_e4m3fnuz' | 'float8_e5m2fnuz'
  | 'complex64' | 'complex128';

/** The typed array each dtype is stored in (float16/bfloat16 as raw bits). */
export interface DTypeArrays {
  /** `torch.float32`. */
  float32: Float32Array;
  /** `torch.float64`. */
  float64: Float64Array;
  /** `torch.float16`, as its raw bits. */
  float16: Uint16Array;
  /** `torch.bfloat16`, as its raw bits (the high half of a float32). */
  bfloat16: Uint16Array;
  /** `torch.int64`. */
  int64: BigInt64Array;
  /** `torch.int32`. */
  int32: Int32Array;
  /** `torch.int16`. */
  int16: Int16Array;
  /** `torch.int8`. */
  int8: Int8Array;
  /** `torch.uint64`. */
  uint64: BigUint64Array;
  /** `torch.uint32`. */
  uint32: Uint32Array;
  /** `torch.uint16`. */
  uint16: Uint16Array;
  /** `torch.uint8`. */
  uint8: Uint8Array;
  /** `torch.bool`, one byte each, 0 or 1. */
  bool: Uint8Array;
  /** `torch.float8_e4m3fn`, as its raw bits. */
  float8_e4m3fn: Uint8Array;
  /** `torch.float8_e5m2`, as its raw bits. */
  float8_e5m2: Uint8Array;
  /** `torch.float8_e4m3fnuz`, as its raw bits. */
  float8_e4m3fnuz: Uint8Array;
  /** `torch.float8_e5m2fnuz`, as its raw bits. */
  float8_e5m2fnuz: Uint8Array;
  /** `torch.complex64`: real and imaginary parts interleaved, two values per element. */
  complex64: Float32Array;
  /** `torch.complex128`: real and imaginary parts interleaved, two values per element. */
  complex128: Float64Array;
}

/** A tensor as data: dtype, shape and a contiguous, row-major copy of its values. */
export interface TensorRecord<D extends DType = DType> {
  /** PyTorch's dtype name, e.g. `'float32'` for `torch.float32`. */
  dtype: D;
  /** The size of each dimension; `[]` for a 0-dim tensor (one element). */
  shape: number[];
  /** The values, row-major, in the typed array of the dtype ({@link DTypeArrays}); complex dtypes hold two per element. */
  data: DTypeArrays[D];
}

export function isFloatArray(value: unknown): value is FloatArray {
  // isView: a Proxy of a typed array, or an object on its prototype, passes instanceof but has no memory.
  return (value instanceof Float32Array || value instanceof Float64Array) && ArrayBuffer.isView(value);
}

export function dtypeOf(array: FloatArray): FloatDType {
  return array instanceof Float32Array ? 'float32' : 'float64';
}

export function numelOf(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

/** Throws unless `shape` is a list of non-negative integers. */
export function checkShape(name: string, shape: unknown): number[] {
  if (!Array.isArray(shape)) throw typeError(name, 'an array of non-negative integers', shape);
  const bad = shape.findIndex((d) => !Number.isSafeInteger(d) || d < 0);
  if (bad >= 0) throw typeError(`${name}[${bad}]`, 'a non-negative integer (a shape lists non-negative integers)', shape[bad]);
  return shape.slice();
}

/** Whether a buffer was detached (transferred); Node < 21 lacks ArrayBuffer#detached. */
export function isDetached(buffer: ArrayBufferLike): boolean {
  const own = (buffer as ArrayBufferLike & { detached?: boolean }).detached;
  if (own !== undefined) return own;
  if (buffer.byteLength !== 0) return false;
  try {
    new Uint8Array(buffer);
    return false;
  } catch {
    return true;
  }
}

/**
 * Throws unless the array's memory can be used by a step: not detached, not
 * resizable (its length could change under the kernel), not shared with
 * other threads.
 */
export function checkUsableMemory(name: string, array: ArrayBufferView): void {
  const problem = memoryProblem(array);
  if (problem !== undefined) throw new TypeError(`${name} ${problem}`);
}

/**
 * What makes the array's memory unusable by a step (checkUsableMemory), or
 * undefined: for callers that check many arrays and should build their
 * names only for an error.
 */
export function memoryProblem(array: ArrayBufferView): string | undefined {
  const buffer = array.buffer as ArrayBufferLike & { resizable?: boolean };
  if (typeof SharedArrayBuffer !== 'undefined' && buffer instanceof SharedArrayBuffer) {
    return 'is backed by a SharedArrayBuffer; use an ordinary ArrayBuffer';
  }
  if (isDetached(buffer)) return 'is backed by a detached ArrayBuffer (it was transferred)';
  if (buffer.resizable === true) return 'is backed by a resizable ArrayBuffer; use a fixed-length one';
  return undefined;
}

/**
 * A tensor the optimizer updates in place: `data` (Float32Array or
 * Float64Array) with a shape, and `grad`, an array of the same type and
 * length, or null (then steps skip it, as PyTorch does).
 *
 * @example
 * ```ts
 * const w = new Parameter(zeros(784 * 10), [784, 10]);
 * w.grad = zeros(w.numel);   // write each step's gradient into it
 * ```
 */
export class Parameter {
  /** The values a step updates in place. */
  data: FloatArray;
  /** The gradient the next step reads (same type and length as `data`), or null to skip this parameter. */
  grad: FloatArray | null = null;
  /** PyTorch's shape of the tensor; its product is `data.length`. */
  readonly shape: readonly number[];
  /** Number of elements the shape promises. */
  readonly numel: number;

  constructor(data: FloatArray, shape?: readonly number[]) {
    if (!isFloatArray(data)) throw typeError('Parameter data', 'a Float32Array or Float64Array', data);
    checkUsableMemory('Parameter data', data);
    const dims = shape === undefined ? [data.length] : checkShape('Parameter shape', shape);
    if (numelOf(dims) !== data.length) {
      throw new RangeError(
        `Parameter shape [${dims.join(', ')}] has ${numelOf(dims)} elements but data has ${data.length}`,
      );
    }
    this.data = data;
    this.shape = Object.freeze(dims);
    this.numel = data.length;
  }

  /** `'float32'` or `'float64'`, from `data`'s type. */
  get dtype(): FloatDType {
    return dtypeOf(this.data);
  }

  /** The grad array `releaseGrad()` set aside, to be filled again instead of allocating another. */
  #spare: FloatArray | null = null;

  /**
   * Adds `values` to the grad, as PyTorch's `backward()` accumulates into
   * `.grad`; where the grad is null, fills one with them. The array filled is
   * the one `zeroGrad()` released, when there is one: a training loop of
   * `opt.zeroGrad()`, `p.accumulateGrad(g)`, `opt.step()` then allocates its
   * grads once and the step binds them once. Sums round as PyTorch's do.
   *
   * @returns the grad
   */
  accumulateGrad(values: ArrayLike<number>): FloatArray {
    const n = this.numel;
    if (values === null || typeof values !== 'object' || values.length !== n) {
      throw typeError('accumulateGrad values', `${n} numbers (an array or typed array of the parameter's length)`, values);
    }
    const grad = this.grad;
    if (grad !== null) {
      for (let i = 0; i < n; i++) grad[i] += values[i];
      return grad;
    }
    const spare = this.#spare;
    const fresh = spare !== null && spare.length === n && spare.constructor === this.data.constructor && !isDetached(spare.buffer)
      ? spare
      : this.data instanceof Float32Array ? new Float32Array(n) : new Float64Array(n);
    this.#spare = null;
    for (let i = 0; i < n; i++) fresh[i] = values[i];
    this.grad = fresh;
    return fresh;
  }

  /**
   * Sets the grad to null, as `zeroGrad()` does under PyTorch 2.x's
   * set_to_none, keeping its array for `accumulateGrad` to fill again.
   */
  releaseGrad(): void {
    if (this.grad !== null) this.#spare = this.grad;
    this.grad = null;
  }
}

/** A record holding a copy of `array`, with the given shape. */
export function recordOf(array: FloatArray, shape: readonly number[]): TensorRecord<FloatDType> {
  return array instanceof Float32Array
    ? { dtype: 'float32', shape: [...shape], data: array.slice() }
    : { dtype: 'float64', shape: [...shape], data: array.slice() };
}

const DATA_TYPES: { [D in DType]: new (n: number) => DTypeArrays[D] } = {
  float32: Float32Array,
  float64: Float64Array,
  float16: Uint16Array,
  bfloat16: Uint16Array,
  int64: BigInt64Array,
  int32: Int32Array,
  int16: Int16Array,
  int8: Int8Array,
  uint64: BigUint64Array,
  uint32: Uint32Array,
  uint16: Uint16Array,
  uint8: Uint8Array,
  bool: Uint8Array,
  float8_e4m3fn: Uint8Array,
  float8_e5m2: Uint8Array,
  float8_e4m3fnuz: Uint8Array,
  float8_e5m2fnuz: Uint8Array,
  complex64: Float32Array,
  complex128: Float64Array,
};

/** The typed array that holds each dtype's values. */
export function arrayTypeOf<D extends DType>(dtype: D): new (buffer: ArrayBuffer, byteOffset?: number, length?: number) => DTypeArrays[D] {
  return DATA_TYPES[dtype] as unknown as new (buffer: ArrayBuffer, byteOffset?: number, length?: number) => DTypeArrays[D];
}

/** How many array values one element takes: two for complex dtypes (real, imaginary), else one. */
export function valuesPerElement(dtype: DType): number {
  return dtype === 'complex64' || dtype === 'complex128' ? 2 : 1;
}

/** Throws unless `value` is a well-formed tensor record; returns it typed. */
export function checkRecord(name: string, value: unknown): TensorRecord {
  const r = value as Partial<TensorRecord> | null;
  if (r === null || typeof r !== 'object' || !(typeof r.dtype === 'string' && r.dtype in DATA_TYPES)) {
    throw typeError(name, `a tensor record { dtype: ${Object.keys(DATA_TYPES).join('|')}, shape, data }`, value);
  }
  const shape = checkShape(`${name}.shape`, r.shape);
  const Expected = DATA_TYPES[r.dtype as DType];
  if (!(r.data instanceof Expected)) {
    throw typeError(`${name}.data`, `a ${Expected.name} for dtype ${r.dtype}`, r.data);
  }
  if (isDetached(r.data.buffer)) throw new TypeError(`${name}.data ${memoryProblem(r.data)}`);
  const per = valuesPerElement(r.dtype as DType);
  if (numelOf(shape) * per !== r.data.length) {
    throw new RangeError(
      `${name} has shape [${shape.join(', ')}] (${numelOf(shape)} elements${per === 2 ? `, ${numelOf(shape) * 2} values as ${r.dtype}` : ''}) but ${r.data.length} data elements`,
    );
  }
  return r as TensorRecord;
}

const F32 = new Float32Array(1);
const F32_BITS = new Uint32Array(F32.buffer);

/** The float16 bit pattern nearest a float32 value (ties to even; NaN stays NaN), as PyTorch's `.half()`. */
export function float32ToFloat16Bits(x: number): number {
  F32[0] = x;
  const u = F32_BITS[0];
  const sign = (u >>> 16) & 0x8000;
  const exp = (u >>> 23) & 0xff;
  let mant = u & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant !== 0 ? 0x200 : 0);
  const e = exp - 112; // float16's biased exponent
  if (e >= 31) return sign | 0x7c00;
  if (e <= 0) {
    if (e < -10) return sign;
    mant |= 0x800000;
    const shift = 14 - e;
    let half = mant >>> shift;
    const rest = mant & ((1 << shift) - 1);
    const mid = 1 << (shift - 1);
    if (rest > mid || (rest === mid && (half & 1) === 1)) half++;
    return sign | half;
  }
  let h = (e << 10) | (mant >>> 13);
  const rest = mant & 0x1fff;
  if (rest > 0x1000 || (rest === 0x1000 && (h & 1) === 1)) h++; // a carry into the exponent is right, up to infinity
  return sign | h;
}

/** The bfloat16 bit pattern nearest a float32 value (ties to even; NaN stays NaN), as PyTorch's `.bfloat16()`. */
export function float32ToBfloat16Bits(x: number): number {
  F32[0] = x;
  const u = F32_BITS[0];
  if (x !== x) return ((u >>> 16) & 0x8000) | 0x7fc0;
  return ((u + 0x7fff + ((u >>> 16) & 1)) >>> 16) & 0xffff;
}

/** Converts a float16 bit pattern to a number (exact). */
export function float16ToNumber(bits: number): number {
  const sign = bits & 0x8000 ? -1 : 1;
  const exp = (bits >> 10) & 0x1f;
  const frac = bits & 0x3ff;
  if (exp === 0) return sign * frac * 2 ** -24;
  if (exp === 31) return frac ? NaN : sign * Infinity;
  return sign * (1024 + frac) * 2 ** (exp - 25);
}

/** Converts a bfloat16 bit pattern to a number (exact). */
export function bfloat16ToNumber(bits: number): number {
  const view = new DataView(new ArrayBuffer(4));
  view.setUint32(0, bits << 16);
  return view.getFloat32(0);
}

/** Whether a record's dtype is a floating-point one (castFloatRecord takes it). */
export function isFloatDType(dtype: DType): boolean {
  return dtype === 'float32' || dtype === 'float64' || dtype === 'float16' || dtype === 'bfloat16';
}

/**
 * The values of a floating-point record converted to `dtype` the way
 * PyTorch's `Tensor.to` does (round to nearest even). Throws for integer and
 * bool records: optimizer state is floating point.
 */
export function castFloatRecord(name: string, record: TensorRecord, dtype: FloatDType): FloatArray {
  const out = dtype === 'float32' ? new Float32Array(record.data.length) : new Float64Array(record.data.length);
  switch (record.dtype) {
    case 'float32':
    case 'float64':
      out.set(record.data as FloatArray);
      return out;
    case 'float16':
    case 'bfloat16': {
      const decode = record.dtype === 'float16' ? float16ToNumber : bfloat16ToNumber;
      (record.data as Uint16Array).forEach((bits, i) => (out[i] = decode(bits)));
      return out;
    }
    default:
      throw new TypeError(`${name} has dtype ${record.dtype}; a floating-point tensor is required`);
  }
}

