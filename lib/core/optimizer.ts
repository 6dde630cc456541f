// The Optimizer base class: param groups, per-parameter state, zeroGrad,
// addParamGroup and state dicts with PyTorch's names and layout. Subclasses
// (RMSprop, or a user's own optimizer) add defaults, validation and step().
import { currentBackend } from '../engine/backend';
import { checkBoolean, checkOptionNames, describe, typeError } from './errors';
import { copyPythonValue } from './python-values';
import { float8ToNumber, isFloat8 } from './float8';
import { allocStates, type StateRequest } from '../engine/state-slabs';
import {
  castFloatRecord,
  checkRecord,
  isDetached,
  isFloatDType,
  memoryProblem,
  dtypeOf,
  isFloatArray,
  Parameter,
  recordOf,
  type FloatArray,
  type FloatDType,
  type TensorRecord,
} from './tensor';

/** Per-parameter optimizer state, under PyTorch's names (step, square_avg, …). */
export type ParamState = Record<string, number | FloatArray>;

/** What a user passes for one group: its params and any hyperparameter overrides. */
export type ParamGroupInput<H> = Partial<H> & {
  /** The group's parameters. */
  params: Iterable<Parameter> | Parameter;
};

/** A param group: its params and every hyperparameter (defaults filled in). */
export type ParamGroup<H> = H & {
  /** The group's parameters, in order. */
  params: Parameter[];
};

/** A state dict value: numbers, tensor records, (from files) bigints, and null for PyTorch's None (1.13's SGD writes momentum_buffer: None). */
export type StateValue = number | bigint | TensorRecord | null;

/** `state_dict()` in PyTorch's layout: params are numbered across groups, in order. */
export interface StateDict {
  /** Each parameter's state, by its index across all groups. */
  state: Record<number, Record<string, StateValue>>;
  /** Each group's hyperparameters under PyTorch's names, and the indices of its params. */
  param_groups: Array<Record<string, unknown> & {
    /** The indices of the group's params in `state`. */
    params: number[];
  }>;
}

/** Why addParamGroup refuses a key it does not know, and what to do instead. */
const OWN_KEYS_HINT =
  'to keep data of your own on a group (PyTorch allows any key), set it once the group is added: ' +
  'Object.assign(opt.paramGroups[i], { name: ... })';

/** camelCase ↔ snake_case, the only difference between our names and PyTorch's. */
export const toSnake = (key: string): string => key.replace(/[A-Z]/g, (c) => '_' + c.toLowerCase());
export const toCamel = (key: string): string => key.replace(/_([a-z])/g, (_, c: string) => c.toUpperCase());

/** The options object of an optimizer constructor, checked and merged over its defaults. */
export function withDefaults<H extends object>(owner: string, defaults: H, options: Partial<H>): H {
  if (options === null || typeof options !== 'object') {
    throw new TypeError(`Expected an options object for ${owner} options but received ${describe(options)}`);
  }
  checkOptionNames(owner, options, Object.keys(defaults));
  return { ...defaults, ...options };
}

/** Throws unless a loaded state entry has only `known` keys and all of `required`. */
export function checkStateKeys(keys: readonly string[], known: readonly string[], required: readonly string[], where: string): void {
  const unknown = keys.find((k) => !known.includes(k));
  if (unknown !== undefined) throw new TypeError(`${where} has unknown key '${unknown}'`);
  const missing = required.find((k) => !keys.includes(k));
  if (missing !== undefined) throw new TypeError(`${where} is missing '${missing}'`);
}

/**
 * Per-parameter state: a Map from each Parameter to its state. It counts its changes, so that a step can
 * reuse the entries it looked up last time while nothing was added, removed
 * or replaced (a hash lookup per parameter per step is a visible cost with
 * thousands of small tensors).
 */
