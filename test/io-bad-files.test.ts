// Files that are not what they claim: each gets a FileFormatError naming the
// file and the problem, never a crash, a hang, a wrong value or code run.
// Then a seeded fuzz run: thousands of mutated real files, each must load or
// fail with a FileFormatError, nothing else.
import { expect } from 'chai';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { FileFormatError, loadSafetensors, loadTorch, saveSafetensors, torchBytes } from '../lib';
import { describeValue } from '../lib/cli/inspect';
import { dict, pickle, pyGlobal, reduce, tuple, persistentId, type PyValue } from '../lib/io/pickle-write';
import { fullTests } from './helpers';
import { zipOf, zipRecords } from './zip-helpers';

const fixture = (version: string, name: string) => path.join(__dirname, 'fixtures', 'torch-files', version, name);
const text = (s: string) => new TextEncoder().encode(s);

/** A zip holding the given records under archive/ (as torch.save would lay them out). */
const archive = (records: Record<string, Uint8Array>): Promise<Uint8Array> =>
  zipOf(Object.entries(records).map(([name, data]): [string, Uint8Array] => [`archive/${name}`, data]));

/** A torch.save-like file whose data.pkl is `value` and whose storages are `storages`. */
function torchFile(value: PyValue, storages: Record<string, Uint8Array> = {}, extra: Record<string, Uint8Array> = {}) {
  const records: Record<string, Uint8Array> = { 'data.pkl': pickle(value), version: text('3\n'), ...extra };
  for (const [key, data] of Object.entries(storages)) records[`data/${key}`] = data;
  return archive(records);
}

const tensor = (storageType: string, numel: number, size: number[], stride: number[], offset = 0): PyValue =>
  reduce(pyGlobal('torch._utils', '_rebuild_tensor_v2'),
    persistentId(tuple('storage', pyGlobal('torch', storageType), '0', 'cpu', numel)),
    offset, tuple(...size), tuple(...stride), false, reduce(pyGlobal('collections', 'OrderedDict')));

const [STOP, MARK, EMPTY_LIST, EMPTY_DICT, BINPUT, BINGET, APPEND, SETITEM, DICT, BININT1, LIST, POP] =
  [0x2e, 0x28, 0x5d, 0x7d, 0x71, 0x68, 0x61, 0x73, 0x64, 0x4b, 0x6c, 0x30];
const BINFLOAT = 0x47;
const f64be = (x: number) => { const b = Buffer.alloc(8); b.writeDoubleBE(x); return [...b]; };
const u32 = (n: number) => [n & 0xff, (n >>> 8) & 0xff, (n >>> 16) & 0xff, n >>> 24];
/** SHORT_BINUNICODE of a short ASCII string. */
const str = (s: string) => [0x8c, s.length, ...Buffer.from(s)];
/** A torch.save-like file whose data.pkl is these pickle opcodes (protocol 2). */
const rawPickle = (ops: number[]) => archive({ 'data.pkl': Uint8Array.from([0x80, 2, ...ops]), version: text('3\n') });

/** The last central directory entry claims a zip64 size, with an extra block too short for its zip64 field. */
function zip64ExtraOverrun(zip: Uint8Array): Uint8Array {
  const b = Buffer.from(zip);
  const eocd = b.length - 22;
  const dirOffset = b.readUInt32LE(eocd + 16);
  let at = dirOffset;
  let last = 0;
  for (let i = 0; i < b.readUInt16LE(eocd + 10); i++) {
    last = at;
    at += 46 + b.readUInt16LE(at + 28) + b.readUInt16LE(at + 30) + b.readUInt16LE(at + 32);
  }
  const entry = Buffer.from(b.subarray(last, last + 46 + b.readUInt16LE(last + 28)));
  entry.writeUInt32LE(0xffffffff, 24);
  entry.writeUInt16LE(4, 30);
  const directory = Buffer.concat([b.subarray(dirOffset, last), entry, Buffer.from([1, 0, 16, 0])]);
  const end = Buffer.from(b.subarray(eocd));
  end.writeUInt32LE(directory.length, 12);
  return Buffer.concat([b.subarray(0, dirOffset), directory, end]);
}

async function expectFormatError(input: Uint8Array | Promise<Uint8Array>, message: RegExp): Promise<void> {
  const err = await loadTorch(await input).then(() => undefined, (e: unknown) => e);
  expect(err, 'loadTorch should have failed').to.be.instanceOf(FileFormatError);
  expect((err as Error).message).to.match(/^<bytes>: /).and.to.match(message);
}

