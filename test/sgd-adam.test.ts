// SGD, Adam and AdamW beyond their bit-exact cross-checks
// (test/pytorch-bits.test.ts) and generic bad-input rows
// (test/bad-input.test.ts): PyTorch's own files of both generations load and
// are written back in PyTorch's form, a dict of another optimizer is named
// for what it is and changes nothing, Adam's betas are checked as PyTorch
// checks them, and saveTorch stores each optimizer's step as its generation
// does.
import { expect } from 'chai';
import * as fs from 'node:fs';
import * as path from 'node:path';
import {
  Adagrad, Adam, AdamW, loadTorch, Parameter, RMSprop, saveTorch, SGD, torchBytes, type Optimizer, type StateDict,
} from '../lib';
import { randomF32, snapshot, thrown } from './helpers';
import { describeValue } from './torch/describe';

const root = path.join(__dirname, 'fixtures', 'torch-files');
const VERSIONS = [['torch-1.13', '1.13'], ['torch-2.6', '2.x']] as const;
const CLASSES = { RMSprop, Adagrad, SGD, Adam, AdamW };
type ClassName = keyof typeof CLASSES;

/** Each committed optimizer file: its class, and its params' shapes and dtype (test/torch/io_oracle.py makes them). */
const FILES: Record<string, { cls: ClassName; shapes: number[][]; dtype: 'float32' | 'float64' }> = {
  'sgd.pt': { cls: 'SGD', shapes: [[3, 2], [2]], dtype: 'float32' },
  'adam.pt': { cls: 'Adam', shapes: [[3, 2], [2]], dtype: 'float32' },
  'adamw.pt': { cls: 'AdamW', shapes: [[4]], dtype: 'float64' },
  'rmsprop.pt': { cls: 'RMSprop', shapes: [[4, 3], [4], [2, 4]], dtype: 'float32' },
  'adagrad.pt': { cls: 'Adagrad', shapes: [[5]], dtype: 'float64' },
};

/** Fresh params for a file's optimizer, in one group per group of the dict. */
function paramsFor(file: string, dict: StateDict): { groups: { params: Parameter[] }[]; params: Parameter[] } {
  const { shapes, dtype } = FILES[file];
  const params = shapes.map((shape, i) => {
    const n = shape.reduce((a, b) => a * b, 1);
    const data = dtype === 'float32' ? randomF32(n, i + 1) : Float64Array.from(randomF32(n, i + 1));
    return new Parameter(data, shape);
  });
  return { params, groups: dict.param_groups.map((g) => ({ params: g.params.map((i) => params[i]) })) };
}

function make(cls: ClassName, groups: { params: Parameter[] }[], options: object = {}): Optimizer {
  return new CLASSES[cls](groups as never, { lr: 0.01, ...options } as never);
}

const expected = (version: string) =>
  (JSON.parse(fs.readFileSync(path.join(root, version, 'expected.json'), 'utf8')) as { files: Record<string, unknown> }).files;

describe('SGD, Adam and AdamW with PyTorch files', () => {
  for (const [version, compat] of VERSIONS) {
    for (const file of ['sgd.pt', 'adam.pt', 'adamw.pt']) {
      it(`loads ${version}'s ${file}, goes on as ${compat}, and writes it back as PyTorch wrote it`, async () => {
        const dict = await loadTorch<StateDict>(path.join(root, version, file));
        const { groups } = paramsFor(file, dict);
        const opt = make(FILES[file].cls, groups);
        opt.loadStateDict(dict);
        for (const g of opt.paramGroups) expect((g as { compat?: string }).compat, 'the generation the file shows').to.equal(compat);
        // Key order, Python types (betas a tuple, momentum_buffer None in 1.13), step type and every bit.
        expect(describeValue(await loadTorch(await torchBytes(opt.stateDict())))).to.deep.equal(expected(version)[file]);
      });
    }
  }
});

