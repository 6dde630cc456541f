// Loading with mmap, watched from inside a process of its own: which
// mappings /proc/self/maps lists while arrays over a file live and after they
// are collected, RSS before and after touching mapped pages, and what happens
// when a mapped file is truncated or replaced. Run by test/io-mmap.test.ts:
//   node --expose-gc --require tsx/cjs test/memory/mmap-child.ts <mode> <dir>
// with mode lifetime | cycles | rss | sigbus | replace | js. Prints one line
// of JSON last (sigbus prints a line, then should die of SIGBUS).
import * as fs from 'node:fs';
import * as path from 'node:path';
import { backendInfo, loadSafetensors, loadTorch, readSafetensors, saveSafetensors, saveTorch, type TensorRecord } from '../../lib';
import { mappingOf } from '../../lib/io/storage-arrays';

type Records = Record<string, TensorRecord>;
const [mode, dir] = process.argv.slice(2);
const gc = (globalThis as { gc?: () => void }).gc;
if (gc === undefined) throw new Error('run with --expose-gc');

/** The lines of /proc/self/maps, and those mapping `file`. */
function maps(): string[] {
  return fs.readFileSync('/proc/self/maps', 'utf8').trim().split('\n');
}
function mapsOf(file: string): string[] {
  return maps().filter((line) => line.endsWith(` ${file}`) || line.endsWith(` ${file} (deleted)`));
}

/** One full collection and one turn of the event loop (finalizers of external buffers run after the collection). */
async function collect(): Promise<void> {
  gc!();
  await new Promise(setImmediate);
}

/** Collects until `file` is no longer mapped; the rounds it took, or -1 if it stayed after `rounds`. */
async function collectUntilUnmapped(file: string, rounds = 10): Promise<number> {
  for (let round = 1; round <= rounds; round++) {
    await collect();
    if (mapsOf(file).length === 0) return round;
  }
  return -1;
}

/** Several tensors, each its own storage, the last one small. */
function model(seed: number): Records {
  const f32 = (n: number, k: number) => Float32Array.from({ length: n }, (_, i) => seed + k + i * 0.5);
  return {
    big: { dtype: 'float32', shape: [64, 256], data: f32(64 * 256, 1) },
    mid: { dtype: 'float32', shape: [1000], data: f32(1000, 2) },
    ids: { dtype: 'int64', shape: [3], data: BigInt64Array.from([7n, 8n, BigInt(seed)]) },
    small: { dtype: 'float32', shape: [4], data: f32(4, 3) },
  };
}

async function lifetime(): Promise<Record<string, unknown>> {
  const out: Record<string, unknown> = {};
  const pt = path.join(dir, 'lifetime.pt');
  const st = path.join(dir, 'lifetime.safetensors');
  await saveTorch(model(10), pt);
  await saveSafetensors(model(10), st);
  const loaders = { torch: () => loadTorch<Records>(pt, { mmap: true }), safetensors: () => loadSafetensors<Records>(st, { mmap: true }) };
  for (const [kind, load] of Object.entries(loaders)) {
    const file = kind === 'torch' ? pt : st;
    const r: Record<string, unknown> = {};
    out[kind] = r;
    r.beforeLoad = mapsOf(file).length;
    let loaded: Records | undefined = await load();
    r.mappings = mapsOf(file).length;
    r.how = Object.fromEntries(Object.entries(loaded).map(([name, t]) => [name, mappingOf(t.data)]));
    // Keep one small tensor of the four.
    let small: Float32Array | undefined = loaded.small.data as Float32Array;
    loaded = undefined;
    for (let i = 0; i < 4; i++) await collect();
    r.smallOnly = { mappings: mapsOf(file).length, values: Array.from(small) };
    // Keep only a view of part of it.
    let view: Float32Array | undefined = small.subarray(1, 3);
    small = undefined;
    for (let i = 0; i < 4; i++) await collect();
    r.viewOnly = { mappings: mapsOf(file).length, values: Array.from(view) };
    view = undefined;
    r.roundsToUnmap = await collectUntilUnmapped(file);
  }
  return out;
}