describe('loadTorch refuses bad files with a FileFormatError that says what is wrong', () => {
  const good = () => fs.readFileSync(fixture('torch-2.6', 'rmsprop.pt'));
  const rows: Array<[string, () => Uint8Array | Promise<Uint8Array>, RegExp]> = [
    ['an empty file', () => new Uint8Array(0), /not a torch\.save file/],
    ['a text file', () => text('lr = 0.01\n'), /not a torch\.save file/],
    ['the legacy pickle format', () => fs.readFileSync(fixture('torch-2.6', 'legacy.pt')), /legacy torch\.save format.*re-save/],
    ['a zip cut short (no directory)', () => good().subarray(0, good().length - 30), /no end-of-directory record/],
    ['a zip with its first half cut out', () => Buffer.concat([good().subarray(0, 4), good().subarray(good().length / 2)]), /truncated|bad local header|damaged|points past/],
    ['a corrupted storage byte', async () => {
      const bytes = Buffer.from(good());
      const record = (await zipRecords(bytes)).find((r) => r.name === 'rmsprop/data/1')!;
      bytes[record.dataAt + 5] ^= 0x40;
      return bytes;
    }, /zip entry rmsprop\/data\/1: CRC mismatch/],
    ['a pickle calling os.system', () => torchFile(reduce(pyGlobal('os', 'system'), 'echo pwned')), /refusing to load global 'os\.system'/],
    ['a pickle reaching builtins.eval', () => torchFile(reduce(pyGlobal('builtins', 'eval'), '1+1')), /refusing to load global 'builtins\.eval'/],
    ['a quantized storage type', () => torchFile(tensor('QInt8Storage', 2, [2], [1]), { 0: new Uint8Array(2) }), /dtype qint8 is not supported/],
    ['an unknown storage type', () => torchFile(tensor('WeirdStorage', 2, [2], [1]), { 0: new Uint8Array(2) }), /WeirdStorage is not supported/],
    ['a storage of the wrong byte size', () => torchFile(tensor('FloatStorage', 10, [10], [1]), { 0: new Uint8Array(8) }), /storage 0 holds 8 bytes; 10 float32 elements need 40/],
    ['a view past its storage', () => torchFile(tensor('FloatStorage', 2, [10], [1]), { 0: new Uint8Array(8) }), /reaches element 9 of storage 0, which has 2/],
    ['a missing storage record', () => torchFile(tensor('FloatStorage', 2, [2], [1])), /storage 0 is missing/],
    ['a missing version record', () => archive({ 'data.pkl': pickle(1) }), /no archive\/version record/],
    ['a TorchScript archive', () => archive({ 'constants.pkl': pickle(null), version: text('3\n') }), /TorchScript archive/],
    ['a pickle opcode outside the supported set', () => archive({ 'data.pkl': Uint8Array.from([0x80, 2, 0x49, 0x31, 0x0a, 0x2e]), version: text('3\n') }), /unsupported pickle opcode 0x49/],
    ['a pickle without STOP', () => archive({ 'data.pkl': Uint8Array.from([0x80, 2, 0x4e]), version: text('3\n') }), /pickle data ends early/],
    ['a memo slot never stored', () => archive({ 'data.pkl': Uint8Array.from([0x80, 2, 0x68, 0x07, 0x2e]), version: text('3\n') }), /memo slot 7/],
    ['a dict with a tuple key', () => archive({ 'data.pkl': Uint8Array.from([0x80, 2, 0x7d, 0x29, 0x4e, 0x73, 0x2e]), version: text('3\n') }), /only str and int keys/],
    ['a call with far too many arguments', () => torchFile(reduce(pyGlobal('collections', 'OrderedDict'), ...new Array<PyValue>(20).fill(0))), /REDUCE with 20 arguments/],
    ['an unreadable byteorder', () => torchFile(1, {}, { byteorder: text('middle') }), /byteorder record says 'middle'/],
    // Small files that would take gigabytes, a crash or a hang to load.
    ['a stride-0 view that expands 4 bytes to 512 MiB', () => torchFile(tensor('FloatStorage', 1, [2 ** 27], [0]), { 0: new Uint8Array(4) }),
      /views that would copy 536870912 bytes out of 4 bytes of storage/],
    ['a view of 2^60 elements', () => torchFile(tensor('FloatStorage', 1, [2 ** 30, 2 ** 30], [0, 0]), { 0: new Uint8Array(4) }),
      /tensor of shape \[1073741824, 1073741824\] has \d+ values, more than a typed array holds in Node \(2\^32\)/],
    ['an integer of 5,000 bytes', () => rawPickle([0x8b, ...u32(5000), ...new Array<number>(5000).fill(7), STOP]), /integer of 5000 bytes/],
    ['a dict posing as a storage', () => torchFile(reduce(pyGlobal('torch._utils', '_rebuild_tensor_v2'), dict([['key', '0']]), 0, tuple(1), tuple(1),
      false, reduce(pyGlobal('collections', 'OrderedDict'))), { 0: new Uint8Array(4) }), /tensor without a storage/],
    ['a list that contains itself', () => rawPickle([EMPTY_LIST, BINPUT, 0, BINGET, 0, APPEND, STOP]), /a value contains itself/],
    ['lists nested 1,001 deep', () => rawPickle([...new Array<number>(1001).fill(EMPTY_LIST), ...new Array<number>(1000).fill(APPEND), STOP]),
      /nested more than 1000 levels deep/],
    ['a dict with both 1 and "1" as keys', () => rawPickle([EMPTY_DICT, BININT1, 1, ...str('a'), SETITEM, ...str('1'), ...str('b'), SETITEM, STOP]),
      /both 1 and '1' as keys/],
    ['a dict with a float key', () => rawPickle([EMPTY_DICT, BINFLOAT, ...f64be(1.5), ...str('a'), SETITEM, STOP]),
      /dict key 1\.5, a float: only str and int keys/],
    ['a dict with a NaN key', () => rawPickle([EMPTY_DICT, BINFLOAT, ...f64be(NaN), ...str('a'), SETITEM, STOP]), /dict key NaN, a float/],
    ['a dict with an infinite key', () => rawPickle([EMPTY_DICT, BINFLOAT, ...f64be(-Infinity), ...str('a'), SETITEM, STOP]), /dict key -Infinity, a float/],
    ['a DICT with a key and no value', () => rawPickle([MARK, BININT1, 1, DICT, STOP]), /DICT of 1 items/],
    ['a zip64 field past its extra block', async () => zip64ExtraOverrun(await torchBytes({ x: 1 })), /damaged extra field/],
  ];
  for (const [what, make, message] of rows) it(what, () => expectFormatError(make(), message));

  it('loads a value whose parts are shared 2^60 times over at once; inspect prints each part once, and saveTorch stops on it', async () => {
    // L0 = [1]; Li = [L(i-1), L(i-1)]: 2 KB of pickle, 2^60 paths to walk.
    const ops = [MARK, BININT1, 1, LIST, BINPUT, 0, POP];
    for (let i = 1; i <= 60; i++) ops.push(MARK, BINGET, i - 1, BINGET, i - 1, LIST, BINPUT, i, POP);
    const value = await loadTorch(await rawPickle([...ops, BINGET, 60, STOP]));
    const lines = describeValue(value);
    // Each level's first copy is walked and its second named; the list of numbers is printed where it appears.
    expect(lines).to.have.length(61);
    expect(lines.slice(0, 3)).to.deep.equal([
      `${'[0]'.repeat(60)} = [1]`, `${'[0]'.repeat(59)}[1] = [1]`, `${'[0]'.repeat(58)}[1] = the same object as ${'[0]'.repeat(59)}`,
    ]);
    expect(lines[60]).to.equal('[1] = the same object as [0]');
    const err = await torchBytes(value).catch((e: unknown) => e);
    expect((err as Error).message).to.match(/saveTorch cannot write value.*: the value shares its parts so often that writing each place would take over 10000000 values/);
    // Many values that are not shared are fine.
    expect((await loadTorch<{ x: number[] }>(await torchBytes({ x: new Array<number>(2e6).fill(0.5) }))).x.length).to.equal(2e6);
  });

  it('loads a whole float dict key (2.0) as the int key 2, as Python takes them for one key', async () => {
    const value = await loadTorch<Record<string, string>>(await rawPickle([EMPTY_DICT, BINFLOAT, ...f64be(2), ...str('a'), SETITEM, STOP]));
    expect(value).to.deep.equal({ 2: 'a' });
  });

  it('loads lists nested 1,000 deep (what torch.save can write)', async () => {
    const value = await loadTorch(await rawPickle([...new Array<number>(1000).fill(EMPTY_LIST), ...new Array<number>(999).fill(APPEND), STOP]));
    expect(Array.isArray(value)).to.equal(true);
  });

  it('names the file path when reading from disk', async () => {
    const file = path.join(fs.mkdtempSync('/tmp/simd-optim-bad-'), 'broken.pt');
    fs.writeFileSync(file, 'not a checkpoint');
    const err = await loadTorch(file).catch((e: unknown) => e);
    expect((err as Error).message).to.equal(`${file}: not a torch.save file (it does not start with a zip header)`);
    fs.rmSync(path.dirname(file), { recursive: true });
  });
});

