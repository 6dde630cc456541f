// test/fixtures/kernel-cases.bin feeds the C++ fixture test
// (native/test/fixture_test.cc: every ISA, NEON under qemu, against
// PyTorch's bits). It is made from the committed PyTorch fixtures; this
// keeps it from going stale when they or the cases change.
import { expect } from 'chai';
import * as fs from 'node:fs';
import { kernelFixtureFile, makeKernelFixtures } from './torch/make-kernel-fixtures';

describe('kernel fixtures for the C++ tests', () => {
  it('test/fixtures/kernel-cases.bin is what the PyTorch fixtures make now', () => {
    const committed = fs.readFileSync(kernelFixtureFile);
    const fresh = makeKernelFixtures();
    expect(committed.length, 'its size (regenerate: npx tsx test/torch/make-kernel-fixtures.ts)').to.equal(fresh.length);
    expect(committed.equals(fresh), 'its bytes (regenerate: npx tsx test/torch/make-kernel-fixtures.ts)').to.equal(true);
  });

  it('is small and holds every dtype and kernel', () => {
    const bytes = makeKernelFixtures();
    expect(bytes.length).to.be.below(1 << 20);
    const names = bytes.toString('latin1');
    for (const name of ['RMSprop float32', 'RMSprop float64', 'Adagrad float32', 'Adagrad float64', 'torch 1.13', 'torch 2.6']) {
      expect(names, name).to.contain(name);
    }
  });
});
