// The benchmark's page (docs/benchmark.md): the machine, the speed targets
// (met or not, with the numbers), a summary row per cell, then every peer of
// every cell.
import type { Machine } from './machine';
import { bytesName, pct, sig, sizeName, times } from './stats';
import type { CellResult, PeerResult } from './types';

export interface RunMeta {
  machine: Machine;
  quick: boolean;
  settings: { rounds: number; minRounds: number; sample: number; warm: number; peerBudget: number; maxStep: number };
  notes: string[];
  hosts: string[];
  /** How one-thread samples were placed on cores (affinity.ts); absent in runs before it. */
  pinning?: string;
  defaultIsa: string;
  /** Whether simd-optim advises huge pages for its arrays of 2 MiB and more (backendInfo().hugePages). */
  hugePages: boolean;
  seconds: number;
  /** This VM's 1-minute load average when the run started and ended (runnable threads, the run's own included). */
  load: { before: number; after: number };
  command: string;
}

export interface TargetResult {
  target: string;
  /** Which cells it was judged on. */
  where: string;
  /** The decisive number (the worst case) and the others. */
  measured: string;
  /** The decisive number alone, e.g. "84% (64M plain)". */
  worst: string;
  /** true / false; null when it could not be measured in this run. */
  met: boolean | null;
  /** Met on the cells measured, with some cells not measured (a peer that cannot run there). */
  partial?: boolean;
  /** The worst cell's same-round values over the rounds, e.g. "81–97%". */
  range?: string;
  /**
   * Not met, and out of reach in this run: every cell that misses the goal is
   * out of cache and would miss it even with simd-optim at 100% of the
   * bandwidth limit. Says what it would reach there, e.g. "8.1× (100 × 100K m+c)".
   */
  outOfReach?: string;
}

const cellName = (c: CellResult) => `${c.workload} ${c.config === 'plain' ? 'plain' : 'm+c'}${c.dtype === 'float64' ? ' f64' : ''}`;

const peer = (c: CellResult, pred: (r: PeerResult) => boolean) => c.peers.find((r) => pred(r) && r.melemPerSec);

const atThreads = (r: PeerResult, threads: 'one' | 'all') => (threads === 'one' ? r.threads === 1 : r.threads > 1);

/** The faster of a PyTorch's foreach and single-tensor peers at one thread or all cores (the lower ratio to simd-optim), or undefined. */
function fastestTorch(c: CellResult, pred: (r: PeerResult) => boolean, threads: 'one' | 'all'): PeerResult | undefined {
  const ts = c.peers.filter((r) => pred(r) && atThreads(r, threads) && r.nativeRatio !== undefined);
  return ts.sort((a, b) => a.nativeRatio! - b.nativeRatio!)[0];
}

/** The header's page-size facts: the kernel's THP mode and whether simd-optim advises huge pages. */
const pagesText = (meta: RunMeta) =>
  `transparent huge pages "${meta.machine.thp ?? 'unknown'}"; simd-optim ${meta.hugePages ? 'advises' : 'does not advise'} huge pages from 2 MiB`;

/** Out of the last-level cache ("several times" its size): the arrays take at least 3× the LLC. */
export function outOfCache(meta: RunMeta, c: CellResult): boolean {
  const llc = meta.machine.llcBytes ?? 32 * 2 ** 20;
  return c.footprintBytes >= 3 * llc;
}

interface Judged {
  cell: CellResult;
  value: number | undefined;
  /** The same-round value's lowest and highest over the rounds. */
  range?: { min: number; max: number };
  note?: string;
  /**
   * Out of cache, for a ratio to a peer: the ratio simd-optim would reach at
   * 100% of the bandwidth limit (its ratio ÷ its % of the limit, both medians
   * of same-round pairs). Nothing runs faster than the memory bus there.
   */
  ceiling?: number;
}

