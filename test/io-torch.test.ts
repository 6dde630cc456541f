// Interchange with real PyTorch 1.13 and 2.6: PyTorch trains k
// steps and saves; Node loads both files, continues m steps and saves;
// PyTorch loads Node's files (torch.load's defaults, so weights_only=True in
// 2.6), continues n steps, and must end bit for bit where an uninterrupted
// PyTorch run ends. Node's files must also have the form PyTorch itself
// writes: records, param_groups keys, order and Python types, step types.
import { expect } from 'chai';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Adagrad, Adam, AdamW, loadTorch, Parameter, RMSprop, SGD, saveTorch, torchBytes, type StateDict, type TensorRecord } from '../lib';
import { isIntKey } from '../lib/core/python-values';
import { quickSlice, randomF32 } from './helpers';
import { oracleFor } from './torch/python';
import { zipRecords } from './zip-helpers';

const script = fs.readFileSync(path.join(__dirname, 'torch', 'io_oracle.py'), 'utf8');
const K = 3; // steps in PyTorch before the first save
const M = 4; // steps in Node
const N = 3; // steps in PyTorch after loading Node's files

const PARAMS = [
  { name: 'fc1.weight', shape: [4, 3] },
  { name: 'fc1.bias', shape: [4] },
  { name: 'fc2.weight', shape: [2, 4] },
];

const OPTIMIZERS = { RMSprop, Adagrad, SGD, Adam, AdamW };

interface IoCase {
  name: string;
  optimizer: keyof typeof OPTIMIZERS;
  dtype: 'float32' | 'float64';
  defaults: Record<string, unknown>;
  groups: Record<string, unknown>[];
  /** PyTorch's groups get a 'name' key, param_names (2.x) and a scheduler's initial_lr (io_oracle.py build). */
  extras?: boolean;
}

const ALL = [{ params: [0, 1, 2] }];
const CASES: IoCase[] = [
  { name: 'plain', optimizer: 'RMSprop', dtype: 'float32', defaults: { lr: 0.01 }, groups: ALL },
  { name: 'momentum', optimizer: 'RMSprop', dtype: 'float32', defaults: { lr: 0.01, momentum: 0.9 }, groups: ALL },
  { name: 'centered', optimizer: 'RMSprop', dtype: 'float32', defaults: { lr: 0.01, centered: true, momentum: 0.5 }, groups: ALL },
  { name: 'weight-decay', optimizer: 'RMSprop', dtype: 'float32', defaults: { lr: 0.01, weight_decay: 0.1 }, groups: ALL },
  {
    name: 'groups', optimizer: 'RMSprop', dtype: 'float32', defaults: { lr: 0.01 },
    groups: [{ params: [0, 1], lr: 0.05, alpha: 0.9 }, { params: [2], momentum: 0.9, centered: true }],
  },
  { name: 'float64', optimizer: 'RMSprop', dtype: 'float64', defaults: { lr: 0.01, momentum: 0.9, centered: true }, groups: ALL },
  { name: 'adagrad', optimizer: 'Adagrad', dtype: 'float32', defaults: { lr: 0.1, lr_decay: 0.01, weight_decay: 0.1 }, groups: ALL },
  // Groups as real runs leave them: a key of the user's own, param_names (2.x),
  // a scheduler's initial_lr. Node must keep each and write it back.
  {
    name: 'extra-group-keys', optimizer: 'RMSprop', dtype: 'float32', defaults: { lr: 0.01 }, extras: true,
    groups: [{ params: [0, 1], lr: 0.05 }, { params: [2], momentum: 0.9 }],
  },
  {
    name: 'adagrad-extra-group-keys', optimizer: 'Adagrad', dtype: 'float32', defaults: { lr: 0.1, lr_decay: 0.01 }, extras: true,
    groups: ALL,
  },
  // SGD without momentum in one group: 1.13 writes momentum_buffer None for its params, 2.x no entry.
  {
    name: 'sgd', optimizer: 'SGD', dtype: 'float32', defaults: { lr: 0.05 },
    groups: [{ params: [0, 1], momentum: 0.9, nesterov: true, weight_decay: 0.01 }, { params: [2] }],
  },
  { name: 'sgd-dampening-float64', optimizer: 'SGD', dtype: 'float64', defaults: { lr: 0.05, momentum: 0.5, dampening: 0.2 }, groups: ALL },
  {
    name: 'adam', optimizer: 'Adam', dtype: 'float32', defaults: { lr: 0.01, betas: [0.8, 0.99] },
    groups: [{ params: [0, 1], amsgrad: true }, { params: [2], weight_decay: 0.1 }],
  },
  { name: 'adam-float64', optimizer: 'Adam', dtype: 'float64', defaults: { lr: 0.01, maximize: true }, groups: ALL },
  { name: 'adamw', optimizer: 'AdamW', dtype: 'float32', defaults: { lr: 0.01, amsgrad: true }, groups: ALL },
  {
    name: 'adamw-extra-group-keys', optimizer: 'AdamW', dtype: 'float32', defaults: { lr: 0.003, weight_decay: 0.05 }, extras: true,
    groups: [{ params: [0, 1] }, { params: [2], betas: [0.9, 0.95] }],
  },
];

