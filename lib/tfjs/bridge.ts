// A tf.Optimizer whose steps are a simd-optim optimizer's. It is a true
// subclass of the app's tf.Optimizer: '@tensorflow/tfjs-core' resolves from
// this file to the app's copy (an optional peer dependency, loaded only by
// the simd-optim/tfjs entry). The simd-optim optimizer is made at the first
// step, from the variables TF.js steps, in its order and with its names.
import * as tf from '@tensorflow/tfjs-core';
import { Optimizer, type StateDict, type StateValue } from '../core/optimizer';
import { Parameter, type TensorRecord } from '../core/tensor';
import { checkOptionNames, describe, typeError } from '../core/errors';
import { configOf, factoryOf } from './config';
import { transferFor, type Slot, type TransferCounts, type TransferPath } from './transfer';

/** TfOptimizer's build-and-load, for torchSequential (not part of the public API). @internal */
export const BUILD_LOADING = Symbol('simd-optim build loading');

/** A variable's name and a tensor for it: the list form of applyGradients, and getWeights' entries. */
export interface NamedTensor {
  /** The variable's name (`dense_Dense1/kernel`), or a state weight's (`dense_Dense1/kernel/square_avg`). */
  name: string;
  /** Its values. */
  tensor: tf.Tensor;
}

/** Makes the simd-optim optimizer from TF.js's variables: their Parameters, and their names in the same order. */
export type OptimizerFactory<O extends Optimizer> = (params: Parameter[], names: string[]) => O;

/** Options of {@link tfOptimizer}. */
export interface TfOptimizerOptions {
  /**
   * How a step reaches the variables' memory. `'auto'` (the default): the
   * cpu backend's arrays in place and the wasm heap where that is safe,
   * `dataSync`/`assign` copies on other backends. `'copy'`: copies on every
   * backend, with no watch on TF.js's engine (on cpu, `'auto'` wraps the
   * engine's reads to learn when an array of a variable is handed out).
   */
  transfer?: 'auto' | 'copy';
}

/** What the last step did: its path, and how many variables it stepped in place or through copies. */
export interface TransferReport extends TransferCounts {
  /** `'cpu-shared'`: the cpu backend's arrays; `'wasm-heap'`: the wasm heap; `'copy'`: dataSync/assign. */
  path: TransferPath;
}

/**
 * A `tf.Optimizer` that steps TF.js variables with a simd-optim optimizer,
 * for `model.compile`, `model.fit`, `optimizer.minimize(f)` and
 * `applyGradients`.
 */
export class TfOptimizer<O extends Optimizer = Optimizer> extends tf.Optimizer {
  /** The name TF.js's serialization knows this class by (registered as 'Custom>SimdOptimOptimizer'). */
  static className = 'SimdOptimOptimizer';
  /** The variables' names, in the order of the simd-optim optimizer's params (empty before the first step). */
  readonly names: string[] = [];
  /** What the last step did (undefined before the first step). */
  lastTransfer: TransferReport | undefined;
  private readonly factory: OptimizerFactory<O>;
  private readonly mode: 'auto' | 'copy';
  private inner: O | undefined;
  /** Every variable seen, by name; those the factory left out of its groups have no param in a group. */
  private readonly slots = new Map<string, Slot>();
  /** The params of the simd-optim optimizer's groups (the factory may leave some variables out). */
  private readonly inOptimizer = new Set<Parameter>();
  /** The variable name of each param. */
  private readonly nameOf = new Map<Parameter, string>();
  /** setWeights() before the first step: loaded once the optimizer exists. */
  private pendingWeights: NamedTensor[] | undefined;

  constructor(factory: OptimizerFactory<O>, options: TfOptimizerOptions = {}) {
    super();
    if (typeof factory !== 'function') throw typeError('tfOptimizer factory', 'a function (params, names) => optimizer', factory);
    if (options === null || typeof options !== 'object') throw typeError('tfOptimizer options', 'an options object', options);
    checkOptionNames('tfOptimizer', options, ['transfer']);
    const { transfer = 'auto' } = options;
    if (transfer !== 'auto' && transfer !== 'copy') throw typeError('tfOptimizer transfer', "'auto' or 'copy'", transfer);
    this.factory = factory;
    this.mode = transfer;
  }

  /** The simd-optim optimizer: made at the first step, from the variables it steps. */
  get optimizer(): O {
    if (this.inner === undefined) {
      throw new Error('the simd-optim optimizer is made at the first step, from the variables TF.js trains; train first');
    }
    return this.inner;
  }

