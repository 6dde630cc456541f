// The PyTorch optimizer API: construction, validation, steps, zeroGrad,
// param groups and state dicts. Numerics against PyTorch: rmsprop-torch.test.ts.
import { expect } from 'chai';
import { Adagrad, Parameter, RMSprop, type StateDict, type TensorRecord } from '../lib';
import { bytesOf, everyBackend, hex, randomF32, resetBackend, snapshot } from './helpers';

function param(n: number, seed = 1, shape?: number[]): Parameter {
  return new Parameter(randomF32(n, seed), shape);
}

describe('Parameter', () => {
  it('takes data and a shape, which defaults to [length]', () => {
    const w = new Parameter(new Float32Array(6), [2, 3]);
    expect(w.shape).to.deep.equal([2, 3]);
    expect(w.numel).to.equal(6);
    expect(w.grad).to.equal(null);
    expect(w.dtype).to.equal('float32');
    expect(new Parameter(new Float64Array(3)).shape).to.deep.equal([3]);
  });
  it('rejects a shape that does not match the data, and non-float data', () => {
    expect(() => new Parameter(new Float32Array(6), [4])).to.throw(RangeError, /shape \[4\] has 4 elements but data has 6/);
    expect(() => new Parameter(new Int32Array(3) as unknown as Float32Array)).to.throw(TypeError, /Int32Array/);
    expect(() => new Parameter(new Float32Array(2), [1.5] as number[])).to.throw(TypeError, /non-negative integers/);
  });

  it('says when float data comes from another realm', () => {
    const foreign = require('node:vm').runInNewContext('new Float32Array(4)') as Float32Array;
    expect(() => new Parameter(foreign)).to.throw(TypeError, /received Float32Array\(4\) from another realm \(a vm context or a test sandbox\)/);
    expect(() => new Parameter(new Int32Array(3) as unknown as Float32Array)).to.throw(TypeError, /received Int32Array\(3\)$/);
  });

  it('refuses a Proxy of a Float32Array, or an object on its prototype, naming it', () => {
    for (const fake of [new Proxy(new Float32Array(4), {}), Object.create(Float32Array.prototype)]) {
      expect(() => new Parameter(fake)).to.throw(TypeError, /received a Float32Array look-alike \(a Proxy, or an object on its prototype\), not a typed array/);
      const w = new Parameter(new Float32Array(4));
      const opt = new RMSprop([w]);
      w.grad = fake;
      expect(() => opt.step()).to.throw(TypeError, /look-alike/);
    }
  });
});