function typed(dtype: IoCase['dtype'], values: Float32Array): Float32Array | Float64Array {
  // float64 cases get low-order bits float32 cannot hold.
  return dtype === 'float32' ? values : Float64Array.from(values, (v, i) => v * (1 + 2 ** -40 * ((i % 7) + 1)));
}

const b64 = (a: ArrayBufferView): string => Buffer.from(a.buffer, a.byteOffset, a.byteLength).toString('base64');

/** Inputs for one case: initial params and the grads of all K + M + N steps. */
function inputs(c: IoCase, seed: number) {
  const params = PARAMS.map((p, i) => typed(c.dtype, randomF32(p.shape.reduce((a, b) => a * b, 1), seed * 100 + i)));
  const grads = Array.from({ length: K + M + N }, (_, t) =>
    PARAMS.map((p, i) => typed(c.dtype, randomF32(params[i].length, seed * 1000 + t * 10 + i + 7))));
  return { params, grads };
}

function request(c: IoCase, seed: number) {
  const { params, grads } = inputs(c, seed);
  return {
    name: c.name, optimizer: c.optimizer, dtype: c.dtype, defaults: c.defaults, groups: c.groups, extras: c.extras ?? false,
    k: K, m: M, n: N,
    params: PARAMS.map((p, i) => ({ ...p, data: b64(params[i]) })),
    grads: grads.map((step) => step.map(b64)),
  };
}

const camel = (key: string): string => key.replace(/_([a-z])/g, (_, ch: string) => ch.toUpperCase());
const camelKeys = (o: Record<string, unknown>) => Object.fromEntries(Object.entries(o).map(([k, v]) => [camel(k), v]));

/** Node's part: load PyTorch's files, continue M steps, save. */
async function continueInNode(c: IoCase, seed: number, folder: string, compat: '1.13' | '2.x'): Promise<void> {
  const model = await loadTorch<Record<string, TensorRecord>>(path.join(folder, 'model-torch.pt'));
  expect(Object.keys(model)).to.deep.equal(PARAMS.map((p) => p.name));
  const params = PARAMS.map((p) => {
    const record = model[p.name];
    expect(record.dtype).to.equal(c.dtype);
    expect(record.shape).to.deep.equal(p.shape);
    return new Parameter(record.data as Float32Array | Float64Array, record.shape);
  });
  const groups = c.groups.map((g) => ({ ...camelKeys(g), params: (g.params as number[]).map((i) => params[i]) }));
  const options = { ...camelKeys(c.defaults), compat };
  const opt = new OPTIMIZERS[c.optimizer](groups as never, options as never);
  opt.loadStateDict(await loadTorch<StateDict>(path.join(folder, 'opt-torch.pt')));
  if (c.extras) {
    // Kept on the groups under PyTorch's names, as they are.
    opt.paramGroups.forEach((g, gi) => {
      const group = g as unknown as Record<string, unknown>;
      expect(group.name, c.name).to.equal(`group ${gi}`);
      expect(group.initial_lr, c.name).to.equal(group.lr);
      if (compat === '2.x') expect(group.param_names, c.name).to.deep.equal((c.groups[gi].params as number[]).map((i) => PARAMS[i].name));
    });
  }
  const { grads } = inputs(c, seed);
  for (let t = K; t < K + M; t++) {
    params.forEach((p, i) => (p.grad = grads[t][i]));
    opt.step();
  }
  await saveTorch(opt.stateDict(), path.join(folder, 'opt-node.pt'));
  await saveTorch(Object.fromEntries(PARAMS.map((p, i) => [p.name, params[i]])), path.join(folder, 'model-node.pt'));
}

/** Record names after the archive folder, in file order (data/<n> folded into one). */
async function recordLayout(file: string): Promise<string[]> {
  const names = (await zipRecords(fs.readFileSync(file))).map((r) => r.name.slice(r.name.indexOf('/') + 1));
  return names.map((n) => (n.startsWith('data/') ? 'data/*' : n)).filter((n, i, all) => all.indexOf(n) === i);
}

/** The round trips of npm test: groups, float64, and each optimizer with the keys real runs leave; all in the full suite. */
const roundTrips = quickSlice(CASES, (c) =>
  ['groups', 'float64', 'adagrad-extra-group-keys', 'sgd', 'adam', 'adamw-extra-group-keys'].includes(c.name));
/** Both generations in the full suite, the default one (2.x) in npm test. */
const generations = quickSlice(['torch-1.13', 'torch-2.6'] as const, (id) => id === 'torch-2.6');