  /**
   * Makes the simd-optim optimizer now from `variables`, in this order, as
   * the first step would (variables it already steps are left as they are;
   * new ones become a new param group). Use it to load state before
   * training: `model.fit` steps `model.trainableWeights`, in that order.
   *
   * @example
   * ```ts
   * opt.build(model.trainableWeights.map((w) => w.read()));
   * opt.optimizer.loadStateDict(dict);
   * ```
   */
  build(variables: readonly tf.Variable[]): void {
    this.register(checkVariables(variables));
  }

  /**
   * build(), for a new optimizer only, with `load` run on it before it is
   * kept: if `load` throws, this TfOptimizer stays unbuilt. (torchSequential
   * loads PyTorch's state this way.)
   * @internal
   */
  [BUILD_LOADING](variables: readonly tf.Variable[], load: (optimizer: O, names: readonly string[]) => void): void {
    if (this.inner !== undefined) throw new Error('the simd-optim optimizer is made already');
    this.register(checkVariables(variables), load);
  }

  /** tf.Optimizer's minimize, which also disposes the loss and the gradients when the step throws. */
  override minimize(f: () => tf.Scalar, returnCost = false, varList?: tf.Variable[]): tf.Scalar | null {
    const { value, grads } = this.computeGradients(f, varList);
    let ok = false;
    try {
      this.applyGradients(varList != null ? varList.map((v) => ({ name: v.name, tensor: grads[v.name] })) : grads);
      ok = true;
    } finally {
      tf.dispose(grads);
      if (!ok || !returnCost) value.dispose();
    }
    return returnCost ? value : null;
  }

  /** Steps the variables named, as every tf.Optimizer does (`minimize` and `model.fit` call it). */
  applyGradients(variableGradients: tf.NamedTensorMap | NamedTensor[]): void {
    const pairs: [string, tf.Tensor | undefined][] = Array.isArray(variableGradients)
      ? variableGradients.map(({ name, tensor }) => [name, tensor])
      : Object.entries(variableGradients);
    // Every gradient is checked against its variable before anything is kept.
    const registered = tf.engine().registeredVariables;
    for (const [name, grad] of pairs) {
      const variable = registered[name];
      if (variable === undefined) throw new RangeError(`no TF.js variable is named ${describe(name)}`);
      if (grad != null && (grad.dtype !== 'float32' || !sameShape(grad.shape, variable.shape))) {
        throw new TypeError(`the gradient of ${name} is ${grad.dtype} [${grad.shape.join(', ')}], its variable ${variable.dtype} [${variable.shape.join(', ')}]`);
      }
    }
    this.register(pairs.map(([name]) => name));
    const slots: Slot[] = [];
    const grads: tf.Tensor[] = [];
    for (const [name, grad] of pairs) {
      const slot = this.slots.get(name)!;
      if (grad == null || !this.inOptimizer.has(slot.param)) continue;
      slots.push(slot);
      grads.push(grad);
    }
    const optimizer = this.optimizer;
    const transfer = transferFor(this.mode);
    const counts = { inPlace: 0, copied: 0 };
    for (const slot of this.slots.values()) slot.param.grad = null;
    let done = false;
    try {
      transfer.prepare(slots, grads, counts);
      optimizer.step();
      transfer.commit(slots);
      done = true;
    } finally {
      if (!done) transfer.abort();
      // The grads are TF.js's memory (the wasm heap, a disposed tensor's array): hold none of it.
      for (const slot of slots) slot.param.grad = null;
    }
    this.lastTransfer = { path: transfer.path, ...counts };
    this.incrementIterations();
  }

  /**
   * Knows every variable named: makes the optimizer at the first step, adds
   * later variables as a new param group, and follows a variable replaced
   * under the same name and shape. Nothing is kept until all of it holds
   * (the variables, the factory's optimizer, the weights set before the
   * first step), so that a refused call leaves this optimizer as it was.
   */
  private register(names: readonly string[], load?: (optimizer: O, names: readonly string[]) => void): void {
    const registered = tf.engine().registeredVariables;
    const fresh = new Map<string, Slot>();
    const followed: [Slot, tf.Variable][] = [];
    for (const name of names) {
      const variable = registered[name];
      if (variable === undefined) throw new RangeError(`no TF.js variable is named ${describe(name)}`);
      const known = this.slots.get(name);
      if (known !== undefined) {
        if (!sameShape(variable.shape, known.param.shape)) {
          throw new RangeError(
            `variable ${name} has shape [${variable.shape.join(', ')}] but it was [${known.param.shape.join(', ')}] ` +
              'when the optimizer took it; make a new tfOptimizer for a model whose weights changed shape',
          );
        }
        if (known.variable !== variable) followed.push([known, variable]);
        continue;
      }
      if (fresh.has(name)) continue;
      if (variable.dtype !== 'float32') throw new TypeError(`variable ${name} is ${variable.dtype}; simd-optim steps float32 variables`);
      fresh.set(name, { name, variable, param: new Parameter((variable.dataSync() as Float32Array).slice(), variable.shape), own: null });
    }
    if (fresh.size > 0) this.take([...fresh.values()], load);
    for (const [slot, variable] of followed) {
      slot.variable = variable;
      slot.own = null;
    }
  }