describe('RMSprop: construction and hyperparameters', () => {
  it("has PyTorch's defaults", () => {
    const opt = new RMSprop([param(3)]);
    expect(opt.defaults).to.deep.equal({
      lr: 0.01, alpha: 0.99, eps: 1e-8, weightDecay: 0, momentum: 0, centered: false, maximize: false, compat: '2.x', threads: 0,
    });
  });

  it('fills each group from the defaults and keeps its overrides', () => {
    const opt = new RMSprop([{ params: [param(2)], lr: 0.1 }, { params: [param(3)] }], { lr: 0.01, momentum: 0.5 });
    expect(opt.paramGroups[0].lr).to.equal(0.1);
    expect(opt.paramGroups[0].momentum).to.equal(0.5);
    expect(opt.paramGroups[1].lr).to.equal(0.01);
  });

  const invalid: [string, Record<string, unknown>, typeof Error, RegExp][] = [
    ['negative lr', { lr: -1 }, RangeError, /^Invalid learning rate: -1 \(lr must be/],
    ['NaN lr', { lr: NaN }, RangeError, /Invalid learning rate: NaN/],
    ['infinite eps', { eps: Infinity }, RangeError, /Invalid epsilon value: Infinity/],
    ['negative weightDecay', { weightDecay: -0.1 }, RangeError, /Invalid weight_decay value: -0.1 \(weightDecay/],
    ['negative momentum', { momentum: -0.5 }, RangeError, /Invalid momentum value: -0.5/],
    ['alpha = 1', { alpha: 1 }, RangeError, /Invalid alpha value: 1 \(alpha must be in \[0, 1\)/],
    ['negative alpha', { alpha: -0.1 }, RangeError, /Invalid alpha value: -0.1/],
    ['string lr', { lr: '0.1' }, TypeError, /Invalid learning rate: "0.1" \(lr must be a number, got string/],
    ['non-boolean centered', { centered: 1 }, TypeError, /centered .* but received 1/],
    ['unknown compat', { compat: '3' }, TypeError, /'2.x' or '1.13' for compat/],
    ['snake_case option', { weight_decay: 0.1 }, TypeError, /Unknown option 'weight_decay' for RMSprop.*\(did you mean 'weightDecay'\?\)/],
    ['misspelt option', { momentun: 0.9 }, TypeError, /did you mean 'momentum'/],
  ];
  for (const [what, options, type, message] of invalid) {
    it(`rejects ${what} with a ${type.name} naming it`, () => {
      expect(() => new RMSprop([param(2)], options as never)).to.throw(type, message);
      expect(() => new RMSprop([{ params: [param(2)], ...options } as never])).to.throw(type, message);
    });
  }

  it('rejects empty, duplicate and foreign parameters', () => {
    expect(() => new RMSprop([])).to.throw(RangeError, /empty parameter list/);
    const p = param(2);
    expect(() => new RMSprop([p, p])).to.throw(RangeError, /same parameter more than once/);
    expect(() => new RMSprop([{ params: [p] }, { params: [p] }])).to.throw(RangeError, /more than one parameter group/);
    expect(() => new RMSprop([new Float32Array(2)] as never)).to.throw(TypeError, /Parameter or a param group .* for params\[0\] but received Float32Array\(2\)/);
    expect(() => new RMSprop(null as never)).to.throw(TypeError, /params/);
  });

  it('addParamGroup applies the same rules and defaults', () => {
    const p = param(2);
    const opt = new RMSprop([p], { lr: 0.05 });
    opt.addParamGroup({ params: [param(3)], momentum: 0.9 });
    expect(opt.paramGroups[1]).to.include({ lr: 0.05, momentum: 0.9, alpha: 0.99 });
    expect(() => opt.addParamGroup({ params: [p] })).to.throw(RangeError, /more than one parameter group/);
    expect(() => opt.addParamGroup({ params: [param(1)], lr: -2 })).to.throw(RangeError, /Invalid learning rate: -2/);
    expect(opt.paramGroups).to.have.length(2);
  });
});

describe('RMSprop: step', () => {
  afterEach(resetBackend);

  it('returns what the closure returns, and calls it before stepping', () => {
    const w = param(4);
    const opt = new RMSprop([w]);
    w.grad = new Float32Array(4).fill(1);
    let seenState = -1;
    const loss = opt.step(() => {
      seenState = opt.state.size;
      return 42;
    });
    expect(loss).to.equal(42);
    expect(seenState).to.equal(0);
    expect(opt.step()).to.equal(undefined);
  });

  it('skips parameters without a grad and creates no state for them', () => {
    const a = param(3, 1);
    const b = param(3, 2);
    const before = bytesOf(b.data).toString('hex');
    const opt = new RMSprop([a, b]);
    a.grad = new Float32Array(3).fill(0.5);
    opt.step();
    expect(bytesOf(b.data).toString('hex')).to.equal(before);
    expect(opt.state.has(b)).to.equal(false);
    expect(opt.state.get(a)!.step).to.equal(1);
  });

  it('creates momentum_buffer and grad_avg only when they are used', () => {
    const a = param(5);
    const opt = new RMSprop([a]);
    a.grad = new Float32Array(5).fill(1);
    opt.step();
    expect(Object.keys(opt.state.get(a)!)).to.deep.equal(['step', 'square_avg']);
    opt.paramGroups[0].momentum = 0.9;
    opt.paramGroups[0].centered = true;
    opt.step();
    expect(Object.keys(opt.state.get(a)!)).to.deep.equal(['step', 'square_avg', 'momentum_buffer', 'grad_avg']);
  });

  it('uses hyperparameters changed between steps (LR schedules)', () => {
    const run = (lrs: number[]) => {
      const w = new Parameter(new Float32Array([1, 2, 3]));
      const opt = new RMSprop([w]);
      for (const lr of lrs) {
        opt.paramGroups[0].lr = lr;
        w.grad = new Float32Array([0.1, -0.2, 0.3]);
        opt.step();
      }
      return bytesOf(w.data).toString('hex');
    };
    expect(run([0.1, 0.01])).to.not.equal(run([0.1, 0.1]));
    expect(run([0.1, 0.01])).to.equal(run([0.1, 0.01]));
  });

  const badSteps: [string, (w: Parameter, opt: RMSprop) => void, typeof Error, RegExp][] = [
    ['a grad of the wrong length', (w) => (w.grad = new Float32Array(3)), TypeError, /Float32Array of length 4 .* received Float32Array\(3\)/],
    ['a grad of the wrong dtype', (w) => (w.grad = new Float64Array(4)), TypeError, /received Float64Array\(4\)/],
    ['a grad that is a plain array', (w) => (w.grad = [1, 2, 3, 4] as never), TypeError, /received Array\(4\)/],
    ['a grad aliasing the data', (w) => (w.grad = w.data), RangeError, /shares memory with its data/],
    ['a grad that is its momentum_buffer', (w, opt) => (w.grad = opt.state.get(w)!.momentum_buffer as Float32Array), RangeError, /param 0 of group 0\.grad shares memory with its optimizer state momentum_buffer/],
    ['a grad overlapping part of its grad_avg', (w, opt) => {
      const avg = opt.state.get(w)!.grad_avg as Float32Array;
      w.grad = new Float32Array(avg.buffer, avg.byteOffset + 4, 4);
    }, RangeError, /param 0 of group 0\.grad shares memory with its optimizer state grad_avg/],
    ['a state step that is a bigint', (w, opt) => (opt.state.get(w)!.step = 1n as never), TypeError, /Expected a number .* for param 0 of group 0 state step but received 1n/],
    ['a state step that is a string, and a new grad', (w, opt) => {
      opt.state.get(w)!.step = '1' as never;
      w.grad = randomF32(4, 9);
    }, TypeError, /Expected a number .* for param 0 of group 0 state step but received "1"/],
    ['a state without step, and a new grad', (w, opt) => {
      delete opt.state.get(w)!.step;
      w.grad = randomF32(4, 9);
    }, TypeError, /Expected a number .* for param 0 of group 0 state step but received undefined/],
    ['data replaced by another length', (w) => { w.data = new Float32Array(5); w.grad = new Float32Array(5); }, RangeError, /has 5 elements but the parameter's shape \[4\] needs 4/],
    ['a detached grad', (w) => { const g = new Float32Array(4); structuredClone(g.buffer, { transfer: [g.buffer] }); w.grad = g; }, TypeError, /detached|received Float32Array\(0\)/],
    ['a shared grad', (w) => (w.grad = new Float32Array(new SharedArrayBuffer(16))), TypeError, /SharedArrayBuffer/],
    ['a grad on a resizable buffer', (w) => (w.grad = new Float32Array(new (ArrayBuffer as unknown as new (n: number, o: object) => ArrayBuffer)(16, { maxByteLength: 64 }))), TypeError, /resizable ArrayBuffer/],
    ['param data on a detached buffer', (w) => { structuredClone(w.data.buffer, { transfer: [w.data.buffer as ArrayBuffer] }); }, TypeError, /detached/],
    // Threads step a group's params at once: memory shared between params would make the result depend on the thread count.
    ['data that is the other param\'s', (w, opt) => (w.data = opt.paramGroups[0].params[1].data), RangeError,
      /param 1 of group 0's data shares memory with param 0 of group 0's data, which the step writes: parameters, grads and optimizer state each need memory of their own/],
    ['data overlapping the other param\'s grad, both new', (w, opt) => {
      const buffer = new Float32Array(6);
      opt.paramGroups[0].params[1].grad = buffer.subarray(0, 4);
      w.data = buffer.subarray(2, 6);
    }, RangeError, /param 1 of group 0\.grad shares memory with param 0 of group 0's data/],
    ['a grad overlapping the other param\'s new data', (w, opt) => {
      const buffer = new Float32Array(6);
      opt.paramGroups[0].params[1].data = buffer.subarray(0, 4);
      w.grad = buffer.subarray(2, 6);
    }, RangeError, /param 0 of group 0\.grad shares memory with param 1 of group 0's data/],
    ['a grad that is the other param\'s data', (w, opt) => (w.grad = opt.paramGroups[0].params[1].data), RangeError,
      /param 0 of group 0\.grad shares memory with param 1 of group 0's data, which the step writes/],
    ['a grad that is the other param\'s square_avg', (w, opt) => (w.grad = opt.state.get(opt.paramGroups[0].params[1])!.square_avg as Float32Array), RangeError,
      /param 0 of group 0\.grad shares memory with param 1 of group 0's optimizer state square_avg, which the step writes/],
    ['an lr set to a string', (_w, opt) => (opt.paramGroups[0].lr = 'x' as never), TypeError, /Invalid learning rate: "x"/],
    ['an alpha set to 1.5', (_w, opt) => (opt.paramGroups[0].alpha = 1.5), RangeError, /Invalid alpha value: 1.5/],
  ];
  for (const [what, corrupt, type, message] of badSteps) {
    it(`rejects ${what} and changes nothing`, () => {
      for (const backend of everyBackend()) {
        backend.use();
        const w = param(4, 3);
        const other = param(4, 4);
        const opt = new RMSprop([w, other], { momentum: 0.9, centered: true });
        w.grad = randomF32(4, 5);
        other.grad = randomF32(4, 6);
        opt.step();
        other.grad = randomF32(4, 7);
        corrupt(w, opt);
        const before = snapshot(opt);
        expect(() => opt.step(), backend.label).to.throw(type, message);
        expect(snapshot(opt), backend.label).to.equal(before);
      }
    });
  }
});

describe('RMSprop: memory shared between params', () => {
  /** Three params in two groups: [0] and [1, 2]. */
  const twoGroups = () => {
    const ps = [param(4, 1), param(4, 2), param(4, 3)];
    return { ps, opt: new RMSprop([{ params: [ps[0]] }, { params: [ps[1], ps[2]] }]) };
  };
  /** The step throws a RangeError matching `message` and changes nothing. */
  const expectRefused = (opt: RMSprop, label: string, message: RegExp) => {
    const before = snapshot(opt);
    expect(() => opt.step(), label).to.throw(RangeError, message);
    expect(snapshot(opt), label).to.equal(before);
  };

  it('checks a new grad against the arrays the step writes now, not those of an earlier step', () => {
    for (const backend of everyBackend()) {
      backend.use();
      const w = param(4, 3);
      const other = param(4, 4);
      const opt = new RMSprop([w, other]);
      w.grad = randomF32(4, 5);
      other.grad = randomF32(4, 6);
      opt.step();
      w.grad = randomF32(4, 7); // only a grad is new: the short check
      opt.step();
      other.data = randomF32(4, 8); // rebound
      opt.step();
      w.grad = other.data;
      expect(() => opt.step(), backend.label).to.throw(RangeError, /param 0 of group 0\.grad shares memory with param 1 of group 0's data/);
    }
  });

  it('refuses, before any group is stepped, state on another param\'s data, and a new grad on another group\'s data', () => {
    for (const backend of everyBackend()) {
      backend.use();
      const cases: [string, (ps: Parameter[], opt: RMSprop) => void, RegExp][] = [
        ['state on another param\'s data', (ps, opt) => (opt.state.get(ps[2])!.square_avg = ps[1].data),
          /param 1 of group 1's optimizer state square_avg shares memory with param 0 of group 1's data, which the step writes/],
        ['a new grad on another group\'s data', (ps) => (ps[0].grad = ps[2].data),
          /param 0 of group 0\.grad shares memory with param 1 of group 1's data, which the step writes/],
        ['a new grad on another group\'s state', (ps, opt) => (ps[0].grad = opt.state.get(ps[1])!.square_avg as Float32Array),
          /param 0 of group 0\.grad shares memory with param 0 of group 1's optimizer state square_avg/],
      ];
      for (const [name, corrupt, message] of cases) {
        const { ps, opt } = twoGroups();
        const grads = () => ps.forEach((p, i) => (p.grad = randomF32(4, 10 + i)));
        grads();
        opt.step();
        grads();
        opt.step(); // the grads alone were new: the short checks
        grads();
        corrupt(ps, opt);
        expectRefused(opt, `${backend.label}: ${name}`, message);
      }
    }
  });

  it('checks arrays that come back into use without a rebind: a grad coming back, momentum switched on', () => {
    for (const backend of everyBackend()) {
      backend.use();
      const cases: [string, (ps: Parameter[], opt: RMSprop) => void, (ps: Parameter[], opt: RMSprop) => void, RegExp][] = [
        ['a grad coming back', (ps, opt) => {
          ps[2].grad = null;
          opt.step();
          ps[1].data = opt.state.get(ps[2])!.square_avg as Float32Array; // harmless while ps[2] has no grad
        }, (ps) => (ps[2].grad = randomF32(4, 9)),
        /param 1 of group 1's optimizer state square_avg shares memory with param 0 of group 1's data/],
        ['momentum switched on', (ps, opt) => {
          opt.state.get(ps[2])!.momentum_buffer = ps[1].data; // unused while momentum is 0
        }, (_ps, opt) => (opt.paramGroups[1].momentum = 0.9),
        /param 1 of group 1's optimizer state momentum_buffer shares memory with param 0 of group 1's data/],
        ['a frozen tied param given a grad', (ps) => {
          ps[2].grad = null;
          ps[2].data = ps[1].data; // tied, frozen: stepping ps[1] is fine
        }, (ps) => (ps[2].grad = randomF32(4, 9)),
        /param 1 of group 1's data shares memory with param 0 of group 1's data/],
      ];
      for (const [name, prepare, bringBack, message] of cases) {
        const { ps, opt } = twoGroups();
        const grads = () => ps.forEach((p) => p.grad !== null && (p.grad = randomF32(4, 7)));
        opt.step(); // no grads yet: nothing
        ps.forEach((p, i) => (p.grad = randomF32(4, 10 + i)));
        opt.step();
        prepare(ps, opt);
        grads();
        expect(() => opt.step(), `${backend.label}: ${name}, before`).to.not.throw();
        grads();
        bringBack(ps, opt);
        expectRefused(opt, `${backend.label}: ${name}`, message);
      }
    }
  });

  it('lets a new grad use memory a param gave up in the same step', () => {
    for (const backend of everyBackend()) {
      backend.use();
      const w = param(4, 3);
      const other = param(4, 4);
      const opt = new RMSprop([w, other]);
      w.grad = randomF32(4, 5);
      other.grad = randomF32(4, 6);
      opt.step();
      const old = other.data;
      other.data = old.slice(); // the old array is no longer a param's
      old.set(randomF32(4, 7));
      w.grad = old;
      other.grad = randomF32(4, 8);
      expect(() => opt.step(), backend.label).to.not.throw();
    }
  });

  it('steps params and grads that are adjacent views of one buffer, and one grad shared by two params', () => {
    for (const backend of everyBackend()) {
      backend.use();
      const data = randomF32(8, 1);
      const grad = randomF32(4, 2);
      const views = [new Parameter(data.subarray(0, 4)), new Parameter(data.subarray(4))];
      const separate = [new Parameter(data.slice(0, 4)), new Parameter(data.slice(4))];
      const a = new RMSprop(views, { momentum: 0.9 });
      const b = new RMSprop(separate, { momentum: 0.9 });
      for (let s = 0; s < 3; s++) {
        views.forEach((p) => (p.grad = grad));
        separate.forEach((p) => (p.grad = grad.slice()));
        a.step();
        b.step();
      }
      expect(bytesOf(data).toString('hex'), backend.label).to.equal(separate.map((p) => bytesOf(p.data).toString('hex')).join(''));
    }
  });
});

describe('RMSprop: a grad accessor that answers differently when read again', () => {
  it('cannot slip a resizable buffer past the checks to the kernels', () => {
    for (const backend of everyBackend()) {
      backend.use();
      const w = param(4, 3);
      const good = randomF32(4, 5);
      const resizable = new Float32Array(new (ArrayBuffer as unknown as new (n: number, o: object) => ArrayBuffer)(16, { maxByteLength: 64 }));
      // The checks read the grad first; binding reads it again.
      let reads = 0;
      Object.defineProperty(w, 'grad', { configurable: true, get: () => (++reads > 2 ? resizable : good), set: () => undefined });
      const opt = new RMSprop([w]);
      const before = bytesOf(w.data).toString('hex');
      expect(() => opt.step(), backend.label).to.throw(TypeError, /resizable ArrayBuffer .*changed after the step's checks/);
      expect(bytesOf(w.data).toString('hex'), backend.label).to.equal(before);
      Object.defineProperty(w, 'grad', { configurable: true, writable: true, value: good });
      expect(() => opt.step(), backend.label).to.not.throw();
    }
  });
});

describe('RMSprop: params moved between steps', () => {
  it("keeps each param's own state when a group's params are reordered or replaced between steps", () => {
    for (const backend of everyBackend()) {
      backend.use();
      const run = (edit: (params: Parameter[], extra: Parameter) => void) => {
        const [a, b, c] = [param(6, 1), param(6, 2), param(6, 3)];
        const opt = new RMSprop([a, b], { momentum: 0.9, centered: true });
        const grads = (s: number) => [a, b, c].forEach((p, i) => (p.grad = randomF32(6, 10 * s + i)));
        grads(1);
        opt.step();
        edit(opt.paramGroups[0].params, c);
        grads(2); // new grad arrays: the step's full checks look the state up
        opt.step();
        grads(3);
        opt.step();
        return [a, b, c].map((p) => [hex(p.data), JSON.stringify(opt.state.get(p)?.step), hex(opt.state.get(p)?.square_avg)].join(' '));
      };
      const inOrder = run(() => {});
      const reversed = run((params) => params.reverse());
      expect(reversed, `${backend.label}: reversed`).to.deep.equal(inOrder);
      // c replaces b: c starts from fresh state, b keeps what it had after one step.
      const replaced = run((params, c) => (params[1] = c));
      expect(replaced[0], `${backend.label}: a unchanged`).to.equal(inOrder[0]);
      expect(replaced[1].split(' ')[1], `${backend.label}: b took one step`).to.equal('1');
      expect(replaced[2].split(' ')[1], `${backend.label}: c took two, from fresh state`).to.equal('2');
    }
  });
});

describe('RMSprop: empty params', () => {
  it('refuses an empty param whose data was detached when its grad is new', () => {
    for (const backend of everyBackend()) {
      backend.use();
      const empty = new Parameter(new Float32Array(0));
      const other = param(4, 1);
      const opt = new RMSprop([empty, other]);
      empty.grad = new Float32Array(0);
      other.grad = randomF32(4, 2);
      opt.step();
      structuredClone(empty.data.buffer, { transfer: [empty.data.buffer as ArrayBuffer] });
      empty.grad = new Float32Array(0);
      const before = snapshot(opt);
      // A detached empty array still has its length, 0: only the full check sees it.
      expect(() => opt.step(), backend.label).to.throw(TypeError, /param 0 of group 0\.data is backed by a detached ArrayBuffer/);
      expect(snapshot(opt), backend.label).to.equal(before);
    }
  });
});

describe('RMSprop: state changed between steps', () => {
  it('uses state replaced or removed between steps, also while a param had no grad', () => {
    const run = (edit: (opt: RMSprop, w: Parameter) => void) => {
      const w = param(9, 1);
      const opt = new RMSprop([w], { momentum: 0.9 });
      w.grad = randomF32(9, 2);
      opt.step();
      const saved = opt.stateDict();
      opt.step();
      w.grad = null;
      opt.step();
      edit(opt, w);
      opt.step();
      w.grad = randomF32(9, 3);
      opt.step();
      return { bytes: bytesOf(w.data).toString('hex'), step: opt.state.get(w)?.step, saved };
    };
    const reference = run(() => {});
    expect(reference.step).to.equal(3);
    // Loading the dict of step 1 while the grad is null: the next step starts from it.
    const loaded = run((opt) => opt.loadStateDict(reference.saved));
    expect(loaded.step).to.equal(2);
    expect(loaded.bytes).to.not.equal(reference.bytes);
    // Deleting the entry: the next step starts from fresh state, as PyTorch's would.
    const deleted = run((opt, w) => opt.state.delete(w));
    expect(deleted.step).to.equal(1);
    // Replacing one state array in place is seen too.
    const replaced = run((opt, w) => (opt.state.get(w)!.square_avg = new Float32Array(9)));
    expect(replaced.bytes).to.not.equal(reference.bytes);
  });
});

describe('RMSprop: arrays swapped between clean steps', () => {
  afterEach(resetBackend);
  // After a step the group stays bound, and the next step only compares
  // identities and lengths (EngineOptimizer.boundAsBefore). Each swap here must
  // be seen there: the new array is the one stepped, the old one is left alone.
  type Swap = [string, (opt: RMSprop, w: Parameter) => Float32Array];
  const swaps: Swap[] = [
    ['square_avg', (opt, w) => swapState(opt, w, 'square_avg')],
    ['momentum_buffer', (opt, w) => swapState(opt, w, 'momentum_buffer')],
    ['grad_avg', (opt, w) => swapState(opt, w, 'grad_avg')],
    ['param data', (_opt, w) => {
      const old = w.data as Float32Array;
      w.data = old.slice();
      return old;
    }],
  ];
  function swapState(opt: RMSprop, w: Parameter, key: string): Float32Array {
    const s = opt.state.get(w)!;
    const old = s[key] as Float32Array;
    s[key] = old.slice();
    return old;
  }
  for (const [what, swap] of swaps) {
    it(`steps a ${what} swapped for a copy between steps, and leaves the old array alone, on every backend`, () => {
      for (const backend of everyBackend()) {
        backend.use();
        const run = (withSwap: boolean) => {
          const params = [param(40, 1), param(40, 2)];
          const opt = new RMSprop(params, { momentum: 0.9, centered: true, lr: 0.01 });
          let old: Float32Array | undefined;
          let oldBefore = '';
          params.forEach((p) => (p.grad = new Float32Array(40)));
          for (let s = 0; s < 4; s++) {
            // Grads refilled in place, so that nothing but the swap changes what is bound.
            params.forEach((p, i) => p.grad!.set(randomF32(40, 10 * s + i)));
            if (withSwap && s === 2) {
              old = swap(opt, params[1]);
              oldBefore = bytesOf(old).toString('hex');
            }
            opt.step();
          }
          const st = opt.state.get(params[1])!;
          const bytes = [params[1].data, st.square_avg, st.momentum_buffer, st.grad_avg].map((a) => bytesOf(a as Float32Array).toString('hex'));
          return { bytes, oldUnchanged: old === undefined || bytesOf(old).toString('hex') === oldBefore };
        };
        const plain = run(false);
        const swapped = run(true);
        expect(swapped.bytes, backend.label).to.deep.equal(plain.bytes);
        expect(swapped.oldUnchanged, `${backend.label}: the swapped-out ${what} was written`).to.equal(true);
      }
    });
  }
});

describe('RMSprop: zeroGrad', () => {
  it('sets grads to null by default, or fills them with zeros', () => {
    const w = param(3);
    const opt = new RMSprop([w]);
    w.grad = new Float32Array([1, 2, 3]);
    const g = w.grad;
    opt.zeroGrad(false);
    expect(w.grad).to.equal(g);
    expect(Array.from(g)).to.deep.equal([0, 0, 0]);
    opt.zeroGrad();
    expect(w.grad).to.equal(null);
  });
});

describe('RMSprop: stateDict', () => {
  function trained(compat: '2.x' | '1.13'): { opt: RMSprop; params: Parameter[] } {
    const params = [param(6, 1, [2, 3]), param(3, 2), param(4, 3)];
    const opt = new RMSprop([{ params: [params[0], params[1]] }, { params: [params[2]], momentum: 0.9, centered: true }], { compat });
    for (let i = 0; i < 3; i++) {
      params.forEach((p, k) => (p.grad = randomF32(p.numel, 10 * i + k)));
      opt.step();
    }
    return { opt, params };
  }

  it("uses PyTorch 2.x's names, key order and types", () => {
    const sd = trained('2.x').opt.stateDict();
    expect(sd.param_groups).to.deep.equal([
      { lr: 0.01, momentum: 0, alpha: 0.99, eps: 1e-8, centered: false, weight_decay: 0, capturable: false, foreach: null, maximize: false, differentiable: false, params: [0, 1] },
      { momentum: 0.9, centered: true, lr: 0.01, alpha: 0.99, eps: 1e-8, weight_decay: 0, capturable: false, foreach: null, maximize: false, differentiable: false, params: [2] },
    ]);
    expect(Object.keys(sd.param_groups[0])).to.deep.equal(
      ['lr', 'momentum', 'alpha', 'eps', 'centered', 'weight_decay', 'capturable', 'foreach', 'maximize', 'differentiable', 'params']);
    // A group given {momentum, centered} keeps those first, as PyTorch's dict does.
    expect(Object.keys(sd.param_groups[1]).slice(0, 3)).to.deep.equal(['momentum', 'centered', 'lr']);
    expect(Object.keys(sd.state)).to.deep.equal(['0', '1', '2']);
    expect(Object.keys(sd.state[0])).to.deep.equal(['step', 'square_avg']);
    expect(Object.keys(sd.state[2])).to.deep.equal(['step', 'square_avg', 'momentum_buffer', 'grad_avg']);
    expect(sd.state[0].step).to.equal(3);
    const sq = sd.state[0].square_avg as TensorRecord;
    expect(sq.dtype).to.equal('float32');
    expect(sq.shape).to.deep.equal([2, 3]);
  });

  it("uses PyTorch 1.13's keys with compat: '1.13' (no capturable)", () => {
    const sd = trained('1.13').opt.stateDict();
    expect(Object.keys(sd.param_groups[0])).to.deep.equal(
      ['lr', 'momentum', 'alpha', 'eps', 'centered', 'weight_decay', 'foreach', 'maximize', 'differentiable', 'params']);
  });

  it('returns copies that do not alias the live state', () => {
    const { opt, params } = trained('2.x');
    const sd = opt.stateDict();
    (sd.state[0].square_avg as TensorRecord<'float32'>).data.fill(7);
    expect((opt.state.get(params[0])!.square_avg as Float32Array)[0]).to.not.equal(7);
  });
});

describe('RMSprop: loadStateDict', () => {
  afterEach(resetBackend);

  function make(seed: number) {
    const params = [param(7, seed, [7]), param(9, seed + 1, [3, 3])];
    const opt = new RMSprop([{ params: [params[0]] }, { params: [params[1]], momentum: 0.9, centered: true, lr: 0.02 }]);
    return { params, opt };
  }
  const grads = (step: number) => [randomF32(7, 100 + step), randomF32(9, 200 + step)];

  it('resumes mid-run with exactly the bits of an uninterrupted run, on every backend', () => {
    for (const backend of everyBackend()) {
      backend.use();
      const straight = make(1);
      for (let s = 0; s < 8; s++) {
        straight.params.forEach((p, k) => (p.grad = grads(s)[k]));
        straight.opt.step();
      }
      const first = make(1);
      for (let s = 0; s < 4; s++) {
        first.params.forEach((p, k) => (p.grad = grads(s)[k]));
        first.opt.step();
      }
      const sd = first.opt.stateDict();
      const resumed = make(999);
      resumed.params.forEach((p, k) => p.data.set(first.params[k].data));
      resumed.opt.paramGroups[1].lr = 0.5; // replaced by the loaded value
      resumed.opt.loadStateDict(sd);
      expect(resumed.opt.paramGroups[1].lr).to.equal(0.02);
      for (let s = 4; s < 8; s++) {
        resumed.params.forEach((p, k) => (p.grad = grads(s)[k]));
        resumed.opt.step();
      }
      resumed.params.forEach((p, k) =>
        expect(bytesOf(p.data).equals(bytesOf(straight.params[k].data)), `${backend.label} param ${k}`).to.equal(true));
      expect(resumed.opt.state.get(resumed.params[1])!.step).to.equal(8);
    }
  });

  it('accepts step as a 0-dim float32 tensor (2.x) or a bigint, and casts float64 state to float32', () => {
    const { opt, params } = make(3);
    params.forEach((p, k) => (p.grad = grads(0)[k]));
    opt.step();
    const sd = opt.stateDict();
    sd.state[0].step = { dtype: 'float32', shape: [], data: new Float32Array([5]) };
    sd.state[1].step = 6n;
    const sq = sd.state[0].square_avg as TensorRecord<'float32'>;
    sd.state[0].square_avg = { dtype: 'float64', shape: [7], data: Float64Array.from(sq.data, (x) => x + 1e-12) };
    opt.loadStateDict(sd);
    expect(opt.state.get(params[0])!.step).to.equal(5);
    expect(opt.state.get(params[1])!.step).to.equal(6);
    expect(Array.from(opt.state.get(params[0])!.square_avg as Float32Array)).to.deep.equal(
      Array.from(sq.data, (x) => Math.fround(x + 1e-12)));
  });

  const corruptions: [string, (sd: StateDict) => void, typeof Error, RegExp][] = [
    ['a missing group', (sd) => sd.param_groups.pop(), RangeError, /different number of parameter groups/],
    ['a group of another size', (sd) => sd.param_groups[0].params.push(5), RangeError, /doesn't match the size/],
    ['a square_avg of the wrong shape', (sd) => ((sd.state[1].square_avg as TensorRecord).shape = [9]), RangeError, /shape \[9\] but its parameter has shape \[3, 3\]/],
    ['a square_avg whose data is shorter than its shape', (sd) => ((sd.state[0].square_avg as TensorRecord).data = new Float32Array(3)), RangeError, /7 elements\) but 3 data elements/],
    ['an int32 square_avg', (sd) => (sd.state[0].square_avg = { dtype: 'int32', shape: [7], data: new Int32Array(7) }), TypeError, /floating-point tensor is required/],
    ['a missing momentum_buffer', (sd) => delete sd.state[1].momentum_buffer, TypeError, /missing 'momentum_buffer'/],
    ['an unknown state key', (sd) => (sd.state[0].exp_avg = 1), TypeError, /unknown key 'exp_avg'/],
    ['a group key that is a simd-optim option name', (sd) => (sd.param_groups[0].compat = '1.13'), TypeError, /'compat', which is a simd-optim option name/],
    ['a missing group key', (sd) => delete sd.param_groups[0].alpha, TypeError, /missing 'alpha'/],
    ['an infinite lr', (sd) => (sd.param_groups[1].lr = -Infinity), RangeError, /Invalid learning rate: -Infinity \(lr must be a finite number/],
    ['an infinite eps', (sd) => (sd.param_groups[0].eps = Infinity), RangeError, /Invalid epsilon value: Infinity/],
    ['a negative step', (sd) => (sd.state[0].step = -1), RangeError, /step must be a non-negative integer, got -1/],
    ['a fractional step', (sd) => (sd.state[0].step = 1.5), RangeError, /non-negative integer, got 1.5/],
    ['a state index with no parameter', (sd) => (sd.state[7] = sd.state[0]), RangeError, /no parameter has index 7/],
  ];
  for (const [what, corrupt, type, message] of corruptions) {
    it(`rejects ${what} and changes nothing`, () => {
      const { opt, params } = make(5);
      params.forEach((p, k) => (p.grad = grads(0)[k]));
      opt.step();
      const sd = opt.stateDict();
      corrupt(sd);
      opt.paramGroups[0].lr = 0.3;
      const before = snapshot(opt);
      expect(() => opt.loadStateDict(sd)).to.throw(type, message);
      expect(snapshot(opt)).to.equal(before);
    });
  }
});

describe('Adagrad: addParamGroup', () => {
  it("an added group's params start from the group's own initialAccumulatorValue", () => {
    const p = new Parameter(new Float32Array([1]));
    const q = new Parameter(new Float32Array([1, 2]));
    const opt = new Adagrad([p], { initialAccumulatorValue: 0.25 });
    opt.addParamGroup({ params: [q], initialAccumulatorValue: 0.5 });
    q.grad = new Float32Array([1, 2]);
    opt.step();
    expect(Array.from(opt.state.get(q)!.sum as Float32Array)).to.deep.equal([1.5, 4.5]);
    expect(Array.from(opt.state.get(p)!.sum as Float32Array)).to.deep.equal([0.25]);
  });
});
