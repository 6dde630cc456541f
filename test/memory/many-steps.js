// Steps an RMSprop and an Adagrad optimizer 1,150,000 times each and prints
// how much the heap grows over 10,000 steps (median of five windows, after
// warm-up) and how much RSS grows over 1,000,000 steps. Run by
// test/memory.test.ts with --expose-gc.
'use strict';
const { smallOptimizers } = require('./small-optimizers');

const { params, rmsprop, adagrad } = smallOptimizers();
const step = () => {
  rmsprop.step();
  adagrad.step();
};
for (let i = 0; i < 100000; i++) step();
// A per-step leak grows every window; late JIT work on a busy machine, one at most.
const growth = [];
for (let w = 0; w < 5; w++) {
  global.gc();
  const before = process.memoryUsage().heapUsed;
  for (let i = 0; i < 10000; i++) step();
  global.gc();
  growth.push(process.memoryUsage().heapUsed - before);
}
growth.sort((a, b) => a - b);
const rss0 = process.memoryUsage().rss;
for (let i = 0; i < 1000000; i++) step();
global.gc();
const rss1 = process.memoryUsage().rss;
console.log(JSON.stringify({
  heapGrowth: growth[2],
  rssGrowthMiB: (rss1 - rss0) / 2 ** 20,
  steps: [rmsprop.state.get(params[1]).step, adagrad.state.get(params[2]).step],
}));
