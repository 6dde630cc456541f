// npm run bench -- --io: checkpoint I/O, side by side in one run, on a model
// dict of about 2 GiB (24 layers of a [4096, 4096] and a [1376, 4096] weight
// with their biases and a norm: 120 tensors) in float32, the same dict in
// bfloat16 (1 GiB), and a safetensors file of one 2 GiB float32 tensor.
// PyTorch 2.6 (the trixie chroot of scripts/setup-torch.sh) writes the files
// (torch.save, safetensors.torch.save_file) into a temporary folder under the
// chroot's /tmp, on the same disk as the run; they are deleted at the end.
//
//   Loading, from a warm page cache (every file is read once first): simd-optim's
//   loadTorch and loadSafetensors, copying and with { mmap: true }; the plain
//   read of the same file with fs into fresh buffers in 1 GiB chunks (the
//   limit; fs.readFile refuses files over 2 GiB) and fs.readFile on the 1 GiB
//   files; PyTorch 2.6's torch.load(weights_only=True), with mmap=True, and
//   safetensors' load_file, timed inside one long-lived Python process around
//   the call only (the result freed after each call). In each round every
//   loader of a file runs once, in an order rotated by one each round, after
//   a full GC in Node; reported: medians over rounds, and ratios as medians of
//   the same-round ratios.
//   RSS against pages touched, V8's GCs on creating the mapped buffers, and
//   saving (throughput against a plain chunked write + fsync, peak RSS):
//   each in child processes (node --require tsx/cjs bench/io.ts --child ...).
//
// It writes its section of docs/benchmark.md between the io markers (the main
// run keeps that section) and bench/out/io.json, and prints the section.
//   npm run bench -- --io [--rounds N] [--md FILE]
//   npm run bench -- --io --render bench/out/io.json   the section again from a run's numbers
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { PerformanceObserver, performance } from 'node:perf_hooks';
import * as v8 from 'node:v8';
import * as vm from 'node:vm';
import { loadSafetensors, loadTorch, saveSafetensors, saveTorch, type TensorRecord } from '../lib';
import type * as Binding from '../binding';
import { loadAverage, readMachine } from './machine';
import { sectionOf, withSection } from './page-section';
import { bytesName, median, now, sig, sleep } from './stats';
import { ask, LineWorker, parseTagged, quietThreadsEnv } from './worker-client';

export const IO_START = '<!-- io:start -->';
export const IO_END = '<!-- io:end -->';

const MARKERS = { start: IO_START, end: IO_END };

/** The page with its io section replaced (or appended at the end). */
export const withIoSection = (page: string, section: string): string => withSection(page, MARKERS, section);

/** The io section of a page, markers included, or undefined. */
export const ioSectionOf = (page: string): string | undefined => sectionOf(page, MARKERS);

const root = path.resolve(__dirname, '..');
const trixie = process.env.SIMD_OPTIM_TRIXIE || '/var/cache/simd-optim/trixie';
const GiB = 2 ** 30;
const MiB = 2 ** 20;
/** No fs call moves more (Node's fs refuses 2 GiB and more). */
const CHUNK = GiB;

/** One layer of the model dict: [name, shape]. */
const LAYER: [string, number[]][] = [
  ['attn.weight', [4096, 4096]],
  ['attn.bias', [4096]],
  ['mlp.weight', [1376, 4096]],
  ['mlp.bias', [1376]],
  ['norm.weight', [4096]],
];
const LAYERS = 24;
const SMALL_LAYERS = 6;
const ONE_TENSOR = 2 ** 29; // float32 elements: 2 GiB
/** Small JS objects kept live in the GC measurement: about 300 MB of heap. */
const LIVE_OBJECTS = 2_000_000;

const layerElements = LAYER.reduce((s, [, shape]) => s + shape.reduce((a, b) => a * b, 1), 0);

// ---------------------------------------------------------------- Python

const GENERATE = `
import json, sys, time, torch
from safetensors.torch import save_file
r = json.loads(sys.stdin.read())
torch.manual_seed(0)
t0 = time.perf_counter()
sd = {}
for i in range(r['layers']):
    for name, shape in r['layer']:
        sd['layers.%d.%s' % (i, name)] = torch.rand(*shape)
torch.save(sd, r['files']['torch-f32'])
save_file(sd, r['files']['st-f32'])
sd = {k: v.to(torch.bfloat16) for k, v in sd.items()}
torch.save(sd, r['files']['torch-bf16'])
save_file(sd, r['files']['st-bf16'])
del sd
save_file({'weight': torch.rand(r['one'])}, r['files']['one'])
print(json.dumps({'seconds': time.perf_counter() - t0}))
`;

const LOADER = `
import gc, json, sys, time, torch, safetensors
from safetensors.torch import load, load_file
def out(x): print('@@bench ' + json.dumps(x), flush=True)
for line in sys.stdin:
    r = json.loads(line)
    try:
        if r['op'] == 'info':
            out({'torch': torch.__version__, 'safetensors': safetensors.__version__, 'python': sys.version.split()[0]})
            continue
        t = time.perf_counter()
        if r['op'] == 'torch': v = torch.load(r['path'], weights_only=True)
        elif r['op'] == 'torch-mmap': v = torch.load(r['path'], mmap=True, weights_only=True)
        elif r['op'] == 'safetensors-bytes':
            with open(r['path'], 'rb') as f: v = load(f.read())
        else: v = load_file(r['path'])
        s = time.perf_counter() - t
        n = len(v)
        del v
        gc.collect()
        out({'seconds': s, 'tensors': n})
    except Exception as e:
        out({'error': '%s: %s' % (type(e).__name__, e)})
`;

// ---------------------------------------------------------------- helpers

/** Fields of /proc/self/status in bytes (VmRSS, VmHWM, RssFile, ...). */
function status(): Record<string, number> {
  const out: Record<string, number> = {};
  for (const m of fs.readFileSync('/proc/self/status', 'utf8').matchAll(/^(\w+):\s+(\d+) kB$/gm)) out[m[1]] = Number(m[2]) * 1024;
  return out;
}

/** fault_around_bytes: the kernel's (debugfs), or its default of 64 KiB. */
function faultAround(): { bytes: number; source: string } {
  try {
    return { bytes: Number(fs.readFileSync('/sys/kernel/debug/fault_around_bytes', 'utf8').trim()), source: '/sys/kernel/debug/fault_around_bytes' };
  } catch {
    return { bytes: 65536, source: 'the kernel default (debugfs not mounted: /sys/kernel/debug/fault_around_bytes unreadable)' };
  }
}

