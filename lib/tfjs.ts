// simd-optim/tfjs: simd-optim's optimizers as a TensorFlow.js tf.Optimizer.
// The only entry that loads @tensorflow/tfjs-core (an optional peer dependency).
/**
 * `import { tfOptimizer, torchSequential } from 'simd-optim/tfjs'`: simd-optim's optimizers for TensorFlow.js models, and their weights and state in PyTorch's form. See the guide, docs/tfjs.md.
 * @module simd-optim/tfjs
 */
import './tfjs/peer';
export { TfOptimizer, tfOptimizer, type NamedTensor, type OptimizerFactory, type TfOptimizerOptions, type TransferReport } from './tfjs/bridge';
export type { TransferCounts, TransferPath } from './tfjs/transfer';
export { TorchSequential, torchSequential, type LayerLike, type LayersModelLike, type TorchSequentialOptions } from './tfjs/torch-sequential';
