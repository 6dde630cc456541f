// The schedulers' API beyond the numbers: PyTorch's conventions (initial_lr,
// lastEpoch, state dict keys), and clear errors that change nothing.
import { expect } from 'chai';
import {
  Adagrad,
  Adam,
  AdamW,
  ChainedScheduler,
  ConstantLR,
  CosineAnnealingLR,
  CyclicLR,
  ExponentialLR,
  LambdaLR,
  LinearLR,
  MultiStepLR,
  OneCycleLR,
  Parameter,
  ReduceLROnPlateau,
  SequentialLR,
  SGD,
  StepLR,
} from '../lib';

const sgd = (lrs = [0.1]) => new SGD(lrs.map((lr) => ({ params: [new Parameter(new Float32Array(2))], lr })), { lr: 0.1, momentum: 0.9 });

describe('LR schedulers: API', () => {
  it('record initial_lr in the groups and take the first step on construction, as PyTorch does', () => {
    const opt = sgd([0.1, 0.01]);
    const sched = new StepLR(opt, { stepSize: 2, gamma: 0.5 });
    expect(sched.lastEpoch).to.equal(0);
    expect(opt.paramGroups.map((g) => (g as unknown as Record<string, unknown>).initial_lr)).to.deep.equal([0.1, 0.01]);
    expect(opt.stateDict().param_groups[0]).to.include({ initial_lr: 0.1 });
    sched.step();
    sched.step();
    expect(sched.getLastLr()).to.deep.equal([0.05, 0.005]);
    expect(opt.paramGroups.map((g) => g.lr)).to.deep.equal([0.05, 0.005]);
  });

  it("write PyTorch's state dict keys, in its order", () => {
    const dict = new CosineAnnealingLR(sgd(), { tMax: 10, etaMin: 0.001 }).stateDict();
    expect(Object.keys(dict)).to.deep.equal(['T_max', 'eta_min', 'base_lrs', 'last_epoch', 'verbose', '_step_count', '_get_lr_called_within_step', '_last_lr']);
    expect(dict).to.deep.include({ T_max: 10, eta_min: 0.001, base_lrs: [0.1], last_epoch: 0, _step_count: 1, verbose: false });
    const lambda = new LambdaLR(sgd([0.1, 0.2]), { lrLambda: (e) => 1 / (e + 1) }).stateDict();
    expect(lambda.lr_lambdas, 'no functions, as PyTorch').to.deep.equal([null, null]);
    const plateau = new ReduceLROnPlateau(sgd(), { mode: 'max' }).stateDict();
    expect(plateau).to.deep.include({ mode_worse: -Infinity, best: -Infinity, default_min_lr: 0, min_lrs: [0] });
  });

  it('cycle SGD momentum and Adam betas[0] against the rate', () => {
    const opt = new Adam([new Parameter(new Float32Array(2))], { lr: 0.01, betas: [0.9, 0.99] });
    const sched = new OneCycleLR(opt, { maxLr: 0.1, totalSteps: 10 });
    expect(opt.paramGroups[0].betas).to.deep.equal([0.95, 0.99]);
    for (let i = 0; i < 3; i++) sched.step();
    expect(opt.paramGroups[0].betas[0]).to.be.below(0.95).and.above(0.85);
    expect(opt.paramGroups[0].betas[1]).to.equal(0.99);
    expect(Object.keys(opt.stateDict().param_groups[0])).to.include.members(['initial_lr', 'max_lr', 'min_lr', 'max_momentum', 'base_momentum']);
  });

  it('resume with lastEpoch from groups that hold initial_lr, and refuse without it', () => {
    const opt = sgd();
    expect(() => new StepLR(opt, { stepSize: 3, lastEpoch: 5 })).to.throw(RangeError, /initial_lr.*paramGroups\[0\].*lastEpoch = 5/);
    (opt.paramGroups[0] as unknown as Record<string, unknown>).initial_lr = 0.1;
    const sched = new StepLR(opt, { stepSize: 3, lastEpoch: 5 });
    expect(sched.lastEpoch).to.equal(6);
    expect(sched.getLastLr()).to.deep.equal([0.1 * 0.1]);
  });

  it('keep keys a newer PyTorch writes, and write them back', () => {
    const sched = new ExponentialLR(sgd(), { gamma: 0.9 });
    const dict = { ...sched.stateDict(), _from_the_future: [1, 2] };
    sched.loadStateDict(dict);
    expect(sched.stateDict()._from_the_future).to.deep.equal([1, 2]);
  });
});

