// A table of bad inputs, for every optimizer: every row must throw a
// TypeError or RangeError whose message names the argument and the value
// received, and leave parameters, grads, state and hyperparameters
// byte-identical. Step rows run on every backend and ISA, through step() and
// stepAsync(), with the bad param in the second group so that a check made
// after the first group had been written would show. (test/optimizer.test.ts
// has further RMSprop rows; this file is the list, row by row.)
import { expect } from 'chai';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import {
  Adagrad, Adam, AdamW, SGD, alphaForWindow, backendInfo, loadSafetensors, loadTorch, Optimizer, Parameter, RMSprop, saveSafetensors, torchBytes,
  useBackend, useIsa, zeros, type StateDict, type TensorRecord,
} from '../lib';
import { bytesOf, everyBackend, hex, randomF32, resetBackend, snapshot, thrown } from './helpers';

type Opt = RMSprop | Adagrad | SGD | Adam | AdamW;
type ErrorType = typeof TypeError | typeof RangeError;

interface Kind {
  name: 'RMSprop' | 'Adagrad' | 'SGD' | 'Adam' | 'AdamW';
  make(params: unknown, options?: unknown): Opt;
  /** Options every optimizer of the table gets (SGD's momentum, so that every param has state). */
  base?: Record<string, unknown>;
  /** Whether its state counts steps (SGD's does not). */
  countsSteps: boolean;
  /** A state key of another optimizer, unknown to this one. */
  foreignKey: string;
  /** Numeric hyperparameters: our name, PyTorch's, and the values outside their range besides NaN, ±Infinity. */
  /**
   * Each number option and values outside its range; `newOnly`: PyTorch
   * checks the range only for a new group (lr), and takes such a value set
   * between steps or loaded from a dict.
   */
  numbers: { ours: string; torch: string; outside: number[]; newOnly?: boolean }[];
  booleans: string[];
  /** Misspellings and the name the message must suggest. */
  misnamed: [string, string][];
  /** The state tensor every stepped param has, and options that make every state tensor exist. */
  stateKey: string;
  full: Record<string, unknown>;
}

const kinds: Kind[] = [
  {
    name: 'RMSprop',
    make: (params, options) => new RMSprop(params as never, options as never),
    countsSteps: true,
    foreignKey: 'exp_avg',
    numbers: [
      { ours: 'lr', torch: 'lr', outside: [-1], newOnly: true },
      { ours: 'alpha', torch: 'alpha', outside: [-0.1, 1, 1.5] },
      { ours: 'eps', torch: 'eps', outside: [-1e-8] },
      { ours: 'weightDecay', torch: 'weight_decay', outside: [-0.1] },
      { ours: 'momentum', torch: 'momentum', outside: [-0.5] },
    ],
    booleans: ['centered', 'maximize'],
    misnamed: [['weight_decay', 'weightDecay'], ['momentun', 'momentum'], ['Lr', 'lr']],
    stateKey: 'square_avg',
    full: { momentum: 0.9, centered: true, weightDecay: 0.01 },
  },
  {
    name: 'Adagrad',
    make: (params, options) => new Adagrad(params as never, options as never),
    countsSteps: true,
    foreignKey: 'exp_avg',
    numbers: [
      { ours: 'lr', torch: 'lr', outside: [-1], newOnly: true },
      { ours: 'lrDecay', torch: 'lr_decay', outside: [-0.01] },
      { ours: 'weightDecay', torch: 'weight_decay', outside: [-0.1] },
      { ours: 'initialAccumulatorValue', torch: 'initial_accumulator_value', outside: [-0.5] },
      { ours: 'eps', torch: 'eps', outside: [-1e-10] },
    ],
    booleans: ['maximize'],
    misnamed: [['lr_decay', 'lrDecay'], ['initial_accumulator_value', 'initialAccumulatorValue'], ['weightdecay', 'weightDecay']],
    stateKey: 'sum',
    full: { lrDecay: 0.01, weightDecay: 0.01, initialAccumulatorValue: 0.1 },
  },
  {
    name: 'SGD',
    make: (params, options) => new SGD(params as never, options as never),
    base: { momentum: 0.5 },
    countsSteps: false,
    foreignKey: 'exp_avg',
    numbers: [
      { ours: 'lr', torch: 'lr', outside: [-1], newOnly: true },
      { ours: 'momentum', torch: 'momentum', outside: [-0.5] },
      // PyTorch takes any dampening; a finite number is all it must be.
      { ours: 'dampening', torch: 'dampening', outside: [] },
      { ours: 'weightDecay', torch: 'weight_decay', outside: [-0.1] },
    ],
    booleans: ['nesterov', 'maximize'],
    misnamed: [['weight_decay', 'weightDecay'], ['momentun', 'momentum'], ['nesterow', 'nesterov']],
    stateKey: 'momentum_buffer',
    full: { momentum: 0.9, nesterov: true, weightDecay: 0.01 },
  },
  ...(['Adam', 'AdamW'] as const).map((name): Kind => ({
    name,
    make: (params, options) => (name === 'Adam' ? new Adam(params as never, options as never) : new AdamW(params as never, options as never)),
    countsSteps: true,
    foreignKey: 'square_avg',
    numbers: [
      { ours: 'lr', torch: 'lr', outside: [-1], newOnly: true },
      { ours: 'eps', torch: 'eps', outside: [-1e-8] },
      { ours: 'weightDecay', torch: 'weight_decay', outside: [-0.1] },
    ],
    booleans: ['amsgrad', 'maximize'],
    misnamed: [['weight_decay', 'weightDecay'], ['beta', 'betas'], ['amsGrad', 'amsgrad']],
    stateKey: 'exp_avg',
    full: { amsgrad: true, weightDecay: 0.01, betas: [0.8, 0.99] },
  })),
];

