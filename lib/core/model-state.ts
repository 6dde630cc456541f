// A model's named state as PyTorch's `model.state_dict()` holds it:
// parameters and buffers under their dotted names, tied weights under two
// names. ModelState gives the parameters in `model.parameters()` order (a
// tied one once), keeps the buffers apart, and writes the dict back with its
// names, order and dtypes.
import { typeError } from './errors';
import { ORDERED_DICTS, STORAGE_VIEWS } from './python-values';
import {
  castFloatRecord,
  checkRecord,
  float32ToBfloat16Bits,
  float32ToFloat16Bits,
  isFloatDType,
  Parameter,
  type FloatArray,
  type TensorRecord,
} from './tensor';
import type { StateDict } from './optimizer';

/** Options of {@link ModelState}. */
export interface ModelStateOptions {
  /**
   * Entries that are buffers, not parameters, by name or pattern, besides
   * those recognised: integer tensors, and BatchNorm's `running_mean`,
   * `running_var` and `num_batches_tracked`. (A state dict does not say
   * which entries are buffers; `registerBuffer`'s float tensors, such as
   * `position_ids`, must be named here.)
   */
  buffers?: Iterable<string | RegExp>;
}

/** The names PyTorch's own modules give their buffers. */
const KNOWN_BUFFERS = /(^|\.)(running_mean|running_var|num_batches_tracked)$/;

/** One entry of the dict: its name, its record as loaded, and the parameter it is (shared by tied names), if it is one. */
interface Entry {
  name: string;
  record: TensorRecord;
  param?: Parameter;
}

/**
 * A model's `state_dict()` split into parameters and buffers.
 *
 * @example
 * ```ts
 * const ckpt = await loadTorch('checkpoint.pt');
 * const model = new ModelState(ckpt.model_state_dict);
 * const opt = AdamW.fromStateDict(model, ckpt.optimizer_state_dict);
 * // ... train: model.parameters are the Parameters the optimizer steps
 * await saveTorch({ ...ckpt, model_state_dict: model.stateDict(), optimizer_state_dict: opt.stateDict() }, 'checkpoint.pt');
 * ```
 */
export class ModelState {
  /** The parameters in PyTorch's `model.parameters()` order, a tied one once. */
  readonly parameters: readonly Parameter[];
  /** The name of each parameter (the first of a tied one's names), in the same order. */
  readonly names: readonly string[];
  /** The buffers by name, as loaded (copies). */
  readonly buffers: ReadonlyMap<string, TensorRecord>;
  private readonly entries: readonly Entry[];
  /** Each parameter by each of its names. */
  private readonly byName = new Map<string, Parameter>();

  constructor(dict: Record<string, unknown> | Map<string, unknown>, options: ModelStateOptions = {}) {
    if (dict instanceof Promise) throw new TypeError('ModelState got a Promise: did you forget await on loadTorch?');
    if (dict === null || typeof dict !== 'object' || Array.isArray(dict)) throw typeError('ModelState dict', "a model's state_dict (name → tensor)", dict);
    const raw = dict instanceof Map ? [...dict.entries()] : Object.entries(dict);
    if ('state' in dict && 'param_groups' in dict) {
      throw new TypeError("ModelState got an optimizer's state dict (keys state, param_groups); pass the model's state_dict");
    }
    const tensors = raw.filter(([, v]) => v !== null && typeof v === 'object' && 'dtype' in (v as object));
    if (tensors.length < raw.length) {
      const keys = raw.map(([k]) => k).join(', ');
      throw new TypeError(`ModelState got a dict that is not all tensors (keys ${keys}): is it a checkpoint? pass its model_state_dict`);
    }
    const patterns = [...(options.buffers ?? [])];
    patterns.forEach((p, i) => {
      if (typeof p !== 'string' && !(p instanceof RegExp)) throw typeError(`ModelState buffers[${i}]`, 'a name or a RegExp', p);
    });
    const isBuffer = (name: string, record: TensorRecord) =>
      !isFloatDType(record.dtype) || KNOWN_BUFFERS.test(name) || patterns.some((p) => (typeof p === 'string' ? p === name : p.test(name)));
    // A tied weight is one tensor under two names: the same record, or (from loadTorch) two views of one storage.
    const byRecord = new Map<unknown, Parameter>();
    const entries: Entry[] = [];
    const parameters: Parameter[] = [];
    const names: string[] = [];
    const buffers = new Map<string, TensorRecord>();
    for (const [name, value] of raw) {
      const record = checkRecord(`ModelState ${name}`, value);
      if (isBuffer(name, record)) {
        buffers.set(name, copyRecord(record));
        entries.push({ name, record });
        continue;
      }
      const identity = STORAGE_VIEWS.get(record) ?? record;
      let param = byRecord.get(identity);
      if (param === undefined) {
        const data = record.dtype === 'float64' ? castFloatRecord(name, record, 'float64') : castFloatRecord(name, record, 'float32');
        param = new Parameter(data, record.shape);
        byRecord.set(identity, param);
        parameters.push(param);
        names.push(name);
      }
      entries.push({ name, record, param });
      this.byName.set(name, param);
    }
    this.parameters = Object.freeze(parameters);
    this.names = Object.freeze(names);
    this.buffers = buffers;
    this.entries = Object.freeze(entries);
  }

