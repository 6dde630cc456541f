// npm run bench: the step throughput of simd-optim's optimizers against every peer,
// side by side in one run, and the limits of this machine measured in the same run.
// What runs is bench/algorithms.ts: one entry per optimizer, each with its configs.
// RMSprop (the sweep) runs every size from 4K to 64M; SGD with momentum, Adam and
// AdamW (the family) run 1000 × 100, 1M, 16M and 64M float32 and 16M float64, plain
// SGD 1M and 16M only.
//
//   npm run bench                    full run (~33 minutes on 2 cores, estimated; RMSprop ~15): the page
//                                    on stdout and in docs/benchmark.md, RMSprop's chart in
//                                    docs/images/benchmark-rmsprop.svg, every number in
//                                    bench/out/results.json (not committed)
//   npm run bench -- --quick         smoke run (~3 minutes): small sizes, 3 rounds, into bench/out/
//   npm run bench -- --render FILE   writes docs/benchmark.md again from a run's results.json
//   npm run bench -- --io            checkpoint I/O only (bench/io.ts, ~7 minutes): loading and saving
//                                    a 2 GiB model dict against fs and PyTorch 2.6, into the io section
//                                    of docs/benchmark.md (--rounds N, --md FILE)
//   npm run bench -- --tfjs          simd-optim/tfjs only (bench/tfjs.ts, ~5 minutes): model.fit epochs and the
//                                    optimizer step with tfOptimizer(RMSprop) against tf.train.rmsprop on
//                                    TF.js's cpu and wasm backends, into the tfjs section of
//                                    docs/benchmark.md (--rounds N, --md FILE)
//   options: --json FILE  --md FILE  --svg FILE  --rounds N
//            --algorithms LIST comma-separated optimizer names, e.g. sgd,adam (default: all)
//            --peers REGEX    only peers whose id matches (limits and native always run)
//            --workloads LIST comma-separated workload names, e.g. 1M,16M,1000x100
//
// Peers (bench/peers-*.ts), each stepping the cell's optimizer and config: simd-optim
// native per ISA at one thread and all cores (params and grads from `zeros`), the same at
// its default ISA over params from `new Float32Array`, its pure-JS backend, the plain JS
// loop (bench/loops.ts), TensorFlow.js cpu and wasm (where it has the optimizer), PyTorch
// 1.13 (single-tensor and foreach) and 2.6 (single-tensor, foreach and fused), one thread
// and all cores, PyTorch 2.6 with THP_MEM_ALLOC_ENABLE=1 (RMSprop only, for information),
// the bandwidth limits (copy, triad, a loop with the config's own reads and writes; huge
// pages from 2 MiB) and the sqrt+div bound (RMSprop and Adam).
//
// Method: for each cell (optimizer config × workload × dtype) every peer is set up on the same
// values, warmed up (the first step creates state, compiles, binds; then at least two
// batches, fast peers until 20 ms), and calibrated to a sample of ~12 ms (--quick 15 ms):
// many short samples, so that a burst of work from another process spoils few.
// Then rounds: in each round every peer takes one sample, in an order rotated by one
// each round, each sample right after about 2 ms of untimed steps and paired with a
// sample of the reference (simd-optim's default ISA, same thread count) taken back to
// back with it. Reported: each peer's median over rounds, with min and max, and every
// ratio as the median of the per-round ratios within the pairs. Peers in other
// processes (Python, the TensorFlow.js workers, the C limits) time themselves and run
// only when asked, one at a time.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { pinning } from './affinity';
import { ALGORITHMS, type Algorithm, type AlgorithmConfig } from './algorithms';
import { renderChart } from './chart';
import { ioSectionOf, runIo, withIoSection } from './io';
import { KIT_END, KIT_START, withKitSection } from './kit';
import { loadAverage, readMachine, type Machine } from './machine';
import { NativeHost } from './peers-native';
import { limitsHost } from './peers-limits';
import { tfjsHosts } from './peers-tfjs';
import { torchHosts } from './peers-torch';
import { renderPage } from './report';
import { evaluateTargets, type TargetResult } from './targets';
import { runTfjs, tfjsSectionOf, withTfjsSection } from './tfjs';
import { bytesName, median, sig, sizeName, sleep } from './stats';
import type { Cell, CellResult, DTypeName, Host, Peer, PeerKind, PeerResult, RunMeta, Workload } from './types';

