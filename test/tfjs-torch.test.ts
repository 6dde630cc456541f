// torchSequential: a TF.js model of dense layers as PyTorch's nn.Sequential
// of Linear layers, both ways, for its weights and its tfOptimizer's state.
// The live part trains an MLP in PyTorch 2.6, goes on in TF.js with
// PyTorch's recorded gradients (TF.js's backward pass cannot give ATen's
// bits), equal step by step, and back to PyTorch, which ends where its own
// uninterrupted run ended.
import { expect } from 'chai';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import * as tfl from '@tensorflow/tfjs-layers';
import { AdamW, loadTorch, Optimizer, Parameter, RMSprop, saveTorch, torchBytes, type StateDict, type TensorRecord } from '../lib';
import { tfOptimizer, torchSequential } from '../lib/tfjs';
import { bytesOf, quickSlice, randomF32 } from './helpers';
import { oracleFor } from './torch/python';

const b64 = (a: ArrayBufferView) => bytesOf(a).toString('base64');
const fromB64 = (text: string) => new Float32Array(new Uint8Array(Buffer.from(text, 'base64')).buffer);

/** PyTorch's nn.Sequential(Linear(64, 32), ReLU(), Linear(32, 10)) in TF.js. */
function mlp(): tfl.Sequential {
  return tfl.sequential({
    layers: [tfl.layers.dense({ units: 32, activation: 'relu', inputShape: [64] }), tfl.layers.dense({ units: 10 })],
  });
}

/** A [rows, cols] float32 matrix transposed. */
function transposed(data: Float32Array, rows: number, cols: number): Float32Array {
  return tf.tidy(() => tf.transpose(tf.tensor(data, [rows, cols])).dataSync() as Float32Array).slice();
}

/** Trains a few steps on random data so that the optimizer has state. */
async function trained(model: tfl.LayersModel, opt: tf.Optimizer): Promise<void> {
  model.compile({ optimizer: opt, loss: 'meanSquaredError' });
  const xs = tf.tensor(randomF32(32 * 64, 1), [32, 64]);
  const ys = tf.tensor(randomF32(32 * 10, 2), [32, 10]);
  await model.fit(xs, ys, { epochs: 2, batchSize: 16, shuffle: false, verbose: 0 });
  tf.dispose([xs, ys]);
}