/** One load and drop: true if its values and mapping are right. Its own function, so no frame keeps the arrays. */
async function loadOnce(file: string, seed: number): Promise<boolean> {
  const m = file.endsWith('.pt') ? await loadTorch<Records>(file, { mmap: true }) : (await readSafetensors(file, { mmap: true })).tensors;
  return m.small.data[3] === seed + 3 + 1.5 && m.big.data[1] === seed + 1 + 0.5 && m.ids.data[2] === BigInt(seed) && mappingOf(m.big.data) === 'mapped';
}

/** `count` loads and drops, alternating the formats, 20 at a time. */
async function cycles(count: number): Promise<Record<string, unknown>> {
  const pt = path.join(dir, 'cycles.pt');
  const st = path.join(dir, 'cycles.safetensors');
  await saveTorch(model(1), pt);
  await saveSafetensors(model(2), st);
  let wrong = 0;
  let peakFileMappings = 0;
  const total: number[] = [];
  for (let i = 0; i < count; i += 20) {
    const ok = await Promise.all(Array.from({ length: Math.min(20, count - i) }, (_, j) => ((i + j) % 2 === 0 ? loadOnce(pt, 1) : loadOnce(st, 2))));
    wrong += ok.filter((good) => !good).length;
    if ((i + 20) % 200 === 0) {
      peakFileMappings = Math.max(peakFileMappings, mapsOf(pt).length + mapsOf(st).length);
      await collect();
      await collect();
      total.push(maps().length);
    }
  }
  const rounds = Math.max(await collectUntilUnmapped(pt), await collectUntilUnmapped(st));
  return { wrong, peakFileMappings, left: mapsOf(pt).length + mapsOf(st).length, rounds, total, end: maps().length };
}

/** Resident memory in KiB, by kind (from /proc/self/status). */
function rss(): { VmRSS: number; RssAnon: number; RssFile: number; RssShmem: number } {
  const status = fs.readFileSync('/proc/self/status', 'utf8');
  const kib = (key: string) => Number(new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(status)![1]);
  return { VmRSS: kib('VmRSS'), RssAnon: kib('RssAnon'), RssFile: kib('RssFile'), RssShmem: kib('RssShmem') };
}

async function laziness(): Promise<Record<string, unknown>> {
  // A fresh 256 MiB file: one I32 tensor whose value i is i, written 4 MiB at a time.
  const file = path.join(dir, `lazy-${process.pid}.safetensors`);
  const values = 64 * 2 ** 20;
  let json = JSON.stringify({ x: { dtype: 'I32', shape: [values], data_offsets: [0, values * 4] } });
  json += ' '.repeat((8 - ((8 + json.length) % 8)) % 8);
  const fd = fs.openSync(file, 'w');
  const head = Buffer.alloc(8);
  head.writeBigUInt64LE(BigInt(json.length));
  fs.writeSync(fd, head);
  fs.writeSync(fd, json);
  const chunk = new Int32Array(2 ** 20);
  for (let at = 0; at < values; at += chunk.length) {
    for (let i = 0; i < chunk.length; i++) chunk[i] = at + i;
    fs.writeSync(fd, chunk);
  }
  fs.closeSync(fd);
  const fileBytes = fs.statSync(file).size;
  await collect();
  const before = rss();
  const { tensors } = await readSafetensors(file, { mmap: true });
  const x = tensors.x.data as Int32Array;
  const afterLoad = rss();
  // Every 4096th byte (1024th value) of the first half.
  let wrong = 0;
  for (let i = 0; i < values / 2; i += 1024) if (x[i] !== i) wrong++;
  const afterTouch = rss();
  const how = mappingOf(x);
  fs.unlinkSync(file);
  const delta = (a: ReturnType<typeof rss>, b: ReturnType<typeof rss>) => ({
    rss: (b.VmRSS - a.VmRSS) / 1024,
    file: (b.RssFile - a.RssFile) / 1024,
    anon: (b.RssAnon - a.RssAnon) / 1024,
  });
  return { fileMiB: fileBytes / 2 ** 20, how, wrong, load: delta(before, afterLoad), touch: delta(afterLoad, afterTouch) };
}

