// Memory: native state is freed when optimizers are dropped, and steps
// (synchronous or async) do not leak. Each check runs a script of test/memory/
// in its own Node process with --expose-gc, against the build users run
// (npm test rebuilds dist/).
import { expect } from 'chai';
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';

function measure(script: string, args: string[] = [], env: Record<string, string> = {}): Record<string, number> {
  const r = spawnSync(process.execPath, ['--expose-gc', path.join(__dirname, 'memory', script), ...args], {
    encoding: 'utf8',
    timeout: 240_000,
    env: { ...process.env, ...env },
  });
  expect(r.status, r.stderr || String(r.error)).to.equal(0);
  return JSON.parse(r.stdout.trim().split('\n').pop()!);
}

describe('memory', function () {
  this.timeout(300_000);

  // 10,000 optimizers allocate 117 GiB (RMSprop) or 39 GiB (Adagrad) of state
  // in all; a leak of a few dozen of them shows at once. RSS settles early and
  // must not climb in the second half of the run.
  it('frees native state of dropped optimizers: 10,000 RMSprops with 1M-element state (12 MiB each)', () => {
    const m = measure('drop-optimizers.js', ['RMSprop']);
    expect(m.externalBuffers, 'external buffers in use').to.equal(true);
    expect(m.maxRssMiB).to.be.below(1024);
    expect(m.lateGrowthMiB, 'RSS gained in the second half').to.be.below(192);
  });

  it('frees the state of 10,000 Adagrads, also in V8-allocated buffers (SIMD_OPTIM_NO_EXTERNAL_BUFFERS=1)', () => {
    for (const env of [{}, { SIMD_OPTIM_NO_EXTERNAL_BUFFERS: '1' }] as Record<string, string>[]) {
      const m = measure('drop-optimizers.js', ['Adagrad'], env);
      const label = JSON.stringify(env);
      expect(m.externalBuffers, label).to.equal(!('SIMD_OPTIM_NO_EXTERNAL_BUFFERS' in env));
      expect(m.maxRssMiB, label).to.be.below(640);
      expect(m.lateGrowthMiB, label).to.be.below(128);
    }
  });

  // Issue 5: state costs 4 bytes per element per buffer (8 for float64). The
  // only extra is placement against 4K aliasing (under a page per buffer of
  // 16 KiB and more) and rounding each allocation to whole pages.
  it('state costs 4 bytes per element per buffer (8 for float64), small, mid-sized and large tensors alike', () => {
    for (const dtype of ['float32', 'float64']) {
      const m = measure('state-cost.js', [dtype]);
      const slack = m.placedBuffers * 4096 + 16 * 4096;
      expect(m.stateBytes, `${dtype}: native memory allocated for the state`).to.be.within(m.exactBytes, m.exactBytes + slack);
      // Resident: the state itself, plus its JS objects and the code V8 compiles for the first step.
      expect(m.rssBytes, `${dtype}: resident memory the first step adds`).to.be.below(m.exactBytes * 1.01 + 16 * 2 ** 20);
    }
  });

  // The heap of a long-running process wobbles by ~150 KB either way as V8
  // compiles and frees code; a leak grows it in every window, so the median
  // window must not grow.
  it('does not grow over 1,000,000 steps of RMSprop and Adagrad, and the heap is flat over 10,000', () => {
    const m = measure('many-steps.js');
    expect(m.steps).to.deep.equal([1_150_000, 1_150_000]);
    expect(m.heapGrowth, 'heap bytes gained over 10,000 steps (median of 5 windows)').to.be.below(64 * 1024);
    expect(m.rssGrowthMiB, 'RSS gained over 1,000,000 steps').to.be.below(16);
  });

  it('does not leak async workers or promises over 170,000 stepAsync() calls', () => {
    const m = measure('many-async-steps.js');
    expect(m.steps).to.deep.equal([170_000, 170_000]);
    expect(m.heapGrowth, 'heap bytes gained over 10,000 async steps (median of 5 windows)').to.be.below(64 * 1024);
    expect(m.rssGrowthMiB, 'RSS gained over 100,000 async steps').to.be.below(16);
  });
});
