// loadTorch on every form of torch.save file that test/torch/make_forms.py
// has real PyTorch write: each dtype (and the ones refused), bytes and
// bytearray under pickle protocols 2, 4 and 5, the legacy format, TorchScript
// archives, tied weights and views of one storage, model dicts under each
// protocol. Live against each installed oracle, with PyTorch loading what
// saveTorch writes back; and against the committed copies in
// fixtures/torch-files/forms-<version>/ on every machine.
import { expect } from 'chai';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { FileFormatError, loadTorch, saveTorch } from '../lib';
import { makeForms, torchLoadAll, type Described, type Form, type Manifest } from './torch/forms';
import { oracleFor, type PythonOracle } from './torch/python';

const root = path.join(__dirname, 'fixtures', 'torch-files');

/** The typed array of each dtype (the contract of TensorRecord). */
const ARRAYS: Record<string, string> = {
  float32: 'Float32Array', float64: 'Float64Array', float16: 'Uint16Array', bfloat16: 'Uint16Array',
  int64: 'BigInt64Array', int32: 'Int32Array', uint8: 'Uint8Array', bool: 'Uint8Array',
  int8: 'Int8Array', int16: 'Int16Array', uint16: 'Uint16Array', uint32: 'Uint32Array', uint64: 'BigUint64Array',
  float8_e4m3fn: 'Uint8Array', float8_e5m2: 'Uint8Array', float8_e4m3fnuz: 'Uint8Array', float8_e5m2fnuz: 'Uint8Array',
  complex64: 'Float32Array', complex128: 'Float64Array',
};
/** The dtypes PyTorch 2.6 can make that loadTorch reads and 1.13 cannot make. */
const NEW_IN_2 = ['uint16', 'uint32', 'uint64', 'float8_e4m3fn', 'float8_e5m2', 'float8_e4m3fnuz', 'float8_e5m2fnuz'];

interface LoadedRecord {
  dtype: string;
  shape: number[];
  data: ArrayBufferView & ArrayLike<number | bigint>;
}

const isRecord = (v: unknown): v is LoadedRecord => isObject(v) && typeof v.dtype === 'string' && ArrayBuffer.isView(v.data);
const isObject = (x: unknown): x is Record<string, unknown> => typeof x === 'object' && x !== null;

// JSON has no NaN or infinities; make_forms.py writes them as these strings.
const jsonNumber = (x: number): number | string => (Number.isNaN(x) ? 'NaN' : x === Infinity ? 'Infinity' : x === -Infinity ? '-Infinity' : x);

/** A loaded value the way make_forms.py describes the Python one, checking each record's array on the way. */
function describeLoaded(v: unknown, where: string): Described {
  if (v instanceof Uint8Array) return { bytes: Buffer.from(v).toString('hex') };
  if (typeof v === 'number') return { num: v };
  if (isRecord(v)) {
    const array = v.data.constructor.name;
    expect(array, `${where}: the array of a ${v.dtype} record`).to.equal(ARRAYS[v.dtype] ?? `(no ${v.dtype} in the contract)`);
    const numel = v.shape.reduce((a, b) => a * b, 1);
    expect(v.data.length, `${where}: elements for shape [${v.shape}]`).to.equal(v.dtype.startsWith('complex') ? 2 * numel : numel);
    const value = (x: number | bigint) => (typeof x === 'bigint' ? String(x) : array.startsWith('Float') ? jsonNumber(x) : x);
    const values = Array.from(v.data, value);
    return { tensor: v.dtype, shape: v.shape, values };
  }
  if (isObject(v) && !Array.isArray(v)) {
    return { dict: Object.entries(v).map(([k, x]) => [k, describeLoaded(x, `${where}.${k}`)]) };
  }
  throw new Error(`${where}: ${typeof v} ${String(v)} is not in any form of the corpus`);
}

const show = (x: unknown): string => (Object.is(x, -0) ? '-0' : JSON.stringify(x) ?? String(x));