const argv = process.argv.slice(2);
const flag = (name: string) => argv.includes(name);
const option = (name: string): string | undefined => {
  const i = argv.indexOf(name);
  return i >= 0 ? argv[i + 1] : undefined;
};
const quick = flag('--quick');

const settings = quick
  ? { rounds: 4, minRounds: 2, sample: 0.015, warm: 0.01, peerBudget: 0.6, maxStep: 0.5 }
  : { rounds: 12, minRounds: 4, sample: 0.012, warm: 0.02, peerBudget: 3, maxStep: 4 };
if (option('--rounds')) settings.rounds = Math.max(1, Number(option('--rounds')));
settings.minRounds = Math.min(settings.minRounds, settings.rounds);

const M = 1 << 20;
const W = (name: string, tensors: number, size: number): Workload => ({ name, tensors, size });

function cellOf(workload: Workload, algorithm: Algorithm, config: AlgorithmConfig, dtype: DTypeName): Cell {
  const es = dtype === 'float32' ? 4 : 8;
  const elements = workload.tensors * workload.size;
  return {
    workload,
    algorithm,
    config,
    dtype,
    elements,
    bytesPerElement: (config.reads + config.writes) * es,
    // A step reads every array it touches.
    footprintBytes: elements * es * config.reads,
  };
}

/** The sweep's workloads (RMSprop's): every size from 4K, and 128M where the LLC is large. */
function sweepWorkloads(algorithm: Algorithm, machine: Machine, notes: string[]): { f32: Workload[]; f64: Workload[] } {
  if (quick) {
    notes.push(`--quick: ${algorithm.name} float32, 64K, 1000 × 100 and 1M only, 3 rounds, short samples; every peer still runs.`);
    return { f32: [W('64K', 1, 65536), W('1000 × 100', 1000, 100), W('1M', 1, M)], f64: [] };
  }
  const f32 = [
    W('4K', 1, 4096), W('64K', 1, 65536), W('100K', 1, 100_000), W('1000 × 100', 1000, 100), W('1M', 1, M),
    W('100 × 100K', 100, 100_000), W('16M', 1, 16 * M), W('64M', 1, 64 * M),
  ];
  const f64 = [W('64K', 1, 65536), W('1M', 1, M), W('16M', 1, 16 * M), W('64M', 1, 64 * M)];
  // Out of cache means several times the last-level cache: 64M float32 elements
  // (768 MiB plain) are 24× a 32 MiB L3. 128M is added where the L3 is larger
  // (up to 480 MiB on the machines here), if memory allows: this process holds
  // the cell's arrays twice (zeros and new Float32Array params), the C limits
  // and three PyTorch processes once each, and PyTorch's foreach adds
  // temporaries: about 8 footprints, plus the JS backend's own state.
  const llc = machine.llcBytes ?? 32 * M;
  const widest = algorithm.configs.reduce((a, b) => (b.reads > a.reads ? b : a));
  const need = 9 * cellOf(W('128M', 1, 128 * M), algorithm, widest, 'float32').footprintBytes;
  if (cellOf(W('64M', 1, 64 * M), algorithm, algorithm.configs[0], 'float32').footprintBytes < 8 * llc) {
    if (machine.memAvailableBytes >= need) f32.push(W('128M', 1, 128 * M));
    else notes.push(`128M skipped: needs about ${bytesName(need)} of available memory, ${bytesName(machine.memAvailableBytes)} available.`);
  }
  return { f32, f64 };
}

/**
 * The family's workloads: in cache, many small tensors, out of cache (16M
 * and 64M, the targets' cells) and float64 out of cache. Five cells per
 * optimizer keep the whole run within about twice the sweep's time.
 */
function familyWorkloads(algorithm: Algorithm, notes: string[]): { f32: Workload[]; f64: Workload[] } {
  if (quick) {
    notes.push(`--quick: ${algorithm.name} float32 1000 × 100 and 1M, float64 64K only.`);
    return { f32: [W('1000 × 100', 1000, 100), W('1M', 1, M)], f64: [W('64K', 1, 65536)] };
  }
  return { f32: [W('1000 × 100', 1000, 100), W('1M', 1, M), W('16M', 1, 16 * M), W('64M', 1, 64 * M)], f64: [W('16M', 1, 16 * M)] };
}