export class StateMap extends Map<Parameter, ParamState> {
  /** @internal Bumped by every set, delete and clear. */
  version = 0;
  /** Sets a parameter's state. */
  override set(p: Parameter, s: ParamState): this {
    this.version++;
    return super.set(p, s);
  }
  /** Removes a parameter's state. */
  override delete(p: Parameter): boolean {
    this.version++;
    return super.delete(p);
  }
  /** Removes every parameter's state. */
  override clear(): void {
    this.version++;
    super.clear();
  }
}

/**
 * The base of every optimizer, as `torch.optim.Optimizer` is: param groups,
 * per-parameter state, `zeroGrad()`, and state dicts in PyTorch's layout.
 * Extend it to write an optimizer of your own (implement `step()`; see
 * docs/custom-optimizers.md).
 *
 * @typeParam H - the hyperparameters of one group, e.g. `{ lr: number }`.
 */
export abstract class Optimizer<H extends object = object> {
  /** The hyperparameters a group gets for every option it does not set. */
  readonly defaults: Readonly<H>;
  /**
   * The groups, each with its params and every hyperparameter. Change a
   * value between steps (`opt.paramGroups[0].lr = 0.01`) for a schedule; the
   * next step checks it.
   */
  readonly paramGroups: ParamGroup<H>[] = [];
  /** Per-parameter state (`step`, `square_avg`, ...), under PyTorch's names. */
  readonly state = new StateMap();
  /** True while a stepAsync() holds the params, grads and state. */
  protected busy = false;
  /** State tensors allocated ahead by withPreallocated, for stateBuffer. */
  private preallocated: Map<Parameter, Map<string, FloatArray>> | undefined;
  /** PyTorch key order of each group's dict: the keys the user gave first, as PyTorch keeps them. */
  protected readonly torchKeyOrder = new WeakMap<object, string[]>();
  /** Every option name the user gave in a group (addParamGroup), for options whose default depends on it. */
  protected readonly givenOptionNames = new Set<string>();
  /** PyTorch's spelling of each option whose name differs from ours: ['weight_decay', 'weightDecay']. */
  private readonly torchSpellings: readonly (readonly [string, string])[];

  constructor(params: Iterable<Parameter> | Iterable<ParamGroupInput<H>>, defaults: H) {
    if (defaults === null || typeof defaults !== 'object' || Array.isArray(defaults)) {
      throw typeError(`${new.target.name} defaults`, 'an object of hyperparameters (super(params, defaults))', defaults);
    }
    this.defaults = Object.freeze({ ...defaults });
    this.torchSpellings = Object.keys(defaults)
      .filter((key) => toSnake(key) !== key)
      .map((key) => [toSnake(key), key] as const);
    if (params === null || typeof params !== 'object' || !(Symbol.iterator in params)) {
      throw typeError('params', 'an array of Parameters or of param groups', params);
    }
    const list = Array.from(params as Iterable<unknown>);
    if (list.length === 0) throw new RangeError('optimizer got an empty parameter list (params)');
    const isGroup = (x: unknown) => x !== null && typeof x === 'object' && 'params' in x;
    list.forEach((x, i) => {
      if (!(x instanceof Parameter) && !isGroup(x)) throw typeError(`params[${i}]`, 'a Parameter or a param group { params, ... }', x);
    });
    if (list.some(isGroup) && !list.every(isGroup)) {
      throw new TypeError('params must be all Parameters or all param groups, not a mix');
    }
    const groups = isGroup(list[0]) ? list : [{ params: list as Parameter[] }];
    groups.forEach((g) => this.addParamGroup(g as ParamGroupInput<H>));
  }

  /** Throws while a stepAsync() is running: its arrays must not change under it. */
  protected assertNotBusy(action: string): void {
    if (this.busy) throw new Error(`${action} called while stepAsync() is still running; await it first`);
  }

