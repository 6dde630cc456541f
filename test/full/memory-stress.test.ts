// Memory under stress: native state is freed when optimizers are dropped,
// and steps (synchronous or async) do not leak.
import { expect } from 'chai';
import { measure } from '../memory/measure';

describe('memory under stress', function () {
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
