// The exact shape of the native module (build/Release/simd_optim.node).
// lib/engine/backend.ts is its only user; everything user-facing lives in lib/.

/** A dtype the kernels accept. */
export type NativeDType = 'float32' | 'float64';
export type NativeArray = Float32Array | Float64Array;

/**
 * Role of a bound array within its slot, for `ParamGroup.bind`: 0 param,
 * 1 grad, then the algorithm's state arrays in the order its layout names
 * them (`algorithms()[id].states`): 2 + k for state k.
 */
export type Role = number;

/** Where a bindMany array goes: slot * 8 + role (native/param_group.cc kPlaceStride). */
export type Place = number;

/**
 * A param group as the kernels of one algorithm see it: per slot, the
 * arrays of one parameter. Bound arrays stay referenced until rebound or the
 * group is collected. That keeps the typed arrays, not their memory: the
 * caller must not transfer (detach) or resize a bound array's buffer until it
 * rebinds it, and never while an async step runs. lib/ checks every bound
 * array's length before each step (through one view per shared buffer), and
 * binds no array on a resizable buffer.
 */
export declare class ParamGroup {
  /**
   * @param algorithm the algorithm's id: its index in `algorithms()`
   * @param slotCount number of parameters in the group
   * @param hyper Float64Array of the algorithm's hyperparameters, laid out as
   *   `algorithms()[algorithm].hyper` names them (booleans as 0/1), read at
   *   every step
   * @param slotScalars Float64Array(slotCount * scalars), each slot's
   *   per-tensor scalars as `algorithms()[algorithm].scalars` names them
   *   (Adagrad's learning rate), read at every step
   * Both are read through pointers taken here, at no cost per step: their
   * buffers must never be transferred (lib/ keeps them private).
   */
  constructor(algorithm: number, slotCount: number, hyper: Float64Array, slotScalars: Float64Array);
  /**
   * Binds (or with null, unbinds) one array. Throws on a non-float typed
   * array, one on a SharedArrayBuffer, a slot or role that is not a whole
   * number in range, or while busy.
   */
  bind(slot: number, role: Role, array: NativeArray | null): void;
  /**
   * bind() for many arrays in one call: `places[k]` is slot * 8 + role of
   * `arrays[k]`. Binds in order; on a bad array it throws, the ones before it
   * bound.
   */
  bindMany(places: Uint32Array, arrays: readonly (NativeArray | null)[]): void;
  /**
   * One step over every slot whose grad is bound, on up to `threads` threads
   * (0: SIMD_OPTIM_THREADS or every core). Requires param, grad and each
   * state array the hyperparameters call for bound with equal length and
   * dtype, and no array it writes (param and state) sharing memory with any
   * other array of a slot it steps (threads write them at once); throws
   * before writing anything otherwise.
   */
  step(threads: number): void;
  /**
   * The same step on libuv's thread pool. Until the promise settles, bind()
   * and both step methods throw, and the bound arrays must not be touched.
   */
  stepAsync(threads: number): Promise<void>;
  /** Whether every bound grad is free of NaN and ±Inf. */
  gradsFinite(): boolean;
}

/** One algorithm's layout, from native/kernels/<name>.h. */
export interface AlgorithmLayout {
  name: string;
  /** The hyperparameter array's slots. */
  hyper: string[];
  /** The state arrays, in role order (role 2 + k). */
  states: string[];
  /** Each slot's per-tensor scalars. */
  scalars: string[];
}

/** Every algorithm's layout, indexed by its id. */
export declare function algorithms(): AlgorithmLayout[];

/** The C library's pow(x, y), as Python's float ** calls it. */
export declare function pow(x: number, y: number): number;
/** The C library's cos(x), as Python's math.cos calls it. */
export declare function cos(x: number): number;

/**
 * A zeroed state array whose data is 64-byte aligned. From 16 KiB and with
 * `like` (its parameter's data), it starts `quarter` (1, the default, 2 or 3)
 * quarters of a 4 KiB page after `like`'s cache line, modulo the page: give
 * each state buffer of a parameter its own quarter, and no two of the step's
 * streams are close within a page (4K aliasing; see native/state_buffer.cc).
 * From 2 MiB it starts that far past a 2 MiB boundary and its whole 2 MiB
 * pages are advised as transparent huge pages (info().hugePages).
 */
export declare function allocState(dtype: 'float32', length: number, like?: NativeArray, quarter?: 1 | 2 | 3): Float32Array;
export declare function allocState(dtype: 'float64', length: number, like?: NativeArray, quarter?: 1 | 2 | 3): Float64Array;
export declare function allocState(dtype: NativeDType, length: number, like?: NativeArray, quarter?: 1 | 2 | 3): NativeArray;

/**
 * Zeroed state arrays of `lengths[i]` elements, each placed against
 * `likes[i]` as allocState places it, laid out in order in one native
 * allocation: page-aligned, and from 2 MiB in all on a 2 MiB boundary with
 * its whole 2 MiB pages advised as transparent huge pages, which arrays of
 * their own under 2 MiB cannot have. Each array still has an ArrayBuffer of
 * its own (external). A collected array's whole pages go back to the system
 * at once, and the allocation is unmapped with the last array. Where
 * external buffers are refused, and for empty arrays, allocState's.
 */
