// Chooses how steps are computed: the native addon (SIMD kernels) when it
// loads, else the pure-JS reference kernels, with a one-line warning.
//   SIMD_OPTIM_BACKEND=js      never load the addon
//   SIMD_OPTIM_BACKEND=native  the addon or an error, no fallback
//   SIMD_OPTIM_ISA=scalar|avx2|avx512|neon   force a kernel ISA (native)
//   SIMD_OPTIM_BINDING=/path/simd_optim.node  load this build of the addon
//     (else a local build, else the prebuild for this platform: addon-file.ts)
//   SIMD_OPTIM_THREADS=n, SIMD_OPTIM_HUGE_PAGES=0|1   read by the addon, checked here
import type * as Binding from '../../binding';
import { addonFile } from './addon-file';
import { describe, typeError } from '../core/errors';
import { elementwise as jsElementwise } from '../reference/elementwise';
import { listNorm as jsListNorm } from '../reference/norm';
export { NormKind } from '../reference/norm';
import { cos as referenceCos } from '../reference/cos';
import { pow as referencePow } from '../reference/pow';
import type { KernelSpec } from '../reference/kernel-spec';
import type { FloatArray, FloatDType } from '../core/tensor';

/** A bound array's role in its slot: the param, its grad, then the algorithm's state arrays (binding.d.ts). */
export const Role = { param: 0, grad: 1, firstState: 2 } as const;

/** Where bindMany puts an array: `place(slot, role)` (binding.d.ts). */
export const PLACE_STRIDE = 8;
export const place = (slot: number, role: number): number => slot * PLACE_STRIDE + role;

/** A param group as a backend sees it: one algorithm's kernels over bound arrays (binding.d.ts ParamGroup). */
export interface KernelGroup {
  bind(slot: number, role: number, array: FloatArray | null): void;
  /** bind() for each `arrays[k]` at `places[k]` (place()). */
  bindMany(places: Uint32Array, arrays: readonly (FloatArray | null)[]): void;
  /** One step over every slot with a grad, on up to `threads` threads (0: the default). */
  step(threads: number): void;
  stepAsync(threads: number): Promise<void>;
  gradsFinite(): boolean;
}

export interface Backend {
  readonly name: 'native' | 'js';
  /** Zeroed state; native: placed for speed relative to `like`, its parameter's data, in page quarter `quarter` (binding.d.ts). */
  allocState(dtype: FloatDType, length: number, like?: FloatArray, quarter?: 1 | 2 | 3): FloatArray;
  /**
   * Zeroed state for many mid-sized tensors at once, `allocState` for each
   * (native: laid out together, so that they can sit on huge pages; binding.d.ts allocStateViews).
   */
  allocStateViews(dtype: FloatDType, lengths: number[], likes: FloatArray[], quarter: 1 | 2 | 3): FloatArray[];
  /** A zeroed array for `zeros` (native: page-aligned, from a huge-page arena; binding.d.ts allocZeros). */
  allocZeros(dtype: FloatDType, length: number): FloatArray;
  /** A group of `kernel`'s: `hyper` has its hyperparameters, `slotScalars` each slot's scalars (read at every step). */
  createGroup(kernel: KernelSpec, slotCount: number, hyper: Float64Array, slotScalars: Float64Array): KernelGroup;
  /** In-place elementwise op (binding.d.ts `elementwise`); arguments already checked. */
  elementwise(op: number, a: FloatArray, b: FloatArray | null, c: FloatArray | null, s1: number, s2: number): void;
  /** A norm's reduction over a list of arrays, in a fixed order (binding.d.ts `listNorm`). */
  listNorm(arrays: FloatArray[], kind: number, p: number, threads: number): number;
  /** An elementwise op over a list of arrays (binding.d.ts `mapList`); arguments already checked. */
  mapList(op: number, as: FloatArray[], bs: FloatArray[] | null, s1: number, s2: number, threads: number): void;
}

/** What {@link backendInfo} reports. */
export interface BackendInfo {
  /** Where steps run now. */
  backend: 'native' | 'js';
  /** ISA of the native kernels in use ('js' on the JS backend). */
  isa: string;
  /** ISAs the native addon can run on this CPU (empty without the addon). */
  isas: string[];
  /** Whether the native addon loaded. */
  nativeLoaded: boolean;
  /** Why it did not, if it did not. */
  nativeError?: string;
  /**
   * Whether the native addon's state buffers are external (zero-copy)
   * ArrayBuffers. Its setting, whichever backend is in use: the JS backend
   * allocates plain typed arrays.
   */
  externalBuffers: boolean;
  /**
   * Whether the native addon's buffers of 2 MiB and more (state, and
   * `zeros`) are advised as transparent huge pages: Linux, unless
   * SIMD_OPTIM_HUGE_PAGES=0. Its setting, whichever backend is in use.
   */
  hugePages: boolean;
}

function newArray(dtype: FloatDType, length: number): FloatArray {
  return dtype === 'float32' ? new Float32Array(length) : new Float64Array(length);
}