/** Non-finite numbers and non-numbers, with how a message must show them. */
const NON_FINITE: [number, string][] = [[NaN, 'NaN'], [Infinity, 'Infinity'], [-Infinity, '-Infinity']];
const NOT_NUMBERS: [unknown, string][] = [['0.1', '"0.1"'], [null, 'null'], [undefined, 'undefined'], [true, 'true'], [{}, 'an object'], [1n, '1n']];
const NOT_BOOLEANS: [unknown, string][] = [[1, '1'], ['yes', '"yes"'], [null, 'null']];

/** The error is exactly `type` (not a plain Error) and its message names `argument` and `value`. */
function expectError(label: string, err: unknown, type: ErrorType, argument: string, value: string): void {
  expect(err, `${label}: must throw`).to.be.instanceOf(Error);
  const e = err as Error;
  expect(e.constructor, `${label}: ${e.constructor.name} "${e.message}"`).to.equal(type);
  expect(e.message, `${label}: names the argument`).to.contain(argument);
  expect(e.message, `${label}: shows the value`).to.contain(value);
}

const param = (n: number, seed: number, shape?: number[]) => new Parameter(randomF32(n, seed), shape);

/** Two groups (a 4-element param, then a 4- and a 3×3-element one), one step taken. */
function stepped(kind: Kind, options: Record<string, unknown> = {}) {
  const params = [param(4, 1), param(4, 2), param(9, 3, [3, 3])];
  const opt = kind.make([{ params: [params[0]] }, { params: [params[1], params[2]], ...kind.full }], { ...kind.base, ...options });
  params.forEach((p, i) => (p.grad = randomF32(p.numel, 10 + i)));
  opt.step();
  params.forEach((p, i) => (p.grad = randomF32(p.numel, 20 + i)));
  return { opt, params, bad: params[1] };
}

describe('bad input: Parameter', () => {
  const Resizable = ArrayBuffer as unknown as new (n: number, o: { maxByteLength: number }) => ArrayBuffer;
  const rows: [string, () => unknown, ErrorType, string, string][] = [
    ['data on a SharedArrayBuffer', () => new Parameter(new Float32Array(new SharedArrayBuffer(16))), TypeError, 'Parameter data', 'SharedArrayBuffer'],
    ['data on a resizable ArrayBuffer', () => new Parameter(new Float32Array(new Resizable(16, { maxByteLength: 64 }))), TypeError, 'Parameter data', 'resizable ArrayBuffer'],
    ['detached data', () => {
      const a = new Float32Array(4);
      structuredClone(a.buffer, { transfer: [a.buffer] });
      return new Parameter(a);
    }, TypeError, 'Parameter data', 'detached ArrayBuffer'],
    ['Int32Array data', () => new Parameter(new Int32Array(3) as never), TypeError, 'Parameter data', 'Int32Array(3)'],
    ['a plain array', () => new Parameter([1, 2] as never), TypeError, 'Parameter data', 'Array(2)'],
    ['a shape of another size', () => new Parameter(new Float32Array(6), [4]), RangeError, 'Parameter shape [4]', 'data has 6'],
    ['a fractional dimension', () => new Parameter(new Float32Array(3), [3, 1.5]), TypeError, 'Parameter shape[1]', 'received 1.5'],
    ['a negative dimension', () => new Parameter(new Float32Array(2), [-2, -1]), TypeError, 'Parameter shape[0]', 'received -2'],
  ];
  for (const [what, make, type, argument, value] of rows) {
    it(`rejects ${what}`, () => expectError(what, capture(make), type, argument, value));
  }
});

