// Memory: native state is freed when optimizers are dropped, and steps do not
// allocate. Each check runs a script of test/memory/ in its own Node process
// with --expose-gc, against the build users run (npm test rebuilds dist/).
import { expect } from 'chai';
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';

function measure(script: string): Record<string, number> {
  const r = spawnSync(process.execPath, ['--expose-gc', path.join(__dirname, 'memory', script)], {
    encoding: 'utf8',
    timeout: 240_000,
  });
  expect(r.status, r.stderr).to.equal(0);
  return JSON.parse(r.stdout.trim().split('\n').pop()!);
}

describe('memory', function () {
  this.timeout(300_000);

  it('frees native state of dropped optimizers: 10,000 optimizers with 1M-element state', () => {
    const m = measure('drop-optimizers.js');
    // 10,000 × 12 MiB = 117 GiB allocated in all; a leak shows at once.
    expect(m.maxRssMiB).to.be.below(1024);
  });

  it('does not grow over 1,000,000 steps, and the heap is flat over 10,000', () => {
    const m = measure('many-steps.js');
    expect(m.step).to.equal(1_150_000);
    expect(Math.abs(m.heapGrowth), 'heap bytes gained over 10,000 steps (median of 5 windows)').to.be.below(64 * 1024);
    expect(m.rssGrowthMiB, 'RSS gained over 1,000,000 steps').to.be.below(16);
  });
});