  /** Makes the optimizer of these variables (the first time) or adds them as a new param group, and keeps them. */
  private take(fresh: readonly Slot[], load?: (optimizer: O, names: readonly string[]) => void): void {
    const params = fresh.map((s) => s.param);
    const nameOf = new Map(this.nameOf);
    for (const s of fresh) nameOf.set(s.param, s.name);
    let inner = this.inner;
    const before = inner?.paramGroups.length ?? 0;
    if (inner === undefined) {
      const made = this.factory(params, fresh.map((s) => s.name));
      if (!(made instanceof Optimizer)) throw typeError('the tfOptimizer factory result', 'a simd-optim optimizer', made);
      made.paramGroups.forEach((group, gi) => {
        const unknown = group.params.findIndex((p) => !nameOf.has(p));
        if (unknown >= 0) throw new RangeError(`the tfOptimizer factory's param group ${gi} has a param (${unknown}) that is not one of the variables it was given`);
      });
      inner = made;
    }
    const names = () => inner!.paramGroups.flatMap((g) => g.params.map((p) => nameOf.get(p)!));
    if (this.inner === undefined) {
      nameGroups(inner.paramGroups, nameOf);
      if (this.pendingWeights !== undefined) loadWeights(inner, names(), this.pendingWeights);
      load?.(inner, names());
    } else {
      inner.addParamGroup({ params });
      nameGroups(inner.paramGroups.slice(before), nameOf);
    }
    // All holds: keep it.
    this.inner = inner;
    for (const s of fresh) {
      this.slots.set(s.name, s);
      this.nameOf.set(s.param, s.name);
    }
    for (const group of inner.paramGroups) for (const p of group.params) this.inOptimizer.add(p);
    this.names.splice(0, this.names.length, ...names());
    this.disposePending();
  }

  /**
   * The iteration count, then each param's state as `<variable name>/<key>`
   * (`dense_Dense1/kernel/square_avg`), in the optimizer's order.
   */
  override async getWeights(): Promise<NamedTensor[]> {
    const weights = [await this.saveIterations()];
    if (this.inner === undefined) return weights;
    const dict = this.inner.stateDict();
    const indexed = dict.param_groups.flatMap((g) => g.params);
    for (const index of indexed) {
      const entry = dict.state[index];
      if (entry === undefined) continue;
      for (const [key, value] of Object.entries(entry)) {
        weights.push({ name: `${this.names[index]}/${key}`, tensor: tensorOf(value, `${this.names[index]}/${key}`) });
      }
    }
    return weights;
  }

  /** Loads what getWeights() gave (before the first step, it is loaded once the optimizer is made). */
  override async setWeights(weightValues: NamedTensor[]): Promise<void> {
    const rest = await this.extractIterations(weightValues);
    if (this.inner === undefined) {
      this.disposePending();
      this.pendingWeights = rest.map(({ name, tensor }) => ({ name, tensor: tf.keep(tensor.clone()) }));
      return;
    }
    loadWeights(this.inner, this.names, rest);
  }

  /**
   * The config `model.save(..., { includeOptimizer: true })` writes: the
   * algorithm and its groups' sizes and hyperparameters (the state goes in
   * getWeights). Only the built-in optimizers can be named this way.
   */
  getConfig(): tf.serialization.ConfigDict {
    if (this.inner === undefined) {
      throw new Error('a tfOptimizer is saved with its model once the simd-optim optimizer is made, at the first step: train first, or save without includeOptimizer');
    }
    return configOf(this.inner, this.mode);
  }

  /** A TfOptimizer from a saved model's config (tf.loadLayersModel calls it): the same algorithm, groups and hyperparameters, made at the first step. */
  static override fromConfig<T extends tf.serialization.Serializable>(cls: tf.serialization.SerializableConstructor<T>, config: tf.serialization.ConfigDict): T {
    const { factory, transfer } = factoryOf(config);
    return new TfOptimizer(factory, { transfer: transfer as TfOptimizerOptions['transfer'] }) as unknown as T;
  }

  override dispose(): void {
    super.dispose();
    this.disposePending();
  }