describe('a state dict of another optimizer', () => {
  /** Which class each file's dict may load into besides its own, per version, and why. */
  const accepted = (version: string, file: string, cls: ClassName): boolean =>
    FILES[file].cls === cls ||
    // From 2.0 on, Adam and AdamW write the same keys: a dict does not say which it is.
    (version === 'torch-2.6' && ['adam.pt', 'adamw.pt'].includes(file) && ['Adam', 'AdamW'].includes(cls)) ||
    // 1.13's Adam writes the keys 2.x's AdamW writes too (differentiable, fused).
    (version === 'torch-1.13' && file === 'adam.pt' && cls === 'AdamW');

  const from: Record<ClassName, RegExp> = {
    SGD: /from SGD \(its groups have [a-z_, ]*dampening and nesterov\)/,
    Adam: /from Adam or AdamW \(its groups have [a-z_, ]*betas[a-z_, ]* and amsgrad\)/,
    AdamW: /from (Adam or )?AdamW \(its groups have/,
    RMSprop: /from RMSprop \(its groups have [a-z_, ]*alpha[a-z_, ]* and centered\)/,
    Adagrad: /from Adagrad \(its groups have lr_decay[a-z_, ]* and initial_accumulator_value\)/,
  };

  for (const [version] of VERSIONS) {
    it(`is named for what it is, and changes nothing (${version}'s files into every class)`, async () => {
      for (const file of Object.keys(FILES)) {
        const dict = await loadTorch<StateDict>(path.join(root, version, file));
        for (const cls of Object.keys(CLASSES) as ClassName[]) {
          const { groups, params } = paramsFor(file, dict);
          const opt = make(cls, groups);
          params.forEach((p, i) => (p.grad = p.dtype === 'float32' ? randomF32(p.numel, 50 + i) : Float64Array.from(randomF32(p.numel, 50 + i))));
          opt.step();
          const before = snapshot(opt);
          const label = `${version} ${file} into ${cls}`;
          if (accepted(version, file, cls)) {
            opt.loadStateDict(dict);
            continue;
          }
          const err = await thrown(() => opt.loadStateDict(dict));
          expect(err, label).to.be.instanceOf(TypeError);
          expect(err.message, label).to.match(new RegExp(`^this state dict is from .*, not ${cls}$`));
          expect(err.message, label).to.match(from[FILES[file].cls]);
          expect(snapshot(opt), `${label}: nothing changed`).to.equal(before);
        }
      }
    });
  }

  it("tells Adam's and AdamW's dicts apart where the dict says which it is", async () => {
    const p = () => [new Parameter(randomF32(3, 1))];
    // 1.13's AdamW: no differentiable or fused key, foreach before maximize.
    const adamw113 = await loadTorch<StateDict>(path.join(root, 'torch-1.13', 'adamw.pt'));
    expect(() => new Adam(paramsFor('adamw.pt', adamw113).groups).loadStateDict(adamw113)).to.throw(
      TypeError, /^this state dict is from AdamW \(its groups have 1\.13 AdamW's keys: no differentiable or fused, foreach before maximize\), not Adam$/);
    // Later PyTorch writes decoupled_weight_decay: True for AdamW, False for Adam.
    for (const [decoupled, into, message] of [
      [true, Adam, /^this state dict is from AdamW \(decoupled_weight_decay is True\), not Adam$/],
      [false, AdamW, /^this state dict is from Adam \(decoupled_weight_decay is False\), not AdamW$/],
    ] as const) {
      const sd = new (decoupled ? AdamW : Adam)(p()).stateDict();
      sd.param_groups[0].decoupled_weight_decay = decoupled;
      expect(() => new into(p()).loadStateDict(sd)).to.throw(TypeError, message);
      const own = new (decoupled ? AdamW : Adam)(p());
      own.loadStateDict(sd); // its own kind loads, and keeps the key
      expect(own.stateDict().param_groups[0].decoupled_weight_decay).to.equal(decoupled);
    }
  });

  it("writes a dict's generation marks as each group's compat has them, so that it loads back as that generation", async () => {
    for (const [version, compat, fused] of [['torch-2.6', '1.13', false], ['torch-1.13', '2.x', null]] as const) {
      const dict = await loadTorch<StateDict>(path.join(root, version, 'adam.pt'));
      const opt = new Adam(paramsFor('adam.pt', dict).groups, { compat });
      opt.loadStateDict(dict);
      const written = opt.stateDict();
      expect(written.param_groups.map((g) => g.fused), `${version} as ${compat}`).to.deep.equal([fused, fused]);
      const again = new Adam(paramsFor('adam.pt', dict).groups);
      again.loadStateDict(written);
      expect(again.paramGroups.map((g) => g.compat), `${version} as ${compat}, loaded again`).to.deep.equal([compat, compat]);
    }
    // 1.13's Adam dict in AdamW: fused False says 1.13 there too.
    const adam113 = await loadTorch<StateDict>(path.join(root, 'torch-1.13', 'adam.pt'));
    const adamw = new AdamW(paramsFor('adam.pt', adam113).groups);
    adamw.loadStateDict(adam113);
    expect(adamw.paramGroups.map((g) => g.compat)).to.deep.equal(['1.13', '1.13']);
  });

  it('falls back to naming the missing key when the dict is no known optimizer\'s', () => {
    const opt = new SGD([new Parameter(randomF32(3, 1))], { momentum: 0.9 });
    const sd = opt.stateDict();
    delete sd.param_groups[0].nesterov;
    expect(() => opt.loadStateDict(sd)).to.throw(TypeError, /param_groups\[0\] is missing 'nesterov'/);
  });
});

describe("Adam's and AdamW's betas, as PyTorch checks them", () => {
  const rows: [unknown, ErrorConstructor, RegExp][] = [
    [[1, 0.999], RangeError, /Invalid beta parameter at index 0: 1 \(betas\[0\] must be in \[0, 1\)/],
    [[0.9, 1], RangeError, /Invalid beta parameter at index 1: 1 /],
    [[-0.1, 0.999], RangeError, /Invalid beta parameter at index 0: -0\.1 /],
    [[0.9, NaN], RangeError, /Invalid beta parameter at index 1: NaN/],
    [[0.9, '0.99'], TypeError, /beta parameter at index 1: "0\.99"/],
    [[0.9], TypeError, /two numbers \[beta1, beta2\] for betas .*Array\(1\)/],
    [0.9, TypeError, /two numbers \[beta1, beta2\] for betas .*received 0\.9/],
    [null, TypeError, /two numbers \[beta1, beta2\] for betas .*received null/],
  ];
  for (const cls of [Adam, AdamW]) {
    it(`${cls.name} refuses bad betas in options, groups and between steps, and changes nothing`, async () => {
      for (const [betas, type, message] of rows) {
        const label = `${cls.name} betas ${JSON.stringify(betas)}`;
        expect(() => new cls([new Parameter(randomF32(3, 1))], { betas } as never), label).to.throw(type, message);
        const p = new Parameter(randomF32(3, 1));
        const opt = new cls([p], { betas: [0.8, 0.9] });
        p.grad = randomF32(3, 2);
        opt.step();
        opt.paramGroups[0].betas = betas as never;
        const before = snapshot(opt);
        const err = await thrown(() => opt.step());
        expect(err, label).to.be.instanceOf(type);
        expect(err.message, label).to.match(message).and.to.contain('param group 0');
        expect(snapshot(opt), label).to.equal(before);
      }
    });
  }

  it("gives each group its own betas: the defaults' and a loaded dict's are copies, changed in place for that group alone", () => {
    const [p, q] = [new Parameter(randomF32(3, 1)), new Parameter(randomF32(3, 2))];
    const opt = new Adam([{ params: [p] }, { params: [q] }]);
    (opt.paramGroups[0].betas as unknown as number[])[0] = 0.5;
    expect([opt.paramGroups[0].betas, opt.paramGroups[1].betas]).to.deep.equal([[0.5, 0.999], [0.9, 0.999]]);
    const sd = opt.stateDict();
    const other = new Adam([{ params: [new Parameter(randomF32(3, 1))] }, { params: [new Parameter(randomF32(3, 2))] }]);
    other.loadStateDict(sd);
    expect(other.paramGroups[0].betas).to.not.equal(sd.param_groups[0].betas);
    (other.paramGroups[0].betas as unknown as number[])[1] = 0.9;
    expect(sd.param_groups[0].betas).to.deep.equal([0.5, 0.999]);
  });

  it('keeps betas a tuple in the state dict and takes a new pair between steps', () => {
    const p = new Parameter(randomF32(3, 1));
    const opt = new Adam([p]);
    const betas = opt.stateDict().param_groups[0].betas;
    expect(Object.isFrozen(betas), 'a tuple, as PyTorch writes (0.9, 0.999)').to.equal(true);
    opt.paramGroups[0].betas = [0.5, 0.9];
    p.grad = randomF32(3, 2);
    opt.step();
    expect(opt.stateDict().param_groups[0].betas).to.deep.equal([0.5, 0.9]);
  });
});

describe("SGD's own rules", () => {
  it('refuses Nesterov momentum without momentum or with dampening, as PyTorch does', () => {
    const p = () => [new Parameter(randomF32(3, 1))];
    expect(() => new SGD(p(), { nesterov: true })).to.throw(RangeError, /Nesterov momentum requires a momentum and zero dampening \(momentum 0, dampening 0/);
    expect(() => new SGD(p(), { nesterov: true, momentum: 0.9, dampening: 0.1 })).to.throw(RangeError, /dampening 0\.1/);
  });

  it('checks that rule on the constructor\'s options alone, as PyTorch: a group, a schedule or a dict may have Nesterov without momentum', () => {
    const [a, b] = [new Parameter(randomF32(3, 1)), new Parameter(randomF32(3, 2))];
    const opt = new SGD([{ params: [a] }, { params: [b], nesterov: true }], { lr: 0.1, momentum: 0.9 });
    opt.paramGroups[1].momentum = 0; // Nesterov without momentum steps as plain SGD
    const before = Float32Array.from(b.data);
    [a.grad, b.grad] = [randomF32(3, 3), randomF32(3, 4)];
    opt.step();
    expect(Array.from(b.data)).to.deep.equal(Array.from(before, (x, i) => Math.fround(x - Math.fround(0.1) * b.grad![i])));
    opt.paramGroups[0].nesterov = true;
    opt.paramGroups[0].dampening = 0.5; // Nesterov with dampening: PyTorch's arithmetic, no error
    opt.step();
    opt.loadStateDict(opt.stateDict());
  });

  it('keeps no state without momentum: 1.13 writes momentum_buffer None for a stepped param, 2.x no entry', () => {
    for (const [compat, state] of [['1.13', { 0: { momentum_buffer: null } }], ['2.x', {}]] as const) {
      const p = new Parameter(randomF32(3, 1));
      const opt = new SGD([p], { lr: 0.1, compat });
      p.grad = randomF32(3, 2);
      opt.step();
      expect(opt.state.get(p), compat).to.deep.equal({});
      expect(opt.stateDict().state, compat).to.deep.equal(state);
    }
  });
});

describe('saveTorch stores each optimizer\'s step as its generation does', () => {
  it('as a tensor for Adam and AdamW in both generations, an int for 1.13\'s RMSprop, none for SGD', async () => {
    const stepTypes = async (value: unknown, form?: '1.13' | '2.x') => {
      const back = await loadTorch<StateDict>(await torchBytes(value, form === undefined ? {} : { form }));
      return Object.values(back.state).map((e) => ('step' in e ? (typeof e.step === 'number' ? 'int' : 'tensor') : 'none'));
    };
    for (const compat of ['1.13', '2.x'] as const) {
      for (const [cls, want] of [[Adam, 'tensor'], [AdamW, 'tensor'], [RMSprop, compat === '1.13' ? 'int' : 'tensor'], [SGD, 'none']] as const) {
        const p = new Parameter(randomF32(3, 1));
        const opt = new (cls as typeof Adam)([p], { compat, ...(cls === SGD ? { momentum: 0.9 } : {}) } as never);
        p.grad = randomF32(3, 2);
        opt.step();
        expect(await stepTypes(opt.stateDict()), `${cls.name} ${compat}`).to.deep.equal([want]);
      }
    }
    // Files from PyTorch, converted: their optimizer's rule, named by their groups' keys.
    for (const [file, in113] of [['adam.pt', 'tensor'], ['rmsprop.pt', 'int'], ['adagrad.pt', 'tensor']] as const) {
      const dict = await loadTorch(path.join(root, 'torch-2.6', file));
      expect(new Set(await stepTypes(dict, '1.13')), `${file} as 1.13`).to.deep.equal(new Set([in113]));
      expect(new Set(await stepTypes(dict, '2.x')), `${file} as 2.x`).to.deep.equal(new Set(['tensor']));
    }
  });

  it('round-trips a 1.13 SGD dict with None buffers through a file into an optimizer', async () => {
    const p = new Parameter(randomF32(3, 1));
    const opt = new SGD([p], { lr: 0.1, compat: '1.13' });
    p.grad = randomF32(3, 2);
    opt.step();
    const dir = fs.mkdtempSync(path.join(require('node:os').tmpdir(), 'sgd-'));
    try {
      await saveTorch(opt.stateDict(), path.join(dir, 'opt.pt'));
      const back = await loadTorch<StateDict>(path.join(dir, 'opt.pt'));
      expect(back.state[0].momentum_buffer).to.equal(null);
      const q = new Parameter(randomF32(3, 1));
      const other = new SGD([q], { lr: 0.1 });
      other.loadStateDict(back);
      expect(other.paramGroups[0].compat).to.equal('1.13');
      expect(other.state.get(q), 'an entry without a buffer, as PyTorch keeps one').to.deep.equal({});
      expect(other.stateDict().state).to.deep.equal({ 0: { momentum_buffer: null } });
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
