// `simd-optim inspect <file>`: what a checkpoint holds, without Python.
import { bfloat16ToNumber, float16ToNumber, numelOf, type TensorRecord } from '../core/tensor';
import { loadAny } from '../io/any-file';
import { CliError, parseArgs } from './args';

const HELP = `usage: simd-optim inspect <file.pt | file.safetensors>

Prints the param groups and hyperparameters of an optimizer state dict, and
each tensor's dtype, shape and min / max / mean.`;

export async function runInspect(argv: string[]): Promise<void> {
  const { flags, positional } = parseArgs(argv, { help: { type: 'boolean', default: false } });
  if (flags.help) return console.log(HELP);
  if (positional.length !== 1) throw new CliError(`expected one file, got ${positional.length}\n\n${HELP}`);
  const file = positional[0];
  const { kind, value } = await loadOrExplain(file);
  console.log(`${file}: ${kind === 'torch' ? 'torch.save file' : 'safetensors file'}`);
  for (const line of describeValue(value)) console.log(line);
}

export async function loadOrExplain(file: string): ReturnType<typeof loadAny> {
  try {
    return await loadAny(file);
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    if (e.code === 'ENOENT') throw new CliError(`no such file: ${file}`);
    if (e.name === 'FileFormatError') throw new CliError(e.message);
    throw new CliError(e.message.startsWith('cannot read') ? e.message : `cannot read ${file}: ${e.message}`);
  }
}

/** The lines inspect prints for a loaded value. */
export function describeValue(value: unknown): string[] {
  const v = value as Record<string, unknown>;
  if (v !== null && typeof v === 'object' && Array.isArray(v.param_groups) && typeof v.state === 'object') {
    return describeOptimizer(v.state as Record<string, Record<string, unknown>>, v.param_groups as Record<string, unknown>[]);
  }
  const lines: string[] = [];
  const walker: Walker = { values: MAX_VALUES, seen: new Map() };
  walk(value, '', lines, walker);
  if (walker.values < 0) lines.push(`... stopped after ${MAX_VALUES} values`);
  return lines;
}

/** How many values inspect prints at most. */
const MAX_VALUES = 1_000_000;

/**
 * The walk's budget, and where each list, dict and tensor was first printed: a
 * value pickled once and referred to again (tied weights, or a file built to
 * unfold 2^60 times) is printed once and named at its other places.
 */
interface Walker {
  values: number;
  /** Where each was first printed, and a tensor's description, so that it is read once. */
  seen: Map<object, { path: string; tensor?: string }>;
}

function describeOptimizer(state: Record<string, Record<string, unknown>>, groups: Record<string, unknown>[]): string[] {
  const lines = [`optimizer state dict: ${groups.length} param group(s), state for ${Object.keys(state).length} param(s)`];
  groups.forEach((g, i) => {
    const hyper = Object.entries(g).filter(([k]) => k !== 'params').map(([k, x]) => `${k}=${formatScalar(x)}`);
    lines.push(`group ${i}: params [${(g.params as unknown[]).join(', ')}]`, `  ${hyper.join('  ')}`);
  });
  for (const [index, entry] of Object.entries(state)) {
    lines.push(`state ${index}:`);
    for (const [name, x] of Object.entries(entry)) lines.push(`  ${name.padEnd(16)} ${isRecord(x) ? describeTensor(x) : formatScalar(x)}`);
  }
  return lines;
}

function walk(value: unknown, path: string, lines: string[], walker: Walker): void {
  if (--walker.values < 0) return;
  const name = path || '(the whole file)';
  if (value !== null && typeof value === 'object' && !isScalarList(value) && !(value instanceof Uint8Array)) {
    const first = walker.seen.get(value);
    if (first !== undefined) {
      // Tied weights: the tensor's line again (described once), and which one it is.
      if (first.tensor !== undefined) lines.push(`${name.padEnd(24)} ${first.tensor}  (the same tensor as ${first.path || '(the whole file)'})`);
      else lines.push(`${name} = the same object as ${first.path || '(the whole file)'}`);
      return;
    }
    walker.seen.set(value, { path, tensor: isRecord(value) ? describeTensor(value) : undefined });
  }
  if (isRecord(value)) {
    lines.push(`${name.padEnd(24)} ${walker.seen.get(value)!.tensor}`);
  } else if (Array.isArray(value)) {
    if (isScalarList(value)) lines.push(`${name} = [${value.map(formatScalar).join(', ')}]`);
    else value.forEach((x, i) => walk(x, `${path}[${i}]`, lines, walker));
  } else if (value !== null && typeof value === 'object' && !(value instanceof Uint8Array)) {
    const entries = Object.entries(value);
    if (!entries.length) lines.push(`${name} = {}`);
    // Keys are joined with dots, as PyTorch names a model's tensors ("0.weight"); an empty key, which would vanish, is quoted.
    for (const [k, x] of entries) walk(x, k === '' ? `${path}[""]` : path ? `${path}.${k}` : k, lines, walker);
  } else {
    lines.push(`${name} = ${formatScalar(value)}`);
  }
}

/** A list of numbers, strings and the like: printed in full wherever it appears. */
function isScalarList(x: object): x is unknown[] {
  return Array.isArray(x) && x.every((e) => e === null || typeof e !== 'object');
}

function isRecord(x: unknown): x is TensorRecord {
  return x !== null && typeof x === 'object' && 'dtype' in x && 'shape' in x && 'data' in x;
}

function formatScalar(x: unknown): string {
  if (typeof x === 'string') return JSON.stringify(x);
  if (x instanceof Uint8Array) return `bytes(${x.length})`;
  if (typeof x === 'bigint') return String(x);
  return x === null ? 'None' : String(x);
}

/** dtype, shape and min / max / mean (NaNs counted apart, so one bad value does not hide the rest). */
export function describeTensor(t: TensorRecord): string {
  const n = numelOf(t.shape);
  let min = Infinity;
  let max = -Infinity;
  let sum = 0;
  let nan = 0;
  const value = valueReader(t);
  for (let i = 0; i < n; i++) {
    const x = value(i);
    if (Number.isNaN(x)) {
      nan++;
      continue;
    }
    if (x < min) min = x;
    if (x > max) max = x;
    sum += x;
  }
  const head = `${t.dtype.padEnd(8)} [${t.shape.join(', ')}]`;
  if (n === nan) return n === 0 ? `${head} (empty)` : `${head} all NaN`;
  if (n === 1) return `${head.padEnd(24)} = ${fmt(sum)}`;
  const stats = `min ${fmt(min)}  max ${fmt(max)}  mean ${fmt(sum / (n - nan))}`;
  return `${head.padEnd(24)} ${stats}${nan > 0 ? `  (${nan} NaN)` : ''}`;
}

function valueReader(t: TensorRecord): (i: number) => number {
  const data = t.data as ArrayLike<number | bigint>;
  if (t.dtype === 'float16') return (i) => float16ToNumber(data[i] as number);
  if (t.dtype === 'bfloat16') return (i) => bfloat16ToNumber(data[i] as number);
  return (i) => Number(data[i]);
}

function fmt(x: number): string {
  return Number.isInteger(x) && Math.abs(x) < 1e15 ? String(x) : x.toPrecision(6);
}