function judge(target: string, where: string, values: Judged[], goal: number, fmt: (x: number) => string, inverted = false): TargetResult {
  const measured = values.filter((v) => v.value !== undefined) as (Judged & { value: number })[];
  const missing = values.filter((v) => v.value === undefined);
  if (!measured.length) {
    const measured = missing.length ? `not measured (${missing.map((m) => `${cellName(m.cell)}: ${m.note ?? 'no data'}`).join('; ')})` : 'no such cells in this run';
    return { target, where, measured, worst: measured, met: null };
  }
  const worst = measured.reduce((a, b) => (b.value < a.value ? b : a));
  const all = measured.map((v) => `${cellName(v.cell)} ${fmt(v.value)}`).join(', ');
  const gaps = missing.length ? `; not measured: ${missing.map((m) => `${cellName(m.cell)} (${m.note ?? 'no data'})`).join(', ')}` : '';
  const decisive = `${fmt(worst.value)} (${cellName(worst.cell)})${missing.length ? `; ${missing.length} cell(s) not measured` : ''}`;
  // Printed low to high as displayed: an inverting fmt ("1.8× the time") swaps the ends.
  const ends = worst.range ? [fmt(worst.range.min), fmt(worst.range.max)] : undefined;
  const range = ends ? (inverted ? ends.reverse() : ends).join('–') : undefined;
  const met = worst.value >= goal;
  const failing = measured.filter((v) => v.value < goal);
  const beyond = failing.length > 0 && failing.every((v) => v.ceiling !== undefined && v.ceiling < goal);
  const outOfReach = beyond ? failing.map((v) => `${fmt(v.ceiling!)} (${cellName(v.cell)})`).join(', ') : undefined;
  const reach = outOfReach ? `; the median at 100% of the bandwidth limit: ${outOfReach}` : '';
  return {
    target, where, measured: `worst ${fmt(worst.value)} (${cellName(worst.cell)}${range ? `; rounds ${range}` : ''}); ${all}${gaps}${reach}`,
    worst: decisive, met, partial: met && missing.length > 0, range, outOfReach,
  };
}

/** The ratio to a peer that simd-optim would reach at 100% of the bandwidth limit, out of cache only (see Judged.ceiling). */
function ceilingOf(meta: RunMeta, c: CellResult, ratio: number | undefined, native: PeerResult | undefined): number | undefined {
  if (ratio === undefined || !outOfCache(meta, c) || !native?.pctOfLimit) return undefined;
  if (!c.limit[native.threads === 1 ? '1' : 'all']?.kernel.endsWith('(C)')) return undefined; // a JS loop is no hardware limit
  return ratio / Math.min(1, native.pctOfLimit); // above the limit already: the limit loop fell short of the bus
}

