// What a training loop ported from PyTorch relies on, beyond the arithmetic:
// the keys schedulers and users put in param groups, empty groups, zeroGrad's
// default per generation, the generation a checkpoint comes from, a tensor
// lr, step counts past 2^24, and a custom optimizer's own state. The
// oracle part runs loops in real PyTorch 1.13 and 2.6 (test/torch/porting_oracle.py)
// and has Node go on from their files.
import { expect } from 'chai';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Adagrad, Adam, AdamW, loadTorch, Optimizer, Parameter, RMSprop, SGD, torchBytes, type StateDict, type TensorRecord } from '../lib';
import { bytesOf, everyBackend, randomF32, resetBackend } from './helpers';
import { oracleFor } from './torch/python';

const param = (n: number, seed: number) => new Parameter(randomF32(n, seed));
const group = (opt: Optimizer<object>, i: number) => opt.paramGroups[i] as unknown as Record<string, unknown>;

/** A dict as PyTorch 2.x writes it after a scheduler and named params: extra keys in every group. */
function withExtras(sd: StateDict): StateDict {
  sd.param_groups.forEach((g, gi) => {
    const { params, ...rest } = g;
    sd.param_groups[gi] = { name: `group ${gi}`, ...rest, initial_lr: g.lr, param_names: params.map((i) => `p${i}`), params };
  });
  return sd;
}

