// Reading and writing PyTorch's files (torch.save) and safetensors.
export { FileFormatError } from './format-error';
export { loadTorch, type TorchValue } from './torch-load';
export type { LoadOptions } from './storage-arrays';
export { saveTorch, torchBytes, type SaveTorchOptions, type TorchFileForm } from './torch-save';
export { loadSafetensors, saveSafetensors, readSafetensors, type SafetensorsFile, type SafetensorsValue } from './safetensors';
