// `simd-optim inspect <file>`: what a checkpoint holds, without Python.
import { bfloat16ToNumber, float16ToNumber, numelOf, valuesPerElement, type TensorRecord } from '../core/tensor';
import { float8ToNumber, isFloat8 } from '../core/float8';
import { loadAny } from '../io/any-file';
import { mappingOf, type LoadOptions } from '../io/storage-arrays';
import { identifyGroup } from '../engine/dict-kinds';
// The optimizers, so that a dict's groups are recognised.
import '../optim/registry';
import { CliError, parseArgs } from './args';

const HELP = `usage: simd-optim inspect <file.pt | file.safetensors>

Prints the param groups and hyperparameters of an optimizer state dict, and
each tensor's dtype, shape and min / max / mean (of |z| for complex ones),
and which tensors a load with { mmap: true } would copy rather than map.`;

export async function runInspect(argv: string[]): Promise<void> {
  const { flags, positional } = parseArgs(argv, { help: { type: 'boolean', default: false } });
  if (flags.help) return console.log(HELP);
  if (positional.length !== 1) throw new CliError(`expected one file, got ${positional.length}\n\n${HELP}`);
  const file = positional[0];
  const { kind, value } = await loadOrExplain(file, { mmap: true });
  console.log(`${file}: ${kind === 'torch' ? 'torch.save file' : 'safetensors file'}`);
  for (const line of describeValue(value)) console.log(line);
  console.log(describeMapping(value));
}

/** Which tensors a mapped load copies, and why (a load with { mmap: true } marks them). */
export function describeMapping(value: unknown): string {
  const copied = new Map<string, string[]>();
  let count = 0;
  const seen = new Set<object>();
  const visit = (v: unknown, path: string): void => {
    if (v === null || typeof v !== 'object' || seen.has(v) || v instanceof Uint8Array) return;
    seen.add(v);
    if (isRecord(v)) {
      count++;
      const how = mappingOf(v.data);
      if (how !== undefined && how !== 'mapped') copied.set(how, [...(copied.get(how) ?? []), path || '(the whole file)']);
      return;
    }
    for (const [k, x] of Object.entries(v)) visit(x, path ? `${path}.${k}` : k);
  };
  visit(value, '');
  if (copied.size === 0) return `mmap: ${count === 1 ? 'the tensor maps' : `all ${count} tensors map`} in place`;
  const lines = [...copied].map(([why, names]) =>
    `  ${why}: ${names.slice(0, 5).join(', ')}${names.length > 5 ? ` and ${names.length - 5} more` : ''}`);
  return [`mmap: ${[...copied.values()].reduce((n, names) => n + names.length, 0)} of ${count} tensors would be copied`, ...lines].join('\n');
}

export async function loadOrExplain(file: string, options: LoadOptions = {}): ReturnType<typeof loadAny> {
  try {
    return await loadAny(file, options);
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
  const rows: Row[] = [];
  const walker: Walker = { values: MAX_VALUES, seen: new Map() };
  walk(value, '', rows, walker);
  const lines = aligned(rows);
  if (walker.values < 0) lines.push(`... stopped after ${MAX_VALUES} values`);
  return lines;
}

/** A line of the listing: a name and what it holds (a tensor's description), or text of its own. */
type Row = { name: string; text: string } | string;

/** The rows with every name padded to the longest, so that the descriptions line up however long the names are. */
function aligned(rows: Row[], indent = ''): string[] {
  const width = rows.reduce((w, r) => (typeof r === 'string' ? w : Math.max(w, r.name.length)), 0);
  return rows.map((r) => (typeof r === 'string' ? r : `${indent}${r.name.padEnd(width)}  ${r.text}`));
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
    const { optimizers, generation, why } = identifyGroup(g);
    const hyper = Object.entries(g).filter(([k]) => k !== 'params').map(([k, x]) => `${k}=${formatScalar(x)}`);
    lines.push(`group ${i}: params [${(g.params as unknown[]).map(formatScalar).join(', ')}]`);
    if (optimizers.length > 0) {
      lines.push(`  ${optimizers.join(' or ')}, ` +
        (generation !== undefined ? `written by PyTorch ${generation}` : `by a PyTorch generation the dict does not tell${why ? ` (${why})` : ''}`));
    }
    lines.push(`  ${hyper.join('  ')}`);
  });
  for (const [index, entry] of Object.entries(state)) {
    lines.push(`state ${index}:`);
    lines.push(...aligned(Object.entries(entry).map(([name, x]) => ({ name, text: isRecord(x) ? describeTensor(x) : formatScalar(x) })), '  '));
  }
  return lines;
}

