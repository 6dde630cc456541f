// The benchmark's page (docs/benchmark.md): the machine, RMSprop's summary
// for the README, the speed targets of each optimizer (met or not, with the
// numbers), a summary row per cell, then every peer of every cell.
import { byAlgorithm, fastestTorch, outOfCache, peer, sweepAlgorithm } from './cells';
import { bytesName, pct, sig, sizeName, times } from './stats';
import type { TargetResult } from './targets';
import type { CellResult, PeerResult, RunMeta } from './types';

/** The header's page-size facts: the kernel's THP mode and whether simd-optim advises huge pages. */
const pagesText = (meta: RunMeta) =>
  `transparent huge pages "${meta.machine.thp ?? 'unknown'}"; simd-optim ${meta.hugePages ? 'advises' : 'does not advise'} huge pages from 2 MiB`;

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

/** The targets grouped by optimizer (and config), in the order evaluateTargets gives them. */
function targetGroups(targets: TargetResult[]): { name: string; targets: TargetResult[] }[] {
  const groups: { name: string; targets: TargetResult[] }[] = [];
  for (const t of targets) {
    const last = groups[groups.length - 1];
    if (last?.name === t.group) last.targets.push(t);
    else groups.push({ name: t.group, targets: [t] });
  }
  return groups;
}

/** Why fused=True is a yardstick of speed only. */
const FUSED_NOTE = 'PyTorch 2.6\'s `fused=True` is not the arithmetic simd-optim matches: it gives the default path\'s bits in its vector part, ' +
  'but differs in the last bits of each tensor\'s scalar remainder (its last n mod 8 float32 or n mod 4 float64 elements), and fused Adam takes ' +
  '`sqrt` where 2.x\'s default path takes `pow(bc2, 0.5)`: see "foreach and fused" in [docs/spec/adam-arithmetic.md](spec/adam-arithmetic.md#foreach-and-fused) ' +
  'and [docs/spec/sgd-arithmetic.md](spec/sgd-arithmetic.md#foreach-and-fused). simd-optim gives the default path\'s bits; the fused targets compare speed only.';

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

/** A column of the results table: its header and each cell's value. */
interface Column {
  header: string;
  value(c: CellResult): string;
}

/** simd-optim ÷ a peer picked by id, or the peer's status; "–" where it is not part of the cell. */
function ratioColumn(header: string, id: string): Column {
  return {
    header,
    value: (c) => {
      const r = c.peers.find((p) => p.id === id);
      if (!r) return '–';
      return r.nativeRatio !== undefined ? times(r.nativeRatio) : r.status;
    },
  };
}

/** simd-optim ÷ the fastest PyTorch peer of a kind at one thread or all cores, or the status of one of them. */
function torchColumn(header: string, kind: 'torch' | 'torch-thp', threads: 'one' | 'all'): Column {
  return {
    header,
    value: (c) => {
      const best = fastestTorch(c, (r) => r.kind === kind, threads);
      if (best) return times(best.nativeRatio);
      const why = c.peers.find((r) => r.kind === kind);
      return why ? why.status : '–';
    },
  };
}

/** Whether any cell has a peer that `pred` picks and that could run there (a "not available" one is a missing column). */
const runs = (cells: CellResult[], pred: (r: PeerResult) => boolean) => cells.some((c) => c.peers.some((r) => pred(r) && r.status !== 'not available'));

/**
 * One row per cell of one optimizer: simd-optim's default ISA at one thread
 * and all cores, and its ratio to each peer. Columns of peers that ran in none
 * of its cells (PyTorch with huge pages outside the sweep, fused where PyTorch
 * has none, the sqrt+div bound for SGD) are left out.
 */
