// npm run bench:kit: the training loop's kit, side by side with its peers
// and the machine's bandwidth in one run: the gradient norm
// (getTotalNorm), clipping (clipGradNorm: the norm, then a scaling pass) and
// the EMA update (EMA.update: one lerp pass), out of cache, float32, at one
// thread and at all cores. Peers: PyTorch 2.6 (torch.nn.utils'
// _get_total_norm and clip_grad_norm_, torch._foreach_lerp_, timed inside
// Python), the plain JavaScript loop, and bench/limits.c's read loop (for
// the norm) and its loop with the EMA's streams (2 reads, 1 write). Method
// as the main benchmark's, simplified: in each round every peer takes one
// sample right after a sample of simd-optim, in a rotated order; reported
// are medians, and ratios as the median of the per-round ratios.
//
// It writes its section of docs/benchmark.md between the kit markers (the
// main run keeps that section), and prints it.
//   npm run bench:kit [-- --rounds N] [-- --md FILE]
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { clipGradNorm, EMA, getTotalNorm, Parameter, zeros, backendInfo } from '../lib';
import { buildLimits } from './peers-limits';
import { median, sleep } from './stats';
import { LineWorker, quietThreadsEnv } from './worker-client';

const argv = process.argv.slice(2);
const option = (name: string) => (argv.includes(name) ? argv[argv.indexOf(name) + 1] : undefined);
const rounds = Number(option('--rounds') ?? 9);
const root = path.resolve(__dirname, '..');
const mdPath = option('--md') ?? path.join(root, 'docs', 'benchmark.md');
export const KIT_START = '<!-- kit:start -->';
export const KIT_END = '<!-- kit:end -->';

type Op = 'norm' | 'clip' | 'ema';
/** Bytes an op moves per float32 element: the norm reads g; clipping reads it twice and writes it once; the EMA reads both and writes the average. */
const BYTES: Record<Op, number> = { norm: 4, clip: 12, ema: 12 };

interface Peer {
  id: string;
  label: string;
  /** Seconds for `reps` calls. */
  time(reps: number): Promise<number>;
}

const trixie = process.env.SIMD_OPTIM_TRIXIE || '/var/cache/simd-optim/trixie';
const TORCH = `
import json, sys, time, torch
from torch.nn.utils.clip_grad import _get_total_norm
torch.manual_seed(0)
def out(x): print('@@bench ' + json.dumps(x), flush=True)
for line in sys.stdin:
    r = json.loads(line)
    if 'alloc' in r:
        n = r['alloc']
        g = (torch.rand(n) * 2 - 1) * 1e-2
        p = torch.nn.Parameter(torch.rand(n))
        p.grad = g
        avg = torch.rand(n)
        max_norm = 1.0
        out({'ok': True}); continue
    torch.set_num_threads(r['threads'])
    t = time.perf_counter()
    for _ in range(r['reps']):
        if r['op'] == 'norm': _get_total_norm([g])
        elif r['op'] == 'clip': max_norm = 0.999 * float(torch.nn.utils.clip_grad_norm_([p], max_norm))
        else: torch._foreach_lerp_([avg], [p.detach()], 0.001)
    out({'seconds': time.perf_counter() - t})
`;

function randomFill(a: Float32Array, scale: number, seed: number): void {
  let s = seed >>> 0 || 1;
  for (let i = 0; i < a.length; i++) {
    s = (s * 1664525 + 1013904223) >>> 0;
    a[i] = (s / 2 ** 32 * 2 - 1) * scale;
  }
}

