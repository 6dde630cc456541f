// stepAsync() 170,000 times (each one an async worker and a promise per
// group) and prints how much the heap grows over 10,000 of them (median of
// five windows, after warm-up) and how much RSS grows over the last 100,000.
// Run by test/memory.test.ts with --expose-gc.
'use strict';
const { Adagrad, Parameter, RMSprop } = require('../../dist');

const params = [new Parameter(new Float32Array(64)), new Parameter(new Float64Array(33)), new Parameter(new Float32Array(17))];
params[0].grad = new Float32Array(64).fill(0.01);
params[1].grad = new Float64Array(33).fill(-0.01);
params[2].grad = new Float32Array(17).fill(0.02);
const rmsprop = new RMSprop([{ params: [params[0]] }, { params: [params[1]], momentum: 0.9, centered: true }]);
const adagrad = new Adagrad([params[2]], { lrDecay: 0.01 });
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
