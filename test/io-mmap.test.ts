// Loading with `mmap: true`: tensors over one private, copy-on-write mapping
// of the file, released when the last array over it is collected. What needs
// a process of its own (watching /proc/self/maps and RSS, SIGBUS, the JS
// backend) runs test/memory/mmap-child.ts in a child with --expose-gc.
import { expect } from 'chai';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as zlib from 'node:zlib';
import { backendInfo, loadSafetensors, loadTorch, readSafetensors, saveSafetensors, saveTorch, torchBytes, type TensorRecord } from '../lib';
import { mappingOf } from '../lib/io/storage-arrays';
import { crc32 } from '../lib/io/zip';
import { thrown } from './helpers';
import { zipRecords } from './zip-helpers';

type Records = Record<string, TensorRecord>;
const root = path.resolve(__dirname, '..');
const childScript = path.join(__dirname, 'memory', 'mmap-child.ts');
const onLinux = process.platform === 'linux';

/** Runs a mode of the child script (through sh, to turn core dumps off: the SIGBUS case dies of a signal). */
function child(mode: string, dir: string, env: Record<string, string> = {}): { json: Record<string, any>; stdout: string; stderr: string; status: number | null; signal: NodeJS.Signals | null } {
  const r = spawnSync('sh', ['-c', 'ulimit -c 0; exec "$0" "$@"', process.execPath, '--expose-gc', '--require', 'tsx/cjs', childScript, mode, dir], {
    cwd: root,
    encoding: 'utf8',
    timeout: 60_000,
    env: { ...process.env, ...env },
  });
  const last = r.stdout.trim().split('\n').pop() ?? '';
  let json: Record<string, any> = {};
  try {
    json = JSON.parse(last);
  } catch {
    // The caller checks the status; the output is in the message.
  }
  return { json, stdout: r.stdout, stderr: r.stderr, status: r.status, signal: r.signal };
}

const sha256 = (file: string) => createHash('sha256').update(fs.readFileSync(file)).digest('hex');

/**
 * The records of a torch.save file rewritten into a zip of our own: entries
 * named in `deflate` compressed (method 8), the others stored with their data
 * at `storedAt(name)` modulo 64 (0: aligned as PyTorch writes them).
 */
async function rezip(bytes: Uint8Array, deflate: Set<string>, storedAt: (name: string) => number = () => 0): Promise<Uint8Array> {
  const parts: Buffer[] = [];
  const central: Buffer[] = [];
  let offset = 0;
  const records = await zipRecords(bytes);
  for (const { name, data } of records) {
    const nameBytes = Buffer.from(name);
    const method = deflate.has(name) ? 8 : 0;
    const body = method === 8 ? zlib.deflateRawSync(data) : Buffer.from(data);
    // Extra field padding ("FB" and filler, as PyTorch pads) to put the data where asked.
    const want = method === 8 ? 0 : storedAt(name);
    const unpadded = offset + 30 + nameBytes.length + 4;
    const extraLength = 4 + ((want - (unpadded % 64) + 64) % 64);
    const extra = Buffer.alloc(extraLength);
    extra.writeUInt16LE(0x4246, 0);
    extra.writeUInt16LE(extraLength - 4, 2);
    const fields = (h: Buffer, at: number) => {
      h.writeUInt16LE(0x800, at); // UTF-8 names
      h.writeUInt16LE(method, at + 2);
      h.writeUInt16LE(0, at + 4);
      h.writeUInt16LE(33, at + 6);
      h.writeUInt32LE(crc32(data), at + 8);
      h.writeUInt32LE(body.length, at + 12);
      h.writeUInt32LE(data.length, at + 16);
      h.writeUInt16LE(nameBytes.length, at + 20);
    };
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(20, 4);
    fields(local, 6);
    local.writeUInt16LE(extraLength, 28);
    const dir = Buffer.alloc(46);
    dir.writeUInt32LE(0x02014b50, 0);
    dir.writeUInt16LE(20, 4);
    dir.writeUInt16LE(20, 6);
    fields(dir, 8);
    dir.writeUInt32LE(offset, 42);
    central.push(dir, nameBytes);
    parts.push(local, nameBytes, extra, body);
    offset += 30 + nameBytes.length + extraLength + body.length;
  }
  const directory = Buffer.concat(central);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(records.length, 8);
  end.writeUInt16LE(records.length, 10);
  end.writeUInt32LE(directory.length, 12);
  end.writeUInt32LE(offset, 16);
  return Buffer.concat([...parts, directory, end]);
}

