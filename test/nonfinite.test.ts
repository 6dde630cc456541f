// Non-finite gradients: propagated exactly like PyTorch by default; with
// skipNonFinite, a step that sees one changes nothing and is counted.
import { expect } from 'chai';
import { Adagrad, Adam, AdamW, Parameter, RMSprop, SGD, type FloatArray, type Optimizer } from '../lib';
import { everyBackend, randomF32, resetBackend, snapshot } from './helpers';

function model() {
  const params = [new Parameter(randomF32(37, 1)), new Parameter(Float64Array.from(randomF32(19, 2)))];
  return params;
}
function grads(params: Parameter[], seed: number) {
  params.forEach((p, k) => {
    const g = randomF32(p.numel, seed * 10 + k);
    p.grad = p.data instanceof Float64Array ? Float64Array.from(g) : g;
  });
}

/** Each optimizer with the settings that use all its state, with or without skipNonFinite. */
const makers: [string, (params: Parameter[], skipNonFinite: boolean) => Optimizer & { stepAsync(): Promise<unknown>; lastStepSkipped: boolean; skippedSteps: number }][] = [
  ['RMSprop', (ps, skipNonFinite) => new RMSprop(ps, { momentum: 0.9, centered: true, skipNonFinite })],
  ['Adagrad', (ps, skipNonFinite) => new Adagrad(ps, { lrDecay: 0.01, skipNonFinite })],
  ['SGD', (ps, skipNonFinite) => new SGD(ps, { lr: 0.1, momentum: 0.9, dampening: 0.1, skipNonFinite })],
  ['Adam', (ps, skipNonFinite) => new Adam(ps, { amsgrad: true, skipNonFinite })],
  ['AdamW', (ps, skipNonFinite) => new AdamW(ps, { amsgrad: true, skipNonFinite })],
];

describe('non-finite gradients', () => {
  afterEach(resetBackend);

  it('propagate NaN into the parameters by default, as PyTorch does', () => {
    for (const backend of everyBackend()) {
      backend.use();
      const params = model();
      const opt = new RMSprop(params);
      grads(params, 1);
      (params[0].grad as FloatArray)[5] = NaN;
      opt.step();
      expect(Number.isNaN(params[0].data[5]), backend.label).to.equal(true);
      expect(opt.lastStepSkipped).to.equal(false);
    }
  });

  for (const bad of [NaN, Infinity, -Infinity]) {
    it(`with skipNonFinite, a step with ${bad} anywhere changes nothing, on every backend (${makers.map((m) => m[0]).join(', ')})`, async () => {
      for (const backend of everyBackend()) {
        backend.use();
        for (const [[name, make], at] of makers.flatMap((m) => [0, 15, 16, 31, 36].map((at) => [m, at] as const))) {
          const params = model();
          const clean = model();
          const opt = make(params, true);
          const ref = make(clean, false);
          grads(params, 1);
          grads(clean, 1);
          opt.step();
          ref.step();
          grads(params, 2);
          (params[0].grad as FloatArray)[at] = bad;
          const before = snapshot(opt, params, { grads: false });
          opt.step();
          expect(snapshot(opt, params, { grads: false }), `${backend.label} ${name} at ${at}`).to.equal(before);
          expect(opt.lastStepSkipped).to.equal(true);
          expect(opt.skippedSteps).to.equal(1);
          grads(params, 3);
          grads(clean, 3);
          await opt.stepAsync();
          ref.step();
          expect(opt.lastStepSkipped).to.equal(false);
          expect(snapshot(opt, params, { grads: false }), `${backend.label} ${name}: as if the bad step never happened`).to.equal(snapshot(ref, clean, { grads: false }));
        }
      }
    });
  }

  it('creates no state when the very first step is skipped (Adagrad too)', () => {
    const params = model();
    const opt = new RMSprop(params, { skipNonFinite: true });
    grads(params, 1);
    (params[1].grad as FloatArray)[18] = NaN;
    opt.step();
    expect(opt.state.size).to.equal(0);
    const ada = new Adagrad(params, { skipNonFinite: true });
    const before = snapshot(ada, params, { grads: false });
    ada.step();
    expect(snapshot(ada, params, { grads: false })).to.equal(before);
    expect(ada.skippedSteps).to.equal(1);
  });

  it('rejects a non-boolean skipNonFinite', () => {
    expect(() => new RMSprop(model(), { skipNonFinite: 1 as never })).to.throw(TypeError, /skipNonFinite/);
  });
});