async function peersFor(op: Op, n: number, cores: number, torch: LineWorker | undefined, limits: LineWorker | undefined): Promise<Peer[]> {
  const threads = cores > 1 ? [1, cores] : [1];
  const T = (t: number) => (t === 1 ? '1T' : `${t}T`);
  const peers: Peer[] = [];
  // simd-optim, over arrays from zeros (huge pages), as the main benchmark's.
  const p = new Parameter(zeros(n, 'float32'));
  randomFill(p.data as Float32Array, 1, 1);
  p.grad = zeros(n, 'float32');
  randomFill(p.grad as Float32Array, 1e-2, 2);
  // One EMA per thread count; the first update copies, later ones lerp.
  const emas = new Map(threads.map((t) => [t, new EMA([p], { decay: 0.999, threads: t })]));
  for (const ema of emas.values()) ema.update();
  // Each clip asks for a little less than the last norm, so that every call scales (a factor of 1 is skipped).
  let maxNorm = 1;
  for (const t of threads) {
    peers.push({
      id: `simd-${t}`,
      label: `simd-optim ${T(t)}`,
      time: async (reps) => {
        const t0 = process.hrtime.bigint();
        for (let r = 0; r < reps; r++) {
          if (op === 'norm') getTotalNorm([p.grad!], { threads: t });
          else if (op === 'clip') maxNorm = 0.999 * clipGradNorm([p], maxNorm, { threads: t });
          else emas.get(t)!.update();
        }
        return Number(process.hrtime.bigint() - t0) / 1e9;
      },
    });
  }
  const g = p.grad as Float32Array;
  const avg = new Float32Array(n);
  peers.push({
    id: 'js',
    label: 'JS loop',
    time: async (reps) => {
      const t0 = process.hrtime.bigint();
      for (let r = 0; r < reps; r++) {
        if (op === 'norm') {
          let s = 0;
          for (let i = 0; i < n; i++) s += g[i] * g[i];
          if (s < 0) throw new Error('unreachable');
        } else if (op === 'clip') {
          let s = 0;
          for (let i = 0; i < n; i++) s += g[i] * g[i];
          const coef = Math.min(1, 0.999 / (Math.sqrt(s) + 1e-6));
          for (let i = 0; i < n; i++) g[i] *= coef;
        } else {
          const d = p.data;
          for (let i = 0; i < n; i++) avg[i] += 0.001 * (d[i] - avg[i]);
        }
      }
      return Number(process.hrtime.bigint() - t0) / 1e9;
    },
  });
  if (torch) {
    await torch.request(JSON.stringify({ alloc: n }));
    for (const t of threads) {
      peers.push({
        id: `torch-${t}`,
        label: `PyTorch 2.6 ${T(t)}`,
        time: async (reps) => ((await torch.request(JSON.stringify({ op, threads: t, reps }))) as { seconds: number }).seconds,
      });
    }
  }
  if (limits && op !== 'clip') {
    await limits.request(`alloc ${n} f32`);
    const kernel = op === 'norm' ? 'read' : 'streams-2-1';
    for (const t of threads) {
      peers.push({
        id: `limit-${t}`,
        label: `limit ${T(t)} (${op === 'norm' ? 'read' : '2 reads, 1 write'}, C)`,
        time: async (reps) => {
          const line = (await limits.request(`run ${kernel} ${backendInfo().isa === 'avx512' ? 'avx512' : 'avx2'} ${t} ${reps}`)) as string;
          if (!line.startsWith('ok')) throw new Error(line);
          return Number(line.slice(3));
        },
      });
    }
  }
  return peers;
}

interface Row {
  op: Op;
  size: string;
  n: number;
  peers: { id: string; label: string; melems: number; ratio: number }[];
}

async function measure(op: Op, size: string, n: number, cores: number, torch?: LineWorker, limits?: LineWorker): Promise<Row> {
  const peers = await peersFor(op, n, cores, torch, limits);
  // About 0.1 s per sample: a pass over 64M floats takes a few tens of milliseconds.
  const reps = new Map<string, number>();
  for (const peer of peers) {
    await peer.time(1);
    const once = await peer.time(1);
    reps.set(peer.id, Math.max(1, Math.round(0.1 / once)));
  }
  const samples = new Map<string, number[]>(peers.map((p) => [p.id, []]));
  const ratios = new Map<string, number[]>(peers.map((p) => [p.id, []]));
  for (let round = 0; round < rounds; round++) {
    const order = peers.map((_, i) => peers[(i + round) % peers.length]);
    for (const peer of order) {
      const reference = peers.find((p) => p.id === (peer.id.endsWith('-1') || peer.id === 'js' ? 'simd-1' : `simd-${cores}`))!;
      const r = reps.get(reference.id)!;
      const refRate = (n * r) / (await reference.time(r));
      const k = reps.get(peer.id)!;
      const rate = (n * k) / (await peer.time(k));
      samples.get(peer.id)!.push(rate);
      ratios.get(peer.id)!.push(refRate / rate);
      await sleep(2);
    }
  }
  return {
    op, size, n,
    peers: peers.map((p) => ({ id: p.id, label: p.label, melems: median(samples.get(p.id)!) / 1e6, ratio: median(ratios.get(p.id)!) })),
  };
}

