// A TF.js model of dense layers seen as PyTorch's nn.Sequential of Linear
// layers, both ways: its weights as `model.state_dict()` and its
// tfOptimizer's state as `optimizer.state_dict()`. A dense kernel is
// [in, out], a Linear weight [out, in]: kernels and the state that has
// their shape are transposed on the way; biases and counts go as they are.
import * as tf from '@tensorflow/tfjs-core';
import { describe, typeError } from '../core/errors';
import type { Optimizer, StateDict, StateValue } from '../core/optimizer';
import { ORDERED_DICTS } from '../core/python-values';
import { castFloatRecord, checkRecord, isFloatDType, type TensorRecord } from '../core/tensor';
import { BUILD_LOADING, type TfOptimizer } from './bridge';

/** The parts of a tfjs-layers layer that torchSequential reads (tfjs-layers is the app's, not a dependency of simd-optim). */
export interface LayerLike {
  /** The layer's name (`dense_Dense1`). */
  name: string;
  /** `'Dense'`, `'Dropout'`, ... */
  getClassName(): string;
  /** Its config; a dense layer's `activation` names its activation. */
  getConfig(): Record<string, unknown>;
  /** Its weights: a dense layer's `kernel` and `bias`, whose `read()` is the tf.Variable. */
  weights: {
    /** The weight's name (`dense_Dense1/kernel`). */
    name: string;
    /** The tf.Variable that holds it. */
    read(): tf.Tensor;
  }[];
}

/** A tfjs-layers model (`tf.sequential(...)`, or a functional `tf.model` whose layers are in a chain). */
export interface LayersModelLike {
  /** Its layers, in order. */
  layers: LayerLike[];
}

/** Options of {@link torchSequential}. */
export interface TorchSequentialOptions {
  /**
   * The PyTorch module name of each dense layer's `Linear`, in order
   * (`['0', '2']`, `['encoder.0', 'head']`). By default they are numbered as
   * `nn.Sequential` numbers its modules: every layer is one module (input
   * layers none), and a dense layer's activation other than `'linear'` one
   * more after it (`dense(relu), dense` is `Linear, ReLU, Linear`: `0`, `2`).
   */
  names?: readonly string[];
}

/** One weight of a dense layer and its PyTorch name. */
interface MappedWeight {
  variable: tf.Variable;
  torchName: string;
  /** A kernel: [in, out] in TF.js, [out, in] in PyTorch. */
  kernel: boolean;
}

/** How a TF.js model of dense layers maps onto a PyTorch `nn.Sequential` of `Linear` layers. */
export class TorchSequential {
  /** The PyTorch module name of each dense layer, in order. */
  readonly names: readonly string[];
  private readonly weights: readonly MappedWeight[];
  /** The weights, by TF.js variable name. */
  private readonly byVariable: ReadonlyMap<string, MappedWeight>;