  /**
   * Adds a group, as PyTorch's `add_param_group`; hyperparameters it leaves
   * out come from the defaults. An empty group is allowed.
   *
   * @example
   * ```ts
   * opt.addParamGroup({ params: [head.weight, head.bias], lr: 0.1 });
   * ```
   */
  addParamGroup(input: ParamGroupInput<H>): void {
    this.assertNotBusy('addParamGroup()');
    const where = `param group ${this.paramGroups.length}`;
    if (input === null || typeof input !== 'object' || !('params' in input)) {
      throw typeError(where, 'an object with a params array', input);
    }
    const { params: rawParams, ...options } = input as ParamGroupInput<H> & Record<string, unknown>;
    checkOptionNames(`${this.constructor.name} ${where}`, options, Object.keys(this.defaults), OWN_KEYS_HINT);
    const iterable = rawParams !== null && typeof rawParams === 'object' && Symbol.iterator in rawParams;
    if (!(rawParams instanceof Parameter) && !iterable) {
      throw typeError(`${where} params`, 'an array of Parameters', rawParams);
    }
    // An empty group is allowed, as in PyTorch (a no-decay group that ends up empty).
    const params = rawParams instanceof Parameter ? [rawParams] : Array.from(rawParams);
    params.forEach((p, i) => {
      if (!(p instanceof Parameter)) {
        throw typeError(`${where} params[${i}]`, 'a Parameter (new Parameter(data, shape))', p);
      }
    });
    const again = params.findIndex((p, i) => params.indexOf(p) !== i);
    if (again >= 0) {
      throw new RangeError(
        `${where} contains the same parameter more than once (params[${again}] is params[${params.indexOf(params[again])}])`,
      );
    }
    const taken = this.paramGroups.findIndex((g) => g.params.some((p) => params.includes(p)));
    if (taken >= 0) {
      const i = params.findIndex((p) => this.paramGroups[taken].params.includes(p));
      throw new RangeError(
        `some parameters appear in more than one parameter group (${where} params[${i}] is in param group ${taken})`,
      );
    }
    const group = { params, ...options } as ParamGroup<H>;
    for (const [key, value] of Object.entries(this.defaults)) {
      // A list default (Adam's betas) is the group's own copy: changing it in place changes this group only.
      if (!(key in group)) (group as Record<string, unknown>)[key] = Array.isArray(value) ? value.slice() : value;
    }
    this.validateGroup(group, where);
    this.torchKeyOrder.set(group, Object.keys(options).map(toSnake));
    for (const key of Object.keys(options)) this.givenOptionNames.add(key);
    this.paramGroups.push(group);
  }

  /**
   * Clears gradients: to null (`setToNone` true), or filled with zeros
   * (false). By default, each group follows its PyTorch generation: null
   * under `compat: '2.x'`, zeros under `'1.13'`, whose zero_grad() had
   * set_to_none=False; null in optimizers without `compat`.
   */
  zeroGrad(setToNone?: boolean): void {
    this.assertNotBusy('zeroGrad()');
    if (setToNone !== undefined) checkBoolean('setToNone', setToNone);
    // Grads to be filled are checked first, so that a bad one changes nothing
    // (plain loops: a training loop calls this every step, and it should not allocate).
    const groups = this.paramGroups;
    for (let gi = 0; gi < groups.length; gi++) {
      if (setToNone ?? this.defaultSetToNone(groups[gi])) continue;
      const params = groups[gi].params;
      for (let pi = 0; pi < params.length; pi++) {
        const grad = params[pi].grad;
        if (grad === null) continue;
        if (!isFloatArray(grad)) throw typeError(`param ${pi} of group ${gi}.grad`, 'a Float32Array or Float64Array (or null)', grad);
        if (isDetached(grad.buffer)) throw new TypeError(`param ${pi} of group ${gi}.grad ${memoryProblem(grad)}`);
      }
    }
    for (const group of this.paramGroups) {
      const toNone = setToNone ?? this.defaultSetToNone(group);
      for (const p of group.params) {
        if (p.grad === null) continue;
        if (toNone) p.releaseGrad();
        else p.grad.fill(0);
      }
    }
  }

  /** What zeroGrad() does to a group's grads when not told: set them to null, as PyTorch 2.x does. */
  protected defaultSetToNone(_group: ParamGroup<H>): boolean {
    return true;
  }

