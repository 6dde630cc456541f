// npm run bench: RMSprop steps per second, native kernels against the pure-JS
// backend, measured side by side in one process (rounds alternate between
// backends so machine noise hits both alike). Prints a Markdown table.
//
//   npm run bench [-- --quick] [-- --json out.json]
import * as os from 'node:os';
// Types from the sources, code from the build users get (dist/, made by npm install).
const { Parameter, RMSprop, backendInfo, useBackend }: typeof import('../lib') = require('../dist');
type RMSprop = import('../lib').RMSprop;

interface Workload {
  name: string;
  tensors: number;
  size: number;
}
interface Config {
  name: string;
  momentum: number;
  centered: boolean;
  /** Bytes a step must move per float32 element: read p, g, v; write p, v; +8 per extra buffer. */
  bytesPerElement: number;
}

const quick = process.argv.includes('--quick');
const jsonOut = process.argv.includes('--json') ? process.argv[process.argv.indexOf('--json') + 1] : undefined;

const workloads: Workload[] = [
  { name: '4K', tensors: 1, size: 4096 },
  { name: '64K', tensors: 1, size: 65536 },
  { name: '1M', tensors: 1, size: 1 << 20 },
  { name: '16M', tensors: 1, size: 1 << 24 },
  { name: '1000 × 100', tensors: 1000, size: 100 },
];
const configs: Config[] = [
  { name: 'plain', momentum: 0, centered: false, bytesPerElement: 20 },
  { name: 'momentum+centered', momentum: 0.9, centered: true, bytesPerElement: 36 },
];

/** An optimizer over fresh parameters with fixed gradients. */
function setup(w: Workload, c: Config): RMSprop {
  const params = Array.from({ length: w.tensors }, (_, t) => {
    const p = new Parameter(new Float32Array(w.size).map((_, i) => Math.sin(i + t)));
    p.grad = new Float32Array(w.size).map((_, i) => Math.cos(i * 0.37 + t) * 1e-2);
    return p;
  });
  return new RMSprop(params, { lr: 1e-3, momentum: c.momentum, centered: c.centered, threads: 1 });
}

/** Seconds per step: the median of `rounds` timings of enough steps to take ~50 ms. */
function timeSteps(opt: RMSprop, elements: number, rounds: number): number[] {
  const target = quick ? 0.01 : 0.05;
  for (let s = 0; s < 3; s++) opt.step(); // warm-up: state, JIT, binding, caches
  const t0 = process.hrtime.bigint();
  for (let s = 0; s < 3; s++) opt.step();
  const once = Number(process.hrtime.bigint() - t0) / 3e9;
  const steps = Math.max(1, Math.min(10_000, Math.round(target / Math.max(once, 1e-7))));
  const out: number[] = [];
  for (let r = 0; r < rounds; r++) {
    const start = process.hrtime.bigint();
    for (let s = 0; s < steps; s++) opt.step();
    out.push(Number(process.hrtime.bigint() - start) / 1e9 / steps);
  }
  void elements;
  return out;
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

function main(): void {
  const info = backendInfo();
  if (info.backend !== 'native') {
    console.error(`The native addon is not loaded (${info.nativeError}); nothing to compare.`);
    process.exit(1);
  }
  const rounds = quick ? 3 : 7;
  const rows: Record<string, unknown>[] = [];
  console.log(`# RMSprop step throughput, float32, one thread`);
  console.log(`CPU: ${os.cpus()[0]?.model ?? 'unknown'} (${os.cpus().length} cores); ISA: ${info.isa}; Node ${process.version}; ${new Date().toISOString().slice(0, 10)}\n`);
  console.log('| workload | config | native Melem/s | native GB/s | JS Melem/s | JS GB/s | native / JS |');
  console.log('|---|---|---:|---:|---:|---:|---:|');
  for (const w of workloads) {
    for (const c of configs) {
      const elements = w.tensors * w.size;
      const times: Record<'native' | 'js', number[]> = { native: [], js: [] };
      const optimizers = { native: undefined as RMSprop | undefined, js: undefined as RMSprop | undefined };
      for (const backend of ['native', 'js'] as const) {
        useBackend(backend);
        optimizers[backend] = setup(w, c);
      }
      // Alternate backends round by round.
      for (let r = 0; r < rounds; r++) {
        for (const backend of ['native', 'js'] as const) {
          useBackend(backend);
          times[backend].push(...timeSteps(optimizers[backend]!, elements, 1));
        }
      }
      useBackend('native');
      const perSec = (b: 'native' | 'js') => elements / median(times[b]);
      const row = {
        workload: w.name,
        config: c.name,
        elements,
        nativeMelemPerSec: perSec('native') / 1e6,
        nativeGBPerSec: (perSec('native') * c.bytesPerElement) / 1e9,
        jsMelemPerSec: perSec('js') / 1e6,
        jsGBPerSec: (perSec('js') * c.bytesPerElement) / 1e9,
        ratio: perSec('native') / perSec('js'),
        nativeSecondsPerStep: times.native,
        jsSecondsPerStep: times.js,
      };
      rows.push(row);
      const f = (x: number) => (x >= 100 ? x.toFixed(0) : x >= 10 ? x.toFixed(1) : x.toFixed(2));
      console.log(
        `| ${w.name} | ${c.name} | ${f(row.nativeMelemPerSec)} | ${f(row.nativeGBPerSec)} | ` +
          `${f(row.jsMelemPerSec)} | ${f(row.jsGBPerSec)} | ${row.ratio.toFixed(1)}× |`,
      );
    }
  }
  console.log(`\nMedian of ${rounds} alternating rounds per cell; GB/s counts the bytes a step must move ` +
    `(20 per element plain, 36 with momentum and centered).`);
  if (jsonOut) {
    require('node:fs').writeFileSync(jsonOut, JSON.stringify({ info, cpu: os.cpus()[0]?.model, node: process.version, rows }, null, 2));
  }
}

main();