export function evaluateTargets(meta: RunMeta, cells: CellResult[]): TargetResult[] {
  const d = meta.defaultIsa;
  const nat = (c: CellResult, threads: 'one' | 'all') => peer(c, (r) => r.kind === 'native' && r.isa === d && (threads === 'one' ? r.threads === 1 : r.threads > 1));
  const out: TargetResult[] = [];
  // "Tensors larger than the last-level cache": single tensors; a
  // group of many small tensors (100 × 100K) is out of cache too, but each of
  // its tensors is not, and PyTorch's temporaries for it stay in its allocator.
  const big = cells.filter((c) => c.tensors === 1 && outOfCache(meta, c));
  const llc = meta.machine.llcBytes ? bytesName(meta.machine.llcBytes) : 'unknown (32 MiB assumed)';
  const whereBig = `one tensor, arrays ≥ 3 × LLC (${llc}): ${[...new Set(big.map(cellName))].join(', ') || 'none'}`;
  // A limit measured by the JS fallback loops (no C compiler) is no hardware limit.
  const limitOf = (c: CellResult, key: '1' | 'all', r: PeerResult | undefined): Judged => {
    const lim = c.limit[key];
    if (!lim) return { cell: c, value: undefined, note: key === '1' ? 'no limit measured' : 'no all-core limit' };
    if (!lim.kernel.endsWith('(C)')) return { cell: c, value: undefined, note: `the limit is a JS loop (${lim.kernel}), not the hardware's` };
    return { cell: c, value: r?.pctOfLimit, range: r?.pctOfLimitRange };
  };
  out.push(judge('native, one thread, ≥ 85% of the single-thread bandwidth limit', whereBig,
    big.map((c) => limitOf(c, '1', nat(c, 'one'))), 0.85, pct));
  out.push(judge('native, all cores, ≥ 85% of the all-core bandwidth limit', whereBig,
    big.map((c) => limitOf(c, 'all', nat(c, 'all'))), 0.85, pct));

  // PyTorch as users run it (kind 'torch') decides the targets; PyTorch 2.6
  // with huge pages for its allocations (kind 'torch-thp') is shown after them.
  const torchVals = (pred: (r: PeerResult) => boolean, threads: 'one' | 'all') =>
    big.filter((c) => c.dtype === 'float32').map((c) => {
      const fastest = fastestTorch(c, pred, threads);
      const why = c.peers.find((r) => pred(r) && atThreads(r, threads) && r.reason)?.reason;
      const ceiling = ceilingOf(meta, c, fastest?.nativeRatio, nat(c, threads));
      return { cell: c, value: fastest?.nativeRatio, range: fastest?.paired, note: why, ceiling };
    });
  const sides = (threads: 'one' | 'all') => `${threads === 'one' ? 'one thread' : 'all cores'} both sides`;
  for (const version of ['1.13', '2.6']) {
    for (const threads of ['one', 'all'] as const) {
      const vals = torchVals((r) => r.kind === 'torch' && r.id.startsWith(`torch-${version}-`), threads);
      out.push(judge(`≥ 5× PyTorch ${version} RMSprop (its faster of foreach / single-tensor), ${sides(threads)}`,
        whereBig.replace(/: .*/, ', float32'), vals, 5, times));
    }
  }
  for (const threads of ['one', 'all'] as const) {
    out.push(judge(`(for information: the target is PyTorch as above) ≥ 5× PyTorch 2.6 with THP_MEM_ALLOC_ENABLE=1 ` +
      `(huge pages for its allocations too; its faster of foreach / single-tensor), ${sides(threads)}`,
    whereBig.replace(/: .*/, ', float32'), torchVals((r) => r.kind === 'torch-thp', threads), 5, times));
  }

  const fromMillion = cells.filter((c) => c.dtype === 'float32' && c.elements >= 1e6);
  const whereM = `float32, one thread, every workload of ≥ 1M elements: ${[...new Set(fromMillion.map((c) => c.workload))].join(', ')}`;
  const ratioTo = (id: string) => fromMillion.map((c) => {
    const r = c.peers.find((p) => p.id === id);
    const ceiling = ceilingOf(meta, c, r?.nativeRatio, nat(c, 'one'));
    return { cell: c, value: r?.nativeRatio, range: r?.paired, note: r?.reason ?? (r ? undefined : 'not run'), ceiling };
  });
  out.push(judge('≥ 6× a plain JavaScript loop', whereM, ratioTo('js-loop'), 6, times));
  out.push(judge('≥ 10× TensorFlow.js wasm', whereM, ratioTo('tfjs-wasm'), 10, times));

  const inCache = cells.filter((c) => c.tensors === 1 && c.elements >= 65536 && c.elements <= 1 << 20);
  // A bound measured only in JS or only for the scalar ISA (no C compiler; arm64) is no SIMD bound.
  const boundOf = (c: CellResult): Judged => {
    const r = nat(c, 'one');
    if (!c.bound) return { cell: c, value: undefined, note: 'no sqrt+div loop measured' };
    if (c.bound.isa === 'js') return { cell: c, value: undefined, note: 'the sqrt+div loop is a JS loop (no C compiler), not the hardware\'s' };
    if (c.bound.isa === 'scalar' && d !== 'scalar') return { cell: c, value: undefined, note: `only a scalar sqrt+div loop here, no ${d} one` };
    return { cell: c, value: r?.pctOfBoundBest, range: r?.pctOfBoundRange };
  };
  out.push(judge('in cache, ≥ 90% of a loop doing only the sqrt and the divide over the same data (its fastest ISA)',
    `one tensor of 64K–1M elements, one thread: ${[...new Set(inCache.map(cellName))].join(', ')}`,
    inCache.map(boundOf), 0.9, pct));

  // Is the default ISA worth choosing? (AVX-512 next to AVX2 only if it measures
  // faster.) Judged on the geometric mean over cells of default ÷ fastest other
  // ISA at one thread, each from same-round pairs: single cells are too noisy on a
  // shared machine.
  const isaVals = cells.flatMap((c) => {
    const others = c.peers.filter((r) => r.kind === 'native' && r.threads === 1 && r.isa !== d && r.nativeRatio !== undefined);
    if (!others.length) return [];
    const best = others.reduce((a, b) => (b.nativeRatio! < a.nativeRatio! ? b : a));
    return [{ cell: c, value: best.nativeRatio!, other: best.isa! }];
  });
  const geomean = isaVals.length ? Math.exp(isaVals.reduce((a, v) => a + Math.log(v.value), 0) / isaVals.length) : undefined;
  const worstIsa = isaVals.length ? isaVals.reduce((a, b) => (b.value < a.value ? b : a)) : undefined;
  const bestIsa = isaVals.length ? isaVals.reduce((a, b) => (b.value > a.value ? b : a)) : undefined;
  const isaSummary = geomean === undefined
    ? 'no cell with two ISAs'
    : `${d} ÷ the faster other ISA: geometric mean ${pct(geomean)} over ${isaVals.length} cells; ` +
      `lowest ${pct(worstIsa!.value)} (${cellName(worstIsa!.cell)}, vs ${worstIsa!.other}), highest ${pct(bestIsa!.value)} (${cellName(bestIsa!.cell)})`;
  out.push({
    target: `the default ISA (${d}) is at least as fast as the others (geometric mean over cells ≥ 100%), one thread`,
    where: 'every cell with more than one ISA',
    measured: isaSummary,
    worst: geomean === undefined ? isaSummary : `${pct(geomean)} (geometric mean); lowest cell ${pct(worstIsa!.value)} (${cellName(worstIsa!.cell)})`,
    met: geomean === undefined ? null : geomean >= 1,
  });

  // Side by side: the one 100K tensor is a peer of the 1,000 × 100 cell, each of its
  // samples paired with one of 1,000 × 100, not the 100K cell measured minutes apart
  // (this shared machine has slow phases lasting minutes, which hit two cells unevenly).
  const small: Judged[] = [];
  for (const config of ['plain', 'momentum+centered']) {
    const many = cells.find((c) => c.dtype === 'float32' && c.config === config && c.tensors === 1000 && c.size === 100);
    if (!many) continue;
    const b = peer(many, (r) => r.kind === 'native-one-tensor');
    // Its ratio is rate(1000 × 100) / rate(100K) = time(100K) / time(1000 × 100): judged ≥ 0.5, shown inverted.
    small.push({ cell: many, value: b?.nativeRatio, range: b?.paired, note: b ? undefined : 'no one-tensor peer' });
  }
  const t = judge('1,000 × 100 takes at most 2× the time of one 100K tensor (sampled back to back)', 'float32, one thread', small, 0.5,
    (x) => `${(1 / x).toFixed(2)}×`, true);
  out.push(t);
  return out;
}