function thpFacts(): string {
  const read = (f: string) => {
    try {
      return fs.readFileSync(`/sys/kernel/mm/transparent_hugepage/${f}`, 'utf8').trim();
    } catch {
      return '?';
    }
  };
  const mode = (s: string) => /\[(\w+)\]/.exec(s)?.[1] ?? s;
  return `transparent huge pages enabled "${mode(read('enabled'))}", defrag "${mode(read('defrag'))}", shmem "${mode(read('shmem_enabled'))}"`;
}

/** The file system and device of a folder, from /proc/mounts (the longest mount point above it). */
function diskOf(dir: string): string {
  try {
    let best = { point: '', text: 'unknown file system' };
    for (const line of fs.readFileSync('/proc/mounts', 'utf8').split('\n')) {
      const [dev, point, type] = line.split(' ');
      if (point && (dir === point || dir.startsWith(point.endsWith('/') ? point : `${point}/`)) && point.length >= best.point.length) {
        best = { point, text: `${type} on ${dev}` };
      }
    }
    return best.text;
  } catch {
    return 'unknown file system';
  }
}

/**
 * glibc serves large blocks from their own mapping, 16 bytes past a page
 * boundary, and so are Node's ArrayBuffers: a view from byte 4080 is
 * page-aligned there. Copies from the page cache into it run faster on some
 * CPUs (here, AMD: about 1.6× as fast as into the buffer's start).
 */
const ALIGNED_OFFSET = 4096 - 16;

/** Reads a whole file with fs into fresh buffers of at most 1 GiB each (used from byte `offset`). */
async function chunkedRead(file: string, offset = 0): Promise<Uint8Array[]> {
  const fh = await fsp.open(file, 'r');
  try {
    const { size } = await fh.stat();
    const out: Uint8Array[] = [];
    for (let at = 0; at < size; at += CHUNK) {
      const n = Math.min(CHUNK, size - at);
      const buf = offset ? new Uint8Array(new ArrayBuffer(n + offset), offset, n) : new Uint8Array(n);
      for (let done = 0; done < buf.length;) {
        const { bytesRead } = await fh.read(buf, done, buf.length - done, at + done);
        if (bytesRead === 0) throw new Error(`${file} ended early`);
        done += bytesRead;
      }
      out.push(buf);
    }
    return out;
  } finally {
    await fh.close();
  }
}

/** The model dict of `layers` layers, float32, every page written. */
function modelDict(layers: number): Record<string, TensorRecord> {
  const dict: Record<string, TensorRecord> = {};
  let k = 0;
  for (let i = 0; i < layers; i++) {
    for (const [name, shape] of LAYER) {
      const data = new Float32Array(shape.reduce((a, b) => a * b, 1));
      data.fill(0.25 + (k++ % 7) * 0.125);
      dict[`layers.${i}.${name}`] = { dtype: 'float32', shape, data } as TensorRecord;
    }
  }
  return dict;
}

/** A child node process running this file's `--child` mode; its one "@@io" line, parsed. */
function child(args: string[], nodeFlags: string[] = [], timeoutMs = 300_000): Record<string, any> {
  const r = spawnSync(process.execPath, ['--require', 'tsx/cjs', ...nodeFlags, __filename, '--child', ...args], {
    cwd: root, encoding: 'utf8', maxBuffer: 64 * MiB, timeout: timeoutMs,
  });
  const line = (r.stdout ?? '').split('\n').reverse().find((l) => l.startsWith('@@io '));
  if (r.status !== 0 || !line) {
    throw new Error(`child ${args[0]} failed (${r.signal ?? `code ${r.status}`}): ${(r.stderr || String(r.error ?? '')).trim().split('\n').slice(-4).join(' | ').slice(-800)}`);
  }
  return JSON.parse(line.slice(5));
}

const say = (s: string) => process.stderr.write(`${s}\n`);

/** The addon itself, for mapping by hand: SIMD_OPTIM_BINDING, or the build in build/Release. */
function binding(): Pick<typeof Binding, 'mapFile' | 'mappedBuffer'> {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return require(process.env.SIMD_OPTIM_BINDING || path.join(root, 'build', 'Release', 'simd_optim.node')) as typeof Binding;
}

// ---------------------------------------------------------------- children

async function childMain(args: string[]): Promise<void> {
  const [mode] = args;
  let result: unknown;
  if (mode === 'save') result = await childSave(args[1], Number(args[2]), args[3]);
  else if (mode === 'gc') result = await childGc(args[1], args[2]);
  else if (mode === 'rss') result = await childRss(args[1]);
  else throw new Error(`unknown child mode ${mode}`);
  process.stdout.write(`@@io ${JSON.stringify(result)}\n`);
}

/** Creates the dict, then saves it with `writer`: seconds, and VmHWM before and after. */
async function childSave(writer: string, layers: number, file: string): Promise<Record<string, number>> {
  const dict = modelDict(layers);
  const dataBytes = Object.values(dict).reduce((s, t) => s + t.data.byteLength, 0);
  const before = status();
  const t0 = now();
  if (writer === 'torch') await saveTorch(dict, file);
  else if (writer === 'safetensors') await saveSafetensors(dict, file);
  else {
    const fh = await fsp.open(file, 'w');
    try {
      for (const t of Object.values(dict)) {
        const bytes = new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength);
        for (let done = 0; done < bytes.length;) done += (await fh.write(bytes, done, Math.min(CHUNK, bytes.length - done))).bytesWritten;
      }
      await fh.sync();
    } finally {
      await fh.close();
    }
  }
  const seconds = now() - t0;
  const after = status();
  return { seconds, dataBytes, fileBytes: fs.statSync(file).size, hwmBefore: before.VmHWM, hwmAfter: after.VmHWM, rssBefore: before.VmRSS };
}

/**
 * With a few hundred MB of JS objects live, maps the 2 GiB one-tensor file
 * one way and counts the GCs (PerformanceObserver) during the call and in
 * the half second after it.
 */