export function summaryTable(meta: RunMeta, cells: CellResult[]): string[] {
  const d = meta.defaultIsa;
  const T = meta.machine.cores;
  const one = (c: CellResult) => peer(c, (r) => r.kind === 'native' && r.isa === d && r.threads === 1);
  const all = (c: CellResult) => peer(c, (r) => r.kind === 'native' && r.isa === d && r.threads > 1);
  const columns: Column[] = [
    { header: 'workload', value: (c) => c.workload },
    { header: 'config', value: (c) => c.config },
    { header: 'dtype', value: (c) => c.dtype },
    { header: 'arrays', value: (c) => bytesName(c.footprintBytes) },
    { header: '1T Melem/s', value: (c) => melemCell(one(c)) },
    { header: '1T GB/s', value: (c) => sig(one(c)?.gbPerSec) },
    { header: '1T % limit', value: (c) => pct(one(c)?.pctOfLimit) },
    { header: `${T}T Melem/s`, value: (c) => melemCell(all(c)) },
    { header: `${T}T % limit`, value: (c) => (c.elements >= 1 << 20 ? pct(all(c)?.pctOfLimit) : '–') },
    {
      header: '1T p/g by new Float32Array: Melem/s (zeros ÷ it)',
      value: (c) => {
        const r = c.peers.find((p) => p.kind === 'native-jsarrays');
        if (!r) return '–';
        return r.melemPerSec ? `${sig(r.melemPerSec.median)} (${r.nativeRatio !== undefined ? `${r.nativeRatio.toFixed(2)}×` : '–'})` : r.status;
      },
    },
    torchColumn('× PyTorch 1T', 'torch', 'one'),
    torchColumn(`× PyTorch ${T}T`, 'torch', 'all'),
  ];
  if (runs(cells, (r) => r.id === 'torch-2.6-fused-1t')) {
    columns.push(ratioColumn('× PyTorch 2.6 single-tensor 1T', 'torch-2.6-single-1t'), ratioColumn('× PyTorch 2.6 fused 1T', 'torch-2.6-fused-1t'));
  }
  if (runs(cells, (r) => r.kind === 'torch-thp')) {
    columns.push(torchColumn('× PyTorch 2.6 THP 1T', 'torch-thp', 'one'), torchColumn(`× PyTorch 2.6 THP ${T}T`, 'torch-thp', 'all'));
  }
  columns.push(
    ratioColumn('× JS loop', 'js-loop'), ratioColumn('× JS backend', 'js-backend'),
    ratioColumn('× TF.js cpu', 'tfjs-cpu'), ratioColumn('× TF.js wasm', 'tfjs-wasm'),
  );
  if (cells.some((c) => c.bound)) columns.push({ header: '% sqrt+div bound', value: (c) => pct(one(c)?.pctOfBoundBest) });
  const L = [`| ${columns.map((col) => col.header).join(' | ')} |`, `|${columns.map((_, i) => (i < 3 ? '---' : '---:')).join('|')}|`];
  for (const c of cells) L.push(`| ${columns.map((col) => col.value(c)).join(' | ')} |`);
  return L;
}

/** The text above the results tables: how to read their columns. */
function summaryLegend(): string {
  return 'Melem/s: median (min–max) of the rounds. "× peer" = simd-optim\'s throughput ÷ the peer\'s at the same thread count, ' +
    'the median over the rounds of the ratio of two samples taken back to back ' +
    '(PyTorch: its fastest variant and version, as users run it; single-tensor and fused: PyTorch 2.6 with foreach=False, its default on CPU, and with fused=True; ' +
    'PyTorch 2.6 THP: the same PyTorch 2.6 with THP_MEM_ALLOC_ENABLE=1, huge pages for its allocations, for information). ' +
    '% limit: GB/s (bytes the config must move) ÷ the fastest of copy, triad and the ' +
    'config\'s own streams at the same thread count and size, also from back-to-back pairs. % bound: simd-optim ÷ a loop doing only the sqrt and the divide over the step\'s own arrays, the same way. ' +
    'simd-optim\'s params and grads come from `zeros`; "p/g by new Float32Array" is the same step over params and grads made with ' +
    '`new Float32Array` (`new Float64Array` in float64 rows), and "zeros ÷ it" what `zeros` gains.';
}

/** Where the page's parts come from: the chart (relative to the page) and hand-written notes. */
export interface PageParts {
  chartPath: string;
  /** Markdown read from bench/notes.md: what limits the speed, measured by hand. */
  notes?: string;
}

