// simd-optim: PyTorch-compatible optimizers for Node.js. Public API only.
export { Parameter, type DType, type DTypeArrays, type FloatArray, type FloatDType, type TensorRecord } from './tensor';
export { zeros } from './zeros';
export {
  Optimizer,
  type ParamGroup,
  type ParamGroupInput,
  type ParamState,
  type StateDict,
  type StateMap,
  type StateValue,
} from './optimizer';
export { RMSprop, type Compat, type RMSpropGroup, type RMSpropOptions } from './rmsprop';
export { Adagrad, type AdagradGroup, type AdagradOptions } from './adagrad';
export type { KernelOptions, OptimizerWideOptions } from './kernel-optimizer';
export { ops } from './ops';
export { alphaForWindow, effectiveWindow } from './hyper';
export { backendInfo, useBackend, useIsa, type BackendInfo } from './backend';
export {
  FileFormatError,
  loadTorch,
  saveTorch,
  torchBytes,
  loadSafetensors,
  saveSafetensors,
  readSafetensors,
  type TorchValue,
  type SaveTorchOptions,
  type TorchFileForm,
  type SafetensorsFile,
  type SafetensorsValue,
} from './io';