function walk(value: unknown, path: string, lines: Row[], walker: Walker): void {
  if (--walker.values < 0) return;
  const name = path || '(the whole file)';
  if (value !== null && typeof value === 'object' && !isScalarList(value) && !(value instanceof Uint8Array)) {
    const first = walker.seen.get(value);
    if (first !== undefined) {
      // Tied weights: the tensor's line again (described once), and which one it is.
      if (first.tensor !== undefined) lines.push({ name, text: `${first.tensor}  (the same tensor as ${first.path || '(the whole file)'})` });
      else lines.push(`${name} = the same object as ${first.path || '(the whole file)'}`);
      return;
    }
    walker.seen.set(value, { path, tensor: isRecord(value) ? describeTensor(value) : undefined });
  }
  if (isRecord(value)) {
    lines.push({ name, text: walker.seen.get(value)!.tensor! });
  } else if (Array.isArray(value)) {
    if (isScalarList(value)) lines.push(`${name} = ${formatScalar(value)}`);
    else value.forEach((x, i) => walk(x, `${path}[${i}]`, lines, walker));
  } else if (value !== null && typeof value === 'object' && !(value instanceof Uint8Array)) {
    const entries = Object.entries(value);
    if (!entries.length) lines.push(`${name} = {}`);
    // Keys are joined with dots, as PyTorch names a model's tensors ("0.weight"); an empty key, which would vanish, is quoted.
    for (const [k, x] of entries) walk(x, k === '' ? `${path}['']` : path ? `${path}.${k}` : k, lines, walker);
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

/** A value as Python prints it: None, True, 'text', 1e-08, inf, (a, b) for a tuple. */
function formatScalar(x: unknown): string {
  if (x === null || x === undefined) return 'None';
  if (x === true) return 'True';
  if (x === false) return 'False';
  if (typeof x === 'string') return `'${x.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
  if (x instanceof Uint8Array) return `bytes(${x.length})`;
  if (typeof x === 'bigint') return String(x);
  if (typeof x === 'number') return pythonNumber(x);
  if (Array.isArray(x)) {
    const items = x.map(formatScalar);
    return Object.isFrozen(x) ? `(${items.join(', ')}${items.length === 1 ? ',' : ''})` : `[${items.join(', ')}]`;
  }
  return String(x);
}

/** A number as Python's repr writes it: inf, nan, and a two-digit exponent (1e-08). */
function pythonNumber(x: number): string {
  if (Number.isNaN(x)) return 'nan';
  if (!Number.isFinite(x)) return x > 0 ? 'inf' : '-inf';
  return String(x).replace(/e([+-])(\d)$/, 'e$10$2');
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
  const complex = valuesPerElement(t.dtype) === 2;
  if (n === nan) return n === 0 ? `${head} (empty)` : `${head} all NaN`;
  if (n === 1 && !complex) return `${head.padEnd(24)} = ${pythonNumber(sum)}`;
  // Complex tensors: the statistics of |z|.
  const stats = `${complex ? '|z| ' : ''}min ${fmt(min)}  max ${fmt(max)}  mean ${fmt(sum / (n - nan))}`;
  return `${head.padEnd(24)} ${stats}${nan > 0 ? `  (${nan} NaN)` : ''}`;
}

function valueReader(t: TensorRecord): (i: number) => number {
  const data = t.data as ArrayLike<number | bigint>;
  if (t.dtype === 'float16') return (i) => float16ToNumber(data[i] as number);
  if (t.dtype === 'bfloat16') return (i) => bfloat16ToNumber(data[i] as number);
  const { dtype } = t;
  if (isFloat8(dtype)) return (i) => float8ToNumber(data[i] as number, dtype);
  if (valuesPerElement(dtype) === 2) return (i) => Math.hypot(data[2 * i] as number, data[2 * i + 1] as number);
  return (i) => Number(data[i]);
}

/** A statistic as Python's '%g' writes it, six significant digits (whole numbers in full). */
function fmt(x: number): string {
  if (!Number.isFinite(x)) return pythonNumber(x);
  if (Number.isInteger(x) && Math.abs(x) < 1e15) return String(x);
  const [mantissa, exponent] = x.toExponential(5).split('e');
  const e = Number(exponent);
  const trim = (s: string) => (s.includes('.') ? s.replace(/\.?0+$/, '') : s);
  if (e < -4 || e >= 6) return `${trim(mantissa)}e${e < 0 ? '-' : '+'}${String(Math.abs(e)).padStart(2, '0')}`;
  return trim(x.toFixed(5 - e));
}