describe('loadSafetensors refuses bad files', () => {
  const header = (json: string, data = new Uint8Array(0)) => {
    const head = Buffer.alloc(8);
    head.writeBigUInt64LE(BigInt(Buffer.byteLength(json)));
    return Buffer.concat([head, Buffer.from(json), data]);
  };
  const rows: Array<[string, Uint8Array, RegExp]> = [
    ['a too short file', new Uint8Array(3), /too short/],
    ['a header longer than the file', header('{}').fill(0xff, 0, 8), /header length .* is impossible/],
    ['a header that is not JSON', header('{nope'), /not valid JSON/],
    ['an unknown dtype', header('{"w":{"dtype":"F4","shape":[1],"data_offsets":[0,1]}}', new Uint8Array(1)), /tensor w: dtype "F4" is not supported/],
    ['offsets that disagree with the shape', header('{"w":{"dtype":"F32","shape":[2],"data_offsets":[0,4]}}', new Uint8Array(4)), /spans 4 bytes/],
    ['a hole in the data', header('{"w":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}', new Uint8Array(8)), /starts at 4, expected 0/],
    ['data past the end', header('{"w":{"dtype":"F32","shape":[4],"data_offsets":[0,16]}}', new Uint8Array(8)), /past the end/],
    ['trailing bytes', header('{"w":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}', new Uint8Array(8)), /4 bytes after the last tensor/],
    ['a tensor described by null', header('{"w":null}'), /tensor w is described by null, not an object/],
    ['optimizer metadata whose state_keys are not lists', header(JSON.stringify({ __metadata__: { format: 'simd-optim/optimizer-state-dict', param_groups: '[]', state_keys: '{"0":5}' } })),
      /state_keys must map each param index to a list of names/],
  ];
  for (const [what, bytes, message] of rows) {
    it(what, async () => {
      const err = await loadSafetensors(bytes).catch((e: unknown) => e);
      expect(err).to.be.instanceOf(FileFormatError);
      expect((err as Error).message).to.match(message);
    });
  }
});