async function sigbus(): Promise<Record<string, unknown>> {
  const pt = path.join(dir, 'sigbus.pt');
  await saveTorch(model(5), pt);
  const m = await loadTorch<Records>(pt, { mmap: true });
  const before = m.big.data[100];
  console.log(JSON.stringify({ before, how: mappingOf(m.big.data) }));
  fs.truncateSync(pt, 0);
  // The page behind big[100] is gone from the file: touching it should raise SIGBUS.
  const after = m.big.data[100];
  return { survived: true, after };
}

async function replace(): Promise<Record<string, unknown>> {
  const pt = path.join(dir, 'replace.pt');
  const st = path.join(dir, 'replace.safetensors');
  await saveTorch(model(1), pt);
  await saveSafetensors(model(1), st);
  const oldTorch = await loadTorch<Records>(pt, { mmap: true });
  const oldSt = await loadSafetensors<Records>(st, { mmap: true });
  // Touch one page only before the replacement; the others are read after it.
  const firstBefore = [oldTorch.big.data[0], oldSt.big.data[0]];
  // The library's own atomic save (a temporary file renamed over the path).
  await saveTorch(model(2), pt);
  await saveSafetensors(model(2), st);
  const deleted = [...mapsOf(pt), ...mapsOf(st)].filter((l) => l.endsWith(' (deleted)')).length;
  const sum = (a: ArrayLike<number>) => Array.from(a).reduce((s, v) => s + v, 0);
  const newTorch = await loadTorch<Records>(pt, { mmap: true });
  const newSt = await loadSafetensors<Records>(st, { mmap: true });
  return {
    firstBefore,
    old: [oldTorch, oldSt].map((m) => ({ big: sum(m.big.data as Float32Array), small: Array.from(m.small.data as Float32Array), ids: String(m.ids.data[2]) })),
    fresh: [newTorch, newSt].map((m) => ({ big: sum(m.big.data as Float32Array), small: Array.from(m.small.data as Float32Array), ids: String(m.ids.data[2]) })),
    expected: [model(1), model(2)].map((m) => ({ big: sum(m.big.data as Float32Array), small: Array.from(m.small.data as Float32Array), ids: String(m.ids.data[2]) })),
    deleted,
    mappings: mapsOf(pt).length + mapsOf(st).length,
  };
}

async function jsBackend(): Promise<Record<string, unknown>> {
  const pt = path.join(dir, 'js.pt');
  const st = path.join(dir, 'js.safetensors');
  await saveTorch(model(3), pt);
  await saveSafetensors(model(3), st);
  const a = await loadTorch<Records>(pt, { mmap: true });
  const b = await loadSafetensors<Records>(st, { mmap: true });
  const expected = model(3);
  const same = (m: Records) => Object.keys(expected).every((k) => Buffer.from(m[k].data.buffer, m[k].data.byteOffset, m[k].data.byteLength).equals(Buffer.from(expected[k].data.buffer)));
  return {
    nativeLoaded: backendInfo().nativeLoaded,
    same: [same(a), same(b)],
    how: [...Object.values(a), ...Object.values(b)].map((t) => mappingOf(t.data)),
    mappings: mapsOf(pt).length + mapsOf(st).length,
  };
}

const modes: Record<string, () => Promise<Record<string, unknown>>> = {
  lifetime,
  cycles: () => cycles(Number(process.argv[4] ?? 2000)),
  rss: laziness,
  sigbus,
  replace,
  js: jsBackend,
};
modes[mode]().then(
  (result) => console.log(JSON.stringify(result)),
  (err) => {
    console.error(err);
    process.exit(1);
  },
);
