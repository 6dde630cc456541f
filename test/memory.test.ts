// Memory: what state costs. The stress tests (dropped optimizers, a million
// steps, many async steps) are in test/full/memory-stress.test.ts.
import { expect } from 'chai';
import { measure } from './memory/measure';

describe('memory', function () {
  this.timeout(300_000);

  // State costs 4 bytes per element per buffer (8 for float64). The
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
});