  /**
   * One optimization step. A closure, if given, is called first (to
   * recompute the loss) and its result is returned.
   */
  abstract step<T>(closure?: () => T): T | undefined;

  /**
   * Throws if a group's hyperparameters are invalid. Subclasses check
   * theirs. `changed`: a live group's values changed, or a dict was loaded
   * (else: a new group).
   */
  protected validateGroup(_group: ParamGroup<H>, _where: string, _changed = false): void {}

  /**
   * A group's keys that are neither params nor an option: ones a PyTorch
   * scheduler put in a loaded dict (initial_lr), 2.6's param_names, or the
   * user's own, set on the group. They are kept as they are, and written to
   * state dicts under the same name.
   */
  protected extraKeys(group: ParamGroup<H>): string[] {
    return Object.keys(group).filter((key) => key !== 'params' && !(key in this.defaults));
  }

  /**
   * Throws if a group has an option under PyTorch's spelling (weight_decay
   * for weightDecay): set on a live group, it would be silently ignored.
   */
  protected checkTorchSpellings(group: ParamGroup<H>, where: string): void {
    const spellings = this.torchSpellings;
    for (let i = 0; i < spellings.length; i++) {
      const [torch, ours] = spellings[i];
      if (torch in group) {
        throw new TypeError(`${where} has a key '${torch}', which would be ignored: simd-optim names that option '${ours}'`);
      }
    }
  }

  /** A group's hyperparameters under PyTorch's names and order (no params); other keys as they are. */
  protected toTorchGroup(group: ParamGroup<H>): Record<string, unknown> {
    const out: Record<string, unknown> = {};
    for (const [key, value] of Object.entries(group)) {
      if (key !== 'params') out[key in this.defaults ? toSnake(key) : key] = value;
    }
    return out;
  }

  /**
   * A loaded group: its options in our names, over the current group's
   * options (a dict may lack some), and its other keys as they are (the
   * current group's other keys are dropped, as PyTorch replaces the group's
   * dict with the loaded one). Values are validated by the caller.
   */
  protected fromTorchGroup(saved: Record<string, unknown>, current: ParamGroup<H>, _where: string): ParamGroup<H> {
    const next = this.withoutExtras(current) as Record<string, unknown>;
    for (const [key, value] of Object.entries(saved)) {
      if (key === 'params') continue;
      const ours = toCamel(key);
      if (ours in this.defaults) next[ours] = value;
      else next[key] = copyPythonValue(value); // PyTorch deep-copies the loaded groups too
    }
    return next as ParamGroup<H>;
  }

  /** A copy of a group with only its params and options. */
  protected withoutExtras(group: ParamGroup<H>): ParamGroup<H> {
    const copy = { params: group.params } as Record<string, unknown>;
    for (const key of Object.keys(this.defaults)) copy[key] = (group as Record<string, unknown>)[key];
    return copy as ParamGroup<H>;
  }

  /** Throws if a loaded state entry has keys its group cannot use, or lacks some it needs. */
  protected checkLoadedStateKeys(_keys: string[], _group: ParamGroup<H>, _where: string): void {}

  /**
   * Whether a state key must hold a tensor of its param's shape (the state
   * a kernel step reads). Otherwise a number loads as a number and a tensor
   * of any shape as itself (a custom optimizer's own state).
   */
  protected isTensorStateKey(_key: string): boolean {
    return false;
  }

  /** Whether each param's state counts its steps in `step` (SGD's keeps no count). */
  protected get countsSteps(): boolean {
    return true;
  }

  /** A loaded step count as the group's generation keeps it (a float32 tensor in PyTorch 2.x: EngineOptimizer). */
  protected loadedStep(step: number, _group: ParamGroup<H>): number {
    return step;
  }