/** A name as a user types it: no spaces, "x" for "×", any case. */
const typed = (name: string) => name.replace(/\s/g, '').replace('×', 'x').toLowerCase();

/** The cells of this run, optimizer by optimizer (in each, big ones last: a wasm abort there cannot hide smaller rows). */
function plan(machine: Machine): { cells: Cell[]; notes: string[] } {
  const notes: string[] = [];
  const onlyAlgorithms = option('--algorithms')?.split(',').map(typed);
  const onlyWorkloads = option('--workloads')?.split(',').map(typed);
  const keep = (w: Workload) => !onlyWorkloads || onlyWorkloads.includes(typed(w.name));
  const cells: Cell[] = [];
  for (const algorithm of ALGORITHMS) {
    if (onlyAlgorithms && !onlyAlgorithms.includes(typed(algorithm.name))) continue;
    const { f32, f64 } = algorithm.scope === 'sweep' ? sweepWorkloads(algorithm, machine, notes) : familyWorkloads(algorithm, notes);
    const configs = (w: Workload) => algorithm.configs.filter((c) => !c.workloads || c.workloads.includes(w.name));
    for (const w of f32.filter(keep)) for (const c of configs(w)) cells.push(cellOf(w, algorithm, c, 'float32'));
    for (const w of f64.filter(keep)) for (const c of configs(w)) cells.push(cellOf(w, algorithm, c, 'float64'));
  }
  return { cells, notes };
}

/** Seconds per element of the last measured single-tensor cell, per peer and config (to skip hopeless steps). */
const rateMemory = new Map<string, { perElement: number; from: string }>();
const rateKey = (p: Peer, cell: Cell) => `${p.id}|${cell.algorithm.name} ${cell.config.name}|${cell.dtype}`;

interface Live {
  peer: Peer;
  host: Host;
  result: PeerResult;
  estimate: number; // seconds per step
  steps: number;
  rounds: number;
}

