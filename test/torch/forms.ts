// Runs make_forms.py under an oracle: it writes the corpus of torch.save
// forms and its manifest, or describes what torch.load finds in Node's files.
// Used by ../io-forms.test.ts and make-form-fixtures.ts.
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { PythonOracle } from './python';

/** A value as make_forms.py describes it (see its header). */
export type Described =
  | { tensor: string; shape: number[]; values: (number | string)[] }
  | { dict: [string, Described][] }
  | { bytes: string }
  | { num: number };

export interface Form {
  what: string;
  expect?: Described;
  /** Substrings loadTorch's FileFormatError message must contain. */
  error?: string[];
  /** Top-level keys that are contiguous views of one storage, and their byte offsets into it. */
  shared?: { keys: string[]; offsets: number[] }[];
  /** Strided views (`key`) of the storage that `of` is a contiguous view of. */
  copied?: { key: string; of: string }[];
}

export interface Manifest {
  torch: string;
  forms: Record<string, Form>;
}

/** What torch.load found in one of Node's files: the value, and each top-level tensor's [storage pointer, byte offset]. */
export type Loaded = { value: Described; storages: Record<string, [number, number]> } | { error: string };

const script = fs.readFileSync(path.join(__dirname, 'make_forms.py'), 'utf8');

function run(oracle: PythonOracle, args: string[]): unknown {
  // The script goes in with `python3 -c`, which takes its arguments from sys.argv.
  return oracle.run(`import sys\nsys.argv = ${JSON.stringify(['make_forms.py', ...args])}\n${script}`, {});
}

/** Writes the corpus into a fresh folder: its paths and the manifest. */
export function makeForms(oracle: PythonOracle): { dir: { host: string; python: string }; manifest: Manifest } {
  const dir = oracle.tempDir();
  run(oracle, [dir.python]);
  return { dir, manifest: JSON.parse(fs.readFileSync(path.join(dir.host, 'forms.json'), 'utf8')) as Manifest };
}

/** torch.load (weights_only=True on 2.x) of every .pt file in `pythonDir`. */
export function torchLoadAll(oracle: PythonOracle, pythonDir: string): Record<string, Loaded> {
  return (run(oracle, ['--load', pythonDir]) as { files: Record<string, Loaded> }).files;
}