  /**
   * Throws unless `p` and its grad can be stepped: matching dtype and lengths,
   * usable memory. Run on every param whose arrays changed since the last
   * step, so it builds no string unless it throws.
   */
  protected checkParamForStep(p: Parameter, where: string): void {
    const { data, grad } = p;
    if (!isFloatArray(data)) throw typeError(`${where}.data`, 'a Float32Array or Float64Array', data);
    let problem = memoryProblem(data);
    if (problem !== undefined) throw new TypeError(`${where}.data ${problem}`);
    if (data.length !== p.numel) {
      throw new RangeError(
        `${where}.data has ${data.length} elements but the parameter's shape [${p.shape.join(', ')}] needs ${p.numel}`,
      );
    }
    if (grad === null) return;
    this.checkGradForStep(p, grad, where);
    const state = this.state.get(p);
    if (state !== undefined && this.countsSteps && typeof state.step !== 'number') {
      throw typeError(`${where} state step`, 'a number (the steps it has taken)', state.step);
    }
    for (const key in state) {
      const value = state[key];
      if (typeof value === 'number') continue;
      // A transferred state buffer (shared by many small tensors: state-slabs.ts) reads as length 0: say so.
      if (isFloatArray(value) && (problem = memoryProblem(value)) !== undefined) {
        throw new TypeError(`${where} state ${key} ${problem}`);
      }
      if (!isFloatArray(value) || value.constructor !== data.constructor || value.length !== data.length) {
        throw new RangeError(
          `${where} has ${data.length} ${dtypeOf(data)} elements but its optimizer state ${key} is ` +
            `${describe(value)} (was the parameter's data replaced?)`,
        );
      }
      // The kernels read g while writing the state; the native addon would refuse mid-step.
      if (sharesMemory(grad, value)) throw new RangeError(`${where}.grad shares memory with its optimizer state ${key}`);
    }
  }

  /**
   * The checks of checkParamForStep on `grad` alone, against its param's
   * data (already checked): type, length, usable memory, no overlap.
   */
  protected checkGradForStep(p: Parameter, grad: FloatArray, where: string): void {
    const data = p.data;
    let problem: string | undefined;
    // A transferred grad reads as length 0: say that it was detached, not that it is short.
    if (isFloatArray(grad) && (problem = memoryProblem(grad)) !== undefined) throw new TypeError(`${where}.grad ${problem}`);
    if (!isFloatArray(grad) || grad.constructor !== data.constructor || grad.length !== data.length) {
      throw typeError(`${where}.grad`, `a ${data.constructor.name} of length ${data.length} (like its data)`, grad);
    }
    if (sharesMemory(grad, data)) throw new RangeError(`${where}.grad shares memory with its data`);
  }

  /**
   * The optimizer's state and hyperparameters in PyTorch's `state_dict()`
   * layout, holding copies: pass it to `saveTorch` for `torch.load`.
   */
  stateDict(): StateDict {
    this.assertNotBusy('stateDict()'); // the state is being written
    const index = new Map<Parameter, number>();
    this.paramGroups.forEach((group, gi) => this.checkTorchSpellings(group, `param group ${gi}`));
    const paramGroups = this.paramGroups.map((group) => ({
      ...this.toTorchGroup(group),
      params: group.params.map((p) => {
        index.set(p, index.size);
        return index.size - 1;
      }),
    }));
    const state: StateDict['state'] = {};
    for (const [p, entry] of this.state) {
      const i = index.get(p);
      if (i === undefined) continue;
      const out: Record<string, StateValue> = {};
      for (const [key, value] of Object.entries(entry)) out[key] = stateValueOf(value, p, `state of param ${i}: ${key}`);
      state[i] = out;
    }
    return { state, param_groups: paramGroups };
  }