async function measureCell(cell: Cell, hosts: Host[]): Promise<CellResult> {
  const results: PeerResult[] = [];
  const live: Live[] = [];
  const blank = (peer: Peer): PeerResult => ({
    id: peer.id,
    label: peer.label,
    kind: peer.kind,
    threads: peer.threads,
    isa: peer.isa,
    status: 'ok',
    samples: [],
    refSamples: [],
    steps: 0,
    warmup: [],
  });
  for (const host of hosts) {
    const peers = host.peers.filter((p) => p.applies(cell) !== null);
    if (!peers.length) continue;
    if (host.unavailable) {
      for (const p of peers) results.push({ ...blank(p), status: 'not available', reason: host.unavailable });
      continue;
    }
    const runnable = peers.filter((p) => {
      const a = p.applies(cell);
      if (a !== true) results.push({ ...blank(p), status: 'not available', reason: a as string });
      return a === true;
    });
    if (!runnable.length) continue;
    // Skip peers whose step would take longer than the budget allows, by their last rate.
    const toRun = runnable.filter((p) => {
      const key = rateKey(p, cell);
      const rate = rateMemory.get(key);
      const est = rate ? rate.perElement * cell.elements : 0;
      if (est > settings.maxStep) {
        results.push({
          ...blank(p),
          status: 'skipped',
          reason: `time budget: ~${sig(est)} s per step (extrapolated from ${rate!.from}) > ${settings.maxStep} s${quick ? ' in --quick' : ''}`,
        });
        return false;
      }
      return true;
    });
    if (!toRun.length) continue;
    try {
      await host.setup(cell);
    } catch (e) {
      for (const p of toRun) results.push({ ...blank(p), status: 'failed', reason: `setup: ${(e as Error).message}` });
      continue;
    }
    for (const p of toRun) {
      const result = blank(p);
      results.push(result);
      live.push({ peer: p, host, result, estimate: 0, steps: 0, rounds: 0 });
    }
  }

  const fail = (l: Live, e: unknown) => {
    l.result.status = 'failed';
    l.result.reason = (e as Error).message.split('\n')[0].slice(0, 300);
  };

  // One-thread samples run on one core, the same for both samples of a pair (see affinity.ts).
  const place = (l: Live, round: number) => pinning.set(l.host.pid(), l.peer.threads === 1 ? pinning.coreForRound(round) : undefined);

  // Warm-up and calibration, peer by peer.
  for (const l of live) {
    try {
      place(l, 0);
      // The first step creates state, compiles, binds and touches memory first, and can be
      // many times slower than the rest (a wasm heap growing, page faults): every peer then
      // runs at least two batches, so that its estimate never rests on that step alone;
      // fast ones go on with batches of about warm/2 seconds until `warm` seconds.
      let perStep = await l.peer.run(1);
      l.result.warmup.push(perStep);
      let total = perStep;
      for (let k = 0; k < 8 && (k < 2 || (perStep < 0.1 && total < settings.warm)); k++) {
        const batch = Math.max(1, Math.min(1 << 16, Math.round(settings.warm / 2 / perStep)));
        const t = await l.peer.run(batch);
        perStep = t / batch;
        l.result.warmup.push(perStep);
        total += t;
      }
      l.estimate = perStep;
      l.steps = Math.max(1, Math.min(200_000, Math.round(settings.sample / perStep)));
      const sampleTime = l.steps * perStep;
      // An even number, so that the reference goes first and second equally often.
      const rounds = Math.max(settings.minRounds, Math.min(settings.rounds, Math.floor(settings.peerBudget / sampleTime)));
      l.rounds = rounds > 1 ? rounds - (rounds % 2) : rounds;
      l.result.steps = l.steps;
    } catch (e) {
      fail(l, e);
    }
  }

  // Rounds: one sample per peer per round, the order rotated by one each round. Each
  // sample is paired with a sample of the reference (simd-optim's default ISA at the
  // same thread count) taken right before it in even rounds and right after it in odd
  // ones: ratios are judged on these pairs, taken back to back, because this
  // machine's speed changes between samples taken seconds apart. Going first or
  // second matters too (up to 15% on some cells), so derive() weighs both orders alike.
  const refOf = (l: Live): Live | undefined => {
    const ref = isReference(l.peer) ? undefined : referenceAt(live.map((x) => x.peer), l.peer.threads);
    return live.find((x) => x.peer === ref);
  };
  // Every sample of every peer starts after untimed steps, at least one and about
  // 2 ms of them: data back into cache, page walks and TLBs warm again, ISA and
  // thread switches applied. A process that waited while the others ran is
  // slower on its first step (seen out of cache too: the C loop with the step's
  // streams at 55% of its warm speed), and the reference, which runs next to
  // every sample, never waits long: without these steps the pairs would favour it.
  const untimedSteps = (l: Live) => Math.max(1, Math.min(l.steps, Math.round(0.002 / l.estimate)));
  /** One sample of `l` (seconds per step), or undefined after marking it failed. */
  const sample = async (l: Live, round: number): Promise<number | undefined> => {
    try {
      place(l, round);
      await l.peer.run(untimedSteps(l));
      const seconds = (await l.peer.run(l.steps)) / l.steps;
      if (!(Number.isFinite(seconds) && seconds > 0)) throw new Error(`a sample of ${seconds} s per step`);
      await sleep(2); // let another process's spinning OpenMP threads park
      return seconds;
    } catch (e) {
      fail(l, e);
      return undefined;
    }
  };
  const active = () => live.filter((l) => l.result.status === 'ok');
  const maxRounds = Math.max(0, ...active().map((l) => l.rounds));
  for (let r = 0; r < maxRounds; r++) {
    const order = active();
    const rotated = order.map((_, i) => order[(i + r) % order.length]);
    for (const l of rotated) {
      if (l.result.samples.length >= l.rounds || l.result.status !== 'ok') continue;
      const ref = refOf(l);
      const refSample = async () => (ref && ref.result.status === 'ok' ? await sample(ref, r) : undefined) ?? NaN;
      const before = r % 2 === 0 ? await refSample() : NaN;
      const s = await sample(l, r);
      if (s === undefined) continue;
      const after = r % 2 === 1 ? await refSample() : NaN;
      l.result.samples.push(s);
      if (ref) l.result.refSamples.push(r % 2 === 0 ? before : after);
    }
  }
  pinning.releaseAll();
  for (const host of hosts) await host.teardown().catch(() => undefined);

  for (const l of live) {
    if (l.result.status === 'ok' && cell.workload.tensors === 1) {
      rateMemory.set(rateKey(l.peer, cell), {
        perElement: median(l.result.samples) / cell.elements,
        from: cell.workload.name,
      });
    }
  }
  return derive(cell, hosts, results, maxRounds);
}

