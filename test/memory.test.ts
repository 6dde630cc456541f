// Memory: native state is freed when optimizers are dropped, and steps do not
// allocate. Each check runs in its own Node process with --expose-gc so that
// the numbers are its own.
import { expect } from 'chai';
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';

const root = path.resolve(__dirname, '..');

function measure(code: string): Record<string, number> {
  const r = spawnSync(process.execPath, ['--expose-gc', '--import', 'tsx', '-e', code], {
    cwd: root,
    encoding: 'utf8',
    timeout: 240_000,
  });
  expect(r.status, r.stderr).to.equal(0);
  return JSON.parse(r.stdout.trim().split('\n').pop()!);
}

describe('memory', function () {
  this.timeout(300_000);

  it('frees native state of dropped optimizers: 10,000 optimizers with 1M-element state', () => {
    // Node finalizes external buffers when the event loop turns; a training
    // loop that never yields keeps dropped optimizers' state until it does.
    const m = measure(`
      const { Parameter, RMSprop, backendInfo } = require('./dist');
      const w = new Parameter(new Float32Array(1 << 20));
      w.grad = new Float32Array(1 << 20).fill(0.1);
      (async () => {
        let maxRss = 0;
        for (let i = 1; i <= 10000; i++) {
          const opt = new RMSprop([w], { momentum: 0.9, centered: true }); // 12 MiB of state
          opt.step();
          if (i % 25 === 0) { global.gc(); await new Promise(setImmediate); }
          if (i % 250 === 0) maxRss = Math.max(maxRss, process.memoryUsage().rss);
        }
        console.log(JSON.stringify({ maxRssMiB: maxRss / 2 ** 20, external: backendInfo().externalBuffers ? 1 : 0 }));
      })();`);
    // 10,000 × 12 MiB = 117 GiB allocated in all; a leak shows at once.
    expect(m.maxRssMiB).to.be.below(1024);
  });

  it('does not grow over 1,000,000 steps, and the heap is flat over 10,000', () => {
    const m = measure(`
      const { Parameter, RMSprop } = require('./dist'); // the build users run (npm test rebuilds it)
      const params = [new Parameter(new Float32Array(64)), new Parameter(new Float64Array(33))];
      params[0].grad = new Float32Array(64).fill(0.01);
      params[1].grad = new Float64Array(33).fill(-0.01);
      const opt = new RMSprop([{ params: [params[0]] }, { params: [params[1]], momentum: 0.9, centered: true }]);
      for (let i = 0; i < 100000; i++) opt.step();
      // Five windows of 10,000 steps: a per-step leak grows every window, while
      // late JIT compilation (on a busy machine) shows in one at most.
      const growth = [];
      for (let w = 0; w < 5; w++) {
        global.gc();
        const before = process.memoryUsage().heapUsed;
        for (let i = 0; i < 10000; i++) opt.step();
        global.gc();
        growth.push(process.memoryUsage().heapUsed - before);
      }
      growth.sort((a, b) => a - b);
      const rss0 = process.memoryUsage().rss;
      for (let i = 0; i < 1000000; i++) opt.step();
      global.gc();
      const rss1 = process.memoryUsage().rss;
      console.log(JSON.stringify({ heapGrowth: growth[2], rssGrowthMiB: (rss1 - rss0) / 2 ** 20, step: opt.state.get(params[1]).step }));`);
    expect(m.step).to.equal(1_150_000);
    expect(Math.abs(m.heapGrowth), 'heap bytes gained over 10,000 steps (median of 5 windows)').to.be.below(64 * 1024);
    expect(m.rssGrowthMiB, 'RSS gained over 1,000,000 steps').to.be.below(16);
  });
});