  constructor(model: LayersModelLike, options: TorchSequentialOptions = {}) {
    if (model === null || typeof model !== 'object' || !Array.isArray((model as LayersModelLike).layers)) {
      throw typeError('torchSequential model', 'a tfjs-layers model (tf.sequential or tf.model)', model);
    }
    if (options === null || typeof options !== 'object') throw typeError('torchSequential options', 'an options object', options);
    for (const key of Object.keys(options)) {
      if (key !== 'names') throw new TypeError(`Unknown option '${key}' for torchSequential; known options: names`);
    }
    const dense: LayerLike[] = [];
    const numbered: string[] = [];
    let index = 0;
    for (const layer of model.layers) {
      const kind = layer.getClassName();
      if (kind === 'InputLayer') continue;
      if (kind === 'Dense') {
        dense.push(layer);
        numbered.push(String(index));
        const activation = layer.getConfig().activation;
        index += activation === undefined || activation === 'linear' ? 1 : 2;
      } else if (layer.weights.length > 0) {
        throw new TypeError(`torchSequential maps dense layers only, but layer ${layer.name} is a ${kind} with weights`);
      } else {
        index += 1;
      }
    }
    if (dense.length === 0) throw new RangeError('torchSequential: the model has no dense layer');
    const names = options.names === undefined ? numbered : checkNames(options.names, dense.length);
    const weights: MappedWeight[] = [];
    dense.forEach((layer, i) => {
      for (const w of layer.weights) {
        const role = w.name.slice(w.name.lastIndexOf('/') + 1);
        if (role !== 'kernel' && role !== 'bias') throw new TypeError(`torchSequential: dense layer ${layer.name} has a weight ${w.name} that is neither kernel nor bias`);
        const variable = w.read();
        if (!(variable instanceof tf.Variable)) throw new TypeError(`torchSequential: weight ${w.name} of layer ${layer.name} is not a variable`);
        weights.push({ variable, torchName: `${names[i]}.${role === 'kernel' ? 'weight' : 'bias'}`, kernel: role === 'kernel' });
      }
    });
    this.names = Object.freeze([...names]);
    this.weights = Object.freeze(weights);
    this.byVariable = new Map(weights.map((w) => [w.variable.name, w]));
  }

  /** The model's trainable variables, in the order `model.fit` steps them and PyTorch's `model.parameters()` lists them. */
  variables(): tf.Variable[] {
    return this.weights.filter((w) => w.variable.trainable).map((w) => w.variable);
  }

  /**
   * The model's weights as PyTorch's `model.state_dict()`: `<name>.weight`
   * (the kernel transposed, [out, in]) and `<name>.bias`, float32, for
   * `saveTorch` and `load_state_dict`.
   */
  stateDict(): Record<string, TensorRecord> {
    const out: Record<string, TensorRecord> = {};
    for (const w of this.weights) {
      const values = w.variable.dataSync() as Float32Array;
      const shape = torchShapeOf(w);
      out[w.torchName] = { dtype: 'float32', shape, data: w.kernel ? transpose(values, shape[1]!, shape[0]!) : values.slice() };
    }
    ORDERED_DICTS.add(out);
    return out;
  }

  /**
   * Sets the model's weights from PyTorch's `model.state_dict()` (a plain
   * object or a Map, as `loadTorch` gives it): every name, shape and dtype
   * is checked before any weight changes. Float tensors of any precision
   * are rounded to float32.
   */
  loadStateDict(dict: Record<string, unknown> | Map<string, unknown>): void {
    if (dict instanceof Promise) throw new TypeError('loadStateDict got a Promise: did you forget await on loadTorch?');
    if (dict === null || typeof dict !== 'object' || Array.isArray(dict)) throw typeError('TorchSequential.loadStateDict dict', "a model's state_dict (name → tensor)", dict);
    const entries = new Map(dict instanceof Map ? dict : Object.entries(dict));
    const expected = this.weights.map((w) => w.torchName);
    const missing = expected.filter((n) => !entries.has(n));
    const unexpected = [...entries.keys()].filter((n) => !this.weights.some((w) => w.torchName === n));
    if (missing.length > 0 || unexpected.length > 0) {
      throw new RangeError(
        `the state dict does not match the model: ` +
          [missing.length ? `missing ${missing.join(', ')}` : '', unexpected.length ? `unexpected ${unexpected.join(', ')}` : ''].filter(Boolean).join('; ') +
          `; the model maps to ${expected.join(', ')} (torchSequential's names option sets the module names)`,
      );
    }
    const values = this.weights.map((w) => {
      const record = checkRecord(`state dict ${w.torchName}`, entries.get(w.torchName));
      const want = torchShapeOf(w);
      if (!isFloatDType(record.dtype)) throw new TypeError(`state dict ${w.torchName} is ${record.dtype}; a weight must be a float tensor`);
      if (!sameShape(record.shape, want)) {
        throw new RangeError(`state dict ${w.torchName} has shape [${record.shape.join(', ')}], the model's ${w.variable.name} maps to [${want.join(', ')}]`);
      }
      const data = castFloatRecord(w.torchName, record, 'float32') as Float32Array;
      return w.kernel ? transpose(data, want[0]!, want[1]!) : data;
    });
    this.weights.forEach((w, i) => tf.tidy(() => w.variable.assign(tf.tensor(values[i], w.variable.shape, 'float32'))));
  }