  private disposePending(): void {
    for (const { tensor } of this.pendingWeights ?? []) tensor.dispose();
    this.pendingWeights = undefined;
  }
}

// So that tf.loadLayersModel finds the class of a model saved with its optimizer.
tf.serialization.registerClass(TfOptimizer);

/**
 * A drop-in `tf.Optimizer` stepping with a simd-optim optimizer, made at
 * the first step from the variables TF.js trains.
 *
 * @example
 * ```ts
 * const opt = tfOptimizer((params) => new RMSprop(params, { lr: 1e-3, centered: true }));
 * model.compile({ optimizer: opt, loss: 'categoricalCrossentropy' });
 * await model.fit(xs, ys, { epochs: 10 });
 * ```
 */
export function tfOptimizer<O extends Optimizer>(factory: OptimizerFactory<O>, options?: TfOptimizerOptions): TfOptimizer<O> {
  return new TfOptimizer(factory, options);
}

/** The names of `variables`, each checked to be a live tf.Variable. */
function checkVariables(variables: readonly tf.Variable[]): string[] {
  if (!Array.isArray(variables)) throw typeError('TfOptimizer.build variables', 'an array of tf.Variable', variables);
  const registered = tf.engine().registeredVariables;
  return variables.map((v, i) => {
    if (!(v instanceof tf.Variable) || registered[v.name] !== v) {
      throw typeError(`TfOptimizer.build variables[${i}]`, 'a live tf.Variable (a LayerVariable gives one with read())', v);
    }
    return v.name;
  });
}

/** Gives each group PyTorch 2.x's `param_names` key (optimizers made from named_parameters()), unless it has one. */
function nameGroups(groups: readonly { params: Parameter[] }[], nameOf: ReadonlyMap<Parameter, string>): void {
  for (const group of groups) {
    const g = group as { params: Parameter[]; param_names?: string[] };
    g.param_names ??= g.params.map((p) => nameOf.get(p)!);
  }
}

/**
 * Loads named state tensors into `optimizer`, whose params are the
 * variables `names`, through loadStateDict (all checked before any change).
 * They are matched to variables by name, or else by position, as TF.js's
 * own optimizers match them (a model loaded again may have other variable
 * names).
 */
function loadWeights(optimizer: Optimizer, names: readonly string[], weights: readonly NamedTensor[]): void {
  const split = weights.map(({ name, tensor }) => {
    const cut = name.lastIndexOf('/');
    if (cut < 0) throw new RangeError(`optimizer weight ${describe(name)} is not <variable name>/<state key>`);
    return { variable: name.slice(0, cut), key: name.slice(cut + 1), tensor };
  });
  const variables = [...new Set(split.map((w) => w.variable))];
  const byName = variables.every((v) => names.includes(v));
  if (!byName && variables.length !== names.length) {
    throw new RangeError(
      `the optimizer weights are for ${variables.length} variables (${variables.join(', ')}), ` +
        `this optimizer steps ${names.length} (${names.join(', ')})`,
    );
  }
  const state: StateDict['state'] = {};
  for (const { variable, key, tensor } of split) {
    const index = byName ? names.indexOf(variable) : variables.indexOf(variable);
    (state[index] ??= {})[key] = recordOf(tensor);
  }
  optimizer.loadStateDict({ state, param_groups: optimizer.stateDict().param_groups });
}

function sameShape(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

/** A state value as a tensor: a float32 or int32 record as it is (a copy already), a count as an int32 scalar. */
function tensorOf(value: StateValue, name: string): tf.Tensor {
  if (typeof value === 'number' && Number.isSafeInteger(value) && Math.abs(value) < 2 ** 31) return tf.scalar(value, 'int32');
  if (value !== null && typeof value === 'object' && (value.dtype === 'float32' || value.dtype === 'int32')) {
    return tf.tensor(value.data as Float32Array | Int32Array, [...value.shape], value.dtype);
  }
  throw new TypeError(`optimizer state ${name} is ${describe(value)}, which a TF.js tensor cannot hold`);
}

/** A tensor as a record a state dict holds (loadStateDict casts it to its param's dtype). */
function recordOf(t: tf.Tensor): TensorRecord {
  const data = t.dataSync();
  if (t.dtype === 'float32') return { dtype: 'float32', shape: [...t.shape], data: Float32Array.from(data as Float32Array) };
  if (t.dtype === 'int32') return { dtype: 'int32', shape: [...t.shape], data: Int32Array.from(data as Int32Array) };
  throw new TypeError(`an optimizer weight is ${t.dtype}; simd-optim's state is float32`);
}
