// simd-optim/tfjs: simd-optim's optimizers as a TensorFlow.js tf.Optimizer.
// The only entry that loads @tensorflow/tfjs-core (an optional peer dependency).
export { TfOptimizer, tfOptimizer, type NamedTensor, type OptimizerFactory, type TfOptimizerOptions, type TransferReport } from './tfjs/bridge';
export type { TransferPath } from './tfjs/transfer';
export { TorchSequential, torchSequential, type LayersModelLike, type TorchSequentialOptions } from './tfjs/torch-sequential';