/** xorshift32: the fuzz run is the same on every machine. */
function random(seed: number): (n: number) => number {
  let s = seed;
  return (n) => {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    return (s >>> 0) % n;
  };
}

function mutate(bytes: Uint8Array, next: (n: number) => number): Uint8Array {
  const out = Buffer.from(bytes);
  switch (next(3)) {
    case 0: // flip a few bytes
      for (let i = 0, n = 1 + next(8); i < n; i++) out[next(out.length)] ^= 1 << next(8);
      return out;
    case 1: // truncate
      return out.subarray(0, next(out.length));
    default: // overwrite a run with random bytes
      for (let at = next(out.length), i = 0, n = 1 + next(32); i < n && at + i < out.length; i++) out[at + i] = next(256);
      return out;
  }
}

describe('fuzz: mutated files load or fail with a FileFormatError, nothing else', function () {
  this.timeout(120_000);

  async function fuzz(seed: number, runs: number, original: Uint8Array, load: (b: Uint8Array) => Promise<unknown>) {
    const next = random(seed);
    let refused = 0;
    for (let i = 0; i < runs; i++) {
      const input = mutate(original, next);
      try {
        await load(input);
      } catch (err) {
        if (!(err instanceof FileFormatError)) {
          throw new Error(`run ${i} (seed ${seed}, ${input.length} bytes): ${(err as Error)?.stack ?? err}`);
        }
        refused++;
      }
    }
    expect(refused, 'the mutations should break most files').to.be.greaterThan(runs / 2);
  }

  // The full suite's runs; npm test runs a tenth of them.
  const runs = (n: number) => (fullTests ? n : n / 10);
  for (const name of ['rmsprop.pt', 'dtypes-and-views.pt', 'model.pt']) {
    it(`torch.save files: ${runs(4000)} mutations of ${name} (PyTorch 2.6)`, () =>
      fuzz(0x5eed + name.length, runs(4000), fs.readFileSync(fixture('torch-2.6', name)), (b) => loadTorch(b)));
  }
  it(`torch.save files written by Node: ${runs(1500)} mutations`, async () => {
    const original = await torchBytes(await loadTorch(fixture('torch-1.13', 'dtypes-and-views.pt')));
    await fuzz(0xbeef, runs(1500), original, (b) => loadTorch(b));
  });
  it(`safetensors: ${runs(1500)} mutations of an optimizer file`, async () => {
    const dir = fs.mkdtempSync('/tmp/simd-optim-fuzz-');
    const file = path.join(dir, 'opt.safetensors');
    await saveSafetensors(await loadTorch(fixture('torch-2.6', 'rmsprop.pt')), file);
    await fuzz(0xfeed, runs(1500), fs.readFileSync(file), (b) => loadSafetensors(b));
    fs.rmSync(dir, { recursive: true });
  });
});