/** simd-optim at its default ISA: the peer every other one is paired with. */
const isReference = (p: { kind: PeerKind; isa?: string }) => p.kind === 'native' && p.isa === defaultIsa;

/** The reference at a thread count; the one-thread one only where there is no other (one core). */
function referenceAt<T extends { kind: PeerKind; isa?: string; threads: number }>(all: T[], threads: number): T | undefined {
  const refs = all.filter(isReference);
  return refs.find((r) => r.threads === threads) ?? (refs.some((r) => r.threads > 1) ? undefined : refs.find((r) => r.threads === 1));
}

/**
 * The reference's throughput ÷ this peer's, per round: the peer's seconds ÷ those
 * of the reference sample taken back to back with it (before it in even rounds,
 * after it in odd ones). Its middle is the geometric mean of the two orders'
 * medians, so that going first or second weighs alike. Undefined unless every
 * sample has its pair.
 */
function pairedRatios(r: PeerResult): { median: number; min: number; max: number } | undefined {
  const ref = r.refSamples;
  if (!r.samples.length || ref.length !== r.samples.length || !ref.every((t) => Number.isFinite(t) && t > 0)) return undefined;
  const ratios = r.samples.map((t, i) => t / ref[i]);
  const first = ratios.filter((_, i) => i % 2 === 0);
  const second = ratios.filter((_, i) => i % 2 === 1);
  const middle = second.length ? Math.sqrt(median(first) * median(second)) : median(first);
  return { median: middle, min: Math.min(...ratios), max: Math.max(...ratios) };
}

