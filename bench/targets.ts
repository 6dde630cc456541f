// The speed targets, judged on a run's cells: each on its worst cell, by the
// median over rounds of that cell's same-round ratio. The sweep's optimizer
// (RMSprop) keeps the targets it was built to; each config of the family
// (SGD, Adam, AdamW) is judged on its own out-of-cache cells against its
// own streams, PyTorch 2.6 fused, PyTorch's default path and the plain loop.
import type { Algorithm, AlgorithmConfig } from './algorithms';
import { atThreads, byAlgorithm, cellName, fastestTorch, nativeAt, outOfCache, peer } from './cells';
import { bytesName, pct, times } from './stats';
import type { CellResult, PeerResult, RunMeta } from './types';

/** A target's verdict on a run, with the numbers that decide it. */
export interface TargetResult {
  /** The optimizer (and config) it judges, e.g. "RMSprop", "SGD, momentum 0.9": the page groups targets by it. */
  group: string;
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

/** A target's verdict before evaluateTargets names its group. */
type Verdict = Omit<TargetResult, 'group'>;

function judge(target: string, where: string, values: Judged[], goal: number, fmt: (x: number) => string, inverted = false): Verdict {
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

/**
 * "Tensors larger than the last-level cache": single tensors; a group of many
 * small tensors (100 × 100K) is out of cache too, but each of its tensors is
 * not, and PyTorch's temporaries for it stay in its allocator.
 */
const bigCells = (meta: RunMeta, cells: CellResult[]) => cells.filter((c) => c.tensors === 1 && outOfCache(meta, c));

function bigWhere(meta: RunMeta, big: CellResult[]): string {
  const llc = meta.machine.llcBytes ? bytesName(meta.machine.llcBytes) : 'unknown (32 MiB assumed)';
  return `one tensor, arrays ≥ 3 × LLC (${llc}): ${[...new Set(big.map(cellName))].join(', ') || 'none'}`;
}

/** simd-optim's share of the bandwidth limit; a limit measured by the JS fallback loops (no C compiler) is no hardware limit. */
function limitShare(c: CellResult, key: '1' | 'all', r: PeerResult | undefined): Judged {
  const lim = c.limit[key];
  if (!lim) return { cell: c, value: undefined, note: key === '1' ? 'no limit measured' : 'no all-core limit' };
  if (!lim.kernel.endsWith('(C)')) return { cell: c, value: undefined, note: `the limit is a JS loop (${lim.kernel}), not the hardware's` };
  return { cell: c, value: r?.pctOfLimit, range: r?.pctOfLimitRange };
}

/** simd-optim (one thread) ÷ the peer `id` in each cell, with its rounds' range, why it is missing, and its ceiling out of cache. */
function ratiosTo(meta: RunMeta, cells: CellResult[], id: string): Judged[] {
  return cells.map((c) => {
    const r = c.peers.find((p) => p.id === id);
    const ceiling = ceilingOf(meta, c, r?.nativeRatio, nativeAt(meta, c, 'one'));
    return { cell: c, value: r?.nativeRatio, range: r?.paired, note: r?.reason ?? (r ? undefined : 'not run'), ceiling };
  });
}

/** The targets RMSprop was built to (the sweep's): bandwidth, PyTorch, JS, TF.js, the in-cache bound, ISAs, small tensors. */
function sweepTargets(meta: RunMeta, cells: CellResult[], algorithm: Algorithm): Verdict[] {
  const d = meta.defaultIsa;
  const nat = (c: CellResult, threads: 'one' | 'all') => nativeAt(meta, c, threads);
  const out: Verdict[] = [];
  const big = bigCells(meta, cells);
  const whereBig = bigWhere(meta, big);
  out.push(judge('native, one thread, ≥ 85% of the single-thread bandwidth limit', whereBig,
    big.map((c) => limitShare(c, '1', nat(c, 'one'))), 0.85, pct));
  out.push(judge('native, all cores, ≥ 85% of the all-core bandwidth limit', whereBig,
    big.map((c) => limitShare(c, 'all', nat(c, 'all'))), 0.85, pct));

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
      out.push(judge(`≥ 5× PyTorch ${version} ${algorithm.name} (its faster of foreach / single-tensor), ${sides(threads)}`,
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
  const ratioTo = (id: string) => ratiosTo(meta, fromMillion, id);
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
  for (const { name: config } of algorithm.configs) {
    const many = cells.find((c) => c.dtype === 'float32' && c.config === config && c.tensors === 1000 && c.size === 100);
    if (!many) continue;
    const b = peer(many, (r) => r.kind === 'native-one-tensor');
    // Its ratio is rate(1000 × 100) / rate(100K) = time(100K) / time(1000 × 100): judged ≥ 0.5, shown inverted.
    small.push({ cell: many, value: b?.nativeRatio, range: b?.paired, note: b ? undefined : 'no one-tensor peer' });
  }
  out.push(judge('1,000 × 100 takes at most 2× the time of one 100K tensor (sampled back to back)', 'float32, one thread', small, 0.5,
    (x) => `${(1 / x).toFixed(2)}×`, true));

  // The same over params and grads from `new Float32Array`, as most users allocate
  // them: (1,000 × 100 ÷ its new-Float32Array peer) ÷ (1,000 × 100 ÷ one 100K tensor),
  // each a median of same-round pairs.
  const plain: Judged[] = [];
  for (const { cell: many, value: oneRatio } of small) {
    const j = peer(many, (r) => r.kind === 'native-jsarrays');
    const value = oneRatio !== undefined && j?.nativeRatio ? oneRatio / j.nativeRatio : undefined;
    plain.push({ cell: many, value, note: value === undefined ? 'no new-Float32Array or one-tensor peer' : undefined });
  }
  out.push(judge('with params and grads from `new Float32Array`, 1,000 × 100 takes at most 2× the time of one 100K tensor',
    'float32, one thread', plain, 0.5, (x) => `${(1 / x).toFixed(2)}×`, true));
  return out;
}

/** Two decimals: 0.95× and 0.94× are the two sides of a goal. */
const times2 = (x: number) => `${x.toFixed(2)}×`;

/** The family's targets for one config, on its out-of-cache cells at one thread. */
function familyTargets(meta: RunMeta, cells: CellResult[], algorithm: Algorithm, config: AlgorithmConfig): Verdict[] {
  const big = bigCells(meta, cells);
  const whereBig = bigWhere(meta, big);
  const where32 = `${whereBig.replace(/: .*/, ', float32')}: ${[...new Set(big.filter((c) => c.dtype === 'float32').map(cellName))].join(', ') || 'none'}`;
  const big32 = big.filter((c) => c.dtype === 'float32');
  const out: Verdict[] = [];
  out.push(judge(`native, one thread, ≥ 85% of the single-thread bandwidth limit (the fastest of copy, triad and its own ` +
    `${config.reads} reads and ${config.writes} writes per element)`, whereBig,
  big.map((c) => limitShare(c, '1', nativeAt(meta, c, 'one'))), 0.85, pct));
  out.push(judge(`≥ 0.95× PyTorch 2.6 ${algorithm.name} fused=True, one thread both sides`, where32,
    ratiosTo(meta, big32, 'torch-2.6-fused-1t'), 0.95, times2));
  if (config.overTorchDefault !== undefined) {
    for (const version of ['1.13', '2.6']) {
      out.push(judge(`≥ ${config.overTorchDefault}× PyTorch ${version} ${algorithm.name}'s default path (single-tensor, foreach=False), one thread both sides`,
        where32, ratiosTo(meta, big32, `torch-${version}-single-1t`), config.overTorchDefault, times));
    }
  }
  out.push(judge('≥ 10× a plain JavaScript loop, one thread', where32, ratiosTo(meta, big32, 'js-loop'), 10, times));
  return out;
}

/** The group a family config's targets go under: "Adam", or "SGD, momentum 0.9" where the optimizer has several configs. */
const groupName = (algorithm: Algorithm, config: AlgorithmConfig) => (algorithm.configs.length > 1 ? `${algorithm.name}, ${config.name}` : algorithm.name);

/** Every target of the run, optimizer by optimizer (those with no cells in it are left out). */
export function evaluateTargets(meta: RunMeta, cells: CellResult[]): TargetResult[] {
  return byAlgorithm(cells).flatMap(({ algorithm, cells: own }) => {
    if (algorithm.scope === 'sweep') return sweepTargets(meta, own, algorithm).map((t) => ({ group: algorithm.name, ...t }));
    return algorithm.configs.flatMap((config) => {
      const mine = own.filter((c) => c.config === config.name);
      return mine.length ? familyTargets(meta, mine, algorithm, config).map((t) => ({ group: groupName(algorithm, config), ...t })) : [];
    });
  });
}