async function childGc(variant: string, file: string): Promise<Record<string, unknown>> {
  const gc = (globalThis as { gc?: () => void }).gc!;
  const live: { id: number; name: string; v: number[] }[] = [];
  for (let i = 0; i < LIVE_OBJECTS; i++) live.push({ id: i, name: `n${i}`, v: [i, i * 2] });
  gc();
  gc();
  await sleep(200);
  const heapUsed = process.memoryUsage().heapUsed;
  const entries: { start: number; duration: number; kind: number }[] = [];
  const obs = new PerformanceObserver((list) => {
    for (const e of list.getEntries()) entries.push({ start: e.startTime, duration: e.duration, kind: (e as unknown as { detail?: { kind: number } }).detail?.kind ?? 0 });
  });
  obs.observe({ entryTypes: ['gc'] });
  await sleep(50);
  const size = fs.statSync(file).size;
  const head = Buffer.alloc(8);
  const fd = fs.openSync(file, 'r');
  fs.readSync(fd, head, 0, 8, 0);
  fs.closeSync(fd);
  const dataStart = 8 + Number(head.readBigUInt64LE(0));
  const length = size - dataStart;
  const addon = binding();
  let keep: unknown;
  const t0 = performance.now();
  if (variant === 'lib') {
    keep = await loadSafetensors(file, { mmap: true });
  } else if (variant !== 'none') {
    const [how, n] = variant.split('-');
    const views = Number(n);
    const h = fs.openSync(file, 'r');
    const mapped = addon.mapFile(h, size);
    fs.closeSync(h);
    const part = length / views;
    const arrays: Float32Array[] = [];
    for (let i = 0; i < views; i++) arrays.push(new Float32Array(addon.mappedBuffer(mapped, dataStart + i * part, part, how === 'uncounted')));
    keep = arrays;
  }
  const t1 = performance.now();
  await sleep(500);
  const t2 = performance.now();
  obs.disconnect();
  const during = entries.filter((e) => e.start >= t0 && e.start < t1);
  const after = entries.filter((e) => e.start >= t1 && e.start < t2);
  const sum = (es: typeof entries) => es.reduce((s, e) => s + e.duration, 0);
  if (live.length !== LIVE_OBJECTS || keep === null) throw new Error('unreachable');
  return {
    variant, ms: t1 - t0, heapUsed, gcsDuring: during.length, gcMsDuring: sum(during), gcsAfter: after.length, gcMsAfter: sum(after),
    kinds: [...during, ...after].map((e) => e.kind),
  };
}

/**
 * Maps the one-tensor file and touches parts of it (one byte per 4 KiB
 * page): RSS growth against the bytes those touches map, counted as the
 * union of the fault-around windows (aligned by virtual address, clipped to
 * the mapping) that they fall in; and as the union of the unit one touch is
 * measured to map here (a page-cache folio mapped whole: 2 MiB where the
 * kernel maps large folios of the file with a PMD).
 */
async function childRss(file: string): Promise<Record<string, unknown>> {
  const real = fs.realpathSync(file);
  const s0 = status();
  const dict = await loadSafetensors<Record<string, TensorRecord>>(file, { mmap: true });
  const s1 = status();
  const data = dict.weight.data;
  const u8 = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  const smaps = () => {
    const block = fs.readFileSync('/proc/self/smaps', 'utf8').split(/\n(?=[0-9a-f]+-[0-9a-f]+ )/).filter((b) => b.split('\n')[0].endsWith(real));
    if (block.length !== 1) throw new Error(`expected one mapping of ${real}, found ${block.length}`);
    const [range, , offset] = block[0].split('\n')[0].split(/\s+/);
    const [start, end] = range.split('-').map((x) => parseInt(x, 16));
    const kb = (k: string) => Number(new RegExp(`^${k}:\\s+(\\d+) kB`, 'm').exec(block[0])?.[1] ?? NaN) * 1024;
    return { start, end, offset: parseInt(offset, 16), rss: kb('Rss'), pmd: kb('FilePmdMapped') };
  };
  const { start, end, offset } = smaps();
  if (offset !== 0) throw new Error(`the mapping of ${real} starts at file offset ${offset}, not 0`);
  const head = Buffer.alloc(8);
  const fd = fs.openSync(file, 'r');
  fs.readSync(fd, head, 0, 8, 0);
  fs.closeSync(fd);
  const dataStart = 8 + Number(head.readBigUInt64LE(0));
  const W = faultAround().bytes;
  const L = u8.length;
  const at = (f: number) => Math.floor(L * f);
  let sum = 0;
  // What one touch maps: one byte each at 8 places 8 MiB apart near the end, each measured alone.
  const single: number[] = [];
  for (let k = 0; k < 8; k++) {
    const r0 = status().VmRSS;
    sum += u8[at(0.95) + 12345 + k * 8 * MiB];
    single.push(status().VmRSS - r0);
  }
  let U = W;
  while (U * 2 <= median(single)) U *= 2;
  const mapped = new Map<number, Set<number>>([[W, new Set()], [U, new Set()]]);
  for (let k = 0; k < 8; k++) for (const [size, set] of mapped) set.add(Math.floor((start + dataStart + at(0.95) + 12345 + k * 8 * MiB) / size));
  /** The bytes of the `size`-byte units (aligned by address, clipped to the mapping) that touches at from..to (every `step`) newly map. */
  const unionOf = (size: number, from: number, to: number, step: number) => {
    const done = mapped.get(size)!;
    const fresh = new Set<number>();
    for (let i = from; i < to; i += step) {
      const w = Math.floor((start + dataStart + i) / size);
      if (!done.has(w)) fresh.add(w);
    }
    let bytes = 0;
    for (const w of fresh) {
      done.add(w);
      bytes += Math.min((w + 1) * size, end) - Math.max(w * size, start);
    }
    return bytes;
  };
  const touch = (what: string, from: number, to: number, step: number, target: boolean) => {
    const r0 = status().VmRSS;
    let pages = 0;
    for (let i = from; i < to; i += step) {
      sum += u8[i];
      pages++;
    }
    const rssGrowth = status().VmRSS - r0;
    const windowBytes = unionOf(W, from, to, step);
    const unitBytes = U === W ? windowBytes : unionOf(U, from, to, step);
    return { what, target, pages, touchedBytes: pages * 4096, windowBytes, unitBytes, rssGrowth };
  };
  const rows = [
    touch('1% of the pages, contiguous', 0, at(0.01), 4096, true),
    touch('10% of the pages, contiguous', at(0.01), at(0.11), 4096, true),
    touch('50% of the pages, contiguous', at(0.11), at(0.61), 4096, true),
    touch('every 32nd page (128 KiB apart) over 30% of the tensor', at(0.61), at(0.91), 32 * 4096, false),
  ];
  const after = smaps();
  if (!dict.weight || Number.isNaN(sum)) throw new Error('unreachable');
  return {
    fileBytes: fs.statSync(file).size,
    loadRssGrowth: s1.VmRSS - s0.VmRSS,
    window: W,
    unit: U,
    singleTouches: single,
    mappingRss: after.rss,
    filePmdMapped: after.pmd,
    baseAligned2M: start % (2 * MiB) === 0,
    rows,
  };
}

// ---------------------------------------------------------------- the run

interface LoadPeer {
  id: string;
  label: string;
  python?: boolean;
  /** Maps the file rather than copying it: no throughput, no ratio. */
  mapped?: boolean;
  /** Not a loader: the plain reads. */
  reference?: boolean;
  run(): Promise<{ seconds: number; heapDelta?: number; tensors?: number; window?: [number, number] }>;
}