function melemCell(r: PeerResult | undefined): string {
  if (!r) return '–';
  if (!r.melemPerSec) return r.status === 'ok' ? '–' : r.status;
  return `${sig(r.melemPerSec.median)} (${sig(r.melemPerSec.min)}–${sig(r.melemPerSec.max)})`;
}

function statusText(r: PeerResult): string {
  if (r.status === 'ok') return '';
  return `${r.status}: ${r.reason ?? ''}`.replace(/\|/g, '/');
}

/** A ratio with two decimals near 1, where simd-optim's ISAs and arrays are compared with each other. */
const nearOne = (v: number | undefined) => (v !== undefined && v < 2 ? `${v.toFixed(2)}×` : times(v));

const metText = (t: TargetResult) =>
  t.met === null ? 'not measured'
    : t.met ? (t.partial ? '**yes**, where measured' : '**yes**')
      : t.outOfReach ? `**no**; out of reach in this run: the median at 100% of the bandwidth limit would be ${t.outOfReach}` : '**no**';

/** The targets: met or not, with the numbers that decide it. */
export function targetsTable(targets: TargetResult[]): string[] {
  const L = ['| target | judged on | measured (medians of same-round ratios) | met |', '|---|---|---|---|'];
  for (const t of targets) L.push(`| ${t.target} | ${t.where} | ${t.measured} | ${metText(t)} |`);
  return L;
}

/** The targets in short: the decisive (worst) cell, and its same-round values over the rounds. */
export function targetsShortTable(targets: TargetResult[]): string[] {
  const L = ['| target | met | worst cell: median of the rounds | that cell, lowest–highest round |', '|---|---|---|---|'];
  for (const t of targets) L.push(`| ${t.target} | ${metText(t)} | ${t.worst} | ${t.range ?? '–'} |`);
  return L;
}

