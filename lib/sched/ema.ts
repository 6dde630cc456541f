// An exponential moving average of weights, as PyTorch's
// torch.optim.swa_utils.AveragedModel with get_ema_multi_avg_fn(decay):
// the first update copies the weights, each later one is one native lerp
// pass over all of them (ATen's lerp, bit for bit), and the state dict has
// AveragedModel's keys (`n_averaged`, `module.<name>`).
import { currentBackend } from '../engine/backend';
import { typeError } from '../core/errors';
import { checkOptions, checkThreads } from './scheduler';
import { ORDERED_DICTS } from '../core/python-values';
import { castFloatRecord, checkRecord, isFloatArray, memoryProblem, Parameter, recordOf, type FloatArray } from '../core/tensor';

/** Options of {@link EMA}. */
export interface EMAOptions {
  /** The weight kept of the average at each update (default 0.999), in [0, 1]. */
  decay?: number;
  /** Threads for the native backend (0 or absent: the default). */
  threads?: number;
}

const LERP = 7;

/** The params to average, with their names: given ones, or their index. */
function named(params: unknown): [string, Parameter][] {
  let entries: [string, unknown][];
  if (params instanceof Parameter) entries = [['0', params]];
  else if (params instanceof Map) entries = [...params.entries()].map(([k, v]) => [String(k), v]);
  else if (params !== null && typeof params === 'object' && Symbol.iterator in params) {
    entries = Array.from(params as Iterable<unknown>).map((p, i) => [String(i), p]);
  } else if (params !== null && typeof params === 'object') entries = Object.entries(params);
  else throw typeError('EMA params', 'an array of Parameters, or an object or Map of them by name', params);
  if (entries.length === 0) throw new RangeError('EMA got no parameters (params is empty)');
  return entries.map(([name, p]) => {
    if (!(p instanceof Parameter)) throw typeError(`EMA params ${name}`, 'a Parameter', p);
    return [name, p];
  });
}

/**
 * The average of the weights over the updates, each update moving it by
 * `1 - decay` toward the current weights: `ema.update()` after each
 * `opt.step()`, and `ema.params` to evaluate with.
 *
 * @example
 * ```ts
 * const ema = new EMA(params, { decay: 0.999 });
 * for (...) {
 *   opt.step();
 *   ema.update();
 * }
 * evaluate(ema.params);
 * ```
 */
export class EMA {
  /** The weight kept of the average at each update. */
  readonly decay: number;
  /** The names of the averaged params: their keys, or their indices ('0', '1', ...). */
  readonly names: readonly string[];
  /** The averages, one per param, in the same order, shapes and dtypes. */
  readonly params: readonly Parameter[];
  /** How many updates the average has taken (PyTorch's `n_averaged`). */
  nAveraged = 0;
  private readonly sources: readonly Parameter[];
  private readonly threads: number;
  /** Keys of a loaded dict that are not averaged params (an AveragedModel's buffers), written back as they were. */
  private extras: [string, unknown][] = [];

  constructor(params: Iterable<Parameter> | Record<string, Parameter> | Map<string, Parameter>, options: EMAOptions = {}) {
    const o = checkOptions('EMA', options, ['decay', 'threads']);
    const decay = o.decay ?? 0.999;
    if (typeof decay !== 'number' || !(decay >= 0 && decay <= 1)) throw typeError('EMA decay', 'a number in [0, 1]', decay);
    const threads = checkThreads('EMA', o.threads);
    const entries = named(params);
    const twice = entries.findIndex(([, p], i) => entries.findIndex(([, q]) => q === p) !== i);
    if (twice >= 0) throw new RangeError(`EMA params ${entries[twice][0]} is given twice`);
    this.decay = decay;
    this.threads = threads;
    this.names = Object.freeze(entries.map(([name]) => name));
    this.sources = Object.freeze(entries.map(([, p]) => p));
    // As AveragedModel's deepcopy: the averages start as copies of the weights.
    this.params = Object.freeze(this.sources.map((p) => new Parameter(p.data.slice(), p.shape)));
  }

