// Arithmetic edge cases the PyTorch fixtures do not reach, checked against
// the exact operations of lib/reference/fma on every backend:
// - lerp at weight 0.5 exactly: ATen takes its second branch,
//   fma(w - 1, end - self, end), whenever |w| < 0.5 is false. RMSprop 2.x's
//   centered grad_avg.lerp_(g, 1 - alpha) meets it at alpha = 0.5 (the demo's
//   alpha sweep uses it); the fixtures have alpha 0.3, 0.9 and 0.99 only.
// - maximize negates the gradient by flipping its sign bit, as PyTorch's
//   -grad does: -(+0) is -0, where 0 - (+0) would be +0. With p = -0 and a zero
//   gradient PyTorch ends at -0 + (-lr * -0) / eps = +0.
import { expect } from 'chai';
import { ops, Parameter, RMSprop } from '../lib';
import { fma64, fmaf32 } from '../lib/reference/fma';
import { everyBackend, randomF32, resetBackend } from './helpers';

const f = Math.fround;

describe('lerp at weight 0.5 exactly takes ATen\'s second branch', () => {
  afterEach(resetBackend);

  for (const dtype of ['float32', 'float64'] as const) {
    it(`RMSprop centered, alpha = 0.5, ${dtype}: grad_avg after two steps on every backend`, () => {
      const sizes = [1, 7, 9, 31, 33, 100];
      const g1 = sizes.map((n, i) => randomF32(n, 100 + i));
      const g2 = sizes.map((n, i) => randomF32(n, 200 + i).map((x) => x * 3));
      // float64 inputs off the float32 grid, so that g - ga is not always exact
      const arr = (a: Float32Array) => (dtype === 'float32' ? Float32Array.from(a) : Float64Array.from(a, (x) => x / 3));
      // grad_avg: step 1 from 0 (both branches agree), step 2 from ga1.
      const expected = sizes.map((n, i) =>
        Array.from({ length: n }, (_, k) => {
          const a = arr(g1[i])[k], b = arr(g2[i])[k];
          if (dtype === 'float32') {
            const ga1 = fmaf32(-0.5, f(a - 0), a);
            return fmaf32(-0.5, f(b - ga1), b);
          }
          const ga1 = fma64(-0.5, a - 0, a);
          return fma64(-0.5, b - ga1, b);
        }));
      let differs = false;
      for (const backend of everyBackend()) {
        backend.use();
        const params = sizes.map((n, i) => new Parameter(arr(randomF32(n, i))));
        const opt = new RMSprop(params, { alpha: 0.5, centered: true });
        for (const grads of [g1, g2]) {
          params.forEach((p, i) => (p.grad = arr(grads[i])));
          opt.step();
        }
        params.forEach((p, i) => {
          const ga = opt.state.get(p)!.grad_avg as Float32Array | Float64Array;
          expect(Array.from(ga), `${backend.label} grad_avg of tensor ${i}`).to.deep.equal(expected[i]);
        });
        // and the first branch would have given other bits somewhere (the test has teeth)
        differs ||= sizes.some((n, i) => Array.from({ length: n }, (_, k) => {
          const a = arr(g1[i])[k], b = arr(g2[i])[k];
          // the first branch at step 2: fma(0.5, g - ga1, ga1), ga1 = a / 2 (exact)
          return dtype === 'float32' ? fmaf32(0.5, f(b - a / 2), a / 2) : fma64(0.5, b - a / 2, a / 2);
        }).some((x, k) => !Object.is(x, expected[i][k])));
      }
      expect(differs, 'inputs where the two branches differ').to.equal(true);
    });
  }

  it('ops.lerp_ with weight 0.5, on every backend', () => {
    const a0 = randomF32(37, 1), b = randomF32(37, 2).map((x) => x * 7);
    const want = Array.from(a0, (x, k) => fmaf32(-0.5, f(b[k] - x), b[k]));
    for (const backend of everyBackend()) {
      backend.use();
      const a = Float32Array.from(a0);
      ops.lerp_(a, b, 0.5);
      expect(Array.from(a), backend.label).to.deep.equal(want);
    }
  });
});

describe('signed zeros under maximize', () => {
  afterEach(resetBackend);
  for (const dtype of ['float32', 'float64'] as const) {
    it(`RMSprop maximize, p = -0 and g = +0 step to +0 on every backend (${dtype})`, () => {
      for (const backend of everyBackend()) {
        backend.use();
        for (const n of [1, 5, 8, 16, 17, 40]) {
          const make = () => (dtype === 'float32' ? new Float32Array(n) : new Float64Array(n));
          const p = new Parameter(make().fill(-0));
          const opt = new RMSprop([p], { maximize: true });
          p.grad = make(); // +0
          opt.step();
          p.data.forEach((x, k) => expect(Object.is(x, 0), `${backend.label} n=${n} element ${k} is ${Object.is(x, -0) ? '-0' : x}`).to.equal(true));
        }
      }
    });
  }
});