/** One row per cell: simd-optim's default ISA at one thread and all cores, and its ratio to each peer. */
export function summaryTable(meta: RunMeta, cells: CellResult[]): string[] {
  const d = meta.defaultIsa;
  const T = meta.machine.cores;
  const L: string[] = [];
  L.push('Melem/s: median (min–max) of the rounds. "× peer" = simd-optim\'s throughput ÷ the peer\'s at the same thread count, ' +
    'the median over the rounds of the ratio of two samples taken back to back ' +
    '(PyTorch: its faster variant and version, as users run it; PyTorch 2.6 THP: the same PyTorch 2.6 with THP_MEM_ALLOC_ENABLE=1, ' +
    'huge pages for its allocations, for information). % limit: GB/s (bytes the config must move) ÷ the fastest of copy, triad and the ' +
    'config\'s own streams at the same thread count and size, also from back-to-back pairs. % bound: simd-optim ÷ a loop doing only the sqrt and the divide over the step\'s own arrays, the same way. ' +
    'simd-optim\'s params and grads come from `zeros`; "p/g by new Float32Array" is the same step over params and grads made with ' +
    '`new Float32Array` (`new Float64Array` in float64 rows), and "zeros ÷ it" what `zeros` gains.');
  L.push('');
  L.push(`| workload | config | dtype | arrays | 1T Melem/s | 1T GB/s | 1T % limit | ${T}T Melem/s | ${T}T % limit | ` +
    `1T p/g by new Float32Array: Melem/s (zeros ÷ it) | × PyTorch 1T | × PyTorch ${T}T | × PyTorch 2.6 THP 1T | × PyTorch 2.6 THP ${T}T | ` +
    '× JS loop | × JS backend | × TF.js cpu | × TF.js wasm | % sqrt+div bound |');
  L.push('|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|');
  for (const c of cells) {
    const one = peer(c, (r) => r.kind === 'native' && r.isa === d && r.threads === 1);
    const all = peer(c, (r) => r.kind === 'native' && r.isa === d && r.threads > 1);
    const torchBest = (kind: 'torch' | 'torch-thp', threads: 'one' | 'all') => {
      const best = fastestTorch(c, (r) => r.kind === kind, threads);
      if (best) return times(best.nativeRatio);
      const why = c.peers.find((r) => r.kind === kind);
      return why ? why.status : '–';
    };
    const ratio = (id: string) => {
      const r = c.peers.find((p) => p.id === id);
      if (!r) return '–';
      return r.nativeRatio !== undefined ? times(r.nativeRatio) : r.status;
    };
    const jsArrays = (() => {
      const r = c.peers.find((p) => p.kind === 'native-jsarrays');
      if (!r) return '–';
      return r.melemPerSec ? `${sig(r.melemPerSec.median)} (${r.nativeRatio !== undefined ? `${r.nativeRatio.toFixed(2)}×` : '–'})` : r.status;
    })();
    L.push(`| ${c.workload} | ${c.config} | ${c.dtype} | ${bytesName(c.footprintBytes)} | ${melemCell(one)} | ${sig(one?.gbPerSec)} | ${pct(one?.pctOfLimit)} | ` +
      `${melemCell(all)} | ${c.elements >= 1 << 20 ? pct(all?.pctOfLimit) : '–'} | ${jsArrays} | ` +
      `${torchBest('torch', 'one')} | ${torchBest('torch', 'all')} | ${torchBest('torch-thp', 'one')} | ${torchBest('torch-thp', 'all')} | ` +
      `${ratio('js-loop')} | ${ratio('js-backend')} | ${ratio('tfjs-cpu')} | ${ratio('tfjs-wasm')} | ${pct(one?.pctOfBoundBest)} |`);
  }
  L.push('');
  L.push('Where a ratio is missing, the peer\'s status says why (not available, skipped, failed); [every peer, cell by cell](#every-peer-cell-by-cell) gives the reason. ' +
    `${T}T % limit is left out below 1M elements: there the all-core limit loop mostly measures waking its threads (simd-optim splits a step only from 64K elements per thread).`);
  return L;
}

/** Where the page's parts come from: the chart (relative to the page) and hand-written notes. */
export interface PageParts {
  chartPath: string;
  /** Markdown read from bench/notes.md: what limits the speed, measured by hand. */
  notes?: string;
}

/** The cells of the headline table, one thread, float32: in cache, many small tensors, out of cache. */
const HEADLINE_CELLS = [
  { workload: '100K', config: 'plain' },
  { workload: '1000 × 100', config: 'plain' },
  { workload: '16M', config: 'plain' },
  { workload: '16M', config: 'momentum+centered' },
];

/**
 * A short table of the run for the README: one thread, float32, a few cells;
 * simd-optim's speed, its share of the machine's limit, and its ratio to each
 * kind of peer.
 */