describe('torch.save interchange with real PyTorch (resume across Node and PyTorch, bit for bit)', function () {
  this.timeout(300_000);

  for (const id of generations) {
    it(`${id} → Node → ${id}: ${roundTrips.length} of ${CASES.length} cases resume bit for bit, and Node writes the files ${id} writes`, async function () {
      const oracle = oracleFor(this, id);
      const dir = oracle.tempDir();
      try {
        const seed = (c: IoCase) => CASES.indexOf(c) + 1;
        const cases = roundTrips.map((c) => request(c, seed(c)));
        const trained = oracle.run(script, { mode: 'train', dir: dir.python, cases }) as { cases: Answer[] };
        for (const c of roundTrips) {
          await continueInNode(c, seed(c), path.join(dir.host, c.name), id === 'torch-1.13' ? '1.13' : '2.x');
        }
        const resumed = oracle.run(script, { mode: 'resume', dir: dir.python, cases }) as { cases: Answer[] };
        for (const [i, c] of roundTrips.entries()) {
          const reference = trained.cases[i];
          const theirs = resumed.cases[i];
          expect(theirs.form, `${c.name}: the state dict form`).to.deep.equal(reference.form);
          expect(theirs.final, `${c.name}: the final params and state`).to.deep.equal(reference.final);
          const folder = path.join(dir.host, c.name);
          expect(await recordLayout(path.join(folder, 'opt-node.pt')), `${c.name}: records`)
            .to.deep.equal(await recordLayout(path.join(folder, 'opt-torch.pt')));
        }
      } finally {
        fs.rmSync(dir.host, { recursive: true, force: true });
      }
    });

  }

  for (const id of generations) {
    it(`${id} loads Node's rewrite of each of its own fixture files (torch.load defaults) and finds the same values`, async function () {
      const oracle = oracleFor(this, id);
      const fixtures = path.join(__dirname, 'fixtures', 'torch-files', id);
      const expected = JSON.parse(fs.readFileSync(path.join(fixtures, 'expected.json'), 'utf8')) as { files: Record<string, unknown> };
      const dir = oracle.tempDir();
      try {
        for (const name of Object.keys(expected.files)) {
          await saveTorch(await loadTorch(path.join(fixtures, name)), path.join(dir.host, name));
        }
        const answer = oracle.run(script, { mode: 'describe', dir: dir.python }) as { files: Record<string, unknown> };
        expect(answer.files).to.deep.equal(expected.files);
      } finally {
        fs.rmSync(dir.host, { recursive: true, force: true });
      }
    });
  }
});

interface Answer {
  name: string;
  form: unknown;
  final: unknown;
}

describe('an optimizer dict inside a checkpoint ({ model, optimizer, epoch })', function () {
  this.timeout(120_000);
  /** A checkpoint as training scripts save one, from a 1.13 or 2.x optimizer. */
  function checkpoint(compat: '1.13' | '2.x') {
    const w = new Parameter(randomF32(6, 1), [2, 3]);
    const b = new Parameter(randomF32(2, 2));
    const opt = new RMSprop([w, b], { momentum: 0.9, compat });
    [w.grad, b.grad] = [randomF32(6, 3), randomF32(2, 4)];
    opt.step();
    return { model: { weight: w, bias: b }, optimizer: opt.stateDict(), epoch: 3 };
  }

  it('is written with int state keys and its generation\'s step type, as at the top level', async () => {
    for (const compat of ['1.13', '2.x'] as const) {
      const loaded = await loadTorch<{ optimizer: StateDict }>(await torchBytes(checkpoint(compat)));
      for (const key of Object.keys(loaded.optimizer.state)) expect(isIntKey(loaded.optimizer.state, key), `${compat} state key ${key}`).to.equal(true);
      expect(typeof loaded.optimizer.state[0].step, compat).to.equal(compat === '1.13' ? 'number' : 'object');
    }
    // Deeper (Lightning keeps a list of them), and one of each generation in one file: each its own step type.
    const deep = { optimizer_states: [checkpoint('1.13').optimizer, checkpoint('2.x').optimizer] };
    const loaded = await loadTorch<{ optimizer_states: StateDict[] }>(await torchBytes(deep));
    expect(loaded.optimizer_states.map((sd) => typeof sd.state[0].step)).to.deep.equal(['number', 'object']);
    expect(isIntKey(loaded.optimizer_states[0].state, '0')).to.equal(true);
  });

  for (const id of generations) {
    it(`${id} loads it and finds a state for every param`, async function () {
      const oracle = oracleFor(this, id);
      const dir = oracle.tempDir();
      try {
        await saveTorch(checkpoint(id === 'torch-1.13' ? '1.13' : '2.x'), path.join(dir.host, 'ckpt.pt'));
        const answer = oracle.run(script, { mode: 'describe', dir: dir.python }) as { files: Record<string, DescribedDict> };
        const optimizer = answer.files['ckpt.pt'].dict.find(([k]) => k === 'optimizer')![1] as DescribedDict;
        const state = optimizer.dict.find(([k]) => k === 'state')![1] as DescribedDict;
        expect(state.dict.map(([k]) => k)).to.deep.equal(['int:0', 'int:1']);
      } finally {
        fs.rmSync(dir.host, { recursive: true, force: true });
      }
    });
  }
});

interface DescribedDict {
  dict: [string, unknown][];
}