  /**
   * The tfOptimizer's state as PyTorch's `optimizer.state_dict()` for this
   * model: each kernel's state transposed like the kernel, the groups'
   * `param_names` the PyTorch names. The params keep the optimizer's order,
   * which is `model.parameters()`'s when it steps the model's weights in
   * one group.
   */
  optimizerStateDict(optimizer: TfOptimizer): StateDict {
    const dict = optimizer.optimizer.stateDict();
    const mapped = optimizer.names.map((name) => this.weightNamed(name));
    const state: StateDict['state'] = {};
    for (const [id, entry] of Object.entries(dict.state)) {
      const w = mapped[Number(id)];
      state[Number(id)] = mapState(entry, w, 'toTorch');
    }
    let k = 0;
    const groups = dict.param_groups.map((g) => ({ ...g, param_names: g.params.map(() => mapped[k++].torchName) }));
    return { state, param_groups: groups };
  }

  /**
   * Loads PyTorch's `optimizer.state_dict()` for this model into a
   * tfOptimizer, making its simd-optim optimizer from the model's
   * trainable weights first if no step has made it. The dict's params are
   * taken in order (as PyTorch's `load_state_dict` takes them); where it
   * has `param_names`, they must be this model's names in that order. All
   * is checked before the optimizer changes; its groups' hyperparameters
   * become the dict's, as in PyTorch.
   */
  loadOptimizerStateDict(optimizer: TfOptimizer, dict: StateDict): void {
    if (dict instanceof Promise) throw new TypeError('loadOptimizerStateDict got a Promise: did you forget await on loadTorch?');
    if (dict === null || typeof dict !== 'object' || !Array.isArray(dict.param_groups) || dict.state === null || typeof dict.state !== 'object') {
      throw typeError('TorchSequential.loadOptimizerStateDict dict', "an optimizer's state_dict { state, param_groups }", dict);
    }
    const load = (inner: Optimizer, names: readonly string[]) => inner.loadStateDict(this.fromTorch(dict, names));
    // A new optimizer is kept only if the dict loads into it; a made one is changed only by a dict that loads.
    if (optimizer.names.length === 0) optimizer[BUILD_LOADING](this.variables(), load);
    else load(optimizer.optimizer, optimizer.names);
  }

  /** PyTorch's optimizer dict in TF.js's layout, for an optimizer whose params are the variables `tfNames`; checked whole. */
  private fromTorch(dict: StateDict, tfNames: readonly string[]): StateDict {
    const mapped = tfNames.map((name) => this.weightNamed(name));
    const ids = dict.param_groups.flatMap((g) => (Array.isArray(g?.params) ? g.params : []));
    if (ids.length !== mapped.length) {
      throw new RangeError(`the optimizer state dict lists ${ids.length} params, the tfOptimizer steps ${mapped.length} (${mapped.map((w) => w.torchName).join(', ')})`);
    }
    let k = 0;
    const groups = dict.param_groups.map((g, gi) => {
      const names = g.param_names;
      const at = k;
      k += g.params.length;
      if (names !== undefined) {
        if (!Array.isArray(names) || names.length !== g.params.length) throw typeError(`param_groups[${gi}].param_names`, 'a name per param', names);
        names.forEach((name, j) => {
          if (name !== mapped[at + j].torchName) {
            throw new RangeError(`param_groups[${gi}].param_names[${j}] is ${describe(name)}, but the tfOptimizer's param there is ${tfNames[at + j]}, PyTorch's ${mapped[at + j].torchName}`);
          }
        });
      }
      return { ...g, param_names: tfNames.slice(at, at + g.params.length) };
    });
    const position = new Map(ids.map((id, i) => [id, i]));
    const state: StateDict['state'] = {};
    for (const [id, entry] of Object.entries(dict.state)) {
      const at = position.get(Number(id));
      if (at === undefined) throw new RangeError(`the optimizer state dict has state for param ${id}, which no group lists`);
      state[Number(id)] = mapState(entry, mapped[at], 'fromTorch');
    }
    return { state, param_groups: groups };
  }