/** Melem/s, GB/s, the limits, % of limit, ratios to native, % of the bound. */
function derive(cell: Cell, hosts: Host[], peers: PeerResult[], rounds: number): CellResult {
  const es = cell.dtype === 'float32' ? 4 : 8;
  const peerById = new Map(hosts.flatMap((h) => h.peers).map((p) => [p.id, p]));
  const counted = (r: PeerResult) => peerById.get(r.id)?.countedArrays?.(cell);
  /** The step's bytes per element ÷ a limit loop's counted bytes per element: turns a throughput ratio into a share of its GB/s. */
  const byteShare = (loop: PeerResult) => cell.bytesPerElement / (counted(loop)! * es);
  // A reference's throughput counts every sample it took, its own and those next to the others'.
  for (const ref of peers.filter((r) => isReference(r) && r.status === 'ok')) {
    const partners = peers.filter((r) => r !== ref && referenceAt(peers, r.threads) === ref);
    ref.samples = [...ref.samples, ...partners.flatMap((r) => r.refSamples.filter((t) => Number.isFinite(t) && t > 0))];
  }
  for (const r of peers) {
    if (r.status !== 'ok' || !r.samples.length) continue;
    const rates = r.samples.map((t) => cell.elements / t / 1e6);
    r.melemPerSec = { median: median(rates), min: Math.min(...rates), max: Math.max(...rates) };
    r.gbPerSec = (r.melemPerSec.median * cell.bytesPerElement) / 1e3;
    const n = counted(r);
    if (n) r.limitGBPerSec = (r.melemPerSec.median * n * es) / 1e3;
    r.paired = pairedRatios(r);
  }
  const measured = peers.filter((r) => r.melemPerSec);
  // No reference at a thread count (it failed): no ratios against it, rather than against another.
  const refAt = (threads: number) => {
    const ref = referenceAt(peers, threads);
    return ref?.melemPerSec ? ref : undefined;
  };
  /**
   * Throughput of a ÷ throughput of b. Both are paired with the same reference where
   * they run at the same thread count, so the ratio comes from same-round pairs; where
   * a pair is missing, from the two medians.
   */
  const rel = (a: PeerResult, b: PeerResult): number => {
    const ref = refAt(a.threads);
    if (ref && ref === refAt(b.threads)) {
      const pa = a === ref ? 1 : a.paired?.median;
      const pb = b === ref ? 1 : b.paired?.median;
      if (pa !== undefined && pb !== undefined) return pb / pa;
    }
    return a.melemPerSec!.median / b.melemPerSec!.median;
  };

  // The limit at each thread count: the loop that is fastest against the reference, in
  // its counted bytes (copy counts 2 arrays, triad 3, the step's own streams 5 or 9).
  const limit: CellResult['limit'] = {};
  const limitPeer: Record<string, PeerResult> = {};
  for (const key of ['1', 'all'] as const) {
    const threads = key === '1' ? 1 : Math.max(...measured.map((r) => r.threads));
    const ref = refAt(threads);
    const loops = measured.filter((r) => r.kind === 'limit' && (key === '1' ? r.threads === 1 : r.threads > 1));
    if (!loops.length) continue;
    // The reference's bytes ÷ the loop's counted bytes per second; the lowest is the limit.
    const pctOf = (r: PeerResult) => (ref ? rel(ref, r) * byteShare(r) : 1 / r.limitGBPerSec!);
    const best = loops.reduce((a, b) => (pctOf(b) < pctOf(a) ? b : a));
    limit[key] = { gbPerSec: best.limitGBPerSec!, kernel: best.label };
    limitPeer[key] = best;
  }
  const bounds = measured.filter((r) => r.kind === 'bound');
  const ref1 = refAt(1);
  // The fastest sqrt+div loop: the one the reference reaches the smallest share of.
  const boundSpeed = (b: PeerResult) => (ref1 ? 1 / rel(ref1, b) : b.melemPerSec!.median);
  const bestBound = bounds.length ? bounds.reduce((a, b) => (boundSpeed(b) > boundSpeed(a) ? b : a)) : undefined;
  const bound = bestBound ? { melemPerSec: bestBound.melemPerSec!.median, isa: bestBound.isa ?? '?' } : undefined;
  for (const r of measured) {
    const key = r.threads === 1 ? '1' : 'all';
    const lim = limitPeer[key];
    if (r.kind !== 'limit' && r.kind !== 'bound' && lim) {
      r.pctOfLimit = rel(r, lim) * byteShare(lim);
      // A reference's own pairs with the limit loop give the spread over the rounds.
      if (refAt(r.threads) === r && lim.paired) r.pctOfLimitRange = { min: lim.paired.min * byteShare(lim), max: lim.paired.max * byteShare(lim) };
    }
    if (r.kind !== 'limit' && r.kind !== 'bound') {
      const ref = refAt(r.threads);
      if (ref && r !== ref) r.nativeRatio = rel(ref, r);
      else if (r === ref) r.nativeRatio = 1;
    }
    if (r.kind === 'native' && r.threads === 1 && bestBound) {
      const same = bounds.find((b) => b.isa === r.isa);
      if (same) r.pctOfBoundSameIsa = rel(r, same);
      r.pctOfBoundBest = rel(r, bestBound);
      if (r === ref1 && bestBound.paired) r.pctOfBoundRange = { min: bestBound.paired.min, max: bestBound.paired.max };
    }
  }
  return {
    algorithm: cell.algorithm.name,
    workload: cell.workload.name,
    tensors: cell.workload.tensors,
    size: cell.workload.size,
    config: cell.config.name,
    dtype: cell.dtype,
    elements: cell.elements,
    bytesPerElement: cell.bytesPerElement,
    footprintBytes: cell.footprintBytes,
    limit,
    bound,
    rounds,
    peers,
  };
}

let defaultIsa = 'scalar';

const root = path.join(__dirname, '..');

/**
 * Writes a run's page and chart, and its numbers as JSON. A full run's page is
 * docs/benchmark.md (the committed one); --quick writes into bench/out/ only.
 */