describe('bad input: zeros', () => {
  const rows: [string, () => unknown, ErrorType, string, string][] = [
    ['a negative length', () => zeros(-1), RangeError, 'zeros length', 'Invalid length: -1'],
    ['a fractional length', () => zeros(2.5), RangeError, 'zeros length', 'Invalid length: 2.5'],
    ['a NaN length', () => zeros(NaN), RangeError, 'zeros length', 'Invalid length: NaN'],
    ['a string length', () => zeros('8' as never), TypeError, 'zeros length', 'received "8"'],
    ['an integer dtype', () => zeros(8, 'int32' as never), TypeError, 'zeros dtype', 'received "int32"'],
  ];
  for (const [what, make, type, argument, value] of rows) {
    it(`rejects ${what}`, () => expectError(what, capture(make), type, argument, value));
  }
});

for (const kind of kinds) {
  describe(`bad input, ${kind.name}: constructor and hyperparameters`, () => {
    afterEach(resetBackend);

    /** A bad option in the constructor's options, in a group, in addParamGroup, and in a state dict. */
    function rejectsEverywhere(ours: string, torch: string, value: unknown, shown: string, type: ErrorType, newOnly = false): void {
      const what = `${ours} = ${shown}`;
      const fresh = [param(3, 1), param(2, 2)];
      const before = fresh.map(hex).join();
      expectError(`${what} in options`, capture(() => kind.make(fresh, { [ours]: value })), type, ours, shown);
      expectError(`${what} in a group`, capture(() => kind.make([{ params: fresh, [ours]: value }])), type, ours, shown);
      expect(fresh.map(hex).join(), `${what}: the params given`).to.equal(before);

      const { opt } = stepped(kind);
      let snap = snapshot(opt);
      expectError(`${what} in addParamGroup`, capture(() => opt.addParamGroup({ params: [param(2, 5)], [ours]: value } as never)), type, ours, shown);
      expect(snapshot(opt), `${what}: after addParamGroup`).to.equal(snap);
      if (newOnly) return;

      const sd = opt.stateDict();
      (sd.param_groups[1] as Record<string, unknown>)[torch] = value;
      opt.paramGroups[0].lr = 0.3; // a partly applied dict would reset it
      snap = snapshot(opt);
      expectError(`${what} in a state dict`, capture(() => opt.loadStateDict(sd)), type, torch, shown);
      expect(snapshot(opt), `${what}: after loadStateDict`).to.equal(snap);
    }

    /** The same value set on a group between steps: step() and stepAsync() refuse it, on every backend. */
    async function rejectsAtStep(ours: string, value: unknown, shown: string, type: ErrorType): Promise<void> {
      for (const backend of everyBackend()) {
        backend.use();
        for (const run of ['step', 'stepAsync'] as const) {
          const { opt } = stepped(kind);
          (opt.paramGroups[1] as unknown as Record<string, unknown>)[ours] = value;
          const snap = snapshot(opt);
          const label = `${ours} = ${shown} set before ${run}() on ${backend.label}`;
          const err = await thrown(() => opt[run]());
          expectError(label, err, type, ours, shown);
          expect((err as Error).message, `${label}: names the group`).to.contain('param group 1');
          expect(snapshot(opt), label).to.equal(snap);
        }
      }
    }

    for (const { ours, torch, outside, newOnly } of kind.numbers) {
      const rows: [unknown, string, ErrorType, boolean][] = [
        ...NON_FINITE.map(([v, s]) => [v, s, RangeError, false] as [unknown, string, ErrorType, boolean]),
        ...outside.map((v) => [v, String(v), RangeError, newOnly === true] as [unknown, string, ErrorType, boolean]),
        ...NOT_NUMBERS.map(([v, s]) => [v, s, TypeError, false] as [unknown, string, ErrorType, boolean]),
      ];
      it(`rejects ${ours} that is non-finite, out of range or not a number: ${rows.map((r) => r[1]).join(', ')}`, async () => {
        for (const [value, shown, type, onlyNew] of rows) {
          rejectsEverywhere(ours, torch, value, shown, type, onlyNew);
          if (!onlyNew) await rejectsAtStep(ours, value, shown, type);
        }
      });
      if (newOnly) {
        it(`takes ${ours} out of its range between steps and from a dict, as PyTorch does (a schedule ending a hair below 0)`, () => {
          for (const value of outside) {
            const { opt } = stepped(kind);
            (opt.paramGroups[1] as unknown as Record<string, unknown>)[ours] = value;
            opt.step();
            const sd = opt.stateDict();
            (sd.param_groups[1] as Record<string, unknown>)[torch] = value;
            opt.loadStateDict(sd);
            expect((opt.paramGroups[1] as unknown as Record<string, unknown>)[ours]).to.equal(value);
          }
        });
      }
    }

    for (const name of kind.booleans) {
      it(`rejects a ${name} that is not a boolean`, async () => {
        for (const [value, shown] of NOT_BOOLEANS) {
          rejectsEverywhere(name, name, value, shown, TypeError);
          await rejectsAtStep(name, value, shown, TypeError);
        }
      });
    }

    it('rejects a bad compat, thread count and skipNonFinite', () => {
      const p = [param(2, 1)];
      expectError('compat', capture(() => kind.make(p, { compat: '3' })), TypeError, 'compat', '"3"');
      for (const [v, s] of [[-1, '-1'], [1.5, '1.5'], [2000, '2000'], [NaN, 'NaN']] as [number, string][]) {
        expectError(`threads ${s}`, capture(() => kind.make(p, { threads: v })), RangeError, 'threads', s);
      }
      expectError('skipNonFinite', capture(() => kind.make(p, { skipNonFinite: 1 })), TypeError, 'skipNonFinite', '1');
    });

    it('rejects unknown option names, suggesting the right one', () => {
      for (const [wrong, right] of kind.misnamed) {
        for (const make of [() => kind.make([param(2, 1)], { [wrong]: 0.1 }), () => kind.make([{ params: [param(2, 1)], [wrong]: 0.1 }])]) {
          expectError(wrong, capture(make), TypeError, `'${wrong}'`, `did you mean '${right}'?`);
        }
      }
    });

    it('rejects an empty parameter list, duplicates, and what is not a parameter', () => {
      const p = param(2, 1);
      const q = param(3, 2);
      const rows: [string, () => unknown, ErrorType, string, string][] = [
        ['an empty list', () => kind.make([]), RangeError, 'params', 'empty parameter list'],
        ['a duplicate', () => kind.make([q, p, p]), RangeError, 'param group 0', 'params[2] is params[1]'],
        ['a param in two groups', () => kind.make([{ params: [q] }, { params: [p, q] }]), RangeError, 'param group 1 params[1]', 'param group 0'],
        ['params that are not a list', () => kind.make(3), TypeError, 'params', 'received 3'],
        ['group params that are not a list', () => kind.make([{ params: 3 }]), TypeError, 'param group 0 params', 'received 3'],
        ['a typed array for a parameter', () => kind.make([p, new Float32Array(2)]), TypeError, 'params[1]', 'Float32Array(2)'],
        ['options that are not an object', () => kind.make([p], null), TypeError, 'options', 'null'],
      ];
      const before = [p, q].map(hex).join();
      for (const [what, make, type, argument, value] of rows) expectError(what, capture(make), type, argument, value);
      expect([p, q].map(hex).join(), 'the params given').to.equal(before);
      expect(p.grad).to.equal(null);

      const { opt, params } = stepped(kind);
      const snap = snapshot(opt);
      expectError('addParamGroup with a param already in a group', capture(() => opt.addParamGroup({ params: [params[2]] })),
        RangeError, 'param group 2 params[0]', 'param group 1');
      expectError('addParamGroup with a duplicate', capture(() => opt.addParamGroup({ params: [p, p] })), RangeError, 'param group 2', 'params[1] is params[0]');
      expect(snapshot(opt)).to.equal(snap);
    });
  });

  describe(`bad input, ${kind.name}: step`, () => {
    afterEach(resetBackend);
    const Resizable = ArrayBuffer as unknown as new (n: number, o: { maxByteLength: number }) => ArrayBuffer;
    const detach = (b: ArrayBufferLike) => void structuredClone(b, { transfer: [b as ArrayBuffer] });
    const at = 'param 0 of group 1';

    const rows: [string, (w: Parameter, opt: Opt) => void, ErrorType, string, string][] = [
      ['a grad of the wrong length', (w) => (w.grad = new Float32Array(3)), TypeError, `${at}.grad`, 'Float32Array(3)'],
      ['a grad of the wrong dtype', (w) => (w.grad = new Float64Array(4)), TypeError, `${at}.grad`, 'Float64Array(4)'],
      ['a grad that is a plain array', (w) => (w.grad = [1, 2, 3, 4] as never), TypeError, `${at}.grad`, 'Array(4)'],
      ['a grad that is an Int32Array', (w) => (w.grad = new Int32Array(4) as never), TypeError, `${at}.grad`, 'Int32Array(4)'],
      ['a grad that is a DataView', (w) => (w.grad = new DataView(new ArrayBuffer(16)) as never), TypeError, `${at}.grad`, 'DataView(16)'],
      ['a grad that is a number', (w) => (w.grad = 0.5 as never), TypeError, `${at}.grad`, 'received 0.5'],
      ['a grad detached by structuredClone', (w) => { const g = new Float32Array(4); detach(g.buffer); w.grad = g; }, TypeError, `${at}.grad`, 'detached ArrayBuffer'],
      ['a grad detached by postMessage', (w) => {
        const g = new Float32Array(4);
        const { port1, port2 } = new MessageChannel();
        port1.postMessage(null, [g.buffer]);
        port1.close();
        port2.close();
        w.grad = g;
      }, TypeError, `${at}.grad`, 'detached ArrayBuffer'],
      ['a grad on a SharedArrayBuffer', (w) => (w.grad = new Float32Array(new SharedArrayBuffer(16))), TypeError, `${at}.grad`, 'SharedArrayBuffer'],
      ['a grad on a resizable ArrayBuffer', (w) => (w.grad = new Float32Array(new Resizable(16, { maxByteLength: 64 }))), TypeError, `${at}.grad`, 'resizable ArrayBuffer'],
      ['param data detached', (w) => detach(w.data.buffer), TypeError, `${at}.data`, 'detached ArrayBuffer'],
      ['param data on a SharedArrayBuffer', (w) => { const d = new Float32Array(new SharedArrayBuffer(16)); d.set(w.data); w.data = d; }, TypeError, `${at}.data`, 'SharedArrayBuffer'],
      ['param data on a resizable ArrayBuffer', (w) => { const d = new Float32Array(new Resizable(16, { maxByteLength: 64 })); d.set(w.data); w.data = d; }, TypeError, `${at}.data`, 'resizable ArrayBuffer'],
      ['param data replaced by a longer array after state was made', (w) => { w.data = new Float32Array(5); w.grad = new Float32Array(5); }, RangeError, `${at}.data`, 'has 5 elements'],
      ['param data replaced by a shorter array, grad kept', (w) => { w.data = new Float32Array(3); }, RangeError, `${at}.data`, 'has 3 elements'],
      ['param data replaced by float64 after state was made', (w) => { w.data = new Float64Array(4); w.grad = new Float64Array(4); }, RangeError, at, 'Float32Array(4)'],
      ['a grad that is its data', (w) => (w.grad = w.data), RangeError, `${at}.grad`, 'shares memory with its data'],
      ['a grad that is its state', (w, opt) => (w.grad = opt.state.get(w)![kind.stateKey] as Float32Array), RangeError, `${at}.grad`, `state ${kind.stateKey}`],
      ['state replaced by a shorter array', (w, opt) => (opt.state.get(w)![kind.stateKey] = new Float32Array(3)), RangeError, `${at} `, `${kind.stateKey} is Float32Array(3)`],
    ];

    for (const [what, corrupt, type, argument, value] of rows) {
      it(`rejects ${what} and changes nothing (step and stepAsync, every backend)`, async () => {
        for (const backend of everyBackend()) {
          backend.use();
          for (const run of ['step', 'stepAsync'] as const) {
            for (const skipNonFinite of [false, true]) {
              const { opt, params, bad } = stepped(kind, { skipNonFinite });
              corrupt(bad, opt);
              const snap = snapshot(opt, params);
              const label = `${backend.label}, ${run}()${skipNonFinite ? ', skipNonFinite' : ''}`;
              expectError(label, await thrown(() => opt[run]()), type, argument, value);
              expect(snapshot(opt, params), label).to.equal(snap);
              expect(opt.skippedSteps, label).to.equal(0);
            }
          }
        }
      });
    }
  });

  describe(`bad input, ${kind.name}: loadStateDict`, () => {
    afterEach(resetBackend);
    const key = kind.stateKey;
    const record = (sd: StateDict, i: number) => sd.state[i][key] as TensorRecord;

    const rows: [string, (sd: StateDict) => unknown, ErrorType, string, string][] = [
      ['a dict that is null', () => null, TypeError, 'state dict', 'received null'],
      ['a dict without state', (sd) => delete (sd as Partial<StateDict>).state, TypeError, 'state dict', "missing 'state'"],
      ['a dict without param_groups', (sd) => delete (sd as Partial<StateDict>).param_groups, TypeError, 'state dict', "missing 'param_groups'"],
      ['an extra top-level key', (sd) => ((sd as unknown as Record<string, unknown>).extra = 1), TypeError, 'state dict', "'extra'"],
      ['one group too few', (sd) => sd.param_groups.pop(), RangeError, 'parameter groups', '(1, optimizer has 2)'],
      ['one group too many', (sd) => sd.param_groups.push({ ...sd.param_groups[0], params: [3] }), RangeError, 'parameter groups', '(3, optimizer has 2)'],
      ['a group of another size', (sd) => sd.param_groups[1].params.pop(), RangeError, 'param_groups[1]', 'has 1 params'],
      ['a param index used twice', (sd) => (sd.param_groups[1].params[0] = 0), RangeError, 'param_groups[1].params[0]', '= 0'],
      ['a group missing lr', (sd) => delete sd.param_groups[0].lr, TypeError, 'param_groups[0]', "missing 'lr'"],
      ['a group with a simd-optim option name', (sd) => (sd.param_groups[0].threads = 2), TypeError, 'param_groups[0]', "'threads', which is a simd-optim option name"],
      ['a group with our spelling of weight_decay', (sd) => (sd.param_groups[1].weightDecay = 0.5), TypeError, 'param_groups[1]', "'weightDecay'"],
      kind.countsSteps
        ? ['a state entry missing step', (sd) => delete sd.state[0].step, TypeError, 'state[0]', "missing 'step'"]
        : ['a state entry with a step', (sd) => (sd.state[0].step = 3), TypeError, 'state[0]', "unknown key 'step'"],
      [`a state entry missing ${key}`, (sd) => delete sd.state[1][key], TypeError, 'state[1]', `missing '${key}'`],
      ['a state entry with an unknown key', (sd) => (sd.state[0][kind.foreignKey] = sd.state[0][key]), TypeError, 'state[0]', `unknown key '${kind.foreignKey}'`],
      ['a state entry that is null', (sd) => (sd.state[0] = null as never), TypeError, 'state[0]', 'received null'],
      ['state for an index with no parameter', (sd) => (sd.state[7] = sd.state[0]), RangeError, 'state[7]', 'index 7'],
      [`a ${key} of the wrong shape`, (sd) => (record(sd, 2).shape = [9]), RangeError, `state[2].${key}`, 'shape [9]'],
      [`a ${key} with a fractional dimension`, (sd) => (record(sd, 2).shape = [3, 3.5]), TypeError, `state[2].${key}.shape[1]`, '3.5'],
      [`a ${key} of the wrong length`, (sd) => (record(sd, 0).data = new Float32Array(3)), RangeError, `state[0].${key}`, '3 data elements'],
      [`an int32 ${key}`, (sd) => (sd.state[0][key] = { dtype: 'int32', shape: [4], data: new Int32Array(4) }), TypeError, `state[0].${key}`, 'int32'],
      [`a ${key} whose data is not its dtype`, (sd) => (record(sd, 0).dtype = 'float64'), TypeError, `state[0].${key}`, 'Float32Array(4)'],
      [`a ${key} that is a plain array`, (sd) => (sd.state[0][key] = [1, 2, 3, 4] as never), TypeError, `state[0].${key}`, 'Array(4)'],
      ...(!kind.countsSteps ? [] : [
        ...([[-1, '-1'], [1.5, '1.5'], [NaN, 'NaN'], [Infinity, 'Infinity'], ['3', '"3"'], [-1n, '-1n']] as [unknown, string][]).map(
          ([v, s]) => [`a step of ${s}`, (sd: StateDict) => (sd.state[1].step = v as never), RangeError, 'state[1].step', s] as [string, (sd: StateDict) => unknown, ErrorType, string, string]),
        ['a step of 2.5 in a tensor', (sd) => (sd.state[1].step = { dtype: 'float32', shape: [], data: new Float32Array([2.5]) }), RangeError, 'state[1].step', '2.5'],
        ['a step tensor of two values', (sd) => (sd.state[1].step = { dtype: 'float32', shape: [2], data: new Float32Array([1, 2]) }), RangeError, 'state[1].step', 'has 2'],
      ] as [string, (sd: StateDict) => unknown, ErrorType, string, string][]),
    ];

    for (const [what, corrupt, type, argument, value] of rows) {
      it(`rejects ${what} and changes nothing, on every backend`, () => {
        for (const backend of everyBackend()) {
          backend.use();
          const { opt, params } = stepped(kind);
          const sd = opt.stateDict();
          const replaced = corrupt(sd);
          opt.paramGroups[0].lr = 0.3; // a partly applied dict would reset it
          const snap = snapshot(opt, params);
          const dict = what === 'a dict that is null' ? replaced : sd;
          expectError(backend.label, capture(() => opt.loadStateDict(dict as StateDict)), type, argument, value);
          expect(snapshot(opt, params), backend.label).to.equal(snap);
        }
      });
    }
    // Non-finite, negative and non-number hyperparameters in a dict: the table above, "in a state dict".
  });
}