describe('LR schedulers: errors', () => {
  it('name a wrong option, with the camelCase spelling of a PyTorch name', () => {
    expect(() => new StepLR(sgd(), { step_size: 3 } as never)).to.throw(TypeError, /Unknown option 'step_size' for StepLR \(did you mean 'stepSize'\?\)/);
    expect(() => new StepLR(sgd(), {} as never)).to.throw(TypeError, /StepLR stepSize.*undefined/);
    expect(() => new CosineAnnealingLR(sgd(), { tMax: 0 })).to.throw(TypeError, /an integer >= 1 for CosineAnnealingLR tMax but received 0/);
    expect(() => new ConstantLR(sgd(), { factor: 0 })).to.throw(RangeError, /factor must be in \(0, 1\], got 0/);
    expect(() => new CyclicLR(new Adagrad([new Parameter(new Float32Array(1))]), { baseLr: 0.01, maxLr: 0.1 }))
      .to.throw(TypeError, /momentum or betas.*Adagrad.*cycleMomentum: false/);
    expect(() => new OneCycleLR(sgd(), { maxLr: [0.1, 0.2], totalSteps: 10 })).to.throw(/maxLr must have the same length/);
    expect(() => new MultiStepLR(sgd(), { milestones: [1.5] })).to.throw(TypeError, /milestone.*1.5/);
    expect(() => new ReduceLROnPlateau(sgd()).step('0.5' as never)).to.throw(TypeError, /metrics.*"0.5"/);
  });

  it('leave the optimizer as it was when a constructor refuses its options', () => {
    const opt = sgd();
    const before = JSON.stringify(opt.paramGroups.map(({ params: _, ...g }) => g));
    expect(() => new CyclicLR(opt, { baseLr: 0.01, maxLr: 0.1, mode: 'sawtooth' as never })).to.throw(TypeError, /mode/);
    expect(() => new OneCycleLR(opt, { maxLr: 0.1, totalSteps: 10, pctStart: 2 })).to.throw(RangeError, /pctStart/);
    expect(JSON.stringify(opt.paramGroups.map(({ params: _, ...g }) => g))).to.equal(before);
  });

  it('refuse a step past OneCycleLR totalSteps, leaving the schedule and the rates where they were', () => {
    const opt = sgd();
    const sched = new OneCycleLR(opt, { maxLr: 0.1, totalSteps: 3 });
    for (let i = 0; i < 3; i++) sched.step();
    const [epoch, lr] = [sched.lastEpoch, opt.paramGroups[0].lr];
    expect(() => sched.step()).to.throw(RangeError, /Tried to step 4 times. The specified number of total steps is 3/);
    expect([sched.lastEpoch, opt.paramGroups[0].lr]).to.deep.equal([epoch, lr]);
  });

  it('say what was passed to loadStateDict instead of a scheduler dict, and change nothing', () => {
    const opt = sgd();
    const sched = new StepLR(opt, { stepSize: 3 });
    const before = sched.stateDict();
    expect(() => sched.loadStateDict(Promise.resolve({}) as never)).to.throw(TypeError, /Promise: did you forget await on loadTorch/);
    expect(() => sched.loadStateDict(opt.stateDict() as never)).to.throw(TypeError, /optimizer's state dict/);
    expect(() => sched.loadStateDict({ epoch: 3, scheduler_state_dict: before })).to.throw(TypeError, /checkpoint with keys epoch, scheduler_state_dict/);
    expect(() => sched.loadStateDict({ ...before, last_epoch: 7, base_lrs: [0.1, 0.2] })).to.throw(RangeError, /base_lrs has 2 values, the scheduler 1/);
    expect(() => sched.loadStateDict({ ...before, last_epoch: 7, gamma: 'big' })).to.throw(TypeError, /gamma.*"big"/);
    expect(sched.stateDict()).to.deep.equal(before);
  });

  it('load a composite whole or not at all', () => {
    const opt = sgd();
    const make = () => new SequentialLR(opt, {
      schedulers: [new ConstantLR(opt, { factor: 0.5, totalIters: 2 }), new ExponentialLR(opt, { gamma: 0.9 })],
      milestones: [2],
    });
    const sched = make();
    for (let i = 0; i < 4; i++) sched.step();
    const saved = sched.stateDict();
    const fresh = make();
    const before = fresh.stateDict();
    const children = saved._schedulers as Record<string, unknown>[];
    expect(() => fresh.loadStateDict({ ...saved, _schedulers: [children[0], { ...children[1], gamma: null }] })).to.throw(TypeError, /gamma/);
    expect(fresh.stateDict()).to.deep.equal(before);
    fresh.loadStateDict(saved);
    expect(fresh.stateDict()).to.deep.equal(saved);
  });

  it('refuse a OneCycleLR phase without steps, where PyTorch divides by zero, changing nothing', () => {
    const opt = sgd();
    const before = JSON.stringify(opt.paramGroups.map(({ params: _, ...g }) => g));
    expect(() => new OneCycleLR(opt, { maxLr: 0.1, totalSteps: 10, pctStart: 0.1 })).to.throw(RangeError, /phase 0 has no steps.*divides by zero/);
    expect(JSON.stringify(opt.paramGroups.map(({ params: _, ...g }) => g))).to.equal(before);
  });

  it('leave the groups, the schedule and the children as they were when a step or a constructor throws', () => {
    // OneCycleLR over a group added later without initial_lr: group 0's momentum stays.
    const opt = sgd();
    const one = new OneCycleLR(opt, { maxLr: 0.1, totalSteps: 100 });
    one.step();
    opt.addParamGroup({ params: [new Parameter(new Float32Array(1))], lr: 0.1 });
    const momentum = opt.paramGroups[0].momentum;
    expect(() => one.step()).to.throw(TypeError, /paramGroups\[1\].initial_lr/);
    expect(opt.paramGroups[0].momentum).to.equal(momentum);
    expect(one.lastEpoch).to.equal(1);
    // SequentialLR whose next scheduler throws at its milestone: nothing moves, and a retry restarts it.
    const opt2 = sgd();
    let fail = false;
    const lambda = new LambdaLR(opt2, { lrLambda: (e) => {
      if (fail && e === 0) throw new Error('boom');
      return 1 / (e + 1);
    } });
    const seq = new SequentialLR(opt2, { schedulers: [new ExponentialLR(opt2, { gamma: 0.9 }), lambda], milestones: [1] });
    const before = JSON.stringify(seq.stateDict());
    fail = true;
    expect(() => seq.step()).to.throw(Error, /boom/);
    expect(JSON.stringify(seq.stateDict())).to.equal(before);
    fail = false;
    seq.step();
    expect(seq.getLastLr()).to.deep.equal([0.1]);
    // ChainedScheduler whose second child throws: the first child's step is undone.
    const opt3 = sgd();
    let boom = false;
    const chain = new ChainedScheduler([new ExponentialLR(opt3, { gamma: 0.5 }), new LambdaLR(opt3, { lrLambda: () => {
      if (boom) throw new Error('boom');
      return 1;
    } })]);
    const lr = opt3.paramGroups[0].lr;
    boom = true;
    expect(() => chain.step()).to.throw(Error, /boom/);
    expect(opt3.paramGroups[0].lr).to.equal(lr);
    // A CyclicLR whose scaleFn throws on construction leaves no keys behind.
    const opt4 = sgd();
    const keys = Object.keys(opt4.paramGroups[0]);
    expect(() => new CyclicLR(opt4, { baseLr: 0.01, maxLr: 0.1, scaleFn: () => { throw new Error('no'); } })).to.throw(Error, /no/);
    expect(Object.keys(opt4.paramGroups[0])).to.deep.equal(keys);
    expect(opt4.paramGroups[0].lr).to.equal(0.1);
  });

  it("leave a group added after a CyclicLR its own momentum, as PyTorch's zip does", () => {
    const opt = sgd();
    const sched = new CyclicLR(opt, { baseLr: 0.01, maxLr: 0.1, stepSizeUp: 10 });
    opt.addParamGroup({ params: [new Parameter(new Float32Array(1))], lr: 0.2, momentum: 0.5 });
    sched.step();
    expect(opt.paramGroups[1].momentum).to.equal(0.5);
    expect(opt.paramGroups[1].lr).to.equal(0.2);
  });

  it('keep stepping when a schedule ends a hair below 0, as PyTorch does (LinearLR down to 0)', () => {
    const p = new Parameter(new Float32Array([1, 2]));
    const opt = new AdamW([p], { lr: 0.01 });
    const sched = new LinearLR(opt, { startFactor: 0.1, endFactor: 0, totalIters: 10 });
    for (let i = 0; i < 12; i++) {
      p.grad = new Float32Array([0.5, -0.5]);
      opt.step();
      sched.step();
    }
    expect(opt.paramGroups[0].lr).to.be.below(0).and.above(-1e-15);
    p.grad = new Float32Array([0.5, -0.5]);
    opt.step();
    expect(() => new AdamW([p], { lr: -1e-19 })).to.throw(RangeError, /Invalid learning rate/);
  });

  it('refuse schedulers of another optimizer, or milestones that do not fit', () => {
    const a = sgd();
    const b = sgd();
    expect(() => new ChainedScheduler([new ExponentialLR(a, { gamma: 0.9 }), new ExponentialLR(b, { gamma: 0.9 })]))
      .to.throw(RangeError, /same optimizer.*schedulers\[1\] \(ExponentialLR\)/);
    expect(() => new SequentialLR(a, { schedulers: [new ExponentialLR(a, { gamma: 0.9 })], milestones: [3] }))
      .to.throw(RangeError, /one milestone fewer than schedulers: got 1 schedulers and 1 milestones/);
  });
});
