// `simd-optim convert <in> <out>`: torch.save ↔ safetensors, chosen by the
// output's extension (.safetensors, or .pt/.pth/.bin for torch.save).
import * as path from 'path';
import { saveSafetensors } from '../io/safetensors';
import { saveTorch, type TorchFileForm } from '../io/torch-save';
import { CliError, parseArgs } from './args';
// The optimizers, so that a dict's step is written as its optimizer stores it in the form asked for.
import '../optim/registry';
import { loadOrExplain } from './inspect';

const HELP = `usage: simd-optim convert <input> <output> [--form 2.x|1.13]

Converts between torch.save files (.pt, .pth, .bin) and .safetensors; the
output's extension picks the format. --form chooses which PyTorch generation's
layout a .pt output follows (default: the one the state dict comes from).`;

export async function runConvert(argv: string[]): Promise<void> {
  const { flags, positional } = parseArgs(argv, {
    help: { type: 'boolean', default: false },
    form: { type: 'string' },
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
  const { value } = await loadOrExplain(input);
  try {
    if (toTorch) await saveTorch(value, output, form === undefined ? {} : { form: form as TorchFileForm });
    else await saveSafetensors(value, output);
  } catch (err) {
    if (err instanceof TypeError || err instanceof RangeError) throw new CliError(`cannot write ${output}: ${err.message}`);
    // File system errors already name the output ("cannot write <output>: ENOENT (...)").
    if (typeof (err as NodeJS.ErrnoException).code === 'string') throw new CliError((err as Error).message);
    throw err;
  }
  console.log(`${input} → ${output}`);
}