/** The sweep's cells in the headline table, one thread, float32: in cache, many small tensors, out of cache. */
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
  const sweep = sweepAlgorithm().name;
  const L = [`| ${sweep} step, one thread, float32 | simd-optim | of the limit | × PyTorch 2.6 | × PyTorch 1.13 | × TF.js wasm | × plain JS loop |`,
    '|---|---:|---:|---:|---:|---:|---:|'];
  for (const want of HEADLINE_CELLS) {
    const c = cells.find((x) => x.algorithm === sweep && x.workload === want.workload && x.config === want.config && x.dtype === 'float32');
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
  L.push('`npm run bench` times optimizer steps of simd-optim and of every peer side by side in one run, and measures the ' +
    'machine\'s limits in the same run over the same sizes: RMSprop at every size from 4K to 64M, and SGD with momentum, Adam and AdamW ' +
    'in cache, as 1,000 small tensors and out of cache. The peers: simd-optim\'s native kernels for each ISA the CPU runs ' +
    '(one thread and all cores), its pure-JS backend, the plain JavaScript `for` loop a user would write, ' +
    'TensorFlow.js (`tf.train.rmsprop`, `momentum`, `sgd`, `adam`; it has no AdamW) on its `cpu` and `wasm` backends, PyTorch\'s `torch.optim` ' +
    '(single-tensor, its default on CPU, foreach and, in 2.6, fused, timed inside Python: 1.13 and 2.6 where installed, and for RMSprop 2.6 again with ' +
    'THP_MEM_ALLOC_ENABLE=1, huge pages for its allocations, for information), ' +
    'the memory bandwidth (copy, triad and a loop with the step\'s own reads and writes, bench/limits.c) and the sqrt+div bound (a loop doing only ' +
    'the square root and the divide of a step, over the step\'s own arrays). `npm run bench -- --quick` is a smoke run of about two minutes, into bench/out/. ' +
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
  for (const group of targetGroups(targets)) {
    L.push(`### ${group.name}`, '', ...targetsShortTable(group.targets), '');
  }
  if (targets.some((t) => t.target.includes('fused=True'))) {
    L.push(FUSED_NOTE);
    L.push('');
  }
  L.push(`## Results (simd-optim = native kernels, default ISA ${meta.defaultIsa})`);
  L.push('');
  L.push(summaryLegend());
  L.push('');
  for (const { algorithm, cells: own } of byAlgorithm(cells)) {
    L.push(`### ${algorithm.name}`, '', ...summaryTable(meta, own), '');
  }
  L.push('Where a ratio is missing, the peer\'s status says why (not available, skipped, failed); [every peer, cell by cell](#every-peer-cell-by-cell) gives the reason. ' +
    `${meta.machine.cores}T % limit is left out below 1M elements: there the all-core limit loop mostly measures waking its threads (simd-optim splits a step only from 64K elements per thread).`);
  L.push('');
  if (parts.notes) {
    L.push(parts.notes.trim());
    L.push('');
  }
  L.push('## Targets, cell by cell');
  L.push('');
  for (const group of targetGroups(targets)) {
    L.push(`### ${group.name}`, '', ...targetsTable(group.targets), '');
  }
  L.push('## Method');
  L.push('');
  L.push(`- Bytes a step must move: RMSprop plain float32 reads p, g, v and writes p, v: 20 B/element; momentum and centered add 8 each (36); ` +
    'SGD with momentum reads p, g, buf and writes p, buf (20), plain SGD reads p, g and writes p (12); Adam and AdamW read p, g, m, v and write p, m, v (28); float64 doubles. ' +
    'GB/s of every peer counts these bytes, whatever the peer really moves (PyTorch\'s several passes move more).');
  L.push('- The limit at a size and thread count: the fastest of three loops measured in the same run over the same number of elements ' +
    '(bench/limits.c, or typed-array JS where no C compiler exists, as the hosts above say): copy (counted 2 arrays), triad (3), and a loop with the config\'s exact ' +
    'streams and trivial arithmetic (its reads plus its writes: 5 for RMSprop plain and SGD with momentum, 3 for plain SGD, 7 for Adam and AdamW, 9 for RMSprop momentum+centered). Each counts its own bytes. Single-thread peers are compared with the single-thread limit, ' +
    'all-core peers with the all-core limit. The C loops\' arrays are 2 MiB aligned and advised as transparent huge pages from 2 MiB, ' +
    'before their first touch, as simd-optim\'s are: the limit is what the hardware does with its best page size (4 KiB pages cost TLB misses, dearer in a VM).');
  L.push('- The in-cache bound: `p[i] = g[i] / sqrt(v[i])` over the same data as the step, one thread: it loads every array the step loads ' +
    '(p, g, v; also the momentum buffer and grad_avg for RMSprop momentum+centered, the second moment for Adam) and stores every array the step stores, unchanged but for p, ' +
    'so that it moves the same bytes through the same caches, and its only arithmetic is one square root and one divide per element, ' +
    'which every RMSprop and Adam step needs (SGD takes neither: it has no such bound). Written with each ISA\'s intrinsics (scalar sqrtss/divss, AVX2, AVX-512); the best ISA is the bound.');
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
    '(`new Float64Array` in float64 rows), with its own state: what `zeros` gains. PyTorch\'s single-tensor, foreach and fused optimizers share params, grads and state (the same tensors: each variant updates them in place).');
  L.push('- For RMSprop, PyTorch 2.6 runs twice, in two processes: as users run it (the targets\' PyTorch), and with THP_MEM_ALLOC_ENABLE=1, which makes its CPU ' +
    'allocator advise huge pages for allocations of 2 MiB and more (its params, grads, state and per-step temporaries), shown for information. PyTorch 1.13 has no such switch.');
  L.push('- PyTorch 2.6 steps SGD, Adam and AdamW three ways: single-tensor (foreach=False, its default on CPU, the path simd-optim matches bit for bit), foreach=True, ' +
    'and fused=True (CPU fused kernels since 2.4; RMSprop has none). PyTorch 1.13 has no fused optimizers on CPU.');
  L.push('');
  L.push('## Every peer, cell by cell');
  L.push('');
  for (const c of cells) {
    const lim = (k: '1' | 'all') => (c.limit[k] ? `${sig(c.limit[k]!.gbPerSec)} GB/s (${c.limit[k]!.kernel})` : 'not measured');
    L.push(`<details><summary>${c.algorithm}, ${c.workload}, ${c.config}, ${c.dtype}</summary>`);
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