  /**
   * Loads a dict from stateDict() or from PyTorch (either generation). It is
   * checked whole before anything changes: on error the optimizer is as it was.
   *
   * @example
   * ```ts
   * opt.loadStateDict(await loadTorch<StateDict>('optimizer.pt'));
   * ```
   */
  loadStateDict(dict: StateDict): void {
    this.assertNotBusy('loadStateDict()');
    checkOptimizerDict(dict);
    if (typeof dict.state !== 'object' || dict.state === null) throw typeError('state dict state', 'an object', dict.state);
    const extra = Object.keys(dict).filter((k) => k !== 'state' && k !== 'param_groups');
    if (extra.length > 0) throw new TypeError(`state dict has unknown key '${extra[0]}'`);
    if (dict.param_groups.length !== this.paramGroups.length) {
      throw new RangeError(
        `loaded state dict has a different number of parameter groups (${dict.param_groups.length}, ` +
          `optimizer has ${this.paramGroups.length})`,
      );
    }
    const byIndex: Parameter[] = [];
    const groups = dict.param_groups.map((saved, gi) => {
      const where = `state dict param_groups[${gi}]`;
      const current = this.paramGroups[gi];
      if (saved === null || typeof saved !== 'object' || !Array.isArray(saved.params)) {
        throw typeError(where, 'a group with a params array', saved);
      }
      if (saved.params.length !== current.params.length) {
        throw new RangeError(
          `loaded state dict contains a parameter group that doesn't match the size of optimizer's group ` +
            `(${where} has ${saved.params.length} params, the optimizer's group ${current.params.length})`,
        );
      }
      saved.params.forEach((id, k) => {
        if (!Number.isSafeInteger(id) || (id as number) < 0 || byIndex[id as number] !== undefined) {
          throw new RangeError(`${where}.params[${k}] = ${describe(id)} is not a fresh parameter index`);
        }
        byIndex[id as number] = current.params[k];
      });
      const next = this.fromTorchGroup(saved, current, where);
      this.validateGroup(next, where, true);
      return next;
    });
    const groupOf = new Map<Parameter, ParamGroup<H>>();
    groups.forEach((g) => g.params.forEach((p) => groupOf.set(p, g)));
    const state = new Map<Parameter, ParamState>();
    // Tensors checked and cast, copied into the optimizer's memory once all are.
    const tensors: { into: ParamState; name: string; values: FloatArray; request: StateRequest }[] = [];
    for (const [key, entry] of Object.entries(dict.state)) {
      const where = `state dict state[${key}]`;
      const p = byIndex[Number(key)];
      if (p === undefined || !/^\d+$/.test(key)) throw new RangeError(`${where}: no parameter has index ${key}`);
      if (entry === null || typeof entry !== 'object') throw typeError(where, 'an object', entry);
      this.checkLoadedStateKeys(Object.keys(entry), groupOf.get(p)!, where);
      const loaded: ParamState = {};
      for (const [name, value] of Object.entries(entry)) {
        if (name === 'step') {
          loaded[name] = this.loadedStep(loadStep(`${where}.step`, value), groupOf.get(p)!);
          continue;
        }
        // PyTorch's None for a tensor not made yet (1.13 SGD's momentum_buffer without momentum): absent.
        if (value === null && this.isTensorStateKey(name)) continue;
        if ((typeof value === 'number' || typeof value === 'bigint') && !this.isTensorStateKey(name)) {
          loaded[name] = loadScalar(`${where}.${name}`, value); // a custom optimizer's own number
          continue;
        }
        const values = this.loadTensor(`${where}.${name}`, value, p, this.isTensorStateKey(name));
        loaded[name] = values; // its place in the key order; replaced below
        tensors.push({ into: loaded, name, values, request: { dtype: p.dtype, length: values.length, key: name, like: p.data } });
      }
      state.set(p, loaded);
    }
    const arrays = this.allocStates(tensors.map((t) => t.request));
    tensors.forEach((t, i) => {
      arrays[i].set(t.values);
      t.into[t.name] = arrays[i];
    });
    // Everything checked and allocated: commit.
    this.state.clear();
    for (const [p, s] of state) this.state.set(p, s);
    groups.forEach((g, gi) => {
      const target = this.paramGroups[gi] as Record<string, unknown>;
      for (const key of Object.keys(target)) if (!(key in g)) delete target[key]; // PyTorch replaces the dict
      Object.assign(target, g);
      this.torchKeyOrder.set(target, Object.keys(dict.param_groups[gi]).filter((k) => k !== 'params'));
    });
  }

