// Creates and drops 10,000 optimizers with 12 MiB of native state each and
// prints the largest RSS seen. Run by test/memory.test.ts with --expose-gc.
// Node finalizes external buffers when the event loop turns, so the loop
// yields now and then, as any real program does.
'use strict';
const { Parameter, RMSprop, backendInfo } = require('../../dist');

const w = new Parameter(new Float32Array(1 << 20));
w.grad = new Float32Array(1 << 20).fill(0.1);
(async () => {
  let maxRss = 0;
  for (let i = 1; i <= 10000; i++) {
    const opt = new RMSprop([w], { momentum: 0.9, centered: true });
    opt.step();
    if (i % 25 === 0) {
      global.gc();
      await new Promise(setImmediate);
    }
    if (i % 250 === 0) maxRss = Math.max(maxRss, process.memoryUsage().rss);
  }
  console.log(JSON.stringify({ maxRssMiB: maxRss / 2 ** 20, externalBuffers: backendInfo().externalBuffers }));
})();