describe('what a ported PyTorch loop relies on', () => {
  afterEach(resetBackend);

  describe('param group keys', () => {
    it("keeps keys it does not model (a scheduler's initial_lr, param_names, the user's own) and writes them back in place", () => {
      const make = () => [param(5, 1), param(3, 2)];
      const [a, b] = make();
      const opt = new RMSprop([{ params: [a], lr: 0.05 }, { params: [b], momentum: 0.9 }]);
      a.grad = randomF32(5, 3);
      b.grad = randomF32(3, 4);
      opt.step();
      const saved = withExtras(opt.stateDict());
      const [a2, b2] = make();
      [a2, b2].forEach((p, i) => p.data.set([a, b][i].data));
      const other = new RMSprop([{ params: [a2] }, { params: [b2] }]);
      other.loadStateDict(structuredClone(saved));
      expect(group(other, 0).initial_lr).to.equal(0.05);
      expect(group(other, 1).param_names).to.deep.equal(['p1']);
      expect(group(other, 0).name).to.equal('group 0');
      // Key order and values as loaded (PyTorch writes its group dicts back as they are).
      expect(JSON.stringify(other.stateDict().param_groups)).to.equal(JSON.stringify(saved.param_groups));
      // Copied on load, as PyTorch deep-copies loaded groups: the dict can change after.
      const copy = structuredClone(saved);
      other.loadStateDict(copy);
      (copy.param_groups[1].param_names as string[]).push('changed');
      expect(group(other, 1).param_names).to.deep.equal(['p1']);
      [a2.grad, b2.grad] = [a.grad, b.grad];
      other.step(); // the extra keys change nothing
      opt.step();
      expect(bytesOf(a2.data).equals(bytesOf(a.data)) && bytesOf(b2.data).equals(bytesOf(b.data))).to.equal(true);
    });

    it('writes foreach, fused and capturable back as loaded, and its own values when not loaded', () => {
      const a = param(4, 1);
      const opt = new RMSprop([a]);
      const written = opt.stateDict().param_groups[0];
      expect([written.foreach, written.capturable, written.differentiable]).to.deep.equal([null, false, false]);
      const sd = opt.stateDict();
      Object.assign(sd.param_groups[0], { foreach: true, capturable: true });
      opt.loadStateDict(sd);
      expect(opt.stateDict().param_groups[0]).to.include({ foreach: true, capturable: true });
      const ada = new Adagrad([a]);
      const asd = ada.stateDict();
      asd.param_groups[0].fused = true;
      ada.loadStateDict(asd);
      expect(ada.stateDict().param_groups[0].fused).to.equal(true);
    });

    it("replaces a group's other keys with the loaded dict's, as PyTorch replaces the group", () => {
      const a = param(4, 1);
      const opt = new RMSprop([a]);
      group(opt, 0).note = 'mine';
      const plain = new RMSprop([param(4, 2)]).stateDict();
      opt.loadStateDict(withExtras(opt.stateDict()));
      expect(group(opt, 0).note).to.equal('mine'); // it was in the dict stateDict() wrote
      opt.loadStateDict(plain);
      expect(Object.keys(group(opt, 0))).to.not.include.members(['note', 'initial_lr', 'param_names', 'name']);
    });

    it("keeps a key the user sets on a group, in stateDict and through loadStateDict, as it is named", () => {
      const a = param(4, 1);
      const opt = new RMSprop([a]);
      group(opt, 0).myTag = 'decay';
      group(opt, 0).initial_lr = 0.01;
      const sd = opt.stateDict();
      expect(sd.param_groups[0]).to.include({ myTag: 'decay', initial_lr: 0.01 });
      const other = new RMSprop([a]);
      other.loadStateDict(sd);
      expect(group(other, 0)).to.include({ myTag: 'decay', initial_lr: 0.01 });
    });

    it('keeps other keys in a custom optimizer too, and snake-cases only its own options', () => {
      class Sgd extends Optimizer<{ lr: number; weightDecay: number }> {
        step(): undefined {
          return undefined;
        }
      }
      const opt = new Sgd([param(2, 1)], { lr: 0.1, weightDecay: 0 });
      group(opt, 0).myTag = 1;
      const sd = opt.stateDict();
      expect(Object.keys(sd.param_groups[0])).to.deep.equal(['lr', 'weight_decay', 'myTag', 'params']);
      sd.param_groups[0].initial_lr = 0.1;
      opt.loadStateDict(sd);
      expect(group(opt, 0)).to.include({ lr: 0.1, weightDecay: 0, myTag: 1, initial_lr: 0.1 });
    });

    it('refuses keys it does not know in groups it is given, and says how to keep data of your own', () => {
      expect(() => new RMSprop([{ params: [param(2, 1)], name: 'head' } as never])).to.throw(
        TypeError, /Unknown option 'name' for RMSprop param group 0; known options: .*; .*Object\.assign\(opt\.paramGroups\[i\], \{ name: /);
      expect(() => new RMSprop([param(2, 1)], { learningRate: 0.1 } as never)).to.throw(TypeError, /Unknown option 'learningRate' for RMSprop;/);
    });

    it('refuses a dict key that is one of our option names rather than PyTorch\'s', () => {
      const opt = new RMSprop([param(2, 1)]);
      for (const key of ['compat', 'threads', 'weightDecay']) {
        const sd = opt.stateDict();
        sd.param_groups[0][key] = 0;
        expect(() => opt.loadStateDict(sd), key).to.throw(TypeError, new RegExp(`'${key}', which is a simd-optim option name`));
      }
    });

    it("refuses an option set under PyTorch's spelling on a live group (it would be ignored), at step and stateDict", () => {
      for (const [opt, torchName, ours] of [
        [new RMSprop([param(3, 1)]), 'weight_decay', 'weightDecay'],
        [new Adagrad([param(3, 1)]), 'lr_decay', 'lrDecay'],
        [new Adagrad([param(3, 1)]), 'initial_accumulator_value', 'initialAccumulatorValue'],
      ] as const) {
        const p = opt.paramGroups[0].params[0];
        p.grad = randomF32(3, 2);
        const before = bytesOf(p.data).toString('hex');
        group(opt, 0)[torchName] = 0.5;
        const message = new RegExp(`param group 0 has a key '${torchName}', which would be ignored: simd-optim names that option '${ours}'`);
        expect(() => opt.step()).to.throw(TypeError, message);
        expect(() => opt.stateDict()).to.throw(TypeError, message);
        expect(bytesOf(p.data).toString('hex')).to.equal(before);
        expect(opt.state.get(p)?.step ?? 0).to.equal(0);
        delete group(opt, 0)[torchName];
        opt.step();
      }
    });
  });

  describe('empty param groups (PyTorch allows them)', () => {
    for (const backend of everyBackend()) {
      it(`step, stepAsync, stateDict and loadStateDict skip them (${backend.label})`, async () => {
        backend.use();
        const seeds = [[6, 1], [2000, 2]] as const;
        const make = () => seeds.map(([n, s]) => param(n, s));
        const [a, b] = make();
        const [a2, b2] = make();
        const withEmpty = new RMSprop([{ params: [a] }, { params: [] }, { params: [b], momentum: 0.9 }], { lr: 0.02 });
        const without = new RMSprop([{ params: [a2] }, { params: [b2], momentum: 0.9 }], { lr: 0.02 });
        withEmpty.addParamGroup({ params: [] });
        for (let t = 0; t < 4; t++) {
          [a, b, a2, b2].forEach((p, i) => (p.grad = randomF32(p.numel, 10 * t + (i % 2))));
          if (t % 2 === 0) withEmpty.step();
          else await withEmpty.stepAsync();
          without.step();
        }
        expect(bytesOf(a.data).equals(bytesOf(a2.data))).to.equal(true);
        expect(bytesOf(b.data).equals(bytesOf(b2.data))).to.equal(true);
        const sd = withEmpty.stateDict();
        expect(sd.param_groups.map((g) => g.params)).to.deep.equal([[0], [], [1], []]);
        expect(Object.keys(sd.state)).to.deep.equal(['0', '1']);
        withEmpty.loadStateDict(sd);
        withEmpty.skipNonFinite = true;
        withEmpty.step();
        expect(withEmpty.lastStepSkipped).to.equal(false);
        const ada = new Adagrad([{ params: [] }, { params: [a] }]);
        ada.step();
        await ada.stepAsync();
        expect(ada.state.get(a)!.step).to.equal(2);
      });
    }

    it('still refuses an empty list of params, as PyTorch does', () => {
      expect(() => new RMSprop([])).to.throw(RangeError, /empty parameter list/);
    });
  });

  describe('zeroGrad() follows the generation', () => {
    it("sets grads to null under 2.x and fills them with zeros under 1.13 (zero_grad(set_to_none=False)), per group", () => {
      const [a, b] = [param(3, 1), param(3, 2)];
      const opt = new RMSprop([{ params: [a] }, { params: [b], compat: '1.13' }]);
      a.grad = randomF32(3, 3);
      const bGrad = (b.grad = randomF32(3, 4));
      opt.zeroGrad();
      expect(a.grad).to.equal(null);
      expect(b.grad).to.equal(bGrad);
      expect(Array.from(bGrad)).to.deep.equal([0, 0, 0]);
      opt.zeroGrad(true);
      expect(b.grad).to.equal(null);
      a.grad = randomF32(3, 3);
      opt.zeroGrad(false);
      expect(Array.from(a.grad)).to.deep.equal([0, 0, 0]);
      expect(() => opt.zeroGrad('no' as never)).to.throw(TypeError, /Expected a boolean for setToNone but received "no"/);
    });
  });

  describe('the generation of a loaded dict', () => {
    it('is taken from the dict where it tells (Adagrad always, RMSprop from 2.4) unless compat was given', () => {
      const a = param(3, 1);
      const b = param(3, 2);
      // Adagrad: 2.x groups have differentiable, 1.13's do not.
      const ada = new Adagrad([a]);
      ada.loadStateDict(new Adagrad([a], { compat: '1.13' }).stateDict());
      expect(ada.paramGroups[0].compat).to.equal('1.13');
      ada.loadStateDict(new Adagrad([a]).stateDict());
      expect(ada.paramGroups[0].compat).to.equal('2.x');
      // RMSprop: capturable (2.4+) says 2.x; without it the dict may be 1.13's or 2.0-2.3's, and compat stays.
      const from113 = new RMSprop([a], { compat: '1.13' }).stateDict();
      const from2x = new RMSprop([a]).stateDict();
      const opt = new RMSprop([a], { compat: '1.13' });
      opt.loadStateDict(from2x);
      expect(opt.paramGroups[0].compat, 'chosen in the constructor').to.equal('1.13');
      const auto = new RMSprop([a]);
      auto.loadStateDict(from113);
      expect(auto.paramGroups[0].compat, 'not told').to.equal('2.x');
      const older = new RMSprop([{ params: [a], compat: '1.13' }]);
      older.loadStateDict(from2x);
      expect(older.paramGroups[0].compat, 'chosen for a group').to.equal('1.13');
      // Chosen through addParamGroup, after the constructor.
      const later = new Adagrad([a]);
      later.addParamGroup({ params: [b], compat: '2.x' });
      later.loadStateDict(new Adagrad([{ params: [a] }, { params: [b] }], { compat: '1.13' }).stateDict());
      expect(later.paramGroups.map((g) => g.compat)).to.deep.equal(['2.x', '2.x']);
    });

    it('writes a group in its own generation\'s form: a 2.x dict loaded under compat 1.13 is written as 1.13', async () => {
      const a = param(3, 1);
      const new2x = new RMSprop([a]);
      a.grad = randomF32(3, 2);
      new2x.step();
      const old = new RMSprop([a], { compat: '1.13' });
      old.loadStateDict(new2x.stateDict());
      old.step();
      const written = old.stateDict();
      expect(written.param_groups[0]).to.not.have.property('capturable');
      const file = await loadTorch<StateDict>(await torchBytes(written));
      expect(file.state[0].step).to.equal(2); // an int, as 1.13 stores it
    });
  });

  describe('step counts', () => {
    const loadedAt = (opt: RMSprop | Adagrad, step: number) => {
      const sd = opt.stateDict();
      for (const entry of Object.values(sd.state)) entry.step = step;
      opt.loadStateDict(sd);
    };

    it('count in float32 where PyTorch keeps step in a float32 tensor (2.x, and Adagrad in 1.13): it stops at 2^24', () => {
      const cases: [string, () => RMSprop | Adagrad, number][] = [
        ['RMSprop 2.x', () => new RMSprop([param(3, 1)]), 2 ** 24],
        ['RMSprop 1.13 (a Python int)', () => new RMSprop([param(3, 1)], { compat: '1.13' }), 2 ** 24 + 2],
        ['Adagrad 2.x', () => new Adagrad([param(3, 1)]), 2 ** 24],
        ['Adagrad 1.13', () => new Adagrad([param(3, 1)], { compat: '1.13' }), 2 ** 24],
      ];
      for (const [what, make, expected] of cases) {
        const opt = make();
        const p = opt.paramGroups[0].params[0];
        p.grad = randomF32(3, 2);
        opt.step();
        loadedAt(opt, 2 ** 24 - 1);
        for (let t = 0; t < 3; t++) opt.step();
        expect(opt.state.get(p)!.step, what).to.equal(expected);
      }
    });

    it("Adagrad's learning-rate decay reads the float32 count", () => {
      // From 2^24 - 1, each of three steps reads t = 2^24, as a run that is
      // set back to 2^24 - 1 before every step does; counted exactly, they
      // would read 2^24 + 1 and 2^24 + 2 (float64 params show the difference).
      const run = (setBackEachStep: boolean) => {
        const p = new Parameter(new Float64Array(3));
        const opt = new Adagrad([p], { lr: 1, lrDecay: 1e4 });
        p.grad = new Float64Array([1, 0.5, 2]);
        opt.step();
        loadedAt(opt, 2 ** 24 - 1);
        for (let t = 0; t < 3; t++) {
          if (setBackEachStep) loadedAt(opt, 2 ** 24 - 1);
          opt.step();
        }
        return bytesOf(p.data).toString('hex');
      };
      expect(run(false)).to.equal(run(true));
    });

    it('loads a step past 2^24 rounded to float32 where PyTorch keeps it in a float32 tensor', () => {
      const p = param(3, 1);
      const opt = new RMSprop([p]);
      p.grad = randomF32(3, 2);
      opt.step();
      loadedAt(opt, 2 ** 24 + 1);
      expect(opt.state.get(p)!.step).to.equal(2 ** 24);
      const old = new RMSprop([p], { compat: '1.13' });
      old.step();
      loadedAt(old, 2 ** 24 + 1);
      expect(old.state.get(p)!.step).to.equal(2 ** 24 + 1);
    });
  });

  it('loads a 0-dim tensor lr (PyTorch 2.x allows lr=torch.tensor(...)) as its value', () => {
    const opt = new RMSprop([param(3, 1)]);
    const sd = opt.stateDict();
    sd.param_groups[0].lr = { dtype: 'float32', shape: [], data: new Float32Array([0.01]) };
    opt.loadStateDict(sd);
    expect(opt.paramGroups[0].lr).to.equal(Math.fround(0.01));
    sd.param_groups[0].lr = { dtype: 'float32', shape: [2], data: new Float32Array([0.01, 0.02]) };
    expect(() => opt.loadStateDict(sd)).to.throw(TypeError, /Invalid learning rate: an object/);
  });

  it("loads a custom optimizer's own numbers in its state as numbers", () => {
    class Counting extends Optimizer<{ lr: number }> {
      step(): undefined {
        for (const p of this.paramGroups[0].params) {
          const s = this.state.get(p) ?? { step: 0, scale: 1, buf: new Float32Array(p.numel) };
          s.scale = (s.scale as number) / 2;
          s.step = (s.step as number) + 1;
          this.state.set(p, s);
        }
        return undefined;
      }
    }
    const p = param(2, 1);
    const opt = new Counting([p], { lr: 1 });
    opt.step();
    const other = new Counting([p], { lr: 1 });
    other.loadStateDict(opt.stateDict());
    expect(other.state.get(p)).to.deep.include({ step: 1, scale: 0.5 });
    const sd = opt.stateDict();
    sd.state[0].scale = 3n;
    other.loadStateDict(sd);
    expect(other.state.get(p)!.scale).to.equal(3);
    // RMSprop's tensors stay tensors.
    const rms = new RMSprop([p]);
    p.grad = randomF32(2, 2);
    rms.step();
    const bad = rms.stateDict();
    bad.state[0].square_avg = 0.5;
    expect(() => rms.loadStateDict(bad)).to.throw(TypeError, /tensor record .*square_avg but received 0.5/);
  });

  it('refuses a param pushed into a second group, or twice into one, past addParamGroup', () => {
    const [a, b] = [param(3, 1), param(3, 2)];
    for (const push of [(opt: RMSprop) => opt.paramGroups[1].params.push(a), (opt: RMSprop) => opt.paramGroups[0].params.push(a)]) {
      const opt = new RMSprop([{ params: [a] }, { params: [b] }]);
      a.grad = randomF32(3, 3);
      b.grad = randomF32(3, 4);
      opt.step();
      push(opt);
      const before = bytesOf(a.data).toString('hex');
      expect(() => opt.step()).to.throw(RangeError, /param \d of group \d is also param 0 of group 0: a parameter can be in one param group, once/);
      expect(bytesOf(a.data).toString('hex')).to.equal(before);
      expect(opt.state.get(a)!.step).to.equal(1);
    }
  });

  it('names a closure that is not a function, and refuses stateDict() while stepAsync() runs', async () => {
    const opt = new RMSprop([param(3, 1)]);
    expect(() => opt.step(5 as never)).to.throw(TypeError, /Expected a function \(or nothing\) for closure but received 5/);
    expect(opt.step(null as never)).to.equal(undefined); // Python's step(None)
    opt.paramGroups[0].params[0].grad = randomF32(3, 2);
    const running = opt.stepAsync();
    expect(() => opt.stateDict()).to.throw(Error, /stateDict\(\) called while stepAsync\(\) is still running/);
    await running;
    opt.stateDict();
  });

  it('says what was passed instead, for the mistakes of porting code, and changes nothing', async () => {
    const p = param(3, 1);
    const opt = new Adam([p], { lr: 0.01 });
    p.grad = randomF32(3, 2);
    opt.step();
    const before = JSON.stringify(opt.stateDict());
    const dict = opt.stateDict();
    const checkpoint = { epoch: 5, model_state_dict: {}, optimizer_state_dict: dict, loss: 0.25 };
    expect(() => opt.loadStateDict(checkpoint as never))
      .to.throw(TypeError, /this looks like a checkpoint with keys epoch, model_state_dict, optimizer_state_dict, loss; pass its optimizer_state_dict/);
    const pending = Promise.resolve(dict);
    expect(() => opt.loadStateDict(pending as never)).to.throw(TypeError, /got a Promise: did you forget await on loadTorch\?/);
    await pending;
    expect(() => opt.loadStateDict({ base_lrs: [0.1], last_epoch: 3 } as never)).to.throw(TypeError, /LR scheduler's state dict/);
    expect(() => new SGD([p]).loadStateDict(dict)).to.throw(TypeError, /from Adam or AdamW/);
    // A closure that returns a Promise: step() cannot wait for it.
    expect(() => opt.step(async () => 1)).to.throw(TypeError, /returned a Promise.*use await opt.stepAsync\(closure\)/);
    expect(JSON.stringify(opt.stateDict())).to.equal(before);
    expect(await opt.stepAsync(async () => 2)).to.equal(2);
  });

  describe('with real PyTorch: loops saved midway and resumed in Node', function () {
    this.timeout(120_000);
    const script = fs.readFileSync(path.join(__dirname, 'torch', 'porting_oracle.py'), 'utf8');
    const b64 = (a: Float32Array) => Buffer.from(a.buffer, a.byteOffset, a.byteLength).toString('base64');
    const PARAMS = [{ name: 'w', shape: [4, 3] }, { name: 'b', shape: [4] }, { name: 'v', shape: [5] }];
    const grad = (t: number, i: number) => randomF32(PARAMS[i].shape.reduce((x, y) => x * y, 1), 100 * t + i + 1);

    interface Scenario {
      name: string;
      optimizer: 'RMSprop' | 'Adagrad' | 'SGD' | 'Adam' | 'AdamW';
      defaults: Record<string, unknown>;
      lr_tensor: boolean;
      k: number;
      set_step: number | null;
      zero_grad: boolean;
      /** Which params get a grad at step t. */
      present: (t: number, i: number) => boolean;
      steps: number;
    }
    const all = () => true;
    // Param 2 misses its grad at steps 2, 3 and 5, param 0 at step 6: zeroGrad's default decides what happens to them.
    const gappy = (t: number, i: number) => !((i === 2 && [2, 3, 5].includes(t)) || (i === 0 && t === 6));
    const scenarios: Scenario[] = [
      { name: 'missing-grads', optimizer: 'RMSprop', defaults: { lr: 0.01, momentum: 0.9, centered: true }, lr_tensor: false, k: 0, set_step: null, zero_grad: true, present: gappy, steps: 8 },
      { name: 'adagrad-missing-grads', optimizer: 'Adagrad', defaults: { lr: 0.1, lr_decay: 0.01 }, lr_tensor: false, k: 0, set_step: null, zero_grad: true, present: gappy, steps: 8 },
      { name: 'tensor-lr', optimizer: 'RMSprop', defaults: { lr: 0.01, momentum: 0.9 }, lr_tensor: true, k: 2, set_step: null, zero_grad: false, present: all, steps: 5 },
      { name: 'rmsprop-step-2^24', optimizer: 'RMSprop', defaults: { lr: 0.01 }, lr_tensor: false, k: 1, set_step: 2 ** 24 - 1, zero_grad: false, present: all, steps: 4 },
      { name: 'adagrad-step-2^24', optimizer: 'Adagrad', defaults: { lr: 1, lr_decay: 1e4 }, lr_tensor: false, k: 1, set_step: 2 ** 24 - 1, zero_grad: false, present: all, steps: 4 },
      { name: 'sgd-missing-grads', optimizer: 'SGD', defaults: { lr: 0.05, momentum: 0.9, nesterov: true }, lr_tensor: false, k: 4, set_step: null, zero_grad: true, present: gappy, steps: 8 },
      { name: 'adamw-missing-grads', optimizer: 'AdamW', defaults: { lr: 0.01, amsgrad: true }, lr_tensor: false, k: 4, set_step: null, zero_grad: true, present: gappy, steps: 8 },
      { name: 'sgd-tensor-lr', optimizer: 'SGD', defaults: { lr: 0.01, momentum: 0.5 }, lr_tensor: true, k: 2, set_step: null, zero_grad: false, present: all, steps: 5 },
      // Past 2^24 the float32 count stops, and so do the bias corrections.
      { name: 'adam-step-2^24', optimizer: 'Adam', defaults: { lr: 0.01 }, lr_tensor: false, k: 1, set_step: 2 ** 24 - 1, zero_grad: false, present: all, steps: 4 },
    ];
    const request = (dir: string) => ({
      dir,
      scenarios: scenarios.map((s, si) => ({
        ...s,
        present: undefined,
        params: PARAMS.map((p, i) => ({ ...p, data: b64(randomF32(p.shape.reduce((x, y) => x * y, 1), 1000 * si + i)) })),
        grads: Array.from({ length: s.steps }, (_, t) => PARAMS.map((_p, i) => (s.present(t, i) ? b64(grad(t, i)) : null))),
      })),
    });

    /** Node's half: the files at step k, then the remaining steps as the Python loop takes them. */
    async function resumeInNode(s: Scenario, dir: string, id: 'torch-1.13' | 'torch-2.6') {
      const model = await loadTorch<Record<string, TensorRecord<'float32'>>>(path.join(dir, `${s.name}-model.pt`));
      const params = PARAMS.map((p) => new Parameter(model[p.name].data, model[p.name].shape));
      // No options: hyperparameters and the generation come from the file. An
      // RMSprop file from 1.13 looks like one from 2.0-2.3, so that one needs compat.
      const opt = s.optimizer === 'RMSprop'
        ? new RMSprop(params, id === 'torch-1.13' ? { compat: '1.13' } : {})
        : new { Adagrad, SGD, Adam, AdamW }[s.optimizer](params);
      opt.loadStateDict(await loadTorch<StateDict>(path.join(dir, `${s.name}-opt.pt`)));
      for (let t = s.k; t < s.steps; t++) {
        if (s.zero_grad) opt.zeroGrad();
        params.forEach((p, i) => {
          if (!s.present(t, i)) {
            if (!s.zero_grad) p.grad = null;
          } else if (s.zero_grad && p.grad !== null) {
            const g = grad(t, i);
            p.grad.forEach((x, j, a) => (a[j] = Math.fround(x + g[j]))); // backward() accumulates
          } else {
            p.grad = grad(t, i);
          }
        });
        opt.step();
      }
      const steps = Object.fromEntries(params.flatMap((p, i) => (opt.state.get(p)?.step !== undefined ? [[String(i), opt.state.get(p)!.step]] : [])));
      return { params: params.map((p) => bytesOf(p.data).toString('hex')), steps };
    }

    for (const id of ['torch-1.13', 'torch-2.6'] as const) {
      it(`${id}: Node goes on bit for bit, with hyperparameters (and, but for RMSprop, the generation) from the file alone`, async function () {
        const oracle = oracleFor(this, id);
        const dir = oracle.tempDir();
        try {
          const answer = oracle.run(script, request(dir.python)) as { scenarios: Record<string, { params: string[]; steps: Record<string, number> }> };
          for (const s of scenarios) {
            expect(await resumeInNode(s, dir.host, id), `${id} ${s.name}`).to.deep.equal(answer.scenarios[s.name]);
          }
        } finally {
          fs.rmSync(dir.host, { recursive: true, force: true });
        }
      });
    }
  });
});
