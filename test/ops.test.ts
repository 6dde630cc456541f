// ops: PyTorch's elementwise arithmetic, native and JS alike, and the
// tutorial-style custom RMSprop that it makes bit-identical to the built-in one.
import { expect } from 'chai';
import { Parameter, RMSprop, ops, type FloatArray } from '../lib';
import { CustomRMSprop } from '../examples/custom-rmsprop';
import { everyBackend, hex, randomF32, resetBackend } from './helpers';


describe('ops: elementwise kernels with PyTorch arithmetic', () => {
  afterEach(resetBackend);

  const cases: [string, (a: FloatArray, b: FloatArray, c: FloatArray) => FloatArray][] = [
    ['mul_ by a number', (a) => ops.mul_(a, 0.9)],
    ['mul_ by a tensor', (a, b) => ops.mul_(a, b)],
    ['add_ with alpha', (a, b) => ops.add_(a, b, -0.37)],
    ['add_ of a number', (a) => ops.add_(a, 1e-8)],
    ['addcmul_', (a, b, c) => ops.addcmul_(a, b, c, 0.01)],
    ['addcdiv_', (a, b, c) => ops.addcdiv_(a, b, c.map(Math.abs) as FloatArray, -0.1)],
    ['sqrt_', (a) => ops.sqrt_(a.map(Math.abs) as FloatArray)],
    ['sqrt into out', (a, b) => ops.sqrt(a.map(Math.abs) as FloatArray, b)],
    ['lerp_ with a small weight', (a, b) => ops.lerp_(a, b, 0.1)],
    ['lerp_ with a large weight', (a, b) => ops.lerp_(a, b, 0.7)],
    ['addcmul_ of a tensor with itself', (a) => ops.addcmul_(a, a, a, 2)],
  ];
  for (const [what, apply] of cases) {
    it(`${what}: the same bits on every backend, float32 and float64`, () => {
      for (const dtype of [Float32Array, Float64Array]) {
        const results = everyBackend().map((backend) => {
          backend.use();
          const a = dtype.from(Array.from(randomF32(1003, 1), (x) => x * 1e3));
          const b = dtype.from(randomF32(1003, 2));
          const c = dtype.from(Array.from(randomF32(1003, 3), (x) => x * 1e-3));
          return { label: backend.label, bytes: hex(apply(a, b, c)) };
        });
        for (const r of results) expect(r.bytes, `${dtype.name} ${r.label}`).to.equal(results[0].bytes);
      }
    });
  }

  it('uses one fused rounding where PyTorch does (addcmul_ is not mul then add)', () => {
    // (1 + 2^-12)^2 - 1 = 2^-11 + 2^-24 exactly; rounding the product first loses the 2^-24.
    const t = new Float32Array([1 + 2 ** -12]);
    const a = new Float32Array([-1]);
    ops.addcmul_(a, t, t, 1);
    expect(a[0]).to.equal(2 ** -11 + 2 ** -24);
    expect(Math.fround(Math.fround(t[0] * t[0]) - 1)).to.equal(2 ** -11);
  });

  it("addcmul_(c, a, b, 1) is fma(a, b, c): the JS backend's fma equals the hardware's on random and cancelling inputs", () => {
    for (const dtype of [Float32Array, Float64Array]) {
      const n = 100_000;
      const round = dtype === Float32Array ? Math.fround : (x: number) => x;
      const a = dtype.from(Array.from(randomF32(n, 11), (x, i) => x * 2 ** ((i % 61) - 30)));
      const b = dtype.from(Array.from(randomF32(n, 12), (x, i) => x * 2 ** ((i % 37) - 18)));
      const c = dtype.from(Array.from(a, (x, i) => (i % 3 ? round(-x * b[i] * (1 + ((i % 7) - 3) * 2 ** -22)) : randomF32(1, i)[0])));
      const results = everyBackend().map((backend) => {
        backend.use();
        return { label: backend.label, bytes: hex(ops.addcmul_(c.slice(), a, b, 1)) };
      });
      for (const r of results) expect(r.bytes === results[0].bytes, `${dtype.name} ${r.label}`).to.equal(true);
    }
  });

  it('rejects mismatched operands with errors that name them', () => {
    const a = new Float32Array(4);
    expect(() => ops.mul_(a, new Float32Array(3))).to.throw(TypeError, /mul_ other .* received Float32Array\(3\)/);
    expect(() => ops.add_(a, new Float64Array(4))).to.throw(TypeError, /add_ other/);
    expect(() => ops.addcmul_(a, a, [1, 2, 3, 4] as never)).to.throw(TypeError, /addcmul_ t2 .* received Array\(4\)/);
    expect(() => ops.addcdiv_(a, a, a, 'x' as never)).to.throw(TypeError, /addcdiv_ value/);
    expect(() => ops.add_(a, a.subarray(1, 5) as never)).to.throw(TypeError);
    const big = new Float32Array(8);
    expect(() => ops.add_(big.subarray(0, 4), big.subarray(2, 6))).to.throw(RangeError, /add_ other and add_ a overlap, 8 bytes apart/);
    expect(() => ops.sqrt(big.subarray(2, 6), big.subarray(0, 4))).to.throw(RangeError, /sqrt out and sqrt a overlap, 8 bytes apart/);
  });

  it('takes the same memory through another view, as it takes the same array', () => {
    for (const backend of everyBackend()) {
      backend.use();
      const x = Float32Array.from([1, 4, 9, 16]);
      ops.add_(x, new Float32Array(x.buffer, 0, 4)); // x += x
      expect(Array.from(x), backend.label).to.deep.equal([2, 8, 18, 32]);
      const big = new Float32Array(8);
      ops.add_(big.subarray(0, 4), big.subarray(4, 8)); // apart: fine
    }
  });
});

describe('a custom RMSprop written with ops (examples/custom-rmsprop.ts)', () => {
  afterEach(resetBackend);

  const configs = [
    {}, { momentum: 0.9 }, { centered: true }, { weightDecay: 0.01 },
    { momentum: 0.5, centered: true, weightDecay: 0.1, alpha: 0.9 }, { centered: true, alpha: 0.3 },
  ];
  for (const config of configs) {
    it(`equals the built-in RMSprop bit for bit over 100 steps: ${JSON.stringify(config)}`, () => {
      for (const backend of everyBackend()) {
        backend.use();
        const make = () => [new Parameter(randomF32(37, 1)), new Parameter(Float64Array.from(randomF32(9, 2)))];
        const mine = make();
        const builtIn = make();
        const a = new CustomRMSprop(mine, { lr: 0.01, ...config });
        const b = new RMSprop(builtIn, { lr: 0.01, ...config });
        for (let s = 0; s < 100; s++) {
          for (const params of [mine, builtIn]) {
            params.forEach((p, k) => (p.grad = p.data instanceof Float32Array ? randomF32(p.numel, 1000 * s + k) : Float64Array.from(randomF32(p.numel, 1000 * s + k))));
          }
          a.step();
          b.step();
        }
        mine.forEach((p, k) => expect(hex(p.data), `${backend.label} param ${k}`).to.equal(hex(builtIn[k].data)));
        expect(hex(a.state.get(mine[0])!.square_avg as FloatArray)).to.equal(hex(b.state.get(builtIn[0])!.square_avg as FloatArray));
      }
    });
  }
});
