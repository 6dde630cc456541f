// A tfOptimizer as TF.js serializes an optimizer with its model
// (`model.save(..., { includeOptimizer: true })`): the algorithm's name
// and each param group's size and hyperparameters, enough to make the same
// simd-optim optimizer again when the model is loaded. TF.js rewrites a
// loaded config's keys and strings from snake_case to camelCase, so the
// groups travel as base64 JSON, which has no underscore to rewrite.
import type * as tf from '@tensorflow/tfjs-core';
import { describe } from '../core/errors';
import type { Optimizer } from '../core/optimizer';
import type { Parameter } from '../core/tensor';
import { Adagrad } from '../optim/adagrad';
import { Adam, AdamW } from '../optim/adam';
import { RMSprop } from '../optim/rmsprop';
import { SGD } from '../optim/sgd';

/** The optimizers a saved model can name, by name. */
const ALGORITHMS: Record<string, new (groups: never[]) => Optimizer> = { RMSprop, Adagrad, SGD, Adam, AdamW };

/**
 * One saved group: how many params it steps, its options (camelCase, as the
 * constructor takes them), and the keys others put there (a scheduler's
 * `initial_lr`, PyTorch's flags a loaded dict brought), set after.
 */
interface SavedGroup {
  size: number;
  options: Record<string, unknown>;
  extras: Record<string, unknown>;
}

/** The config of a model's tfOptimizer: its algorithm, how it reaches TF.js's memory, and its groups. */
export function configOf(optimizer: Optimizer, transfer: string): tf.serialization.ConfigDict {
  const algorithm = Object.keys(ALGORITHMS).find((name) => optimizer.constructor === ALGORITHMS[name]);
  if (algorithm === undefined) {
    throw new TypeError(
      `simd-optim/tfjs saves ${Object.keys(ALGORITHMS).join(', ')} with a model, not a ${optimizer.constructor.name}: ` +
        'save its state with optimizer.stateDict() instead',
    );
  }
  const optionNames = new Set(Object.keys(optimizer.defaults));
  const groups: SavedGroup[] = optimizer.paramGroups.map((group, gi) => {
    const saved: SavedGroup = { size: group.params.length, options: {}, extras: {} };
    for (const [key, value] of Object.entries(group)) {
      if (key === 'params' || key === 'param_names') continue;
      if (!isJsonExact(value)) throw new TypeError(`param group ${gi}'s ${key} is ${describe(value)}, which the model's config cannot hold`);
      (optionNames.has(key) ? saved.options : saved.extras)[key] = value;
    }
    return saved;
  });
  return { algorithm, transfer, groups: Buffer.from(JSON.stringify(groups)).toString('base64') };
}

/** The algorithm, transfer and factory a config saved by {@link configOf} gives. */
export function factoryOf(config: tf.serialization.ConfigDict): { transfer: unknown; factory: (params: Parameter[]) => Optimizer } {
  const { algorithm, transfer, groups: encoded } = config as { algorithm?: unknown; transfer?: unknown; groups?: unknown };
  const Algorithm = typeof algorithm === 'string' && Object.hasOwn(ALGORITHMS, algorithm) ? ALGORITHMS[algorithm] : undefined;
  if (Algorithm === undefined) throw new TypeError(`a saved SimdOptimOptimizer names the algorithm ${describe(algorithm)}; known: ${Object.keys(ALGORITHMS).join(', ')}`);
  let groups: SavedGroup[];
  try {
    groups = JSON.parse(Buffer.from(String(encoded), 'base64').toString('utf8'));
    const isObject = (v: unknown) => v !== null && typeof v === 'object' && !Array.isArray(v);
    if (!Array.isArray(groups) || groups.some((g) => !Number.isSafeInteger(g?.size) || g.size < 0 || !isObject(g.options) || !isObject(g.extras))) {
      throw new Error('not a list of groups');
    }
  } catch (e) {
    throw new TypeError(`a saved SimdOptimOptimizer's groups cannot be read (${(e as Error).message})`);
  }
  const sizes = groups.map((g) => g.size);
  const total = sizes.reduce((a, b) => a + b, 0);
  const factory = (params: Parameter[]) => {
    if (params.length !== total) {
      throw new RangeError(`the saved ${algorithm} stepped ${total} variables in groups of ${sizes.join(', ')}, but this model trains ${params.length}`);
    }
    let at = 0;
    const optimizer = new Algorithm(groups.map((g) => ({ ...g.options, params: params.slice(at, (at += g.size)) })) as never[]);
    optimizer.paramGroups.forEach((group, gi) => Object.assign(group, groups[gi]!.extras));
    return optimizer;
  };
  return { transfer, factory };
}

/** Whether JSON gives this value back as it is: no NaN, no infinity, no other object than plain arrays and objects. */
function isJsonExact(value: unknown): boolean {
  if (value === null || typeof value === 'string' || typeof value === 'boolean') return true;
  if (typeof value === 'number') return Number.isFinite(value);
  if (Array.isArray(value)) return value.every(isJsonExact);
  if (typeof value === 'object' && Object.getPrototypeOf(value) === Object.prototype) return Object.values(value as object).every(isJsonExact);
  return false;
}
