// Type-level checks, which `npm test` compiles (tsc --noEmit over test/):
// generic code takes an Optimizer and accepts every optimizer.
import { expect } from 'chai';
import { Adagrad, Adam, AdamW, CosineAnnealingLR, LRScheduler, Optimizer, Parameter, ReduceLROnPlateau, RMSprop, SGD, SequentialLR, StepLR, type ParamGroup } from '../lib';

/** What a scheduler or a clipping helper would write: any optimizer, its groups' learning rates. */
function learningRates(opt: Optimizer<{ lr: number }>): number[] {
  return opt.paramGroups.map((g) => g.lr);
}

/** Any optimizer at all: its groups' params. */
function paramCount(opt: Optimizer): number {
  return opt.paramGroups.reduce((n, g) => n + g.params.length, 0);
}

describe('types', () => {
  it('every optimizer is an Optimizer, and one with a learning rate an Optimizer<{ lr: number }>', () => {
    const p = () => new Parameter(new Float32Array(2));
    const optimizers: Optimizer[] = [
      new RMSprop([p()], { lr: 0.1 }), new Adagrad([p()], { lr: 0.2 }), new SGD([p()], { lr: 0.3 }), new Adam([p()], { lr: 0.4 }),
      new AdamW([p()], { lr: 0.5 }),
    ];
    const base: Optimizer = new RMSprop([p()]);
    const groups: ParamGroup<{ lr: number }>[] = new Adagrad([p()]).paramGroups;
    expect(optimizers.map(paramCount)).to.deep.equal([1, 1, 1, 1, 1]);
    expect(optimizers.map((o) => learningRates(o as Optimizer<{ lr: number }>))).to.deep.equal([[0.1], [0.2], [0.3], [0.4], [0.5]]);
    expect(learningRates(new AdamW([p()]))).to.deep.equal([0.001]);
    expect(learningRates(new RMSprop([p()], { lr: 0.3 }))).to.deep.equal([0.3]);
    expect(paramCount(base)).to.equal(1);
    expect(groups[0].lr).to.equal(0.01);
    // @ts-expect-error a Parameter is not an optimizer (this line must not compile)
    const notOne: Optimizer = p();
    expect(notOne).to.be.instanceOf(Parameter);
  });

  it('any optimizer with a learning rate can be scheduled, a custom one too', () => {
    const p = () => new Parameter(new Float32Array(2));
    class Custom extends Optimizer<{ lr: number; decay: number }> {
      constructor(params: Parameter[]) {
        super(params, { lr: 0.5, decay: 0 });
      }
      step<T>(closure?: () => T): T | undefined {
        return closure?.();
      }
    }
    const schedulers: LRScheduler[] = [
      new StepLR(new RMSprop([p()]), { stepSize: 1 }), new StepLR(new Adagrad([p()]), { stepSize: 1 }),
      new CosineAnnealingLR(new SGD([p()], { lr: 0.1 }), { tMax: 10 }), new StepLR(new Adam([p()]), { stepSize: 1 }),
      new StepLR(new AdamW([p()]), { stepSize: 1 }), new StepLR(new Custom([p()]), { stepSize: 1, gamma: 0.5 }),
    ];
    schedulers.forEach((s) => s.step());
    expect(schedulers[5].getLastLr()).to.deep.equal([0.25]);
    const plateau = new ReduceLROnPlateau(new Adam([p()]));
    // @ts-expect-error ReduceLROnPlateau steps on a metric, so it cannot be sequenced (this line must not compile)
    expect(() => new SequentialLR(plateau.optimizer, { schedulers: [plateau], milestones: [] })).to.throw(TypeError, /ReduceLROnPlateau/);
    // @ts-expect-error a scheduler needs an optimizer (this line must not compile)
    expect(() => new StepLR(p(), { stepSize: 1 })).to.throw(TypeError, /optimizer/);
  });
});