describe('loading with mmap', function () {
  this.timeout(60_000);
  let dir: string;

  before(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'simd-optim-mmap-'));
  });
  after(() => {
    fs.rmSync(dir, { recursive: true, force: true });
  });

  describe('arguments (any backend)', () => {
    it('wants a path, a boolean and no other option, checked before the file is opened', async () => {
      const bytes = await torchBytes({ a: { dtype: 'float32', shape: [1], data: new Float32Array([1]) } });
      const missing = path.join(dir, 'missing.pt');
      for (const [fn, load] of [
        ['loadTorch', loadTorch],
        ['loadSafetensors', loadSafetensors],
        ['readSafetensors', readSafetensors],
      ] as const) {
        const bytesErr = await thrown(() => load(bytes, { mmap: true }));
        expect(bytesErr, fn).to.be.instanceOf(TypeError);
        expect(bytesErr.message).to.contain(`${fn} options.mmap needs a file path`);
        const notBool = await thrown(() => load(missing, { mmap: 'yes' } as never));
        expect(notBool, fn).to.be.instanceOf(TypeError);
        expect(notBool.message).to.match(/Expected a boolean for \w+ options\.mmap/);
        const unknown = await thrown(() => load(missing, { mmap: true, lazy: true } as never));
        expect(unknown, fn).to.be.instanceOf(TypeError);
        expect(unknown.message).to.contain(`Unknown option 'lazy' for ${fn}; known options: mmap`);
        const typo = await thrown(() => load(missing, { mmpa: true } as never));
        expect(typo.message).to.contain(`Unknown option 'mmpa' for ${fn} (did you mean 'mmap'?)`);
        expect(await thrown(() => load(missing, null as never)), fn).to.be.instanceOf(TypeError);
        // mmap: false with bytes is an ordinary load.
        if (fn === 'loadTorch') expect(((await load(bytes, { mmap: false })) as Records).a.data[0]).to.equal(1);
      }
    });

    it('with SIMD_OPTIM_BACKEND=js, loads (copied) with the right values and says why', function () {
      if (!onLinux) this.skip();
      const r = child('js', dir, { SIMD_OPTIM_BACKEND: 'js' });
      expect(r.status, r.stderr).to.equal(0);
      expect(r.json.nativeLoaded).to.equal(false);
      expect(r.json.same).to.deep.equal([true, true]);
      expect(r.json.how).to.have.length(8);
      for (const how of r.json.how) expect(how).to.equal('copied: the native addon is not loaded');
      expect(r.json.mappings).to.equal(0);
    });
  });

  describe('on the native backend', () => {
    before(function () {
      const why = !backendInfo().nativeLoaded
        ? `the native addon is not loaded (${backendInfo().nativeError})`
        : !backendInfo().externalBuffers
          ? 'this Node has no external ArrayBuffers'
          : !onLinux
            ? 'these tests read /proc/self/maps (Linux)'
            : undefined;
      if (why !== undefined) {
        console.log(`      skipped: ${why}`);
        this.skip();
      }
    });

    it('keeps the one mapping per file while any array (one small tensor, or a view of it) lives, and unmaps after gc', () => {
      const r = child('lifetime', dir);
      expect(r.status, r.stderr).to.equal(0);
      for (const kind of ['torch', 'safetensors']) {
        const k = r.json[kind];
        expect(k.beforeLoad, kind).to.equal(0);
        expect(k.mappings, `${kind}: one mapping for four tensors`).to.equal(1);
        expect(k.how, kind).to.deep.equal({ big: 'mapped', mid: 'mapped', ids: 'mapped', small: 'mapped' });
        expect(k.smallOnly, kind).to.deep.equal({ mappings: 1, values: [13, 13.5, 14, 14.5] });
        expect(k.viewOnly, kind).to.deep.equal({ mappings: 1, values: [13.5, 14] });
        expect(k.roundsToUnmap, `${kind}: rounds of gc() + setImmediate until unmapped`).to.be.within(1, 5);
      }
    });

    it('leaves no mapping behind after 2,000 loads and drops', () => {
      const r = child('cycles', dir);
      expect(r.status, r.stderr).to.equal(0);
      expect(r.json.wrong).to.equal(0);
      expect(r.json.left, 'mappings of the files after the last gc').to.equal(0);
      expect(r.json.rounds).to.be.within(1, 5);
      // Mappings of the whole process: V8's heap may add a few, but nothing per load.
      const total: number[] = r.json.total;
      expect(r.json.end - total[0], `maps lines over the run: ${total.join(' ')} ${r.json.end}`).to.be.below(200);
    });

    it('maps lazily: a 256 MiB file costs no memory until read, and reading half costs half', () => {
      const r = child('rss', dir);
      expect(r.status, r.stderr).to.equal(0);
      const { fileMiB, how, wrong, load, touch } = r.json;
      const detail = JSON.stringify(r.json);
      expect(fileMiB).to.be.at.least(256);
      expect(how).to.equal('mapped');
      expect(wrong).to.equal(0);
      expect(load.rss, detail).to.be.below(16);
      expect(touch.rss, detail).to.be.within(112, 160);
      expect(touch.anon, `${detail}: reading copies nothing`).to.be.below(8);
    });

    it('copies on write: writes change the array, never the file, nor a later load', async () => {
      const model = (): Records => ({
        w: { dtype: 'float32', shape: [2, 3], data: new Float32Array([1, 2, 3, 4, 5, 6]) },
        n: { dtype: 'int64', shape: [2], data: new BigInt64Array([10n, 20n]) },
      });
      const st = path.join(dir, 'cow.safetensors');
      const pt = path.join(dir, 'cow.pt');
      await saveSafetensors(model(), st);
      await saveTorch(model(), pt);
      const loads = { safetensors: (mmap: boolean) => loadSafetensors<Records>(st, { mmap }), torch: (mmap: boolean) => loadTorch<Records>(pt, { mmap }) };
      for (const [kind, load] of Object.entries(loads)) {
        const file = kind === 'torch' ? pt : st;
        const hash = sha256(file);
        const first = await load(true);
        expect(mappingOf(first.w.data), kind).to.equal('mapped');
        expect(mappingOf(first.n.data), kind).to.equal('mapped');
        first.w.data[0] = 42;
        (first.w.data as Float32Array).fill(-1, 3);
        first.n.data[1] = 99n;
        expect(Array.from(first.w.data as Float32Array)).to.deep.equal([42, 2, 3, -1, -1, -1]);
        expect(first.n.data[1]).to.equal(99n);
        expect(sha256(file), `${kind}: the file is unchanged`).to.equal(hash);
        const second = await load(true);
        expect(mappingOf(second.w.data)).to.equal('mapped');
        expect(Array.from(second.w.data as Float32Array), kind).to.deep.equal([1, 2, 3, 4, 5, 6]);
        expect(second.n.data[1]).to.equal(20n);
        expect(Array.from((await load(false)).w.data as Float32Array)).to.deep.equal([1, 2, 3, 4, 5, 6]);
        // Each load has its own private copy of what it wrote.
        expect(first.w.data[0]).to.equal(42);
      }
    });

    it('copies a safetensors tensor that is misaligned for its dtype and maps the aligned one', async () => {
      const file = path.join(dir, 'misaligned.safetensors');
      const f32 = new Float32Array([1.5, -2.25, 3.125, 1e-3]);
      // 6 bytes of F16 first: the F32 tensor starts at byte 6 of the data.
      await saveSafetensors({ h: { dtype: 'float16', shape: [3], data: new Uint16Array([0x3c00, 0x4000, 0x4200]) }, f: { dtype: 'float32', shape: [2, 2], data: f32 } }, file);
      const headerLength = Number(fs.readFileSync(file).readBigUInt64LE(0));
      for (const read of [() => loadSafetensors<Records>(file, { mmap: true }), async () => (await readSafetensors(file, { mmap: true })).tensors]) {
        const m = await read();
        expect(mappingOf(m.h.data)).to.equal('mapped');
        expect(Array.from(m.h.data as Uint16Array)).to.deep.equal([0x3c00, 0x4000, 0x4200]);
        expect(mappingOf(m.f.data)).to.equal(`copied: misaligned (at byte ${8 + headerLength + 6}, not a multiple of 4)`);
        expect(m.f.data).to.be.instanceOf(Float32Array);
        expect(m.f.shape).to.deep.equal([2, 2]);
        expect(Array.from(m.f.data as Float32Array)).to.deep.equal(Array.from(f32));
      }
    });

    it('copies a deflated or misaligned torch.save entry, with the right values, and maps the stored aligned one', async () => {
      const value: Records = {
        a: { dtype: 'float32', shape: [3], data: new Float32Array([1, 2, 3]) },
        b: { dtype: 'float64', shape: [2, 2], data: new Float64Array([0.5, -1, 1e300, 7]) },
        c: { dtype: 'int32', shape: [5], data: new Int32Array([1, -2, 3, -4, 5]) },
      };
      const bytes = await torchBytes(value);
      const names = (await zipRecords(bytes)).map((r) => r.name);
      expect(names).to.include.members(['archive/data/0', 'archive/data/1', 'archive/data/2']);
      // data/1 (b) deflated, data/2 (c) stored at an offset of 2 modulo 64.
      const crafted = await rezip(bytes, new Set(['archive/data/1']), (name) => (name === 'archive/data/2' ? 2 : 0));
      expect((await zipRecords(crafted)).find((r) => r.name === 'archive/data/2')!.dataAt % 64).to.equal(2);
      const file = path.join(dir, 'deflated.pt');
      fs.writeFileSync(file, crafted);
      const m = await loadTorch<Records>(file, { mmap: true });
      expect(mappingOf(m.a.data)).to.equal('mapped');
      expect(mappingOf(m.b.data)).to.equal('copied: the entry is compressed');
      expect(mappingOf(m.c.data)).to.match(/^copied: misaligned \(at byte \d+, not a multiple of 4\)$/);
      for (const k of Object.keys(value)) {
        expect(m[k].dtype, k).to.equal(value[k].dtype);
        expect(m[k].shape, k).to.deep.equal(value[k].shape);
        expect(Array.from(m[k].data as Float64Array), k).to.deep.equal(Array.from(value[k].data as Float64Array));
      }
    });

    it('refuses to map a file that changed size since it was opened (the binding)', () => {
      const binding = require(process.env.SIMD_OPTIM_BINDING ?? path.join(root, 'build', 'Release', 'simd_optim.node'));
      const file = path.join(dir, 'grows.bin');
      fs.writeFileSync(file, Buffer.alloc(100, 7));
      const fd = fs.openSync(file, 'r');
      try {
        const { size } = fs.fstatSync(fd);
        fs.appendFileSync(file, Buffer.alloc(10));
        const err = (() => {
          try {
            binding.mapFile(fd, size);
          } catch (e) {
            return e as Error;
          }
          throw new Error('mapFile did not throw');
        })();
        expect(err).to.be.instanceOf(Error);
        expect(err.message).to.contain('changed size').and.contain('100 bytes, now 110');
        const mapped = binding.mapFile(fd, size + 10);
        expect(new Uint8Array(binding.mappedBuffer(mapped, 0, 100))[99]).to.equal(7);
        expect(() => binding.mappedBuffer(mapped, 100, 11)).to.throw(RangeError, /not inside the mapped file/);
        expect(() => binding.mapFile(fd, -1)).to.throw(TypeError);
        expect(() => binding.mapFile('3', size)).to.throw(TypeError);
      } finally {
        fs.closeSync(fd);
      }
    });

    it('dies of SIGBUS when a mapped file is truncated and a lost page is read', () => {
      // Under the sanitizer run, ASan would catch the SIGBUS and abort instead: let the signal through.
      const asan = process.env.ASAN_OPTIONS;
      const r = child('sigbus', dir, asan === undefined ? {} : { ASAN_OPTIONS: `${asan}:handle_sigbus=0` });
      expect(r.signal, `status ${r.status}, stdout ${r.stdout}, stderr ${r.stderr}`).to.equal('SIGBUS');
      const before = JSON.parse(r.stdout.trim().split('\n')[0]);
      expect(before).to.deep.equal({ before: 5 + 1 + 50, how: 'mapped' });
      expect(r.stdout).not.to.contain('survived');
    });

    it('keeps the old contents readable when the file is replaced by an atomic save while mapped', () => {
      const r = child('replace', dir);
      expect(r.status, r.stderr).to.equal(0);
      const [oldModel, newModel] = r.json.expected;
      expect(r.json.firstBefore).to.deep.equal([2, 2]);
      expect(r.json.old, 'arrays mapped before the save').to.deep.equal([oldModel, oldModel]);
      expect(r.json.fresh, 'a load after it').to.deep.equal([newModel, newModel]);
      expect(r.json.deleted, 'the old inodes stay mapped, as (deleted)').to.equal(2);
      expect(r.json.mappings).to.equal(4);
    });
  });
});
