// The cost of skipNonFinite: steps with and without the native check of every
// gradient, side by side in one process (alternating rounds), one thread.
//   npx tsx bench/nonfinite.ts
import * as os from 'node:os';

// Types from the sources, code from the build users get (dist/, made by npm install).
const { Parameter, RMSprop, backendInfo }: typeof import('../lib') = require('../dist');

const sizes = [4096, 65536, 1 << 20, 1 << 24];
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1];

function optimizer(n: number, skipNonFinite: boolean) {
  const p = new Parameter(new Float32Array(n).fill(1));
  p.grad = new Float32Array(n).map((_, i) => Math.sin(i) * 1e-2);
  return new RMSprop([p], { threads: 1, skipNonFinite });
}

function secondsPerStep(opt: InstanceType<typeof RMSprop>, n: number): number {
  const steps = Math.max(1, Math.round(2e7 / n));
  const t0 = process.hrtime.bigint();
  for (let s = 0; s < steps; s++) opt.step();
  return Number(process.hrtime.bigint() - t0) / 1e9 / steps;
}

console.log(`# skipNonFinite overhead, RMSprop float32, one thread`);
console.log(`${os.cpus()[0]?.model}; ISA ${backendInfo().isa}; Node ${process.version}; ${new Date().toISOString().slice(0, 10)}\n`);
console.log('| elements | step µs | step + check µs | overhead |');
console.log('|---:|---:|---:|---:|');
for (const n of sizes) {
  const plain = optimizer(n, false);
  const checked = optimizer(n, true);
  plain.step();
  checked.step();
  const a: number[] = [];
  const b: number[] = [];
  for (let r = 0; r < 9; r++) {
    a.push(secondsPerStep(plain, n));
    b.push(secondsPerStep(checked, n));
  }
  const [x, y] = [median(a) * 1e6, median(b) * 1e6];
  console.log(`| ${n} | ${x.toFixed(1)} | ${y.toFixed(1)} | ${(((y - x) / x) * 100).toFixed(1)}% |`);
}