export declare function allocStateViews(dtype: NativeDType, lengths: number[], likes: NativeArray[], quarter: 1 | 2 | 3): NativeArray[];

/**
 * A zeroed array of `length` elements (1 to 16 MiB in bytes) that starts on a
 * 4 KiB page, in an external ArrayBuffer of its own, carved one after another
 * from 16 MiB native allocations advised as transparent huge pages (one
 * current allocation per Node environment). A collected array's whole pages
 * go back to the system at once; an allocation is unmapped with the last of
 * its arrays. A V8 array where external buffers are refused.
 */
export declare function allocZeros(dtype: 'float32', length: number): Float32Array;
export declare function allocZeros(dtype: 'float64', length: number): Float64Array;
export declare function allocZeros(dtype: NativeDType, length: number): NativeArray;

export interface NativeInfo {
  /** ISA of the kernels in use. */
  isa: string;
  /** ISAs this build and CPU can run, best last. Always includes 'scalar'. */
  isas: string[];
  /** False when state buffers are V8-allocated (runtime refused external ones, or forced). */
  externalBuffers: boolean;
  /** Whether buffers of 2 MiB and more are advised as transparent huge pages (Linux, unless SIMD_OPTIM_HUGE_PAGES=0). */
  hugePages: boolean;
  /** Why SIMD_OPTIM_ISA was refused, or ''. */
  isaError: string;
}
export declare function info(): NativeInfo;

/** Switches every later step to the given ISA's kernels. Throws if it cannot run here. */
export declare function setIsa(name: string): void;

// The test build only (simd_optim_test.node, native/test_exports.h): the
// addon users get has none of these three.

/** The largest power of two (up to 4096) dividing the address of the view's first byte. */
export declare function addressAlignment(view: ArrayBufferView): number;

/** Where a view's first byte sits within its 4 KiB page (for tests of allocState's placement). */
export declare function pageOffset(view: ArrayBufferView): number;

/** The address of a view's first byte (for tests of huge-page placement). */
export declare function addressOf(view: ArrayBufferView): number;

/**
 * In-place elementwise op with PyTorch's CPU arithmetic; `a` is written.
 * op: 0 a*=s1 | 1 a*=b | 2 a=fma(s1,b,a) | 3 a=fma(s2,s1,a) | 4 a=fma(s1*b,c,a)
 *   | 5 a=a+(s1*b)/c | 6 a=sqrt(b) | 7 a=lerp(a,b,s1) | 8 a=min(max(a,s1),s2)
 *   (for s1 < 0 < s2; NaN stays NaN). b and c (when the op
 * uses them) match a's dtype and length; they may be a itself but must not
 * overlap it otherwise. Scalars are rounded to a's dtype where used.
 */
export declare function elementwise(
  op: number,
  a: NativeArray,
  b: NativeArray | null,
  c: NativeArray | null,
  s1: number,
  s2: number,
): void;

/**
 * Over every element of `arrays`: the sum of |x| (kind 0), x² (1) or |x|^p
 * (3), or the max |x| (2; NaN if any is NaN), in double, in a fixed order
 * (blocks of 4096 elements, 16 lanes: native/kernels/norm.h), on up to
 * `threads` threads (0: the default). Float32 and float64 arrays may mix.
 */
export declare function listNorm(arrays: NativeArray[], kind: number, p: number, threads: number): number;

/**
 * elementwise(op, as[i], bs[i], null, s1, s2) for every i, on up to
 * `threads` threads: op 0 (a*=s1), 1 (a*=b), 2 (a=fma(s1,b,a)), 7 (lerp) or
 * 8 (clamp). The as must not share memory; bs[i] matches as[i] in dtype and
 * length, and may be as[i] but must not overlap any of the as otherwise.
 */
export declare function mapList(
  op: number,
  as: NativeArray[],
  bs: NativeArray[] | null,
  s1: number,
  s2: number,
  threads: number,
): void;

/** An open file's private mapping (mapFile); unmapped once it and every buffer over it are collected. */
export interface MappedFile {
  readonly __mappedFile: unique symbol;
}

/**
 * Maps the open file `fd` privately (copy-on-write: writes never reach the
 * file, and the file must not shrink while mapped, or touching its lost pages
 * raises SIGBUS). Throws if the file is no longer `size` bytes long.
 */
export declare function mapFile(fd: number, size: number): MappedFile;

/**
 * An external ArrayBuffer over `length` bytes of the mapping at `offset`, at
 * most 4 GiB (RangeError beyond). `file` must come from mapFile (TypeError).
 * `uncounted`: take the buffer off V8's count of external memory (the pages
 * cost nothing until touched), so that making it starts no GC.
 */
export declare function mappedBuffer(file: MappedFile, offset: number, length: number, uncounted?: boolean): ArrayBuffer;

/**
 * A page-aligned ArrayBuffer of `bytes` bytes, NOT zeroed, to read a tensor
 * into (every byte must be written before the buffer is seen), not counted as V8's external memory until
 * countExternal reports it; undefined for 0 bytes, past 4 GiB, or where
 * external buffers are refused.
 */
export declare function loadBuffer(bytes: number): ArrayBuffer | undefined;

/** Reports the bytes of a finished load's loadBuffer buffers to V8, once. */
export declare function countExternal(bytes: number): void;
