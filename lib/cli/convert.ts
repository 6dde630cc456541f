// `simd-optim convert <in> <out>`: torch.save ↔ safetensors, chosen by the
// output's extension (.safetensors, or .pt/.pth/.bin for torch.save).
import * as path from 'path';
import { saveSafetensors } from '../io/safetensors';
import { isOptimizerDict } from '../io/optimizer-dict';
import { isFloatArray, Parameter, type TensorRecord } from '../core/tensor';
import { saveTorch, type TorchFileForm } from '../io/torch-save';
import { CliError, parseArgs } from './args';
// The optimizers, so that a dict's step is written as its optimizer stores it in the form asked for.
import '../optim/registry';
import { loadOrExplain } from './inspect';

const HELP = `usage: simd-optim convert <input> <output> [--form 2.x|1.13] [--key NAME]

Converts between torch.save files (.pt, .pth, .bin) and .safetensors; the
output's extension picks the format. --form chooses which PyTorch generation's
layout a .pt output follows (default: the one the state dict comes from).
--key converts one entry of a checkpoint dict (--key model_state_dict).

A checkpoint that mixes tensors, dicts and numbers ({epoch, model_state_dict,
optimizer_state_dict, loss}) becomes a .safetensors file of every tensor,
named by its path with dots as PyTorch names a model's ("model_state_dict.0.weight"),
with the other values in __metadata__ as JSON under their path.`;

export async function runConvert(argv: string[]): Promise<void> {
  const { flags, positional } = parseArgs(argv, {
    help: { type: 'boolean', default: false },
    form: { type: 'string' },
    key: { type: 'string' },
  });
  if (flags.help) return console.log(HELP);
  if (positional.length !== 2) throw new CliError(`expected an input and an output file, got ${positional.length} argument(s)\n\n${HELP}`);
  const [input, output] = positional;
  const form = flags.form as string | undefined;
  if (form !== undefined && form !== '2.x' && form !== '1.13') throw new CliError(`--form must be 2.x or 1.13, got '${form}'`);
  const ext = path.extname(output).toLowerCase();
  const toTorch = ['.pt', '.pth', '.bin', '.ckpt'].includes(ext);
  if (!toTorch && ext !== '.safetensors') {
    throw new CliError(`cannot tell the output format from '${output}': use a .safetensors or .pt/.pth/.bin name`);
  }
  if (!toTorch && form !== undefined) throw new CliError('--form applies to .pt outputs only');
  const loaded = (await loadOrExplain(input)).value;
  const key = flags.key as string | undefined;
  const value = key === undefined ? loaded : entryOf(loaded, key, input);
  try {
    if (toTorch) await saveTorch(value, output, form === undefined ? {} : { form: form as TorchFileForm });
    else if (isOptimizerDict(value) || isTensorDict(value)) await saveSafetensors(value, output);
    else {
      const { tensors, metadata } = flattenCheckpoint(value);
      await saveSafetensors(tensors, output, metadata);
    }
  } catch (err) {
    if (err instanceof TypeError || err instanceof RangeError) throw new CliError(`cannot write ${output}: ${err.message}`);
    // File system errors already name the output ("cannot write <output>: ENOENT (...)").
    if (typeof (err as NodeJS.ErrnoException).code === 'string') throw new CliError((err as Error).message);
    throw err;
  }
  console.log(`${input} → ${output}`);
}

/** A checkpoint's entry `key`, or an error listing the keys there are. */
function entryOf(value: unknown, key: string, file: string): unknown {
  if (value === null || typeof value !== 'object' || Array.isArray(value) || !Object.prototype.hasOwnProperty.call(value, key)) {
    const keys = value !== null && typeof value === 'object' && !Array.isArray(value) ? Object.keys(value) : [];
    throw new CliError(`${file} has no entry '${key}'${keys.length ? `; its keys: ${keys.join(', ')}` : ' (it is not a dict)'}`);
  }
  return (value as Record<string, unknown>)[key];
}

const isRecord = (x: unknown): x is TensorRecord => x !== null && typeof x === 'object' && 'dtype' in x && 'shape' in x && 'data' in x;

/** A dict whose every value is a tensor: a model's state_dict, written as it is. */
function isTensorDict(value: unknown): boolean {
  if (value === null || typeof value !== 'object' || Array.isArray(value) || isRecord(value)) return false;
  const values = Object.values(value);
  return values.length > 0 && values.every((v) => isRecord(v) || v instanceof Parameter || isFloatArray(v));
}

/**
 * Every tensor of a nested value, named by its path with dots (a list's
 * items by index), and every other leaf as JSON in the metadata under its
 * path: a number, a string, a boolean, None, or a list of such.
 */
export function flattenCheckpoint(value: unknown): { tensors: Record<string, TensorRecord>; metadata: Record<string, string> } {
  const tensors: Record<string, TensorRecord> = {};
  const metadata: Record<string, string> = {};
  const seen = new Set<object>();
  const visit = (v: unknown, path: string): void => {
    const name = path === '' ? '(the whole file)' : path;
    if (isRecord(v)) {
      tensors[path] = v;
      return;
    }
    if (v === null || typeof v !== 'object') {
      metadata[path] = jsonOf(v, name);
      return;
    }
    if (seen.has(v)) throw new CliError(`${name} is a value met before (shared or tied): safetensors cannot hold it twice`);
    seen.add(v);
    if (Array.isArray(v) && v.every((x) => x === null || typeof x !== 'object')) {
      metadata[path] = `[${v.map((x, i) => jsonOf(x, `${name}[${i}]`)).join(',')}]`;
      return;
    }
    const entries = Array.isArray(v) ? v.map((x, i) => [String(i), x] as const) : Object.entries(v);
    for (const [k, x] of entries) visit(x, path === '' ? k : `${path}.${k}`);
  };
  visit(value, '');
  return { tensors, metadata };
}

function jsonOf(x: unknown, where: string): string {
  if (typeof x === 'bigint') return String(x);
  if (typeof x === 'number' && !Number.isFinite(x)) return JSON.stringify(String(x)); // JSON has no NaN or Infinity
  if (x === null || ['number', 'string', 'boolean'].includes(typeof x)) return JSON.stringify(x);
  if (x instanceof Uint8Array) throw new CliError(`${where} is bytes, which safetensors metadata cannot hold`);
  throw new CliError(`${where} is ${typeof x}, which safetensors metadata cannot hold`);
}