/** Where two described values first differ (`at`.key.values[i]: got instead of wanted), or undefined. */
function difference(got: unknown, wanted: unknown, at: string): string | undefined {
  if (Object.is(got, wanted)) return undefined;
  if (!isObject(got) || !isObject(wanted)) return `${at}: ${show(got)} instead of ${show(wanted)}`;
  if (Array.isArray(got.dict) && Array.isArray(wanted.dict)) {
    // A dict by its keys, so the path names them.
    const [mine, theirs] = [got.dict, wanted.dict] as [string, unknown][][];
    const keys = (entries: [string, unknown][]) => show(entries.map(([k]) => k));
    if (keys(mine) !== keys(theirs)) return `${at}: keys ${keys(mine)} instead of ${keys(theirs)}`;
    return mine.map(([k, x], i) => difference(x, theirs[i][1], `${at}.${k}`)).find(Boolean);
  }
  if (Array.isArray(got) && Array.isArray(wanted) && got.length !== wanted.length) return `${at}: ${got.length} items instead of ${wanted.length}`;
  for (const key of new Set([...Object.keys(got), ...Object.keys(wanted)])) {
    const found = difference(got[key], wanted[key], Array.isArray(wanted) ? `${at}[${key}]` : `${at}.${key}`);
    if (found) return found;
  }
  return undefined;
}

/** Checks what loadTorch makes of one file against its manifest entry. */
async function checkForm(file: string, form: Form, options: { mmap?: boolean }): Promise<void> {
  const name = path.basename(file);
  const loaded = await loadTorch(file, options).then((value: unknown) => ({ value }), (error: unknown) => ({ error }));
  if (form.error) {
    const wanted = form.error.map(show).join(' and ');
    if (!('error' in loaded)) expect.fail(`loaded, but must be refused with a message containing ${wanted}`);
    const err = loaded.error as Error;
    if (!(err instanceof FileFormatError)) expect.fail(`refused with ${err}, not a FileFormatError`);
    if (!form.error.every((part) => err.message.includes(part))) expect.fail(`refused with "${err.message}", not containing ${wanted}`);
    return;
  }
  if ('error' in loaded) throw loaded.error;
  const value = loaded.value as Record<string, LoadedRecord>;
  const differs = difference(describeLoaded(value, name), form.expect, name);
  if (differs) expect.fail(differs);
  for (const { keys, offsets } of form.shared ?? []) {
    const buffers = new Set(keys.map((k) => value[k].data.buffer));
    expect(buffers.size, `${keys.join(', ')} share one storage in the file, so one buffer`).to.equal(1);
    // Where each view starts in the buffer, less its offset in the storage: the storage's start, the same for all.
    const starts = keys.map((k, i) => value[k].data.byteOffset - offsets[i]);
    expect(starts, `${keys.join(', ')}: byteOffsets less their storage offsets ${offsets}`).to.deep.equal(keys.map(() => starts[0]));
  }
  for (const { key, of } of form.copied ?? []) {
    expect(value[key].data.buffer !== value[of].data.buffer, `${key}, a strided view of ${of}'s storage, is a copy`).to.equal(true);
  }
}

/** Every form, read straight and memory-mapped; one failure listing every check that failed, with its error. */
async function checkAllForms(folder: string, manifest: Manifest): Promise<void> {
  const failures: string[] = [];
  let checks = 0;
  for (const [name, form] of Object.entries(manifest.forms)) {
    for (const mmap of [false, true]) {
      checks++;
      await checkForm(path.join(folder, name), form, { mmap }).catch((e: unknown) => {
        failures.push(`${name}${mmap ? ' (mmap)' : ''}: ${String((e as Error).message ?? e).split('\n')[0].slice(0, 400)}`);
      });
    }
  }
  if (failures.length > 0) expect.fail(`${failures.length} of ${checks} checks failed:\n  ${failures.join('\n  ')}`);
}

/** Tied records Node makes itself: one Float32Array whole, twice, and three views into it (rows, two halves). */
function nodeTied() {
  const all = Float32Array.from({ length: 12 }, (_, i) => i / 4 - 1);
  const record = (data: Float32Array, shape: number[]) => ({ dtype: 'float32' as const, shape, data });
  return {
    value: {
      a: record(all, [3, 4]), b: record(all, [3, 4]), rows: record(all.subarray(4, 12), [2, 4]),
      lo: record(all.subarray(0, 6), [6]), hi: record(all.subarray(6), [6]),
    },
    shared: [{ keys: ['a', 'b', 'rows', 'lo', 'hi'], offsets: [0, 0, 16, 0, 24] }],
  };
}

/**
 * saveTorch of every form loadTorch reads (and of Node's own tied records);
 * then PyTorch loads them all, and must find the manifest's values, and
 * tied weights over one storage at the same distances apart.
 */