describe('torchSequential: a TF.js dense model as PyTorch nn.Sequential', () => {
  before(async () => {
    tf.env().set('PROD', true);
    expect(await tf.setBackend('cpu')).to.equal(true);
  });

  it('numbers the Linear layers as nn.Sequential numbers its modules', () => {
    expect(torchSequential(mlp()).names).to.deep.equal(['0', '2']);
    const many = tfl.sequential({
      layers: [
        tfl.layers.dense({ units: 8, inputShape: [4] }), // Linear: 0
        tfl.layers.dropout({ rate: 0.5 }), // Dropout: 1
        tfl.layers.dense({ units: 8, activation: 'tanh' }), // Linear, Tanh: 2, 3
        tfl.layers.activation({ activation: 'relu' }), // ReLU: 4
        tfl.layers.dense({ units: 2, activation: 'softmax', useBias: false }), // Linear: 5
      ],
    });
    const torch = torchSequential(many);
    expect(torch.names).to.deep.equal(['0', '2', '5']);
    expect(Object.keys(torch.stateDict())).to.deep.equal(['0.weight', '0.bias', '2.weight', '2.bias', '5.weight']);
    // A functional model's input layer is no module.
    const input = tfl.input({ shape: [4] });
    const output = tfl.layers.dense({ units: 3 }).apply(tfl.layers.dense({ units: 5, activation: 'relu' }).apply(input)) as tfl.SymbolicTensor;
    expect(torchSequential(tfl.model({ inputs: input, outputs: output })).names).to.deep.equal(['0', '2']);
    expect(Object.keys(torchSequential(mlp(), { names: ['encoder.0', 'head'] }).stateDict())).to.deep.equal(['encoder.0.weight', 'encoder.0.bias', 'head.weight', 'head.bias']);
  });

  it('gives the weights as PyTorch holds them (kernels transposed) and loads them back into another model', () => {
    const a = mlp();
    const dict = torchSequential(a).stateDict();
    const kernel = a.layers[0].getWeights()[0];
    expect(dict['0.weight'].shape).to.deep.equal([32, 64]);
    expect(b64(dict['0.weight'].data)).to.equal(b64(transposed(kernel.dataSync() as Float32Array, 64, 32)));
    expect(b64(dict['0.bias'].data)).to.equal(b64(a.layers[0].getWeights()[1].dataSync()));
    const b = mlp();
    const before = tf.memory().numTensors;
    torchSequential(b).loadStateDict(new Map(Object.entries(dict)));
    expect(tf.memory().numTensors).to.equal(before);
    a.weights.forEach((w, i) => expect(b64(b.weights[i].read().dataSync()), w.name).to.equal(b64(w.read().dataSync())));
  });

  it('loads float64 and bfloat16 weights as float32', () => {
    const model = mlp();
    const dict = torchSequential(model).stateDict();
    const wide = Object.fromEntries(Object.entries(dict).map(([k, r]) => [k, { dtype: 'float64', shape: r.shape, data: Float64Array.from(r.data as Float32Array) }]));
    const other = mlp();
    torchSequential(other).loadStateDict(wide);
    other.weights.forEach((w, i) => expect(b64(w.read().dataSync()), w.name).to.equal(b64(model.weights[i].read().dataSync())));
    // bfloat16 is float32's upper half: each value widens exactly.
    const bits = (r: TensorRecord) => Uint16Array.from(new Uint32Array((r.data as Float32Array).slice().buffer), (u) => u >>> 16);
    const half = Object.fromEntries(Object.entries(dict).map(([k, r]) => [k, { dtype: 'bfloat16', shape: r.shape, data: bits(r) }]));
    torchSequential(other).loadStateDict(half);
    const bias = other.layers[1].getWeights()[1].dataSync() as Float32Array;
    expect([...new Uint32Array(bias.slice().buffer)]).to.deep.equal([...bits(dict['2.bias'])].map((b) => (b << 16) >>> 0));
  });

  it('refuses a dict that does not match, naming the entries, and changes no weight', async () => {
    const model = mlp();
    const torch = torchSequential(model);
    const good = torch.stateDict();
    const weightsBefore = model.weights.map((w) => b64(w.read().dataSync()));
    const other = mlp();
    const bad: [Record<string, unknown>, RegExp][] = [
      [{ ...good, '3.weight': good['2.weight'] }, /unexpected 3\.weight.*maps to 0\.weight, 0\.bias, 2\.weight, 2\.bias.*names option/],
      [(({ '2.bias': _, ...rest }) => rest)(good), /missing 2\.bias/],
      [{ ...good, '2.weight': { ...good['2.weight'], shape: [32, 10], data: good['2.weight'].data } }, /2\.weight has shape \[32, 10\], the model's dense_Dense\d+\/kernel maps to \[10, 32\]/],
      [{ ...good, '2.bias': { dtype: 'int32', shape: [10], data: new Int32Array(10) } }, /2\.bias is int32; a weight must be a float tensor/],
      [{ ...good, '0.bias': { dtype: 'float32', shape: [32], data: new Float32Array(3) } }, /0\.bias/],
    ];
    const target = torchSequential(other);
    const targetBefore = other.weights.map((w) => b64(w.read().dataSync()));
    for (const [dict, message] of bad) expect(() => target.loadStateDict(dict)).to.throw(message);
    expect(other.weights.map((w) => b64(w.read().dataSync()))).to.deep.equal(targetBefore);
    expect(() => target.loadStateDict(Promise.resolve({}) as never)).to.throw(/Promise: did you forget await/);
    expect(() => target.loadStateDict([] as never)).to.throw(TypeError, /state_dict/);
    expect(model.weights.map((w) => b64(w.read().dataSync()))).to.deep.equal(weightsBefore);
  });

  it('refuses models and options it cannot map, saying why', () => {
    const conv = tfl.sequential({ layers: [tfl.layers.conv1d({ filters: 2, kernelSize: 2, inputShape: [4, 1] }), tfl.layers.flatten(), tfl.layers.dense({ units: 2 })] });
    expect(() => torchSequential(conv)).to.throw(TypeError, /dense layers only, but layer conv1d_Conv1D\d+ is a Conv1D with weights/);
    expect(() => torchSequential(mlp(), { names: ['0'] })).to.throw(TypeError, /2 module names, one per dense layer/);
    expect(() => torchSequential(mlp(), { names: ['a', 'a'] })).to.throw(RangeError, /not distinct/);
    expect(() => torchSequential(mlp(), { nmes: ['a', 'b'] } as never)).to.throw(TypeError, /Unknown option 'nmes'/);
    expect(() => torchSequential({} as never)).to.throw(TypeError, /tfjs-layers model/);
    expect(() => torchSequential(tfl.sequential({ layers: [tfl.layers.flatten({ inputShape: [2, 2] })] }))).to.throw(RangeError, /no dense layer/);
  });

  const factories: [string, (params: Parameter[]) => Optimizer][] = [
    ['RMSprop', (p) => new RMSprop(p, { lr: 1e-2, centered: true, momentum: 0.5 })],
    ['AdamW', (p) => new AdamW(p, { lr: 1e-2, amsgrad: true })],
  ];
  for (const [label, make] of factories) {
    it(`moves ${label}'s state to PyTorch's layout and back, kernels' state transposed`, async () => {
      const model = mlp();
      const opt = tfOptimizer(make);
      await trained(model, opt);
      const torch = torchSequential(model);
      const dict = torch.optimizerStateDict(opt);
      expect(dict.param_groups[0].param_names).to.deep.equal(['0.weight', '0.bias', '2.weight', '2.bias']);
      const inner = opt.optimizer.stateDict();
      for (const [id, entry] of Object.entries(inner.state)) {
        for (const [key, value] of Object.entries(entry)) {
          const mine = value as TensorRecord;
          const theirs = dict.state[Number(id)][key] as TensorRecord;
          if (Number(id) % 2 === 0 && typeof value === 'object' && mine.shape.length === 2) {
            expect(theirs.shape, key).to.deep.equal([mine.shape[1], mine.shape[0]]);
            expect(b64(theirs.data), key).to.equal(b64(transposed(mine.data as Float32Array, mine.shape[0], mine.shape[1])));
          } else {
            expect(theirs, key).to.deep.equal(value);
          }
        }
      }
      // Through a file and into a fresh tfOptimizer (built from the model's weights), the state comes back as it was.
      const reloaded = await loadTorch<StateDict>(await torchBytes(dict));
      const again = tfOptimizer(make);
      torch.loadOptimizerStateDict(again, reloaded);
      expect(again.names).to.deep.equal(opt.names);
      expect(again.optimizer.stateDict()).to.deep.equal(inner);
    });
  }

  it('refuses an optimizer dict for other params, with their names, and leaves the optimizer as it was', async () => {
    const model = mlp();
    const opt = tfOptimizer((p) => new RMSprop(p, { lr: 1e-2 }));
    await trained(model, opt);
    const torch = torchSequential(model);
    const good = torch.optimizerStateDict(opt);
    const before = opt.optimizer.stateDict();
    const renamed = { ...good, param_groups: [{ ...good.param_groups[0], param_names: ['0.weight', '0.bias', '3.weight', '3.bias'] }] };
    expect(() => torch.loadOptimizerStateDict(opt, renamed)).to.throw(RangeError, /param_names\[2\] is "3\.weight", but the tfOptimizer's param there is dense_Dense\d+\/kernel, PyTorch's 2\.weight/);
    const short = { state: {}, param_groups: [{ ...good.param_groups[0], params: [0, 1], param_names: undefined }] };
    expect(() => torch.loadOptimizerStateDict(opt, short as never)).to.throw(RangeError, /lists 2 params, the tfOptimizer steps 4/);
    const wrongShape = { ...good, state: { ...good.state, 0: { ...good.state[0], square_avg: { dtype: 'float32', shape: [64, 32], data: new Float32Array(64 * 32) } } } };
    expect(() => torch.loadOptimizerStateDict(opt, wrongShape as StateDict)).to.throw(RangeError, /square_avg of 0\.weight is float32 \[64, 32\], expected float32 \[32, 64\]/);
    expect(() => torch.optimizerStateDict(tfOptimizer((p) => new RMSprop(p)))).to.throw(/made at the first step/);
    const otherModel = mlp();
    expect(() => torchSequential(otherModel).optimizerStateDict(opt)).to.throw(RangeError, /steps dense_Dense\d+\/kernel, which is not a weight of this model's dense layers/);
    expect(() => torchSequential(otherModel).loadOptimizerStateDict(opt, good)).to.throw(RangeError, /which is not a weight of this model's dense layers/);
    expect(opt.optimizer.stateDict()).to.deep.equal(before);
    expect(opt.names).to.have.length(4);
    // A tfOptimizer not yet made stays so when the dict does not load.
    const fresh = tfOptimizer((p) => new RMSprop(p));
    expect(() => torchSequential(otherModel).loadOptimizerStateDict(fresh, renamed)).to.throw(RangeError, /param_names\[2\] is "3\.weight"/);
    expect(() => fresh.optimizer).to.throw(/made at the first step/);
    expect(fresh.names).to.deep.equal([]);
  });

  // npm test runs RMSprop; the full suite AdamW too.
  for (const [optimizer, options, named] of quickSlice([
    ['RMSprop', { lr: 1e-2, alpha: 0.9, centered: true, momentum: 0.5, weight_decay: 1e-3 }, false],
    ['AdamW', { lr: 1e-2, weight_decay: 0.05, amsgrad: true }, true],
  ] as const, ([name]) => name === 'RMSprop')) {
    it(`continues PyTorch 2.6's ${optimizer} (${named ? 'named params' : 'model.parameters()'}) step by step equal, and PyTorch continues from TF.js`, async function () {
      this.timeout(120_000);
      const oracle = oracleFor(this, 'torch-2.6');
      const script = fs.readFileSync(path.join(__dirname, 'torch', 'tfjs_oracle.py'), 'utf8');
      const dir = oracle.tempDir();
      try {
        const request = { optimizer, options, named, warm: 15, more: 10, tail: 10, dir: dir.python };
        type Step = { grads: Record<string, string>; weights: Record<string, string>; state: Record<string, Record<string, string>> };
        const start = oracle.run(script, { ...request, mode: 'start' }) as { recorded: Step[]; final: Record<string, string> };

        const model = mlp();
        const torch = torchSequential(model);
        torch.loadStateDict(await loadTorch(path.join(dir.host, 'model.pt')));
        // The factory's hyperparameters are replaced by the dict's, as in PyTorch's load_state_dict.
        const opt = tfOptimizer((params) => (optimizer === 'RMSprop' ? new RMSprop(params) : new AdamW(params)));
        torch.loadOptimizerStateDict(opt, await loadTorch<StateDict>(path.join(dir.host, 'optimizer.pt')));
        const variables = torch.variables();
        start.recorded.forEach((step, k) => {
          const grads = ['0.weight', '0.bias', '2.weight', '2.bias'].map((name, i) => {
            const shape = variables[i].shape;
            const data = fromB64(step.grads[name]);
            return { name: variables[i].name, tensor: tf.tensor(shape.length === 2 ? transposed(data, shape[1], shape[0]) : data, shape) };
          });
          opt.applyGradients(grads);
          tf.dispose(grads.map((g) => g.tensor));
          const weights = torch.stateDict();
          const state = torch.optimizerStateDict(opt);
          for (const [i, name] of ['0.weight', '0.bias', '2.weight', '2.bias'].entries()) {
            expect(b64(weights[name].data), `step ${k + 1}: ${name}`).to.equal(step.weights[name]);
            for (const [key, value] of Object.entries(step.state[name])) {
              const mine = state.state[i][key];
              // simd-optim holds the step as a number; PyTorch 2.x as a float32 scalar tensor (saveTorch writes it so).
              if (typeof mine === 'number') expect(mine, `step ${k + 1}: ${name} ${key}`).to.equal(fromB64(value)[0]);
              else expect(b64((mine as TensorRecord).data), `step ${k + 1}: ${name} ${key}`).to.equal(value);
            }
          }
        });
        expect(opt.lastTransfer).to.include({ path: 'cpu-shared' });
        await saveTorch(torch.stateDict(), path.join(dir.host, 'node-model.pt'));
        await saveTorch(torch.optimizerStateDict(opt), path.join(dir.host, 'node-optimizer.pt'));
        const back = oracle.run(script, { ...request, mode: 'resume' }) as { final: Record<string, string> };
        expect(back.final, "PyTorch from TF.js's files ends where its uninterrupted run ended").to.deep.equal(start.final);
      } finally {
        fs.rmSync(dir.host, { recursive: true, force: true });
      }
    });
  }
});