  /** Throws unless every source param still has data of its average's dtype and length. */
  private checkSources(): void {
    this.sources.forEach((p, i) => {
      const where = `EMA params ${this.names[i]}.data`;
      if (!isFloatArray(p.data)) throw typeError(where, 'a Float32Array or Float64Array', p.data);
      const problem = memoryProblem(p.data);
      if (problem !== undefined) throw new TypeError(`${where} ${problem}`);
      const average = this.params[i].data;
      if (p.data.constructor !== average.constructor || p.data.length !== average.length) {
        throw typeError(where, `a ${average.constructor.name} of length ${average.length} (as when the EMA was made)`, p.data);
      }
    });
  }

  /**
   * Moves each average toward its param's current weights:
   * `average = lerp(average, weight, 1 - decay)`, as PyTorch's
   * `torch._foreach_lerp_`; the first update copies the weights.
   */
  update(): void {
    this.checkSources();
    if (this.nAveraged === 0) {
      this.params.forEach((avg, i) => avg.data.set(this.sources[i].data));
    } else {
      const averages = this.params.map((p) => p.data);
      currentBackend().mapList(LERP, averages, this.sources.map((p) => p.data), 1 - this.decay, 0, this.threads);
    }
    this.nAveraged += 1;
  }

  /**
   * The average as AveragedModel's `state_dict()`: `n_averaged` (an int64
   * scalar tensor), then `module.<name>` for each param, copies.
   */
  stateDict(): Record<string, unknown> {
    const out: Record<string, unknown> = { n_averaged: { dtype: 'int64', shape: [], data: new BigInt64Array([BigInt(this.nAveraged)]) } };
    this.params.forEach((p, i) => (out[`module.${this.names[i]}`] = recordOf(p.data, p.shape)));
    for (const [key, value] of this.extras) out[key] = value;
    ORDERED_DICTS.add(out);
    return out;
  }

  /**
   * Loads a dict from stateDict() or from PyTorch's AveragedModel. It is
   * checked whole first: on error nothing changes. Keys other than
   * `n_averaged` and the params' (an AveragedModel's buffers) are kept and
   * written back.
   */
  loadStateDict(dict: Record<string, unknown>): void {
    if (dict instanceof Promise) throw new TypeError('EMA.loadStateDict() got a Promise: did you forget await on loadTorch?');
    if (dict === null || typeof dict !== 'object' || Array.isArray(dict)) throw typeError('EMA state dict', 'an object', dict);
    if (!('n_averaged' in dict)) {
      throw new TypeError(`EMA state dict has no n_averaged (keys: ${Object.keys(dict).slice(0, 5).join(', ')}): is it an AveragedModel's state_dict()?`);
    }
    const n = countOf(dict.n_averaged);
    const loaded: FloatArray[] = this.params.map((avg, i) => {
      const key = `module.${this.names[i]}`;
      if (!(key in dict)) throw new TypeError(`EMA state dict is missing '${key}'`);
      const record = checkRecord(`EMA state dict ${key}`, dict[key]);
      const same = record.shape.length === avg.shape.length && record.shape.every((d, k) => d === avg.shape[k]);
      if (!same) throw new RangeError(`EMA state dict ${key} has shape [${record.shape.join(', ')}], the param [${avg.shape.join(', ')}]`);
      return castFloatRecord(`EMA state dict ${key}`, record, avg.dtype);
    });
    const own = new Set(['n_averaged', ...this.names.map((name) => `module.${name}`)]);
    this.params.forEach((avg, i) => avg.data.set(loaded[i]));
    this.nAveraged = n;
    this.extras = Object.entries(dict).filter(([key]) => !own.has(key));
  }
}

/** n_averaged as a dict holds it: an int64 scalar tensor, a bigint or a number. */
function countOf(value: unknown): number {
  let n: unknown = value;
  if (typeof value === 'bigint') n = Number(value);
  else if (value !== null && typeof value === 'object') {
    const record = checkRecord('EMA state dict n_averaged', value);
    if (record.data.length !== 1) throw new RangeError(`EMA state dict n_averaged must hold one value, has ${record.data.length}`);
    n = Number(record.data[0]);
  }
  if (typeof n !== 'number' || !Number.isSafeInteger(n) || n < 0) throw typeError('EMA state dict n_averaged', 'a count >= 0', value);
  return n;
}
