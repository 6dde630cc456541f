// stepAsync() 170,000 times (each one an async worker and a promise per
// group) and prints how much the heap grows over 10,000 of them (median of
// five windows, after warm-up) and how much RSS grows over the last 100,000.
// Run by test/memory.test.ts with --expose-gc.
'use strict';
const { smallOptimizers } = require('./small-optimizers');

const { params, rmsprop, adagrad } = smallOptimizers();
const step = () => Promise.all([rmsprop.stepAsync(), adagrad.stepAsync()]);

(async () => {
  for (let i = 0; i < 20000; i++) await step();
  const growth = [];
  for (let w = 0; w < 5; w++) {
    global.gc();
    const before = process.memoryUsage().heapUsed;
    for (let i = 0; i < 10000; i++) await step();
    global.gc();
    growth.push(process.memoryUsage().heapUsed - before);
  }
  growth.sort((a, b) => a - b);
  global.gc();
  const rss0 = process.memoryUsage().rss;
  for (let i = 0; i < 100000; i++) await step();
  global.gc();
  const rss1 = process.memoryUsage().rss;
  console.log(JSON.stringify({
    heapGrowth: growth[2],
    rssGrowthMiB: (rss1 - rss0) / 2 ** 20,
    steps: [rmsprop.state.get(params[1]).step, adagrad.state.get(params[2]).step],
  }));
})();