  private weightNamed(variable: string): MappedWeight {
    const w = this.byVariable.get(variable);
    if (w === undefined) throw new RangeError(`the tfOptimizer steps ${variable}, which is not a weight of this model's dense layers`);
    return w;
  }
}

/**
 * A TF.js model of dense layers as a PyTorch `nn.Sequential` of `Linear`
 * layers: its weights and its tfOptimizer's state, both ways.
 *
 * @example
 * ```ts
 * const torch = torchSequential(model);            // dense(relu), dense → 0.weight, 0.bias, 2.weight, 2.bias
 * torch.loadStateDict(await loadTorch('model.pt'));
 * torch.loadOptimizerStateDict(opt, await loadTorch('optimizer.pt'));
 * await model.fit(xs, ys, { epochs: 5 });
 * await saveTorch(torch.stateDict(), 'model.pt');
 * await saveTorch(torch.optimizerStateDict(opt), 'optimizer.pt');
 * ```
 */
export function torchSequential(model: LayersModelLike, options?: TorchSequentialOptions): TorchSequential {
  return new TorchSequential(model, options);
}

function checkNames(names: readonly string[], count: number): readonly string[] {
  if (!Array.isArray(names) || names.length !== count || names.some((n) => typeof n !== 'string' || n === '')) {
    throw typeError('torchSequential names', `${count} module names, one per dense layer`, names);
  }
  if (new Set(names).size !== names.length) throw new RangeError(`torchSequential names ${names.join(', ')} are not distinct`);
  return names;
}

/** A weight's shape in PyTorch. */
function torchShapeOf(w: MappedWeight): number[] {
  const shape = w.variable.shape;
  return w.kernel ? [shape[1]!, shape[0]!] : [...shape];
}

/** One param's state, with each tensor of the kernel's shape transposed (counts and scalars as they are). */
function mapState(entry: Record<string, StateValue>, w: MappedWeight, way: 'toTorch' | 'fromTorch'): Record<string, StateValue> {
  const tfShape = w.variable.shape;
  const from = way === 'toTorch' ? tfShape : torchShapeOf(w);
  const out: Record<string, StateValue> = {};
  for (const [key, value] of Object.entries(entry)) {
    if (value === null || typeof value !== 'object') {
      out[key] = value;
      continue;
    }
    const record = checkRecord(`optimizer state ${w.torchName}.${key}`, value);
    if (record.shape.length === 0 || !w.kernel) {
      out[key] = record;
      continue;
    }
    if (!sameShape(record.shape, from) || record.dtype !== 'float32') {
      throw new RangeError(`optimizer state ${key} of ${w.torchName} is ${record.dtype} [${record.shape.join(', ')}], expected float32 [${from.join(', ')}]`);
    }
    const [rows, cols] = from as [number, number];
    out[key] = { dtype: 'float32', shape: [cols, rows], data: transpose(record.data as Float32Array, rows, cols) };
  }
  return out;
}

/** A row-major [rows, cols] matrix transposed, as a new array. */
function transpose(data: Float32Array, rows: number, cols: number): Float32Array {
  const out = new Float32Array(data.length);
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < cols; c++) out[c * rows + r] = data[r * cols + c];
  }
  return out;
}

function sameShape(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}
