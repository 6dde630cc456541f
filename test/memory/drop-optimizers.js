// Creates and drops 10,000 optimizers with 1M-element params and prints the
// largest RSS seen, and how much larger it was in the second half of the run
// than in the first. Run by test/memory.test.ts with --expose-gc:
//   node --expose-gc drop-optimizers.js RMSprop|Adagrad
// RMSprop (momentum + centered) holds 12 MiB of state each, Adagrad 4 MiB.
// Node finalizes external buffers when the event loop turns, so the loop
// yields now and then, as any real program does.
'use strict';
const { Adagrad, Parameter, RMSprop, backendInfo } = require('../../dist');

const kind = process.argv[2] || 'RMSprop';
const make = {
  RMSprop: (w) => new RMSprop([w], { momentum: 0.9, centered: true }),
  Adagrad: (w) => new Adagrad([w], { initialAccumulatorValue: 0.1 }),
}[kind];
if (!make) throw new Error(`unknown optimizer ${kind}`);

const w = new Parameter(new Float32Array(1 << 20));
w.grad = new Float32Array(1 << 20).fill(0.1);
(async () => {
  const count = 10000;
  const maxRss = [0, 0]; // first half, second half
  for (let i = 1; i <= count; i++) {
    const opt = make(w);
    opt.step();
    if (i % 25 === 0) {
      global.gc();
      await new Promise(setImmediate);
    }
    if (i % 250 === 0) {
      const half = i <= count / 2 ? 0 : 1;
      maxRss[half] = Math.max(maxRss[half], process.memoryUsage().rss);
    }
  }
  const MiB = 2 ** 20;
  console.log(JSON.stringify({
    maxRssMiB: Math.max(...maxRss) / MiB,
    lateGrowthMiB: (maxRss[1] - maxRss[0]) / MiB,
    externalBuffers: backendInfo().externalBuffers,
  }));
})();