async function checkRoundTrips(oracle: PythonOracle, dir: { host: string; python: string }, manifest: Manifest): Promise<void> {
  const failures: string[] = [];
  const expected: Record<string, Pick<Form, 'expect' | 'shared'>> = {};
  const out = path.join(dir.host, 'node');
  fs.mkdirSync(out);
  for (const [name, form] of Object.entries(manifest.forms)) {
    if (!form.expect) continue;
    try {
      await saveTorch(await loadTorch(path.join(dir.host, name)), path.join(out, name));
      expected[name] = form;
    } catch (e) {
      failures.push(`${name}: not loaded and saved: ${(e as Error).message.split('\n')[0]}`);
    }
  }
  const tied = nodeTied();
  await saveTorch(tied.value, path.join(out, 'node-tied.pt'));
  expected['node-tied.pt'] = { expect: describeLoaded(tied.value, 'node-tied.pt'), shared: tied.shared };

  const found = torchLoadAll(oracle, `${dir.python}/node`);
  for (const [name, form] of Object.entries(expected)) {
    const theirs = found[name] ?? { error: 'no such file in the answer' };
    if ('error' in theirs) {
      failures.push(`${name}: torch.load: ${theirs.error.split('\n')[0].slice(0, 400)}`);
      continue;
    }
    try {
      const differs = difference(theirs.value, form.expect, `torch.load(${name})`);
      if (differs) expect.fail(differs);
      for (const { keys, offsets } of form.shared ?? []) {
        const storages = keys.map((k) => theirs.storages[k]);
        expect(storages.map((s) => s[0]), `${keys.join(', ')}: one storage in PyTorch`).to.deep.equal(keys.map(() => storages[0][0]));
        expect(storages.map((s, i) => s[1] - offsets[i]), `${keys.join(', ')}: storage offsets less the original ones ${offsets}`)
          .to.deep.equal(keys.map(() => storages[0][1] - offsets[0]));
      }
    } catch (e) {
      failures.push(`${name}: ${(e as Error).message.split('\n')[0]}`);
    }
  }
  const checks = Object.keys(expected).length + failures.filter((f) => f.includes('not loaded')).length;
  if (failures.length > 0) expect.fail(`${failures.length} of ${checks} round trips failed:\n  ${failures.join('\n  ')}`);
}

describe('loadTorch on every form of torch.save file real PyTorch writes (make_forms.py, live)', function () {
  this.timeout(120_000);

  for (const id of ['torch-1.13', 'torch-2.6'] as const) {
    describe(id, () => {
      // One Python run makes the corpus for both tests.
      let corpus: ReturnType<typeof makeForms> | undefined;
      after(() => corpus && fs.rmSync(corpus.dir.host, { recursive: true, force: true }));

      it('reads each form as the manifest says, straight and memory-mapped', async function () {
        const oracle = oracleFor(this, id);
        corpus ??= makeForms(oracle);
        const dtypes = Object.keys(corpus.manifest.forms).filter((n) => n.startsWith('dtype-')).map((n) => n.slice(6, -3));
        const wanted = ['int8', 'int16', 'complex64', 'complex128', 'qint8', ...(id === 'torch-2.6' ? [...NEW_IN_2, 'complex32', 'bits8'] : [])];
        expect(dtypes, 'the dtypes the corpus has').to.include.members(wanted);
        await checkAllForms(corpus.dir.host, corpus.manifest);
      });

      it('PyTorch loads what saveTorch writes of each form: the same dtypes, shapes and values, tied weights as one storage', async function () {
        const oracle = oracleFor(this, id);
        corpus ??= makeForms(oracle);
        await checkRoundTrips(oracle, corpus.dir, corpus.manifest);
      });
    });
  }
});

describe('loadTorch on the committed forms from real PyTorch (fixtures/torch-files/forms-<version>/)', () => {
  for (const version of ['1.13', '2.6']) {
    const folder = path.join(root, `forms-${version}`);
    const manifest = JSON.parse(fs.readFileSync(path.join(folder, 'forms.json'), 'utf8')) as Manifest;
    describe(`PyTorch ${manifest.torch}`, () => {
      for (const [name, form] of Object.entries(manifest.forms)) {
        it(`${name}: ${form.what}${form.error ? ', refused' : ''}`, async () => {
          await checkForm(path.join(folder, name), form, {});
          await checkForm(path.join(folder, name), form, { mmap: true }).catch((e: Error) => {
            throw new Error(`memory-mapped: ${e.message}`);
          });
        });
      }
    });
  }
});