  /** A state tensor's values from a dict: shape checked against the param, cast to its dtype (maybe a view of the dict's). */
  private loadTensor(where: string, value: unknown, p: Parameter, paramShaped: boolean): FloatArray {
    const record = checkRecord(where, value);
    const sameShape = record.shape.length === p.shape.length && record.shape.every((d, i) => d === p.shape[i]);
    // The state a step reads must be its param's shape; a custom optimizer's own tensors may be any.
    if (paramShaped && !sameShape) {
      throw new RangeError(
        `${where} has shape [${record.shape.join(', ')}] but its parameter has shape [${p.shape.join(', ')}]`,
      );
    }
    return castFloatRecord(where, record, p.dtype);
  }

  /**
   * Zeroed state tensors, in the order asked for: small ones of the same key
   * share a buffer, mid-sized ones one allocation (state-slabs.ts), the rest
   * are allocated alone.
   */
  protected allocStates(requests: readonly StateRequest[]): FloatArray[] {
    const allocator = {
      allocState: (dtype: FloatDType, length: number, like?: FloatArray, quarter?: 1 | 2 | 3) =>
        this.allocState(dtype, length, like, quarter),
      allocStateViews: (dtype: FloatDType, lengths: number[], likes: FloatArray[], quarter: 1 | 2 | 3) =>
        this.allocStateViews(dtype, lengths, likes, quarter),
    };
    return allocStates(requests, allocator, (key) => this.stateQuarter(key));
  }

  /**
   * A zeroed state tensor for `p` under `key`: the one allocated ahead for it
   * (withPreallocated), else one of its own.
   */
  protected stateBuffer(p: Parameter, key: string): FloatArray {
    const ready = this.preallocated?.get(p)?.get(key);
    if (ready !== undefined) return ready;
    return this.allocState(p.dtype, p.numel, p.data, this.stateQuarter(key));
  }

  /**
   * Allocates the state tensors that `stateBuffer` is about to be asked for,
   * together (allocStates), and runs `create`, which asks for them.
   */
  protected withPreallocated<T>(wanted: readonly { p: Parameter; key: string }[], create: () => T): T {
    if (wanted.length < 2) return create(); // nothing to share
    const arrays = this.allocStates(wanted.map(({ p, key }) => ({ dtype: p.dtype, length: p.numel, key, like: p.data })));
    const preallocated = new Map<Parameter, Map<string, FloatArray>>();
    wanted.forEach(({ p, key }, i) => {
      let forParam = preallocated.get(p);
      if (forParam === undefined) preallocated.set(p, (forParam = new Map()));
      forParam.set(key, arrays[i]);
    });
    this.preallocated = preallocated;
    try {
      return create();
    } finally {
      this.preallocated = undefined;
    }
  }

  /**
   * Memory for a state tensor: zeroed, of the parameter's dtype. On the
   * native backend it is allocated natively, 64-byte aligned, and when large
   * placed relative to `like`, the parameter's data, in its own quarter of a
   * page (binding.d.ts allocState; stateQuarter).
   */
  protected allocState(dtype: 'float32' | 'float64', length: number, like?: FloatArray, quarter?: 1 | 2 | 3): FloatArray {
    return currentBackend().allocState(dtype, length, like, quarter);
  }

  /**
   * Memory for the state of several mid-sized tensors at once: `allocState`
   * for each, laid out natively in one allocation so that it can sit on huge
   * pages (binding.d.ts allocStateViews).
   */
  protected allocStateViews(dtype: FloatDType, lengths: number[], likes: FloatArray[], quarter: 1 | 2 | 3): FloatArray[] {
    return currentBackend().allocStateViews(dtype, lengths, likes, quarter);
  }

  /** The page quarter of a state buffer (allocState): a different one for each buffer a step streams through. */
  protected stateQuarter(_key: string): 1 | 2 | 3 {
    return 1;
  }
}

