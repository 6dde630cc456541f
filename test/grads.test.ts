// The training loop PyTorch users write: opt.zeroGrad(), then each grad
// accumulated (as backward() does into .grad), then opt.step(). It must give
// PyTorch's semantics (a param without a gradient is skipped under 2.x) and
// stay fast: the grads are allocated and bound once.
import { expect } from 'chai';
import { Parameter, RMSprop } from '../lib';
import { bytesOf, everyBackend, randomF32, resetBackend } from './helpers';

describe('grads accumulated into arrays that are reused', () => {
  afterEach(resetBackend);

  it('zeroGrad() then accumulateGrad() refills the same array each step, with the bits of new arrays', () => {
    for (const backend of everyBackend()) {
      backend.use();
      const reused = [new Parameter(randomF32(300, 1)), new Parameter(randomF32(7, 2))];
      const fresh = reused.map((p) => new Parameter(p.data.slice()));
      const a = new RMSprop(reused, { momentum: 0.9 });
      const b = new RMSprop(fresh, { momentum: 0.9 });
      const arrays: unknown[] = [];
      for (let t = 0; t < 5; t++) {
        a.zeroGrad();
        expect(reused.map((p) => p.grad), 'zeroGrad() sets grads to null, as PyTorch 2.x').to.deep.equal([null, null]);
        reused.forEach((p, i) => p.accumulateGrad(randomF32(p.numel, 10 * t + i)));
        fresh.forEach((p, i) => (p.grad = randomF32(p.numel, 10 * t + i)));
        a.step();
        b.step();
        arrays.push(reused[0].grad);
      }
      expect(new Set(arrays).size, `${backend.label}: one grad array for every step`).to.equal(1);
      reused.forEach((p, i) => expect(bytesOf(p.data).equals(bytesOf(fresh[i].data)), `${backend.label} param ${i}`).to.equal(true));
    }
  });

  it('adds to a grad that is there, rounding each sum as float32 addition does', () => {
    const p = new Parameter(new Float32Array(3));
    p.accumulateGrad([0.1, 1e8, -2]);
    p.accumulateGrad(new Float32Array([0.2, 1, 2]));
    expect(Array.from(p.grad!)).to.deep.equal([Math.fround(Math.fround(0.1) + Math.fround(0.2)), Math.fround(1e8 + 1), 0]);
    const q = new Parameter(new Float64Array([1, 2]));
    expect(q.accumulateGrad([0.1, 0.2])).to.be.instanceOf(Float64Array);
  });

  it('leaves a param that gets no gradient at null, so the step skips it', () => {
    const [w, b] = [new Parameter(randomF32(4, 1)), new Parameter(randomF32(2, 2))];
    const opt = new RMSprop([w, b]);
    w.accumulateGrad(randomF32(4, 3));
    b.accumulateGrad(randomF32(2, 4));
    opt.step();
    opt.zeroGrad();
    w.accumulateGrad(randomF32(4, 5));
    const before = b.data.slice();
    opt.step();
    expect(Array.from(b.data)).to.deep.equal(Array.from(before));
    expect(opt.state.get(b)!.step).to.equal(1);
    expect(opt.state.get(w)!.step).to.equal(2);
  });

  it('refuses values of the wrong length, naming them and changing nothing', () => {
    const p = new Parameter(new Float32Array(3));
    expect(() => p.accumulateGrad([1, 2])).to.throw(TypeError, /Expected 3 numbers .* for accumulateGrad values/);
    expect(p.grad).to.equal(null);
  });
});
