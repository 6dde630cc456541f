// test/fixtures/kernel-cases.bin.gz feeds the C++ fixture test
// (native/test/fixture_test.cc: every ISA, NEON under qemu, against
// PyTorch's bits). It is made from the committed PyTorch fixtures; this
// keeps it from going stale when they or the cases change.
import { expect } from 'chai';
import * as fs from 'node:fs';
import * as zlib from 'node:zlib';
import { kernelFixtureFile, makeKernelFixtures } from './torch/make-kernel-fixtures';

describe('kernel fixtures for the C++ tests', function () {
  this.timeout(60_000);
  let fresh: Buffer;
  before(() => {
    fresh = makeKernelFixtures();
  });

  it('test/fixtures/kernel-cases.bin.gz holds what the PyTorch fixtures make now', () => {
    const committed = zlib.gunzipSync(fs.readFileSync(kernelFixtureFile));
    expect(committed.length, 'its size (regenerate: npx tsx test/torch/make-kernel-fixtures.ts)').to.equal(fresh.length);
    expect(committed.equals(fresh), 'its bytes (regenerate: npx tsx test/torch/make-kernel-fixtures.ts)').to.equal(true);
  });

  it('is small and holds every dtype and kernel', () => {
    expect(fs.statSync(kernelFixtureFile).size).to.be.below(1 << 20);
    const names = fresh.toString('latin1');
    const optimizers = ['RMSprop', 'Adagrad', 'SGD', 'Adam', 'AdamW'];
    for (const name of [...optimizers.flatMap((o) => [`${o} float32`, `${o} float64`]), 'torch 1.13', 'torch 2.6']) {
      expect(names, name).to.contain(name);
    }
  });
});
