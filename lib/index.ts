// simd-optim: PyTorch-compatible optimizers for Node.js. Public API only.
/**
 * `import { RMSprop, loadTorch, ... } from 'simd-optim'`: the optimizers, schedulers, clipping, EMA and PyTorch's files.
 * @module simd-optim
 */
import './optim/registry';
export { Parameter, type DType, type DTypeArrays, type FloatArray, type FloatDType, type TensorRecord } from './core/tensor';
export { zeros } from './engine/zeros';
export { ModelState, type ModelStateOptions } from './core/model-state';
export {
  Optimizer,
  type ParamGroup,
  type ParamGroupInput,
  type ParamState,
  type StateDict,
  type StateMap,
  type StateValue,
} from './core/optimizer';
export { RMSprop, type Compat, type RMSpropGroup, type RMSpropOptions } from './optim/rmsprop';
export { Adagrad, type AdagradGroup, type AdagradOptions } from './optim/adagrad';
export { SGD, type SGDGroup, type SGDOptions } from './optim/sgd';
export { Adam, AdamW, type AdamGroup, type AdamOptions } from './optim/adam';
export type { FromStateDictOptions, KernelOptions, OptimizerWideOptions } from './engine/engine-optimizer';
export { ops } from './engine/ops';
export * from './sched';
export { alphaForWindow, effectiveWindow } from './optim/hyper';
export { backendInfo, useBackend, useIsa, type BackendInfo } from './engine/backend';
export {
  FileFormatError,
  loadTorch,
  saveTorch,
  torchBytes,
  loadSafetensors,
  saveSafetensors,
  readSafetensors,
  type TorchValue,
  type LoadOptions,
  type SaveTorchOptions,
  type TorchFileForm,
  type SafetensorsFile,
  type SafetensorsValue,
} from './io';