/**
 * A state value as a dict holds it: a number, or a copy of a float tensor,
 * with its param's shape when it has the param's length (else flat). A
 * custom optimizer may keep anything in its state; the rest cannot be saved.
 */
function stateValueOf(value: unknown, p: Parameter, where: string): StateValue {
  if (typeof value === 'number') return value;
  if (!isFloatArray(value)) throw typeError(where, 'a number, Float32Array or Float64Array to put in a state dict', value);
  const problem = memoryProblem(value);
  if (problem !== undefined) throw new TypeError(`${where} ${problem}`);
  return recordOf(value, value.length === p.numel ? p.shape : [value.length]);
}

/**
 * Throws unless `dict` has the shape of an optimizer's state dict, naming
 * what it is instead when it is a mistake made while porting: a Promise (a
 * missing await), a whole checkpoint, or a scheduler's dict.
 */
export function checkOptimizerDict(dict: unknown): asserts dict is StateDict {
  if (dict !== null && typeof dict === 'object' && typeof (dict as { then?: unknown }).then === 'function') {
    throw new TypeError('loadStateDict() got a Promise: did you forget await on loadTorch?');
  }
  if (dict === null || typeof dict !== 'object') throw typeError('state dict', 'an object with state and param_groups', dict);
  if ('state' in dict && 'param_groups' in dict) {
    if (!Array.isArray((dict as StateDict).param_groups)) throw typeError('state dict param_groups', 'an array', (dict as StateDict).param_groups);
    return;
  }
  const keys = Object.keys(dict);
  const inner = keys.find((k) => {
    const v = (dict as Record<string, unknown>)[k];
    return v !== null && typeof v === 'object' && 'state' in v && 'param_groups' in v;
  });
  if (inner !== undefined) {
    throw new TypeError(`this looks like a checkpoint with keys ${keys.join(', ')}; pass its ${inner} to loadStateDict()`);
  }
  if ('last_epoch' in dict || 'base_lrs' in dict) {
    throw new TypeError("this is an LR scheduler's state dict (it has last_epoch); pass it to the scheduler's loadStateDict()");
  }
  const missing = ['state', 'param_groups'].find((key) => !(key in dict));
  throw new TypeError(`state dict is missing '${missing}'`);
}

/** A number in a custom optimizer's state: a bigint (from a file) must be exact as a number. */
function loadScalar(where: string, value: number | bigint): number {
  if (typeof value === 'number') return value;
  const number = Number(value);
  if (!Number.isSafeInteger(number)) throw new RangeError(`${where} = ${value} is too large to hold exactly as a number`);
  return number;
}

/** `step` from either PyTorch generation: an int (1.13), a 0-dim tensor (2.x), or a bigint. */
function loadStep(where: string, value: unknown): number {
  let step: unknown = value;
  if (typeof value === 'bigint') step = Number(value);
  else if (value !== null && typeof value === 'object') {
    const record = checkRecord(where, value);
    if (record.data.length !== 1) throw new RangeError(`${where} must hold one value, has ${record.data.length}`);
    const v = record.data[0];
    const { dtype } = record;
    step = typeof v === 'bigint' ? Number(v) : isFloatDType(dtype)
      ? castFloatRecord(where, record, 'float64')[0] : isFloat8(dtype) ? float8ToNumber(v, dtype) : v;
  }
  if (typeof step !== 'number' || !Number.isSafeInteger(step) || step < 0) {
    const held = value !== null && typeof value === 'object';  // name the number, not "an object"
    throw new RangeError(`${where} must be a non-negative integer, got ${describe(held ? step : value)}${held ? ' (in a tensor)' : ''}`);
  }
  return step;
}

export function sharesMemory(a: ArrayBufferView, b: ArrayBufferView): boolean {
  return a.buffer === b.buffer && a.byteOffset < b.byteOffset + b.byteLength && b.byteOffset < a.byteOffset + a.byteLength;
}
