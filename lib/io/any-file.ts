// Loads a .pt or a .safetensors file by its content (zip magic or not), for
// the CLI, which takes either.
import { promises as fsp } from 'fs';
import { loadSafetensors } from './safetensors';
import { loadTorch, type TorchValue } from './torch-load';

export type FileKind = 'torch' | 'safetensors';

export async function fileKind(path: string): Promise<FileKind> {
  const handle = await fsp.open(path, 'r');
  try {
    const head = new Uint8Array(4);
    await handle.read(head, 0, 4, 0);
    const zip = head[0] === 0x50 && head[1] === 0x4b;
    // Legacy torch files are pickles (0x80); let loadTorch explain those too.
    return zip || head[0] === 0x80 ? 'torch' : 'safetensors';
  } finally {
    await handle.close();
  }
}

export async function loadAny(path: string): Promise<{ kind: FileKind; value: TorchValue }> {
  const kind = await fileKind(path);
  const value = kind === 'torch' ? await loadTorch(path) : ((await loadSafetensors(path)) as unknown as TorchValue);
  return { kind, value };
}