const jsBackend: Backend = {
  name: 'js',
  allocState: (dtype, length) => newArray(dtype, length),
  allocStateViews: (dtype, lengths) => lengths.map((length) => newArray(dtype, length)),
  allocZeros: newArray,
  createGroup: (kernel, slotCount, hyper, slotScalars) => new JsGroup(kernel, slotCount, hyper, slotScalars),
  elementwise: jsElementwise,
  listNorm: (arrays, kind, p) => jsListNorm(arrays, kind, p, libm.pow),
  mapList: (op, as, bs, s1, s2) => as.forEach((a, i) => jsElementwise(op, a, bs === null ? null : bs[i], null, s1, s2)),
};

/** The JS backend's group: the same contract as the native ParamGroup (binding.d.ts), over the reference steps. */
class JsGroup implements KernelGroup {
  private readonly slots: (FloatArray | null)[][];
  private readonly roles: number;
  constructor(
    private readonly kernel: KernelSpec,
    slotCount: number,
    private readonly hyper: Float64Array,
    private readonly slotScalars: Float64Array,
  ) {
    this.roles = Role.firstState + kernel.states.length;
    this.slots = Array.from({ length: slotCount }, () => new Array<FloatArray | null>(this.roles).fill(null));
  }
  bind(slot: number, role: number, array: FloatArray | null): void {
    this.slots[slot][role] = array;
  }
  bindMany(places: Uint32Array, arrays: readonly (FloatArray | null)[]): void {
    for (let k = 0; k < places.length; k++) this.bind(Math.floor(places[k] / PLACE_STRIDE), places[k] % PLACE_STRIDE, arrays[k]);
  }
  step(): void {
    const used = this.kernel.usedStates(this.hyper);
    const scalarCount = this.kernel.scalars.length;
    // Every slot is checked before any is stepped, as the native group does.
    const active = this.slots.map((s, i) => ({ s, i })).filter(({ s }) => s[Role.grad] !== null);
    for (const { s } of active) {
      for (let role = 0; role < this.roles; role++) {
        const needed = role < Role.firstState || ((used >> (role - Role.firstState)) & 1) !== 0;
        const a = s[role];
        if (needed && (a === null || a.length !== s[Role.param]!.length || a.constructor !== s[Role.param]!.constructor)) {
          throw new Error(`simd-optim internal error: role ${role} unbound or mismatched`);
        }
      }
    }
    for (const { s, i } of active) {
      const states = s.slice(Role.firstState).map((a, k) => (((used >> k) & 1) !== 0 ? a : null));
      const scalars = this.slotScalars.subarray(i * scalarCount, (i + 1) * scalarCount);
      this.kernel.reference(this.hyper, { p: s[Role.param]!, g: s[Role.grad]!, states, scalars });
    }
  }
  // The JS backend has no threads: the step runs now, the promise reports it.
  stepAsync(): Promise<void> {
    return settle(() => this.step());
  }
  gradsFinite(): boolean {
    return this.slots.every((s) => s[Role.grad] === null || s[Role.grad]!.every(Number.isFinite));
  }
}

function settle(run: () => void): Promise<void> {
  try {
    run();
    return Promise.resolve();
  } catch (e) {
    return Promise.reject(e);
  }
}

function nativeBackendOf(binding: typeof Binding): Backend {
  return {
    name: 'native',
    allocState: (dtype, length, like, quarter) => binding.allocState(dtype, length, like, quarter),
    allocStateViews: (dtype, lengths, likes, quarter) => binding.allocStateViews(dtype, lengths, likes, quarter),
    allocZeros: (dtype, length) => binding.allocZeros(dtype, length),
    createGroup: (kernel, slotCount, hyper, slotScalars) => {
      checkLayout(binding, kernel);
      return new binding.ParamGroup(kernel.id, slotCount, hyper, slotScalars);
    },
    elementwise: (op, a, b, c, s1, s2) => binding.elementwise(op, a, b, c, s1, s2),
    listNorm: (arrays, kind, p, threads) => binding.listNorm(arrays, kind, p, threads),
    mapList: (op, as, bs, s1, s2, threads) => binding.mapList(op, as, bs, s1, s2, threads),
  };
}

const checkedLayouts = new Set<KernelSpec>();
/**
 * Throws unless the addon lays out `kernel`'s algorithm as lib/ does (its
 * name, hyperparameters, states and scalars): a build of other sources would
 * read the wrong slots.
 */
function checkLayout(binding: typeof Binding, kernel: KernelSpec): void {
  if (checkedLayouts.has(kernel)) return;
  const native = binding.algorithms()[kernel.id];
  const ours = { name: kernel.name, hyper: kernel.hyper, states: kernel.states, scalars: kernel.scalars };
  if (JSON.stringify(native) !== JSON.stringify(ours)) {
    throw new Error(`simd-optim: the native addon lays out algorithm ${kernel.id} as ${JSON.stringify(native)}, ` +
      `lib/ as ${JSON.stringify(ours)}: rebuild the addon (npm rebuild simd-optim)`);
  }
  checkedLayouts.add(kernel);
}