export function headlineTable(meta: RunMeta, cells: CellResult[]): string[] {
  const d = meta.defaultIsa;
  const L = ['| RMSprop step, one thread, float32 | simd-optim | of the limit | × PyTorch 2.6 | × PyTorch 1.13 | × TF.js wasm | × plain JS loop |',
    '|---|---:|---:|---:|---:|---:|---:|'];
  for (const want of HEADLINE_CELLS) {
    const c = cells.find((x) => x.workload === want.workload && x.config === want.config && x.dtype === 'float32');
    if (!c) continue;
    const one = peer(c, (r) => r.kind === 'native' && r.isa === d && r.threads === 1);
    const torch = (version: string) => {
      const best = fastestTorch(c, (r) => r.kind === 'torch' && r.id.startsWith(`torch-${version}-`), 'one');
      return best ? times(best.nativeRatio) : '–';
    };
    const ratio = (id: string) => {
      const r = c.peers.find((p) => p.id === id);
      return r?.nativeRatio !== undefined ? times(r.nativeRatio) : '–';
    };
    // In cache the limit is the sqrt+div loop over the same data; out of cache, the memory bus.
    // Many small tensors have no bound of their own: their yardstick is one tensor of the same size.
    const oneTensor = peer(c, (r) => r.kind === 'native-one-tensor');
    const share = outOfCache(meta, c) ? `${pct(one?.pctOfLimit)} of bandwidth`
      : one?.pctOfBoundBest !== undefined ? `${pct(one.pctOfBoundBest)} of sqrt+div`
        : oneTensor?.nativeRatio !== undefined ? `${pct(oneTensor.nativeRatio)} of one ${sizeName(c.elements)} tensor` : '–';
    const name = `${c.workload === '1000 × 100' ? '1,000 tensors of 100' : `${c.workload} elements`}${c.config === 'plain' ? '' : ', momentum+centered'}`;
    L.push(`| ${name} | ${one?.melemPerSec ? `${sig(one.melemPerSec.median)} Melem/s` : '–'} | ${share} | ${torch('2.6')} | ${torch('1.13')} | ` +
      `${ratio('tfjs-wasm')} | ${ratio('js-loop')} |`);
  }
  return L;
}

