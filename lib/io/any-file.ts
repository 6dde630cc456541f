// Loads a .pt or a .safetensors file by its content (zip magic or not), for
// the CLI, which takes either.
import { openSource } from './byte-source';
import { FileFormatError } from './format-error';
import { loadSafetensors } from './safetensors';
import { loadTorch, type TorchValue } from './torch-load';
import type { LoadOptions } from './storage-arrays';

export type FileKind = 'torch' | 'safetensors';

/** What a file holds, by its first bytes: a zip (or a legacy pickle) is torch's, a length then '{' safetensors'. */
export async function fileKind(path: string): Promise<FileKind> {
  const source = await openSource(path);
  try {
    const head = await source.read(0, Math.min(9, source.size));
    const zip = head[0] === 0x50 && head[1] === 0x4b;
    // Legacy torch files are pickles (0x80); let loadTorch explain those too.
    if (zip || head[0] === 0x80) return 'torch';
    if (head.length === 9 && head[8] === 0x7b) return 'safetensors';
    throw new FileFormatError(path, 'neither a torch.save file (a zip) nor a safetensors file (a JSON header)');
  } finally {
    await source.close();
  }
}

export async function loadAny(path: string, options: LoadOptions = {}): Promise<{ kind: FileKind; value: TorchValue }> {
  const kind = await fileKind(path);
  const value = kind === 'torch' ? await loadTorch(path, options) : ((await loadSafetensors(path, options)) as unknown as TorchValue);
  return { kind, value };
}