function loadNative(): { binding?: typeof Binding; error?: string } {
  let binding: typeof Binding;
  try {
    binding = require(addonFile()) as typeof Binding;
  } catch (e) {
    return { error: `${(e as Error).message.split('\n')[0]} (run \`npm rebuild simd-optim\` to build it)` };
  }
  const isaError = binding.info().isaError;
  if (isaError) throw new Error(`simd-optim: ${isaError}`);
  return { binding };
}

/** An environment variable the addon reads, checked here so that a typo is an error (as SIMD_OPTIM_BACKEND's is). */
function checkEnv(name: string, valid: (value: string) => boolean, expected: string): void {
  const value = process.env[name];
  if (value !== undefined && value !== '' && !valid(value)) throw new Error(`simd-optim: ${name}=${value} is not ${expected}`);
}
checkEnv('SIMD_OPTIM_THREADS', (v) => /^\d+$/.test(v) && Number(v) >= 1 && Number(v) <= 1024, 'a whole number of threads from 1 to 1024');
checkEnv('SIMD_OPTIM_HUGE_PAGES', (v) => v === '0' || v === '1', "'0' or '1'");

const requested = process.env.SIMD_OPTIM_BACKEND ?? '';
if (!['', 'js', 'native'].includes(requested)) {
  throw new Error(`simd-optim: SIMD_OPTIM_BACKEND=${requested} is not 'js' or 'native'`);
}
const loaded = requested === 'js' ? { error: 'disabled by SIMD_OPTIM_BACKEND=js' } : loadNative();
if (!loaded.binding && requested === 'native') {
  throw new Error(`simd-optim: SIMD_OPTIM_BACKEND=native but the addon did not load: ${loaded.error}`);
}
if (!loaded.binding && requested !== 'js') {
  process.emitWarning(`native addon unavailable, using the pure-JS backend: ${loaded.error}`, {
    code: 'SIMD_OPTIM_NO_NATIVE',
  });
}
const nativeBackend = loaded.binding ? nativeBackendOf(loaded.binding) : undefined;
let current: Backend = nativeBackend ?? jsBackend;

/** The backend steps use now. */
export function currentBackend(): Backend {
  return current;
}

/** The scalar maths PyTorch's Python does for an optimizer or a scheduler, with its bits. */
export interface LibMath {
  /** x ** y as Python computes it: the C library's pow. */
  pow(x: number, y: number): number;
  /** math.cos(x) as Python computes it: the C library's cos. */
  cos(x: number): number;
}

/**
 * The C library's functions through the addon, with Python's bits on this
 * machine, whichever backend steps; without the addon, lib/reference/pow.ts
 * and cos.ts, which the C library's match on nearly all inputs.
 */
export const libm: LibMath = loaded.binding
  ? { pow: loaded.binding.pow, cos: loaded.binding.cos }
  : { pow: referencePow, cos: referenceCos };

/**
 * The addon's buffers for loading files (binding.d.ts `mapFile`,
 * `loadBuffer`): private mappings for mmap, page-aligned buffers to read
 * into; undefined without the addon.
 */
export const fileBuffers: Pick<typeof Binding, 'mapFile' | 'mappedBuffer' | 'loadBuffer' | 'countExternal'> | undefined =
  loaded.binding !== undefined && loaded.binding.info().externalBuffers
    ? {
        mapFile: loaded.binding.mapFile,
        mappedBuffer: loaded.binding.mappedBuffer,
        loadBuffer: loaded.binding.loadBuffer,
        countExternal: loaded.binding.countExternal,
      }
    : undefined;

/** Which backend and ISA are in use, and what else this machine could run. */
export function backendInfo(): BackendInfo {
  const native = loaded.binding?.info();
  return {
    backend: current.name,
    isa: current === nativeBackend && native ? native.isa : 'js',
    isas: native ? native.isas : [],
    nativeLoaded: native !== undefined,
    ...(loaded.error ? { nativeError: loaded.error } : {}),
    externalBuffers: native ? native.externalBuffers : false,
    hugePages: native ? native.hugePages : false,
  };
}

/**
 * Switches every optimizer's later steps to a backend, e.g. to compare them.
 * Throws if 'native' is asked for and the addon did not load.
 */
export function useBackend(name: 'native' | 'js'): void {
  if (name === 'js') current = jsBackend;
  else if (name === 'native' && nativeBackend) current = nativeBackend;
  else if (name === 'native') throw new Error(`simd-optim: the native addon is not available: ${loaded.error}`);
  else throw typeError('backend', "'native' or 'js'", name);
}

/**
 * Forces the native kernels of one ISA (see backendInfo().isas). It applies
 * to steps on the native backend: while useBackend('js') is in force it
 * waits for a switch back.
 */
export function useIsa(name: string): void {
  if (typeof name !== 'string') throw typeError('useIsa name', 'an ISA name (see backendInfo().isas)', name);
  if (!loaded.binding) throw new Error(`simd-optim: the native addon is not available: ${loaded.error}`);
  const isas = loaded.binding.info().isas;
  if (!isas.includes(name)) throw new RangeError(`Invalid ISA: ${describe(name)} (useIsa name must be one this CPU runs: ${isas.join(', ')})`);
  loaded.binding.setIsa(name);
}