interface LoadGroup {
  name: string;
  file: string;
  pyFile: string;
  bytes: number;
  peers: LoadPeer[];
  samples: Map<string, number[]>;
  heap: Map<string, number[]>;
  /** Each sample's start and end (performance.now()), for the GCs within it. */
  windows: Map<string, [number, number][]>;
  /** Same-round ratios: the chunked read's time ÷ the peer's. */
  ratios: Map<string, number[]>;
  failed: Map<string, string>;
}

export async function runIo(argv: string[]): Promise<void> {
  const option = (name: string) => (argv.includes(name) ? argv[argv.indexOf(name) + 1] : undefined);
  const rounds = Math.max(1, Number(option('--rounds') ?? 5));
  const mdPath = option('--md') ?? path.join(root, 'docs', 'benchmark.md');
  const rendered = option('--render');
  if (rendered !== undefined) {
    // The section again from a run's bench/out/io.json.
    const section = render(JSON.parse(fs.readFileSync(rendered, 'utf8')) as IoResult);
    process.stdout.write(`${section}\n`);
    fs.writeFileSync(mdPath, withIoSection(fs.existsSync(mdPath) ? fs.readFileSync(mdPath, 'utf8') : '', section));
    return;
  }
  const t0 = Date.now();
  const machine = readMachine();
  const loadBefore = loadAverage();
  if (!fs.existsSync(`${trixie}/usr/bin/python3`)) throw new Error(`the io benchmark needs PyTorch 2.6 in the trixie chroot at ${trixie} (bash scripts/setup-torch.sh)`);
  v8.setFlagsFromString('--expose-gc');
  const gc = vm.runInNewContext('gc') as () => void;
  const fullGc = async () => {
    gc();
    await new Promise((r) => setImmediate(r));
    gc();
  };

  // Every GC of this process, to find those within each sample.
  const gcs: { start: number; duration: number }[] = [];
  const gcObserver = new PerformanceObserver((list) => {
    for (const e of list.getEntries()) gcs.push({ start: e.startTime, duration: e.duration });
  });
  gcObserver.observe({ entryTypes: ['gc'] });
  const hostDir = fs.mkdtempSync(path.join(`${trixie}/tmp`, 'simd-optim-io-'));
  const pyDir = hostDir.slice(trixie.length);
  const cleanup = () => fs.rmSync(hostDir, { recursive: true, force: true });
  const onSignal = () => {
    cleanup();
    process.exit(130);
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  const names = { 'torch-f32': 'model-f32.pt', 'st-f32': 'model-f32.safetensors', 'torch-bf16': 'model-bf16.pt', 'st-bf16': 'model-bf16.safetensors', one: 'one-tensor.safetensors' };
  type Key = keyof typeof names;
  const host = (k: Key) => path.join(hostDir, names[k]);
  const py = (k: Key) => path.posix.join(pyDir, names[k]);
  const worker = new LineWorker('torch-2.6', ['chroot', trixie, '/usr/bin/python3', '-u', '-c', LOADER], { parse: parseTagged, env: quietThreadsEnv(), timeoutMs: 300_000 });
  const notes: string[] = [];
  try {
    // ---- the files
    say(`io: writing the files with PyTorch 2.6 into ${hostDir}...`);
    const gen = spawnSync('chroot', [trixie, '/usr/bin/python3', '-c', GENERATE], {
      input: JSON.stringify({ layers: LAYERS, layer: LAYER, one: ONE_TENSOR, files: Object.fromEntries(Object.keys(names).map((k) => [k, py(k as Key)])) }),
      encoding: 'utf8', env: quietThreadsEnv(), maxBuffer: 16 * MiB,
    });
    if (gen.status !== 0) throw new Error(`writing the files failed: ${gen.stderr.slice(-1500)}`);
    const genSeconds = (JSON.parse(gen.stdout.trim().split('\n').pop()!) as { seconds: number }).seconds;
    const ts = now();
    spawnSync('sync');
    say(`io: files written in ${genSeconds.toFixed(0)} s, synced in ${(now() - ts).toFixed(0)} s`);
    const size = (k: Key) => fs.statSync(host(k)).size;
    const info = await ask<{ torch: string; safetensors: string; python: string }>(worker, { op: 'info' });

    // ---- loading
    const pyPeer = (id: string, label: string, op: string, file: string, mapped = false): LoadPeer => ({
      id, label, python: true, mapped,
      run: async () => ask<{ seconds: number; tensors: number }>(worker, { op, path: file }),
    });
    const jsPeer = (id: string, label: string, load: () => Promise<unknown>, mapped = false): LoadPeer => ({
      id, label, mapped, reference: id.startsWith('read'),
      run: async () => {
        const heap = mapped;
        const h0 = heap ? process.memoryUsage().heapUsed : 0;
        const p0 = performance.now();
        const t = now();
        let v: unknown = await load();
        const seconds = now() - t;
        const window: [number, number] = [p0, performance.now()];
        const heapDelta = heap ? process.memoryUsage().heapUsed - h0 : undefined;
        const tensors = v !== null && typeof v === 'object' && !Array.isArray(v) && !ArrayBuffer.isView(v) ? Object.keys(v).length : undefined;
        v = undefined;
        return { seconds, heapDelta, tensors, window };
      },
    });
    const read = (k: Key) => jsPeer('read', 'fs chunked read (1 GiB chunks, fresh buffers): the limit', () => chunkedRead(host(k)));
    const readAligned = (k: Key) => jsPeer('read-aligned', 'fs chunked read, fresh buffers used from byte 4080 (page-aligned under glibc): for information',
      () => chunkedRead(host(k), ALIGNED_OFFSET));
    const readFile = (k: Key) => jsPeer('readFile', 'fs.readFile (reference)', () => fsp.readFile(host(k)));
    const group = (name: string, k: Key, peers: LoadPeer[]): LoadGroup => ({
      name, file: host(k), pyFile: py(k), bytes: size(k), peers,
      samples: new Map(peers.map((p) => [p.id, []])), heap: new Map(peers.map((p) => [p.id, []])), windows: new Map(peers.map((p) => [p.id, []])), ratios: new Map(peers.map((p) => [p.id, []])), failed: new Map(),
    });
    const torchGroup = (k: Key, dtype: string) => group(`torch.save, ${dtype}`, k, [
      read(k),
      readAligned(k),
      ...(size(k) < 2 * GiB - 1 ? [readFile(k)] : []),
      jsPeer('lib', 'simd-optim loadTorch', () => loadTorch(host(k))),
      jsPeer('lib-mmap', 'simd-optim loadTorch, mmap', () => loadTorch(host(k), { mmap: true }), true),
      pyPeer('py', 'PyTorch 2.6 torch.load(weights_only=True)', 'torch', py(k)),
      pyPeer('py-mmap', 'PyTorch 2.6 torch.load(mmap=True, weights_only=True)', 'torch-mmap', py(k), true),
    ]);
    const stGroup = (k: Key, dtype: string) => group(`safetensors, ${dtype}`, k, [
      read(k),
      readAligned(k),
      ...(size(k) < 2 * GiB - 1 ? [readFile(k)] : []),
      jsPeer('lib', 'simd-optim loadSafetensors', () => loadSafetensors(host(k))),
      jsPeer('lib-mmap', 'simd-optim loadSafetensors, mmap', () => loadSafetensors(host(k), { mmap: true }), true),
      pyPeer('py-bytes', `safetensors ${info.safetensors} load(bytes of the file read in Python)`, 'safetensors-bytes', py(k)),
      pyPeer('py', `safetensors ${info.safetensors} load_file (maps the file: torch UntypedStorage.from_file)`, 'safetensors', py(k), true),
    ]);
    const groups = [
      torchGroup('torch-f32', 'float32'), stGroup('st-f32', 'float32'),
      torchGroup('torch-bf16', 'bfloat16'), stGroup('st-bf16', 'bfloat16'),
      group('safetensors, one float32 tensor', 'one', [
        jsPeer('lib-mmap', 'simd-optim loadSafetensors, mmap', () => loadSafetensors(host('one'), { mmap: true }), true),
      ]),
    ];
    try {
      await fsp.readFile(host('torch-f32'));
      notes.push(`fs.readFile on the float32 torch.save file (${bytesName(size('torch-f32'))}): no error (expected one over 2 GiB).`);
    } catch (e) {
      notes.push(`fs.readFile refuses the float32 files (${size('torch-f32')} bytes): ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}.`);
    }
    say('io: warming the page cache and every loader...');
    for (const k of Object.keys(names) as Key[]) await chunkedRead(host(k));
    await fullGc();
    for (const g of groups) {
      for (const p of g.peers) {
        try {
          await fullGc();
          await p.run();
        } catch (e) {
          g.failed.set(p.id, (e as Error).message.split('\n')[0].slice(0, 300));
        }
      }
    }
    for (let r = 0; r < rounds; r++) {
      say(`io: loading, round ${r + 1}/${rounds}`);
      for (const g of groups) {
        const order = g.peers.map((_, i) => g.peers[(i + r) % g.peers.length]).filter((p) => !g.failed.has(p.id));
        const times = new Map<string, number>();
        for (const p of order) {
          await fullGc();
          try {
            const { seconds, heapDelta, tensors, window } = await p.run();
            times.set(p.id, seconds);
            g.samples.get(p.id)!.push(seconds);
            if (heapDelta !== undefined) g.heap.get(p.id)!.push(heapDelta);
            if (window) g.windows.get(p.id)!.push(window);
            if (!p.reference && p.id !== 'readFile' && tensors !== undefined && g.name !== 'safetensors, one float32 tensor' && tensors !== LAYERS * LAYER.length) {
              throw new Error(`${tensors} tensors loaded, expected ${LAYERS * LAYER.length}`);
            }
          } catch (e) {
            g.failed.set(p.id, (e as Error).message.split('\n')[0].slice(0, 300));
          }
        }
        const limit = times.get('read');
        if (limit !== undefined) for (const [id, s] of times) g.ratios.get(id)!.push(limit / s);
      }
    }
    await fullGc();

    // ---- RSS against pages touched
    say('io: RSS against pages touched...');
    let rss: Record<string, any> | undefined;
    try {
      rss = child(['rss', host('one')]);
    } catch (e) {
      notes.push(`RSS measurement failed: ${(e as Error).message}`);
    }

    // ---- GCs on creating mapped buffers
    say('io: V8 GCs on creating the mapped buffers...');
    const gcVariants = ['none', 'lib', 'counted-1', 'uncounted-1', 'counted-16', 'uncounted-16', 'counted-64', 'uncounted-64'];
    const gcRuns = new Map<string, Record<string, any>[]>(gcVariants.map((v) => [v, []]));
    const gcRounds = 3;
    for (let r = 0; r < gcRounds; r++) {
      for (const v of gcVariants.map((_, i) => gcVariants[(i + r) % gcVariants.length])) {
        try {
          gcRuns.get(v)!.push(child(['gc', v, host('one')], ['--expose-gc']));
        } catch (e) {
          notes.push(`GC variant ${v}: ${(e as Error).message}`);
        }
      }
    }

    // The load files go before the writes: their page cache is freed.
    for (const k of Object.keys(names) as Key[]) fs.rmSync(host(k), { force: true });

    // ---- saving
    const writers = [
      { id: 'plain', label: 'fs chunked write + fsync: the disk' },
      { id: 'torch', label: 'simd-optim saveTorch' },
      { id: 'safetensors', label: 'simd-optim saveSafetensors' },
    ];
    const saveRounds = (layers: number) => (layers === LAYERS ? Math.min(3, rounds) : Math.min(2, rounds));
    const saves = new Map<string, Record<string, number>[]>();
    const saveRatios = new Map<string, number[]>();
    const saveFailed = new Map<string, string>();
    for (const layers of [LAYERS, SMALL_LAYERS]) {
      for (let r = 0; r < saveRounds(layers); r++) {
        say(`io: saving ${layers} layers, round ${r + 1}/${saveRounds(layers)}`);
        const round = new Map<string, number>();
        for (const w of writers.map((_, i) => writers[(i + r) % writers.length])) {
          const key = `${layers}|${w.id}`;
          if (saveFailed.has(key)) continue;
          const file = path.join(hostDir, `save-${w.id}.${w.id === 'safetensors' ? 'safetensors' : w.id === 'torch' ? 'pt' : 'bin'}`);
          try {
            const s = child(['save', w.id, String(layers), file]);
            if (!saves.has(key)) saves.set(key, []);
            saves.get(key)!.push(s);
            round.set(w.id, s.fileBytes / s.seconds);
          } catch (e) {
            saveFailed.set(key, (e as Error).message.split('\n')[0].slice(0, 300));
          } finally {
            fs.rmSync(file, { force: true });
          }
        }
        const disk = round.get('plain');
        if (disk !== undefined) {
          for (const [id, rate] of round) {
            const key = `${layers}|${id}`;
            if (!saveRatios.has(key)) saveRatios.set(key, []);
            saveRatios.get(key)!.push(rate / disk);
          }
        }
      }
    }

    const result = {
      machine, loadBefore, loadAfter: loadAverage(), seconds: (Date.now() - t0) / 1000, rounds, genSeconds, info, notes,
      fault: faultAround(), thp: thpFacts(), disk: diskOf(hostDir), tempDir: hostDir,
      groups: groups.map((g) => ({
        name: g.name, bytes: g.bytes,
        peers: g.peers.map((p) => ({
          id: p.id, label: p.label, python: !!p.python, mapped: !!p.mapped, reference: !!p.reference,
          gcs: g.windows.get(p.id)!.map(([a, b]) => gcs.filter((e) => e.start >= a && e.start < b)).map((es) => ({ n: es.length, ms: es.reduce((x, e) => x + e.duration, 0) })),
          samples: g.samples.get(p.id)!, ratios: g.ratios.get(p.id)!, heap: g.heap.get(p.id)!, failed: g.failed.get(p.id),
        })),
      })),
      rss, gc: Object.fromEntries(gcRuns), saves: Object.fromEntries(saves), saveRatios: Object.fromEntries(saveRatios), saveFailed: Object.fromEntries(saveFailed),
      writers,
    };
    const out = path.join(__dirname, 'out', 'io.json');
    fs.mkdirSync(path.dirname(out), { recursive: true });
    fs.writeFileSync(out, `${JSON.stringify(result, null, 1)}\n`);
    const section = render(result);
    process.stdout.write(`${section}\n`);
    const page = fs.existsSync(mdPath) ? fs.readFileSync(mdPath, 'utf8') : '';
    fs.writeFileSync(mdPath, withIoSection(page, section));
    say(`wrote ${path.relative(process.cwd(), mdPath)}, ${path.relative(process.cwd(), out)} in ${result.seconds.toFixed(0)} s`);
  } finally {
    gcObserver.disconnect();
    await worker.close();
    cleanup();
    process.removeListener('SIGINT', onSignal);
    process.removeListener('SIGTERM', onSignal);
  }
}

// ---------------------------------------------------------------- the page

type IoPeer = {
  id: string;
  label: string;
  python: boolean;
  mapped: boolean;
  reference: boolean;
  samples: number[];
  ratios: number[];
  heap: number[];
  gcs: { n: number; ms: number }[];
  failed?: string;
};

type RssRow = { what: string; target: boolean; pages: number; touchedBytes: number; windowBytes: number; unitBytes: number; rssGrowth: number };

type IoResult = {
  machine: ReturnType<typeof readMachine>;
  loadBefore: number;
  loadAfter: number;
  seconds: number;
  rounds: number;
  genSeconds: number;
  info: { torch: string; safetensors: string; python: string };
  notes: string[];
  fault: { bytes: number; source: string };
  thp: string;
  disk: string;
  groups: { name: string; bytes: number; peers: IoPeer[] }[];
  rss?: Record<string, any>;
  gc: Record<string, Record<string, any>[]>;
  saves: Record<string, Record<string, number>[]>;
  saveRatios: Record<string, number[]>;
  saveFailed: Record<string, string>;
  writers: { id: string; label: string }[];
};

const ms = (s: number) => sig(s * 1e3);
const mb = (b: number) => `${(b / MiB).toFixed(Math.abs(b) < 10 * MiB ? 1 : 0)} MiB`;
const kib = (b: number) => (b >= MiB && b % MiB === 0 ? `${b / MiB} MiB` : `${sig(b / 1024)} KiB`);
const yes = (ok: boolean | undefined) => (ok === undefined ? 'not measured' : ok ? '**yes**' : '**no**');
const range = (xs: number[], f: (x: number) => string) => `${f(Math.min(...xs))}–${f(Math.max(...xs))}`;
/** The median sample's GCs: "n (x ms)". */
const gcCount = (p: IoPeer) => (p.gcs.length ? `${median(p.gcs.map((g) => g.n))} GCs (${sig(median(p.gcs.map((g) => g.ms)))} ms)` : '–');
const gcText = (p: IoPeer) => (p.gcs.length ? `${median(p.gcs.map((g) => g.n))} (${sig(median(p.gcs.map((g) => g.ms)))} ms)` : '–');

function render(r: IoResult): string {
  const m = r.machine;
  const L: string[] = [IO_START, '', '## Checkpoint I/O', ''];
  L.push('<!-- Written by `npm run bench -- --io` (bench/io.ts). Do not edit by hand. -->', '');
  L.push(`\`npm run bench -- --io\` times loading and saving a model dict of ${LAYERS} layers (a [4096, 4096] and a [1376, 4096] weight, ` +
    `two biases and a norm each: ${LAYERS * LAYER.length} tensors, ${bytesName(LAYERS * layerElements * 4)} in float32; the same dict in bfloat16) ` +
    `and a safetensors file of one ${bytesName(ONE_TENSOR * 4)} float32 tensor. PyTorch 2.6 writes the files (\`torch.save\`, ` +
    '`safetensors.torch.save_file`) into a temporary folder on the run\'s disk, deleted at the end. Loads start from a warm page cache ' +
    '(every file is read once first); in each round every loader of a file runs once, in an order rotated by one each round, after a full ' +
    'GC in Node. PyTorch and safetensors are timed inside one long-lived Python process around the call only, the result freed after each ' +
    `call. Reported: medians (and the lowest–highest) over ${r.rounds} rounds; "× read" is the median of the same-round ratios of the ` +
    'loader\'s throughput to the plain read of the same file with fs into fresh buffers in 1 GiB chunks (the limit for a copying load; ' +
    '`fs.readFile` refuses files over 2 GiB); "GCs" are the V8 GCs of this process within the call (median sample). The RSS, GC and save ' +
    'measurements run in child processes (bench/io.ts --child).');
  L.push('');
  L.push(`**This run:** ${m.cpu}, ${m.cores} cores${m.hypervisor ? ' (a virtual machine)' : ''}; ${bytesName(m.memTotalBytes)} RAM; ` +
    `${m.kernel}; ${r.thp}; fault_around_bytes ${r.fault.bytes} (${r.fault.source}); disk: ${r.disk}; Node ${m.node}; ` +
    `PyTorch ${r.info.torch}, safetensors ${r.info.safetensors}, Python ${r.info.python} (trixie chroot); ${m.date}; load average ` +
    `${r.loadBefore} before, ${r.loadAfter} after; files written in ${r.genSeconds.toFixed(0)} s; the run took ${r.seconds.toFixed(0)} s.`);
  for (const n of r.notes) L.push(`- ${n}`);
  L.push('');

  // Targets, each with what explains a miss.
  const targets: { target: string; measured: string; met: boolean | undefined; why?: string }[] = [];
  const groupOf = (name: string) => r.groups.find((x) => x.name === name);
  for (const g of r.groups.filter((x) => x.peers.some((p) => p.id === 'read'))) {
    const p = g.peers.find((x) => x.id === 'lib')!;
    const read = g.peers.find((x) => x.id === 'read')!;
    const ratio = p.ratios.length ? median(p.ratios) : undefined;
    const gcMs = p.gcs.length ? median(p.gcs.map((x) => x.ms)) / 1e3 : 0;
    const withoutGc = read.samples.length && p.samples.length ? median(read.samples) / (median(p.samples) - gcMs) : undefined;
    targets.push({
      target: `copying load ≥ 80% of the chunked read: ${p.label}, ${g.name}`,
      measured: ratio === undefined ? `failed: ${p.failed ?? 'no samples'}` : `${(ratio * 100).toFixed(0)}% (rounds ${range(p.ratios, (x) => (x * 100).toFixed(0))}%)`,
      met: ratio === undefined ? false : ratio >= 0.8,
      why: p.gcs.length && withoutGc !== undefined
        ? `V8 runs ${gcCount(p)} within the load, as it counts each of the ${LAYERS * LAYER.length} fresh ArrayBuffers as external memory ` +
          `and collects as that count grows (the chunked read into two 1 GiB buffers: ${gcCount(read)}); less that GC time, the medians give ` +
          `${(withoutGc * 100).toFixed(0)}% of the chunked read`
        : undefined,
    });
  }
  const one = groupOf('safetensors, one float32 tensor')?.peers.find((p) => p.id === 'lib-mmap');
  if (one) {
    const t = one.samples.length ? median(one.samples) : undefined;
    const h = one.heap.length ? median(one.heap) : undefined;
    targets.push({
      target: `mmap load of the ${bytesName(ONE_TENSOR * 4)} one-tensor safetensors file ≤ 10 ms, small JS heap (≤ 1 MiB)`,
      measured: t === undefined ? `failed: ${one.failed ?? 'no samples'}` :
        `${ms(t)} ms (${range(one.samples, ms)}); heapUsed +${sig((h ?? 0) / 1024)} KiB; GCs within: ${gcText(one)}`,
      met: t === undefined ? false : t <= 0.01 && (h ?? 0) <= MiB,
      why: one.gcs.length && median(one.gcs.map((g) => g.n)) > 0
        ? `V8 collects inside the call: making the 2 GiB external buffer adds 2 GiB to V8's count of external memory, past its limit ` +
          '(see the GC table below: one 2 GiB mapped buffer costs a full GC there, counted or uncounted)'
        : undefined,
    });
  }
  const rssRows = (r.rss?.rows ?? []) as RssRow[];
  if (r.rss) {
    for (const row of rssRows.filter((x) => x.target)) {
      const q = row.rssGrowth / row.windowBytes;
      targets.push({ target: `RSS growth ÷ touched bytes (${kib(r.rss.window)} fault-around windows) ≤ 1.1, after an mmap load: ${row.what}`, measured: q.toFixed(3), met: q <= 1.1 });
    }
  } else {
    targets.push({ target: 'RSS growth ÷ touched bytes ≤ 1.1', measured: 'failed', met: false });
  }
  const overhead = (layers: number, id: string) => {
    const runs = r.saves[`${layers}|${id}`];
    return runs?.length ? median(runs.map((s) => s.hwmAfter - s.dataBytes)) : undefined;
  };
  for (const w of r.writers.filter((x) => x.id !== 'plain')) {
    const big = overhead(LAYERS, w.id);
    const small = overhead(SMALL_LAYERS, w.id);
    targets.push({
      target: `${w.label}: peak RSS − data does not grow with the file (${bytesName(LAYERS * layerElements * 4)} vs ${bytesName(SMALL_LAYERS * layerElements * 4)}; allowed +64 MiB)`,
      measured: big === undefined || small === undefined ? `failed: ${r.saveFailed[`${LAYERS}|${w.id}`] ?? r.saveFailed[`${SMALL_LAYERS}|${w.id}`] ?? 'no samples'}` : `${mb(big)} vs ${mb(small)}`,
      met: big === undefined || small === undefined ? false : big - small <= 64 * MiB,
    });
  }
  L.push('### Targets', '', '| target | measured | met |', '|---|---|---|');
  for (const t of targets) L.push(`| ${t.target} | ${t.measured} | ${yes(t.met)} |`);
  L.push('');

  // Loading.
  L.push('### Loading (warm page cache)', '');
  L.push('| file | loader | median ms | lowest–highest ms | GB/s | × read (same-round) | GCs (ms) within |', '|---|---|---:|---:|---:|---:|---:|');
  for (const g of r.groups) {
    for (const p of g.peers) {
      const fileText = `${g.name}, ${bytesName(g.bytes)}`;
      const label = `${p.label}${p.python ? ' (in Python)' : ''}`;
      if (!p.samples.length) {
        L.push(`| ${fileText} | ${label} | ${p.failed ? `failed: ${p.failed.replace(/\|/g, '/')}` : '–'} | | | | |`);
        continue;
      }
      const t = median(p.samples);
      const ratio = p.id === 'read' || !p.ratios.length || p.mapped ? '' : `${median(p.ratios).toFixed(2)}×`;
      L.push(`| ${fileText} | ${label} | ${ms(t)} | ${range(p.samples, ms)} | ${p.mapped ? '(mapped)' : sig(g.bytes / t / 1e9)} | ${ratio} | ${p.python ? '' : gcText(p)} |`);
    }
  }
  L.push('');
  const alignedNote = r.groups.map((g) => {
    const [read, aligned, torch] = ['read', 'read-aligned', 'py'].map((id) => g.peers.find((p) => p.id === id && p.samples.length));
    return read && aligned && torch && !torch.mapped
      ? `${g.name}: ${sig(g.bytes / median(read.samples) / 1e9)} GB/s from the buffers' first byte, ${sig(g.bytes / median(aligned.samples) / 1e9)} ` +
        `page-aligned, PyTorch's torch.load ${sig(g.bytes / median(torch.samples) / 1e9)}`
      : undefined;
  }).filter((x) => x !== undefined);
  if (alignedNote.length) {
    L.push('The limit as defined reads into fresh ArrayBuffers from their first byte, which glibc places 16 bytes past a page boundary; ' +
      `the same reads into page-aligned views of fresh buffers run faster here, as fast as PyTorch's copying load (${alignedNote.join('; ')}).`, '');
  }
  const heapNotes = r.groups.flatMap((g) => g.peers.filter((p) => p.heap.length).map((p) => `${p.label}, ${g.name}: +${sig(median(p.heap) / 1024)} KiB`));
  if (heapNotes.length) L.push(`JS heap growth over a mapped load (heapUsed after − before, median, no GC between): ${heapNotes.join('; ')}.`, '');

  // RSS.
  if (r.rss) {
    const x = r.rss;
    L.push('### mmap load: RSS against pages touched', '');
    L.push(`The one-tensor file (${bytesName(x.fileBytes)}) loaded with \`loadSafetensors(file, { mmap: true })\` in a fresh process (RSS grew ` +
      `${mb(x.loadRssGrowth)} over the load), then one byte read per touched 4 KiB page. A read fault on a cached file maps more than its page: ` +
      `touched bytes are counted as the union of the ${kib(x.window)} fault-around windows (aligned by virtual address, clipped to the ` +
      `mapping) the touches fall in, less those already mapped. One touch alone, measured at 8 places 8 MiB apart, grew RSS by ` +
      `${[...new Set((x.singleTouches as number[]).map(kib))].join(' or ')} (median ${kib(median(x.singleTouches))}): this kernel maps ` +
      `whole large page-cache folios of the file${x.filePmdMapped > 0 ? ` with a PMD (FilePmdMapped ${mb(x.filePmdMapped)} of the mapping's ` +
        `${mb(x.mappingRss)} RSS at the end; the mapping starts ${x.baseAligned2M ? 'on' : 'off'} a 2 MiB boundary)` : ''}, ` +
      `so the last column also counts the union of ${kib(x.unit)} units.`, '');
    L.push(`| touched | pages touched | touched bytes: ${kib(x.window)} windows | RSS growth | ÷ windows | touched bytes: ${kib(x.unit)} units | ÷ units |`,
      '|---|---:|---:|---:|---:|---:|---:|');
    for (const row of rssRows) {
      L.push(`| ${row.what}${row.target ? '' : ' (for information)'} | ${row.pages} | ${mb(row.windowBytes)} | ${mb(row.rssGrowth)} | ` +
        `${(row.rssGrowth / row.windowBytes).toFixed(3)} | ${mb(row.unitBytes)} | ${(row.rssGrowth / row.unitBytes).toFixed(3)} |`);
    }
    L.push('');
  }

  // GC.
  const gcLabel: Record<string, string> = {
    none: 'nothing mapped (control)',
    lib: 'simd-optim loadSafetensors(file, { mmap: true })',
    'counted-1': 'addon: mapFile + one 2 GiB mappedBuffer, counted',
    'uncounted-1': 'addon: mapFile + one 2 GiB mappedBuffer, uncounted',
    'counted-16': 'addon: mapFile + 16 × 128 MiB mappedBuffer, counted',
    'uncounted-16': 'addon: mapFile + 16 × 128 MiB mappedBuffer, uncounted',
    'counted-64': 'addon: mapFile + 64 × 32 MiB mappedBuffer, counted',
    'uncounted-64': 'addon: mapFile + 64 × 32 MiB mappedBuffer, uncounted',
  };
  const gcAny = Object.values(r.gc).flat();
  if (gcAny.length) {
    const heap = median(gcAny.map((g) => g.heapUsed as number));
    L.push('### V8 GC on creating the mapped buffers', '');
    L.push(`In a fresh \`node --expose-gc\` per sample with ${mb(heap)} of JS heap live (${LIVE_OBJECTS / 1e6}M small objects), the ${bytesName(ONE_TENSOR * 4)} ` +
      'one-tensor file mapped one way; GCs counted with a PerformanceObserver on \'gc\' entries, during the call and in the 0.5 s after it ' +
      '(idle). "Uncounted" buffers are taken off V8\'s external-memory count (`napi_adjust_external_memory`) right after they are made: ' +
      '`mappedBuffer(handle, offset, length, true)`; V8 counts a buffer as it is made, and may collect right then, before the count is ' +
      `taken back. Medians of ${Math.max(...Object.values(r.gc).map((x) => x.length))} processes per variant.`, '');
    L.push('| variant | call ms | GCs during | GC ms during | GCs in the 0.5 s after | GC ms after |', '|---|---:|---:|---:|---:|---:|');
    for (const [v, runs] of Object.entries(r.gc)) {
      if (!runs.length) {
        L.push(`| ${gcLabel[v] ?? v} | failed | | | | |`);
        continue;
      }
      const md = (k: string) => median(runs.map((x) => x[k] as number));
      L.push(`| ${gcLabel[v] ?? v} | ${sig(md('ms'))} | ${md('gcsDuring')} | ${sig(md('gcMsDuring'))} | ${md('gcsAfter')} | ${sig(md('gcMsAfter'))} |`);
    }
    L.push('');
  }

  // Saving.
  L.push('### Saving', '');
  L.push('Each save in a fresh node process that first creates the float32 dict (every page written), then writes it: simd-optim through ' +
    'its atomic write (a temporary file, fsync, rename, fsync of the folder); the disk\'s own speed as a plain write of the same tensors\' ' +
    'bytes with fs (one call per tensor) and fsync, into the same folder. Peak RSS is the process\'s VmHWM after the write; "− data" ' +
    'subtracts the tensors\' bytes (what remains is Node itself plus what the writer adds), "during" is VmHWM after the write minus ' +
    'VmHWM before it. Writers in a rotated order each round; "% of disk" is the median of same-round ratios.', '');
  L.push('| dict | writer | median s | GB/s | % of disk | peak RSS − data | peak growth during the write |', '|---|---|---:|---:|---:|---:|---:|');
  for (const layers of [LAYERS, SMALL_LAYERS]) {
    for (const w of r.writers) {
      const key = `${layers}|${w.id}`;
      const runs = r.saves[key];
      const dictText = `${layers} layers, float32, ${bytesName(layers * layerElements * 4)}`;
      if (!runs?.length) {
        L.push(`| ${dictText} | ${w.label} | failed: ${(r.saveFailed[key] ?? 'no samples').replace(/\|/g, '/')} | | | | |`);
        continue;
      }
      const s = median(runs.map((x) => x.seconds));
      const gb = median(runs.map((x) => x.fileBytes / x.seconds / 1e9));
      const ratio = w.id === 'plain' || !r.saveRatios[key]?.length ? '' : `${(median(r.saveRatios[key]) * 100).toFixed(0)}%`;
      L.push(`| ${dictText} | ${w.label} | ${sig(s)} | ${sig(gb)} | ${ratio} | ${mb(median(runs.map((x) => x.hwmAfter - x.dataBytes)))} | ` +
        `${mb(median(runs.map((x) => x.hwmAfter - x.hwmBefore)))} |`);
    }
  }
  L.push('');
  const missed = targets.filter((t) => t.met !== true);
  if (missed.length) {
    L.push('### Targets missed', '');
    for (const t of missed) L.push(`- ${t.target}: ${t.measured}${t.why ? `. Why: ${t.why}` : ''}.`);
    L.push('');
  }
  L.push(IO_END);
  return L.join('\n');
}

if (require.main === module) {
  const argv = process.argv.slice(2);
  const i = argv.indexOf('--child');
  (i >= 0 ? childMain(argv.slice(i + 1)) : runIo(argv)).catch((e) => {
    process.stderr.write(`${(e as Error).stack}\n`);
    process.exit(1);
  });
}