/** docs/benchmark.md (or --quick's page): everything the run measured, with how to read it. */
export function renderPage(meta: RunMeta, cells: CellResult[], targets: TargetResult[], parts: PageParts): string {
  const m = meta.machine;
  const L: string[] = [];
  L.push(`# Benchmark${meta.quick ? ' (--quick smoke run)' : ''}`);
  L.push('');
  L.push('<!-- Written by `npm run bench` (bench/run.ts, bench/report.ts; notes from bench/notes.md). Do not edit by hand. -->');
  L.push('');
  L.push('`npm run bench` times RMSprop steps of simd-optim and of every peer side by side in one run, and measures the ' +
    'machine\'s limits in the same run over the same sizes: simd-optim\'s native kernels for each ISA the CPU runs ' +
    '(one thread and all cores), its pure-JS backend, the plain JavaScript `for` loop with `Math.sqrt` a user would write, ' +
    'TensorFlow.js `tf.train.rmsprop` on its `cpu` and `wasm` backends, PyTorch\'s `torch.optim.RMSprop` (foreach and ' +
    'single-tensor, timed inside Python: 1.13 and 2.6 where installed, and 2.6 again with THP_MEM_ALLOC_ENABLE=1, huge pages for its allocations, for information), ' +
    'the memory bandwidth (copy, triad and a loop with the step\'s own streams, bench/limits.c) and the sqrt+div bound (a loop doing only ' +
    'the square root and the divide of a step, over the step\'s own arrays). `npm run bench -- --quick` is a smoke run of about a minute, into bench/out/. ' +
    'Every ratio is the median over rounds of two samples taken back to back (see [Method](#method)): the machine is shared, and its speed changes from one second to the next.');
  L.push('');
  L.push(`**This run:** ${m.cpu}, ${m.cores} cores${m.hypervisor ? ' (a virtual machine, shared)' : ''}; L${m.llcLevel ?? '?'} ` +
    `${m.llcBytes ? bytesName(m.llcBytes) : 'unknown'} (${m.llcSource}); ${bytesName(m.memTotalBytes)} RAM; ${m.kernel}; default ISA ${meta.defaultIsa}; ` +
    `${pagesText(meta)}; Node ${m.node}; ${m.date}; \`${meta.command}\`, ${Math.round(meta.seconds / 60)} minutes; ` +
    `load average ${meta.load.before} at the start and ${meta.load.after} at the end (this VM's runnable threads, the run's own included).`);
  L.push('');
  for (const h of meta.hosts) L.push(`- ${h}`);
  for (const n of meta.notes) L.push(`- ${n}`);
  if (meta.pinning) L.push(`- ${meta.pinning}`);
  L.push('');
  L.push('## Summary');
  L.push('');
  L.push(...headlineTable(meta, cells));
  L.push('');
  L.push('In cache (100K elements) the limit is a loop doing only the square root and the divide of a step over the same data; ' +
    'out of cache, the memory bandwidth measured in the same run; 1,000 small tensors are compared with one tensor of as many elements, ' +
    'sampled back to back. PyTorch is its faster of foreach and single-tensor.');
  L.push('');
  L.push(`![RMSprop step throughput against size, per peer](${parts.chartPath})`);
  L.push('');
  L.push('## Targets');
  L.push('');
  L.push('Each target is judged on its worst cell, by the median over the rounds of that cell\'s same-round ratio; the last column gives ' +
    'the lowest and the highest round, the spread the noise leaves. "Out of reach" marks a target whose median simd-optim would miss even at 100% ' +
    'of the bandwidth limit measured in the run (its median ratio to the peer ÷ its median share of the limit, in cells out of cache). ' +
    'Which cells each target covers is in [the long table](#targets-cell-by-cell).');
  L.push('');
  L.push(...targetsShortTable(targets));
  L.push('');
  L.push(`## Results (simd-optim = native kernels, default ISA ${meta.defaultIsa})`);
  L.push('');
  L.push(...summaryTable(meta, cells));
  L.push('');
  if (parts.notes) {
    L.push(parts.notes.trim());
    L.push('');
  }
  L.push('## Targets, cell by cell');
  L.push('');
  L.push(...targetsTable(targets));
  L.push('');
  L.push('## Method');
  L.push('');
  L.push(`- Bytes a step must move: plain float32 reads p, g, v and writes p, v: 20 B/element; momentum and centered add 8 each (36); float64 doubles. ` +
    'GB/s of every peer counts these bytes, whatever the peer really moves (PyTorch\'s several passes move more).');
  L.push('- The limit at a size and thread count: the fastest of three loops measured in the same run over the same number of elements ' +
    '(bench/limits.c, or typed-array JS where no C compiler exists, as the hosts above say): copy (counted 2 arrays), triad (3), and a loop with the config\'s exact ' +
    'streams and trivial arithmetic (5 or 9 arrays). Each counts its own bytes. Single-thread peers are compared with the single-thread limit, ' +
    'all-core peers with the all-core limit. The C loops\' arrays are 2 MiB aligned and advised as transparent huge pages from 2 MiB, ' +
    'before their first touch, as simd-optim\'s are: the limit is what the hardware does with its best page size (4 KiB pages cost TLB misses, dearer in a VM).');
  L.push('- The in-cache bound: `p[i] = g[i] / sqrt(v[i])` over the same data as the step, one thread: it loads every array the step loads ' +
    '(p, g, v; also the momentum buffer and grad_avg for momentum+centered) and stores every array the step stores, unchanged but for p, ' +
    'so that it moves the same bytes through the same caches, and its only arithmetic is one square root and one divide per element, ' +
    'which every RMSprop step needs. Written with each ISA\'s intrinsics (scalar sqrtss/divss, AVX2, AVX-512); the best ISA is the bound.');
  L.push(`- Timing: each peer warms up (its first step, then at least two batches of steps, fast peers until ~${meta.settings.warm * 1000} ms; ` +
    'the note column gives each peer\'s warm-up), is calibrated to samples of ' +
    `~${meta.settings.sample * 1000} ms, then takes one sample per round in an order rotated each round (up to ${meta.settings.rounds} rounds; at least ${meta.settings.minRounds}; ` +
    `fewer rounds than the maximum when its samples would exceed ${meta.settings.peerBudget} s per cell). ` +
    'Each sample is paired with a sample of the reference, simd-optim\'s default ISA at the same thread count, taken right before it in even rounds ' +
    'and right after it in odd ones: every ratio, % of limit and % of bound is the median over the rounds of these same-round ratios, taken back to back, ' +
    'because this shared machine\'s speed changes between samples taken seconds apart (the targets give the lowest and highest round too); ' +
    'the median weighs the rounds where the reference went first and those where it went second alike (the geometric mean of the two orders\' medians). ' +
    'Every sample of every peer starts after untimed steps, at least one and about 2 ms of them (data back into cache, page walks warm, switches applied): ' +
    'a process that waited while the others ran is slower on its first step, and the reference, which runs next to every sample, never waits long. ' +
    (meta.pinning ? `${meta.pinning} ${meta.pinning.includes('not pinned') ? '' : '(In a VM one core can be slower than the other for seconds at a time, and a pair split across them measures the cores, not the peers.) '}` : '') +
    `Peers whose step would take over ${meta.settings.maxStep} s (extrapolated from the previous size) are skipped and say so. ` +
    'PyTorch and TensorFlow.js time themselves in their own processes; a crash or out-of-memory there fails that row only. ' +
    'PyTorch and the C limits run with OMP_WAIT_POLICY=PASSIVE and GOMP_SPINCOUNT=0, so that their idle OpenMP threads sleep instead of spinning on the cores ' +
    'the next peer needs (simd-optim\'s own pool sleeps too); this costs PyTorch\'s all-core runs a thread wake-up per operation, a few microseconds, which shows at 1M elements and below only.');
  L.push('- simd-optim peers share one set of params and grads per cell: the native peers step one optimizer (ISA and thread count are switched before each sample), ' +
    'the JS backend its own optimizer over the same params (an optimizer is bound to one backend at a time, and switching it would make the next native sample rebind every array); ' +
    'the plain JS loop steps the same arrays. Params and grads come from `zeros`, as the docs tell users to allocate them, ' +
    '(from 2 MiB on 2 MiB boundaries advised as transparent huge pages; from 16 KiB page-aligned, carved from 16 MiB huge-page allocations; under 4 KiB, consecutive views of a shared 64 KiB buffer; between, plain typed arrays), and the state from the optimizer\'s first step ' +
    '(64-byte aligned; from 16 KiB placed in its page after its parameter; from 2 MiB on huge pages too). ' +
    'One more peer steps a second optimizer (default ISA, one thread) over params and grads made with `new Float32Array` ' +
    '(`new Float64Array` in float64 rows), with its own state: what `zeros` gains. PyTorch\'s foreach and single-tensor optimizers share params, grads and state.');
  L.push('- PyTorch 2.6 runs twice, in two processes: as users run it (the targets\' PyTorch), and with THP_MEM_ALLOC_ENABLE=1, which makes its CPU ' +
    'allocator advise huge pages for allocations of 2 MiB and more (its params, grads, state and per-step temporaries), shown for information. PyTorch 1.13 has no such switch.');
  L.push('');
  L.push('## Every peer, cell by cell');
  L.push('');
  for (const c of cells) {
    const lim = (k: '1' | 'all') => (c.limit[k] ? `${sig(c.limit[k]!.gbPerSec)} GB/s (${c.limit[k]!.kernel})` : 'not measured');
    L.push(`<details><summary>${c.workload}, ${c.config}, ${c.dtype}</summary>`);
    L.push('');
    L.push(`${c.elements.toLocaleString('en-US')} elements × ${c.bytesPerElement} B/elem to move; arrays ${bytesName(c.footprintBytes)}` +
      `${outOfCache(meta, c) ? ' (≥ 3 × LLC: out of cache)' : ''}. Limit 1T: ${lim('1')}; all cores: ${lim('all')}` +
      `${c.bound ? `. sqrt+div bound: ${sig(c.bound.melemPerSec)} Melem/s (${c.bound.isa})` : ''}. Up to ${c.rounds} rounds.`);
    L.push('');
    L.push('| peer | threads | Melem/s median (min–max) | GB/s | % of limit | simd-optim ÷ peer: same-round median (lowest–highest) | samples × steps | note |');
    L.push('|---|---:|---:|---:|---:|---:|---:|---|');
    for (const r of c.peers) {
      const gb = r.kind === 'limit' ? `${sig(r.limitGBPerSec)} (counted)` : sig(r.gbPerSec);
      const extra: string[] = [];
      if (r.pctOfBoundSameIsa !== undefined) extra.push(`${pct(r.pctOfBoundSameIsa)} of the ${r.isa} sqrt+div loop`);
      if (r.warmup.length) extra.push(`warm-up: first step ${sig(r.warmup[0] * 1e3)} ms, then ${r.warmup.length - 1} batch(es), last ${sig(r.warmup[r.warmup.length - 1] * 1e3)} ms/step`);
      if (r.kind === 'bound' && r.melemPerSec) extra.push('only sqrt and divide');
      const note = [statusText(r), ...extra].filter(Boolean).join('; ');
      const ratio = r.kind === 'limit' || r.kind === 'bound' ? '' : `${nearOne(r.nativeRatio)}${r.paired ? ` (${nearOne(r.paired.min)}–${nearOne(r.paired.max)})` : ''}`;
      // As in the summary: below 1M elements the all-core limit loop mostly measures waking its threads.
      const pctLimit = r.threads > 1 && c.elements < 1 << 20 ? '–' : pct(r.pctOfLimit);
      L.push(`| ${r.label} | ${r.threads} | ${melemCell(r)} | ${gb} | ${pctLimit} | ${ratio} | ` +
        `${r.samples.length ? `${r.samples.length} × ${r.steps}` : ''} | ${note} |`);
    }
    L.push('');
    L.push('</details>');
    L.push('');
  }

  return `${L.join('\n')}\n`;
}