  /** `[name, parameter]` in order, as `model.named_parameters()`: a tied one under its first name. */
  namedParameters(): [string, Parameter][] {
    return this.parameters.map((p, i) => [this.names[i], p]);
  }

  /** A parameter by any of its names, or undefined. */
  parameter(name: string): Parameter | undefined {
    return this.byName.get(name);
  }

  /**
   * The dict again, for `saveTorch` and PyTorch's `load_state_dict`: every
   * name in its order, each parameter's current values in the dtype it was
   * loaded with (rounded to nearest even for float16 and bfloat16), tied
   * names sharing one tensor, and the buffers as loaded.
   */
  stateDict(): Record<string, TensorRecord> {
    const out: Record<string, TensorRecord> = {};
    const written = new Map<Parameter, TensorRecord>();
    for (const e of this.entries) {
      if (e.param === undefined) {
        out[e.name] = copyRecord(this.buffers.get(e.name)!);
        continue;
      }
      let record = written.get(e.param);
      if (record === undefined) written.set(e.param, (record = recordIn(e.record.dtype, e.param)));
      out[e.name] = record;
    }
    ORDERED_DICTS.add(out);
    return out;
  }

  /**
   * Throws unless an optimizer's state dict has as many parameters as this
   * model state, naming the entries that are likely buffers (those whose
   * shapes do not line up with the optimizer's state) when there are more.
   */
  checkOptimizerDict(dict: StateDict, owner = 'ModelState'): void {
    const ids = dict.param_groups.flatMap((g) => (Array.isArray(g?.params) ? g.params : []));
    const count = this.parameters.length;
    if (ids.length === count) return;
    if (count > ids.length) {
      const likely = this.likelyBuffers(dict, ids);
      throw new RangeError(`${owner}: the optimizer's state dict lists ${ids.length} params, the model state has ${count}; ` +
        `${count - ids.length} of them are likely buffers: ${likely.join(', ')}. Pass new ModelState(dict, { buffers: [${likely.map((n) => `'${n}'`).join(', ')}] })`);
    }
    const buffers = [...this.buffers.keys()].filter((n) => !KNOWN_BUFFERS.test(n));
    throw new RangeError(`${owner}: the optimizer's state dict lists ${ids.length} params, the model state has only ${count}` +
      (buffers.length ? ` (entries taken for buffers: ${buffers.join(', ')})` : ''));
  }

  /** The parameters whose shapes do not line up with the optimizer's state, in order: the likely buffers. */
  private likelyBuffers(dict: StateDict, ids: number[]): string[] {
    const shapes = ids.map((id) => {
      const entry = dict.state[id] as Record<string, unknown> | undefined;
      const tensor = Object.values(entry ?? {}).find((v) => v !== null && typeof v === 'object' && 'shape' in v && (v as TensorRecord).shape.length > 0) as TensorRecord | undefined;
      return tensor?.shape;
    });
    const extra: string[] = [];
    let next = 0;
    this.parameters.forEach((p, i) => {
      const want = shapes[next];
      if (next < shapes.length && (want === undefined || sameShape(want, p.shape))) next++;
      else extra.push(this.names[i]);
    });
    return extra;
  }
}

function sameShape(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

function copyRecord(r: TensorRecord): TensorRecord {
  return { dtype: r.dtype, shape: [...r.shape], data: r.data.slice() } as TensorRecord;
}

/** A parameter's values as a record of `dtype`: float32 and float64 copied, float16 and bfloat16 rounded to nearest even. */
function recordIn(dtype: TensorRecord['dtype'], p: Parameter): TensorRecord {
  const data: FloatArray = p.data;
  if (dtype === 'float16' || dtype === 'bfloat16') {
    const encode = dtype === 'float16' ? float32ToFloat16Bits : float32ToBfloat16Bits;
    return { dtype, shape: [...p.shape], data: Uint16Array.from(data, encode) };
  }
  return dtype === 'float64'
    ? { dtype: 'float64', shape: [...p.shape], data: Float64Array.from(data) }
    : { dtype: 'float32', shape: [...p.shape], data: Float32Array.from(data) };
}