/** What a synchronous call threw, else undefined. */
function capture(f: () => unknown): unknown {
  try {
    f();
  } catch (e) {
    return e;
  }
  return undefined;
}

describe('bad input: the rest of the public surface', () => {
  afterEach(resetBackend);

  it('zeros() names its length when the memory cannot be had, on every backend, instead of aborting the process', () => {
    for (const backend of everyBackend()) {
      backend.use();
      expectError(backend.label, capture(() => zeros(2 ** 50)), RangeError, 'zeros length', String(2 ** 50));
    }
  });

  it('zeroGrad(false) checks every grad before it fills any', () => {
    const [a, b] = [param(3, 1), param(3, 2)];
    const opt = new RMSprop([{ params: [a] }, { params: [b] }]);
    a.grad = randomF32(3, 3);
    const before = bytesOf(a.grad).toString('hex');
    for (const bad of [0.5, 'oops', [1, 2, 3]]) {
      b.grad = bad as never;
      expectError(`a grad of ${String(bad)}`, capture(() => opt.zeroGrad(false)), TypeError, 'param 0 of group 1.grad', describeLike(bad));
      expect(bytesOf(a.grad).toString('hex'), 'group 0 untouched').to.equal(before);
    }
  });

  it("stateDict() names a custom optimizer's state value it cannot save, and saves float tensors of any length", () => {
    class Custom extends Optimizer<{ lr: number }> {
      step(): undefined {
        return undefined;
      }
    }
    const p = param(4, 1, [2, 2]);
    const opt = new Custom([p], { lr: 1 });
    opt.state.set(p, { step: 1, scale: new Float32Array([0.5]), buf: new Float32Array(4) });
    const sd = opt.stateDict();
    expect((sd.state[0].scale as TensorRecord).shape).to.deep.equal([1]);
    expect((sd.state[0].buf as TensorRecord).shape).to.deep.equal([2, 2]);
    const other = new Custom([p], { lr: 1 });
    other.loadStateDict(sd);
    expect(Array.from(other.state.get(p)!.scale as Float32Array)).to.deep.equal([0.5]);
    opt.state.set(p, { step: 1, counts: new Int32Array(4) as never });
    expectError('an Int32Array', capture(() => opt.stateDict()), TypeError, 'state of param 0: counts', 'Int32Array(4)');
    expectError('no defaults', capture(() => new Custom([p], undefined as never)), TypeError, 'Custom defaults', 'undefined');
  });

  it('alphaForWindow refuses a window so long that alpha rounds to 1', () => {
    expectError('1e17 steps', capture(() => alphaForWindow(1e17)), RangeError, 'steps', '100000000000000000');
  });

  it('useIsa and useBackend name what they were given', function () {
    expectError('useBackend(1n)', capture(() => useBackend(1n as never)), TypeError, 'backend', '1n');
    expectError('useIsa(5)', capture(() => useIsa(5 as never)), TypeError, 'useIsa name', '5');
    if (!backendInfo().nativeLoaded) this.skip();
    expectError("useIsa('AVX2')", capture(() => useIsa('AVX2')), RangeError, 'useIsa name', '"AVX2"');
  });

  describe('files', () => {
    let dir: string;
    beforeEach(() => (dir = fs.mkdtempSync(path.join(os.tmpdir(), 'simd-optim-bad-'))));
    afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

    it('saveSafetensors checks a Parameter like a record, and leaves the old file when it refuses', async () => {
      const file = path.join(dir, 'model.safetensors');
      await saveSafetensors({ w: param(4, 1) }, file);
      const old = fs.readFileSync(file);
      const p = param(4, 1, [2, 2]);
      p.data = new Float32Array(6);
      expectError('data longer than the shape', await thrown(() => saveSafetensors({ w: p }, file)), RangeError, 'saveSafetensors value w', '6 data elements');
      p.data = 'xy' as never;
      expectError('data that is a string', await thrown(() => saveSafetensors({ w: p }, file)), TypeError, 'saveSafetensors value w.data', '"xy"');
      expect(fs.readFileSync(file).equals(old), 'the old file is untouched').to.equal(true);
    });

    it('saveSafetensors takes a Map, and refuses metadata it would mangle or could not read back', async () => {
      const file = path.join(dir, 'map.safetensors');
      await saveSafetensors(new Map([['w', { dtype: 'float32', shape: [2], data: new Float32Array([1, 2]) }]]), file);
      expect(Object.keys(await loadSafetensors(file))).to.deep.equal(['w']);
      const model = { w: param(2, 1) };
      expectError('metadata "abc"', await thrown(() => saveSafetensors(model, file, 'abc' as never)), TypeError, 'saveSafetensors metadata', '"abc"');
      expectError('metadata format', await thrown(() => saveSafetensors(model, file, { format: 'x' })), TypeError, 'saveSafetensors metadata', "'format'");
      expectError('a tensor named __metadata__', await thrown(() => saveSafetensors({ __metadata__: param(2, 1) }, file)), TypeError, 'saveSafetensors', '__metadata__');
      expectError('a path of 1n', await thrown(() => saveSafetensors(model, 1n as never)), TypeError, 'path argument', '1n');
      const opt = new RMSprop([param(2, 1)]);
      const sd = opt.stateDict();
      sd.param_groups[0].callback = () => 1;
      expectError('a function in a group', await thrown(() => saveSafetensors(sd, file)), TypeError, 'param_groups.callback', 'function');
    });

    it('saveTorch refuses options it does not know, suggesting the right one', async () => {
      expectError('{ formm }', await thrown(() => torchBytes({ x: 1 }, { formm: '1.13' } as never)), TypeError, 'saveTorch', "did you mean 'form'?");
    });

    it('the loaders name the value, a folder and detached bytes', async () => {
      expectError('loadTorch(123)', await thrown(() => loadTorch(123 as never)), TypeError, 'file argument', '123');
      const err = (await thrown(() => loadTorch(dir))) as NodeJS.ErrnoException;
      expect(err.message).to.equal(`cannot read ${dir}: EISDIR (a directory)`);
      expect(err.code).to.equal('EISDIR');
      const bytes = new Uint8Array(8);
      structuredClone(bytes.buffer, { transfer: [bytes.buffer] });
      expectError('detached bytes', await thrown(() => loadTorch(bytes)), TypeError, 'file argument', 'detached');
    });
  });
});

/** How describe() shows a value, for the checks above. */
function describeLike(v: unknown): string {
  return typeof v === 'string' ? JSON.stringify(v) : Array.isArray(v) ? `Array(${v.length})` : String(v);
}