function writeOutputs(meta: RunMeta, results: CellResult[], targets: TargetResult[], writeJson: boolean): void {
  const out = path.join(__dirname, 'out');
  const jsonPath = option('--json') ?? path.join(out, meta.quick ? 'quick.json' : 'results.json');
  const mdPath = option('--md') ?? (meta.quick ? path.join(out, 'quick.md') : path.join(root, 'docs', 'benchmark.md'));
  const svgPath = option('--svg') ?? (meta.quick ? path.join(out, 'quick.svg') : path.join(root, 'docs', 'images', 'benchmark-rmsprop.svg'));
  const notesPath = path.join(__dirname, 'notes.md');
  const chartPath = path.relative(path.dirname(mdPath), svgPath).split(path.sep).join('/');
  const page = renderPage(meta, results, targets, {
    chartPath,
    notes: meta.quick || !fs.existsSync(notesPath) ? undefined : fs.readFileSync(notesPath, 'utf8'),
  });
  process.stdout.write(page);
  for (const p of [jsonPath, mdPath, svgPath]) fs.mkdirSync(path.dirname(p), { recursive: true });
  if (writeJson) fs.writeFileSync(jsonPath, `${JSON.stringify({ meta, targets, cells: results }, null, 1)}\n`);
  // The kit's section (npm run bench:kit) stays as its own run wrote it.
  const old = fs.existsSync(mdPath) ? fs.readFileSync(mdPath, 'utf8') : '';
  const kit = old.includes(KIT_START) ? old.slice(old.indexOf(KIT_START), old.indexOf(KIT_END) + KIT_END.length) : undefined;
  // So does the checkpoint I/O section (npm run bench -- --io), after it.
  const io = ioSectionOf(old);
  const withKit = kit === undefined ? page : withKitSection(page, kit);
  const withIo = io === undefined ? withKit : withIoSection(withKit, io);
  // And the TensorFlow.js section (npm run bench -- --tfjs), last.
  const tfjs = tfjsSectionOf(old);
  fs.writeFileSync(mdPath, tfjs === undefined ? withIo : withTfjsSection(withIo, tfjs));
  fs.writeFileSync(svgPath, renderChart(meta, results));
  const wrote = [mdPath, svgPath, ...(writeJson ? [jsonPath] : [])].map((p) => path.relative(process.cwd(), p));
  process.stderr.write(`\nwrote ${wrote.join(', ')}\n`);
}

async function main(): Promise<void> {
  if (flag('--io')) {
    await runIo(argv);
    return;
  }
  if (flag('--tfjs')) {
    await runTfjs(argv);
    return;
  }
  const rendered = option('--render');
  if (rendered !== undefined) {
    const run = JSON.parse(fs.readFileSync(rendered, 'utf8')) as { meta: RunMeta; cells: CellResult[] };
    // Runs from before SGD and Adam joined measured RMSprop only, and did not say so.
    const cells = run.cells.map((c) => ({ ...c, algorithm: c.algorithm ?? 'RMSprop' }));
    writeOutputs(run.meta, cells, evaluateTargets(run.meta, cells), false);
    return;
  }
  const t0 = Date.now();
  const machine = readMachine();
  const loadBefore = loadAverage();
  const { cells, notes } = plan(machine);
  const native = new NativeHost(machine.cores);
  defaultIsa = native.defaultIsa;
  process.stderr.write(`starting peers (PyTorch, TensorFlow.js, building bench/limits.c)...\n`);
  const [limits, torch, tfjs] = await Promise.all([limitsHost(machine.cores), torchHosts(machine.cores), tfjsHosts()]);
  const started: Host[] = [native, limits, ...torch, ...tfjs];
  let hosts = started;
  const peerFilter = option('--peers');
  if (peerFilter) {
    const re = new RegExp(peerFilter);
    for (const h of hosts) {
      if (h.peers.some((p) => p.kind === 'native' || p.kind === 'limit' || p.kind === 'bound')) continue;
      h.peers = h.peers.filter((p) => re.test(p.id));
    }
    hosts = hosts.filter((h) => h.peers.length);
  }
  const results: CellResult[] = [];
  try {
    for (const [i, cell] of cells.entries()) {
      const start = Date.now();
      const name = `${cell.algorithm.name} ${cell.workload.name} ${cell.config.name} ${cell.dtype}`;
      process.stderr.write(`[${i + 1}/${cells.length}] ${name} (${sizeName(cell.elements)} elements, ${bytesName(cell.footprintBytes)})... `);
      results.push(await measureCell(cell, hosts));
      process.stderr.write(`${((Date.now() - start) / 1000).toFixed(1)} s\n`);
    }
  } finally {
    // Every host started, also those --peers left out: their children would keep Node alive.
    await Promise.all(started.map((h) => h.close()));
  }
  const meta: RunMeta = {
    machine,
    quick,
    settings,
    notes,
    hosts: hosts.map((h) => h.describe()),
    pinning: pinning.describe(),
    defaultIsa,
    hugePages: native.hugePages,
    seconds: (Date.now() - t0) / 1000,
    load: { before: loadBefore, after: loadAverage() },
    command: `npm run bench${argv.length ? ` -- ${argv.join(' ')}` : ''}`,
  };
  writeOutputs(meta, results, evaluateTargets(meta, results), true);
  process.stderr.write(`in ${meta.seconds.toFixed(0)} s\n`);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
