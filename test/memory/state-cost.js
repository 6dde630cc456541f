// What the state of a model costs: the resident memory the first step adds
// (it creates the state), against 4 bytes per element per state buffer (8 for
// float64). Params and grads come from zeros and are written before the
// step, so that only the state is new. Prints one JSON line.
// Usage: node --expose-gc state-cost.js float32|float64
const { Parameter, RMSprop, zeros } = require('../..');

const dtype = process.argv[2] === 'float64' ? 'float64' : 'float32';
const elem = dtype === 'float32' ? 4 : 8;
// Every layout: 1,000 small tensors (shared buffers), 100 mid-sized ones (one
// allocation per key), one large one (its own huge pages).
const lengths = [...Array(1000).fill(100), ...Array(100).fill(100_000), 1 << 22];
const params = lengths.map((n) => {
  const p = new Parameter(zeros(n, dtype).fill(0.5));
  p.grad = zeros(n, dtype).fill(0.25);
  return p;
});
const opt = new RMSprop(params, { momentum: 0.9, centered: true, threads: 1 });
global.gc();
const before = process.memoryUsage();
opt.step();
global.gc();
const after = process.memoryUsage();
const elements = lengths.reduce((a, b) => a + b, 0);
console.log(JSON.stringify({
  dtype,
  // Native memory allocated for the state, as simd-optim reports it to V8 (whole allocations).
  stateBytes: after.external - before.external,
  // Everything the process gained: the state, its JS objects, and what V8 compiled for the step.
  rssBytes: after.rss - before.rss,
  exactBytes: 3 * elements * elem,
  placedBuffers: 3 * lengths.filter((n) => n * elem >= 16384).length,
}));