function render(rows: Row[], meta: { cpu: string; cores: number; date: string; isa: string; notes: string[] }): string {
  const L: string[] = [KIT_START, '', '## Gradient clipping and EMA', ''];
  L.push('<!-- Written by `npm run bench:kit` (bench/kit.ts). Do not edit by hand. -->');
  L.push('');
  L.push(`\`npm run bench:kit\` times the gradient norm (\`getTotalNorm\`), clipping (\`clipGradNorm\`: the norm, then a scaling pass) ` +
    'and the EMA update (`EMA.update`: one lerp pass) over one float32 tensor from `zeros`, side by side with PyTorch 2.6 ' +
    '(`_get_total_norm`, `clip_grad_norm_`, `torch._foreach_lerp_`, timed inside Python), the plain JavaScript loop, and ' +
    'bench/limits.c\'s loops with the same memory traffic (a read-only sum for the norm; two reads and a write for the EMA), ' +
    'in one run. Ratios are medians of same-round pairs with simd-optim at the same thread count (the JS loop: one thread).');
  L.push('');
  L.push(`**This run:** ${meta.cpu}, ${meta.cores} cores; default ISA ${meta.isa}; Node ${process.version}; ${meta.date}; ${rounds} rounds.`);
  for (const note of meta.notes) L.push(`- ${note}`);
  L.push('');
  L.push('| operation | size | peer | Melem/s | GB/s | simd-optim × |');
  L.push('|---|---|---|---:|---:|---:|');
  for (const row of rows) {
    for (const p of row.peers) {
      const gb = (p.melems * BYTES[row.op]) / 1e3;
      L.push(`| ${row.op === 'norm' ? 'norm (L2)' : row.op === 'clip' ? 'clipGradNorm' : 'EMA update'} | ${row.size} | ${p.label} | ${p.melems.toFixed(0)} | ${gb.toFixed(1)} | ${p.id.startsWith('simd') ? '' : p.ratio.toFixed(2)} |`);
    }
  }
  L.push('');
  L.push('### Targets');
  L.push('');
  for (const row of rows.filter((r) => r.op === 'norm')) {
    for (const t of ['1', String(meta.cores)]) {
      const limit = row.peers.find((p) => p.id === `limit-${t}`);
      if (!limit) continue;
      const share = limit.ratio; // simd-optim's rate over the limit's, the median of same-round pairs
      L.push(`- The norm at ${row.size}, ${t === '1' ? 'one thread' : `${t} threads`}: ${(share * 100).toFixed(0)}% of the read bandwidth ` +
        `measured in the same run (target ≥ 85%): ${share >= 0.85 ? 'met' : 'not met'}.`);
    }
  }
  L.push('', KIT_END);
  return L.join('\n');
}

/** The page with its kit section replaced (or appended). */
export function withKitSection(page: string, section: string): string {
  const start = page.indexOf(KIT_START);
  const end = page.indexOf(KIT_END);
  if (start >= 0 && end > start) return page.slice(0, start) + section + page.slice(end + KIT_END.length);
  return `${page.trimEnd()}\n\n${section}\n`;
}

async function main(): Promise<void> {
  const cores = os.cpus().length;
  const notes: string[] = [];
  const built = buildLimits();
  const limits = built.ok ? new LineWorker('limits', [built.binary], { parse: (l) => (/^(ok|error)\b/.test(l) ? l : undefined), env: quietThreadsEnv() }) : undefined;
  if (!built.ok) notes.push(`no limits: ${built.why}`);
  const torchArgv = fs.existsSync(`${trixie}/usr/bin/python3`) ? ['chroot', trixie, '/usr/bin/python3', '-c', TORCH] : undefined;
  const torch = torchArgv
    ? new LineWorker('torch-2.6', torchArgv, { parse: (l) => (l.startsWith('@@bench ') ? JSON.parse(l.slice(8)) : undefined), env: quietThreadsEnv(), timeoutMs: 600_000 })
    : undefined;
  if (!torch) notes.push(`no PyTorch 2.6: no trixie chroot at ${trixie} (bash scripts/setup-torch.sh)`);
  const rows: Row[] = [];
  for (const [size, n] of [['16M', 1 << 24], ['64M', 1 << 26]] as const) {
    for (const op of ['norm', 'clip', 'ema'] as const) {
      process.stderr.write(`kit: ${op} ${size}\n`);
      rows.push(await measure(op, size, n, cores, torch, limits));
    }
  }
  await torch?.close();
  await limits?.close();
  const section = render(rows, { cpu: os.cpus()[0].model, cores, date: new Date().toISOString().slice(0, 10), isa: backendInfo().isa, notes });
  process.stdout.write(`${section}\n`);
  const page = fs.existsSync(mdPath) ? fs.readFileSync(mdPath, 'utf8') : '';
  fs.writeFileSync(mdPath, withKitSection(page, section));
  process.stderr.write(`wrote ${path.relative(process.cwd(), mdPath)}\n`);
}

if (require.main === module) {
  main().catch((e) => {
    process.stderr.write(`${(e as Error).stack}\n`);
    process.exit(1);
  });
}
