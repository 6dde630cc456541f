// What the benchmark steps: one entry per optimizer in ALGORITHMS, each with
// its configs. A config says everything a peer needs to run it (simd-optim's
// options, PyTorch's class and keyword arguments, TensorFlow.js's optimizer,
// the plain JS loop) and what it costs (the arrays read and written per
// element). The peers and the report read these; none names an optimizer.
import { adamLoop, rmspropCenteredMomentumLoop, rmspropLoop, sgdLoop, sgdMomentumLoop, type PlainLoop } from './loops';

/** simd-optim's class, which is also torch.optim's. */
export type AlgorithmName = 'RMSprop' | 'SGD' | 'Adam' | 'AdamW';

/** One row group of the tables: an optimizer with fixed hyperparameters. */
export interface AlgorithmConfig {
  /** Its name among the algorithm's configs, e.g. "plain", "momentum 0.9". */
  name: string;
  /** Its name in target verdicts after the workload, e.g. "m+c" in "64M m+c". */
  short: string;
  /** simd-optim's options (camelCase; `threads` is set per peer). */
  simd: Record<string, unknown>;
  /** torch.optim's keyword arguments (foreach and fused are set per peer). */
  torch: Record<string, unknown>;
  /** TensorFlow.js: `tf.train[optimizer](...args)`, or why it has none. */
  tfjs: { optimizer: string; args: (number | boolean)[] } | { unavailable: string };
  /** The loop a user would write in plain JavaScript. */
  loop: PlainLoop;
  /** Arrays a step reads per element (p, g and every state array; it also touches no other). */
  reads: number;
  /** Arrays it writes per element (p and the state it updates). */
  writes: number;
  /** The step takes a square root and a divide per element: in cache, the sqrt+div loop bounds it. */
  sqrtDiv: boolean;
  /** The family's target: how many times PyTorch's default (single-tensor) path, one thread; unset, none. */
  overTorchDefault?: number;
  /** The only workloads of its optimizer's it runs on, by name (an extra config kept cheap); unset, all. */
  workloads?: string[];
}

/** An optimizer the benchmark steps: its configs, and how far the run goes with it. */
export interface Algorithm {
  name: AlgorithmName;
  /**
   * sweep: every workload from 4K to 128M, the targets set for RMSprop, and
   * the peers shown for information (PyTorch with huge pages). family: five
   * workloads (in cache, many small tensors, out of cache, float64) and the
   * targets set for the optimizers that came after it.
   */
  scope: 'sweep' | 'family';
  /** PyTorch 2.6 has `fused=True` for it on CPU (SGD, Adam and AdamW since 2.4; RMSprop never). */
  torchFused: boolean;
  configs: AlgorithmConfig[];
}

const LR = 1e-3;

const RMSPROP: Algorithm = {
  name: 'RMSprop',
  scope: 'sweep',
  torchFused: false,
  configs: [
    {
      name: 'plain', short: 'plain',
      simd: { lr: LR, alpha: 0.99, eps: 1e-8 },
      torch: { lr: LR, alpha: 0.99, eps: 1e-8 },
      // tf.train.rmsprop(learningRate, decay (PyTorch's alpha), momentum, epsilon, centered)
      tfjs: { optimizer: 'rmsprop', args: [LR, 0.99, 0, 1e-8, false] },
      loop: rmspropLoop(LR, 0.99, 1e-8),
      reads: 3, writes: 2, sqrtDiv: true,
    },
    {
      name: 'momentum+centered', short: 'm+c',
      simd: { lr: LR, alpha: 0.99, eps: 1e-8, momentum: 0.9, centered: true },
      torch: { lr: LR, alpha: 0.99, eps: 1e-8, momentum: 0.9, centered: true },
      tfjs: { optimizer: 'rmsprop', args: [LR, 0.99, 0.9, 1e-8, true] },
      loop: rmspropCenteredMomentumLoop(LR, 0.99, 1e-8, 0.9),
      reads: 5, writes: 4, sqrtDiv: true,
    },
  ],
};

const SGD: Algorithm = {
  name: 'SGD',
  scope: 'family',
  torchFused: true,
  configs: [
    {
      name: 'momentum 0.9', short: 'SGD m0.9',
      simd: { lr: LR, momentum: 0.9 },
      torch: { lr: LR, momentum: 0.9 },
      // tf.train.momentum(learningRate, momentum): buf = m · buf + g; p -= lr · buf, as PyTorch without dampening.
      tfjs: { optimizer: 'momentum', args: [LR, 0.9] },
      loop: sgdMomentumLoop(LR, 0.9),
      reads: 3, writes: 2, sqrtDiv: false, overTorchDefault: 1.4,
    },
    {
      name: 'plain', short: 'SGD plain',
      simd: { lr: LR },
      torch: { lr: LR },
      tfjs: { optimizer: 'sgd', args: [LR] },
      loop: sgdLoop(LR),
      reads: 2, writes: 1, sqrtDiv: false, workloads: ['1M', '16M'],
    },
  ],
};

/** Adam and AdamW at PyTorch's defaults (AdamW's weight decay 0.01, decoupled). */
const adam = (name: 'Adam' | 'AdamW', weightDecay: number): Algorithm => ({
  name,
  scope: 'family',
  torchFused: true,
  configs: [
    {
      name: 'default', short: name,
      simd: { lr: LR, betas: [0.9, 0.999], eps: 1e-8, weightDecay },
      torch: { lr: LR, betas: [0.9, 0.999], eps: 1e-8, weight_decay: weightDecay },
      tfjs: name === 'Adam'
        ? { optimizer: 'adam', args: [LR, 0.9, 0.999, 1e-8] }
        : { unavailable: 'TensorFlow.js has no AdamW (tf.train has no decoupled weight decay)' },
      loop: adamLoop(LR, 0.9, 0.999, 1e-8, name === 'AdamW' ? weightDecay : 0),
      reads: 4, writes: 3, sqrtDiv: true, overTorchDefault: 4,
    },
  ],
});

/** Every optimizer the benchmark steps, in the order of its page. One line per optimizer. */
export const ALGORITHMS: readonly Algorithm[] = [
  RMSPROP,
  SGD,
  adam('Adam', 0),
  adam('AdamW', 0.01),
];

/** A config's short name in verdicts, by names as a results.json records them (the name itself if unknown). */
export function shortName(algorithm: string, config: string): string {
  return ALGORITHMS.find((a) => a.name === algorithm)?.configs.find((c) => c.name === config)?.short ?? config;
}
