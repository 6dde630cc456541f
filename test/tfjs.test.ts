// simd-optim/tfjs on TensorFlow.js 4.22's cpu and wasm backends: a model
// trained with model.fit through tfOptimizer gets exactly the weights
// simd-optim gives stepping the same gradients directly, without leaking
// tensors, and a step never changes memory TF.js or the user still reads.
import { expect } from 'chai';
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-backend-wasm';
import * as tfl from '@tensorflow/tfjs-layers';
import { Adagrad, Adam, AdamW, OneCycleLR, Optimizer, Parameter, RMSprop, SGD, type RMSpropOptions } from '../lib';
import { TfOptimizer, tfOptimizer, type NamedTensor } from '../lib/tfjs';
import { CustomRMSprop } from '../examples/custom-rmsprop';
import { bytesOf, randomF32 } from './helpers';
import { recordGradients } from './tfjs-helpers';

const OPTIONS: Partial<RMSpropOptions> = { lr: 1e-2, alpha: 0.9, centered: true, momentum: 0.5, weightDecay: 1e-3 };

/** Every simd-optim optimizer, with options that use its less common paths. */
const OPTIMIZERS: [string, (params: Parameter[]) => Optimizer][] = [
  ['RMSprop', (p) => new RMSprop(p, OPTIONS)],
  ['Adagrad', (p) => new Adagrad(p, { lr: 0.05, lrDecay: 1e-3, weightDecay: 1e-3, initialAccumulatorValue: 0.1 })],
  ['SGD', (p) => new SGD(p, { lr: 0.05, momentum: 0.9, nesterov: true, weightDecay: 1e-3 })],
  ['Adam', (p) => new Adam(p, { lr: 1e-2, amsgrad: true })],
  ['AdamW', (p) => new AdamW(p, { lr: 1e-2, weightDecay: 0.1 })],
];

/** A small dense model on 8 features, 3 outputs, and a batch of data for it. */
function denseModel(): tfl.Sequential {
  return tfl.sequential({
    layers: [tfl.layers.dense({ units: 16, activation: 'relu', inputShape: [8] }), tfl.layers.dense({ units: 3 })],
  });
}
const data = () => ({ xs: tf.tensor(randomF32(64 * 8, 1), [64, 8]), ys: tf.tensor(randomF32(64 * 3, 2), [64, 3]) });

/** The trainable weights' names and copies of their values. */
function weightsOf(model: tfl.LayersModel): Map<string, Float32Array> {
  return new Map(model.trainableWeights.map((w) => [(w.read() as tf.Variable).name, (w.read().dataSync() as Float32Array).slice()]));
}

const hexOf = (a: Float32Array) => bytesOf(a).toString('hex');

for (const backend of ['cpu', 'wasm']) {
  describe(`tfOptimizer on TF.js's ${backend} backend`, () => {
    before(async () => {
      tf.env().set('PROD', true); // no "install tfjs-node" banner
      expect(await tf.setBackend(backend)).to.equal(true);
      await tf.ready();
    });

    it('is a true subclass of the app\'s tf.Optimizer, and checks its arguments', () => {
      const opt = tfOptimizer((params) => new RMSprop(params));
      expect(Object.getPrototypeOf(Object.getPrototypeOf(opt))).to.equal(tf.Optimizer.prototype);
      const make = (params: Parameter[]) => new RMSprop(params);
      expect(() => tfOptimizer(make, { transfr: 'copy' } as never)).to.throw(TypeError, /Unknown option 'transfr' for tfOptimizer \(did you mean 'transfer'\?\)/);
      expect(() => tfOptimizer(make, null as never)).to.throw(TypeError, /an options object for tfOptimizer options but received null/);
      expect(() => tfOptimizer(make, { transfer: 'zero' as never })).to.throw(TypeError, /'auto' or 'copy' for tfOptimizer transfer but received "zero"/);
      expect(() => tfOptimizer(new RMSprop([new Parameter(new Float32Array(1))]) as never)).to.throw(TypeError, /a function \(params, names\) => optimizer for tfOptimizer factory/);
    });

    for (const [label, make] of OPTIMIZERS) for (const transfer of ['auto', 'copy'] as const) {
    it(`trains a model with model.fit exactly as ${label} steps the same gradients, bit for bit (transfer: '${transfer}')`, async () => {
      const model = denseModel();
      const initial = weightsOf(model);
      const opt = tfOptimizer(make, { transfer });
      const steps = recordGradients(opt);
      model.compile({ optimizer: opt, loss: 'meanSquaredError' });
      const { xs, ys } = data();
      await model.fit(xs, ys, { epochs: 5, batchSize: 16, shuffle: false, verbose: 0 }); // 20 steps
      expect(steps).to.have.length(20);
      expect(opt.names).to.deep.equal([...initial.keys()]);

      const params = opt.names.map((name, i) => new Parameter(initial.get(name)!.slice(), model.trainableWeights[i].shape as number[]));
      const direct = make(params);
      for (const grads of steps) {
        params.forEach((p, i) => (p.grad = grads.get(opt.names[i])!));
        direct.step();
      }
      const trained = weightsOf(model);
      opt.names.forEach((name, i) => {
        expect(hexOf(trained.get(name)!), name).to.equal(hexOf(params[i].data as Float32Array));
        expect(hexOf(trained.get(name)!), `${name} was trained`).to.not.equal(hexOf(initial.get(name)!));
      });
      expect(opt.lastTransfer).to.deep.equal(
        transfer === 'copy' ? { path: 'copy', inPlace: 0, copied: 4 }
          : backend === 'cpu' ? { path: 'cpu-shared', inPlace: 4, copied: 0 } : { path: 'wasm-heap', inPlace: 0, copied: 4 },
      );
      tf.dispose([xs, ys]);
      model.dispose();
    });
    }

    it('trains with an optimizer of the user\'s own (examples/custom-rmsprop.ts) as with the built-in RMSprop, bit for bit', async () => {
      const { xs, ys } = data();
      const [a, b] = [denseModel(), denseModel()];
      b.setWeights(a.getWeights());
      a.compile({ optimizer: tfOptimizer((params) => new CustomRMSprop(params, { lr: 1e-2, alpha: 0.9 })), loss: 'meanSquaredError' });
      b.compile({ optimizer: tfOptimizer((params) => new RMSprop(params, { lr: 1e-2, alpha: 0.9 })), loss: 'meanSquaredError' });
      for (const model of [a, b]) await model.fit(xs, ys, { epochs: 3, batchSize: 16, shuffle: false, verbose: 0 });
      expect([...weightsOf(a).values()].map(hexOf)).to.deep.equal([...weightsOf(b).values()].map(hexOf));
      tf.dispose([xs, ys]);
      a.dispose();
      b.dispose();
    });

    it('trains with fitDataset', async () => {
      const model = denseModel();
      const opt = tfOptimizer((params) => new RMSprop(params, OPTIONS));
      model.compile({ optimizer: opt, loss: 'meanSquaredError' });
      const { xs, ys } = data();
      // tf.data lives in @tensorflow/tfjs-data; fitDataset needs only iterator().
      const batches = 4;
      const dataset = {
        size: batches,
        iterator: async () => {
          let i = 0;
          return { next: async () => (i < batches ? { value: { xs: tf.slice(xs, [16 * i, 0], [16, 8]), ys: tf.slice(ys, [16 * i++, 0], [16, 3]) }, done: false } : { value: null, done: true }) };
        },
      };
      const before = weightsOf(model);
      await model.fitDataset(dataset as unknown as Parameters<typeof model.fitDataset>[0], { epochs: 2, verbose: 0 });
      expect(opt.iterations).to.equal(8);
      const after = weightsOf(model);
      for (const [name, w] of before) expect(hexOf(after.get(name)!), name).to.not.equal(hexOf(w));
      tf.dispose([xs, ys]);
      model.dispose();
    });

    it('leaks no tensors over 1,000 steps, and leaves none once disposed', async () => {
      const empty = tf.memory().numTensors;
      const model = denseModel();
      const opt = tfOptimizer((params) => new RMSprop(params, OPTIONS));
      model.compile({ optimizer: opt, loss: 'meanSquaredError' });
      const { xs, ys } = data();
      await model.fit(xs, ys, { epochs: 1, batchSize: 8, verbose: 0 });
      const before = tf.memory().numTensors;
      await model.fit(xs, ys, { epochs: 125, batchSize: 8, verbose: 0 }); // 1,000 steps
      expect(tf.memory().numTensors).to.equal(before);
      tf.dispose([xs, ys]);
      model.dispose();
      opt.dispose();
      expect(tf.memory().numTensors).to.equal(empty);
    });

    it('steps with minimize(f), in both forms applyGradients takes, as RMSprop does', () => {
      const start = randomF32(5, 3);
      const v = tf.variable(tf.tensor(start), true, `v-${backend}`);
      const target = tf.tensor(randomF32(5, 4));
      const loss = () => tf.sum(tf.square(tf.sub(v, target))) as tf.Scalar;
      const opt = tfOptimizer((params) => new RMSprop(params, OPTIONS));
      opt.minimize(loss); // a NamedTensorMap
      opt.minimize(loss, false, [v]); // a list
      const p = new Parameter(start.slice());
      const direct = new RMSprop([p], OPTIONS);
      const t = target.dataSync() as Float32Array;
      for (let s = 0; s < 2; s++) {
        p.grad = Float32Array.from(p.data, (x, i) => Math.fround(2 * Math.fround(x - t[i])));
        direct.step();
      }
      expect(hexOf(v.dataSync() as Float32Array)).to.equal(hexOf(p.data as Float32Array));
      expect(opt.names).to.deep.equal([`v-${backend}`]);
      tf.dispose([v, target]);
    });

    it('never changes memory that another tensor or the user still reads', async () => {
      const model = denseModel();
      const opt = tfOptimizer((params) => new RMSprop(params, OPTIONS));
      model.compile({ optimizer: opt, loss: 'meanSquaredError' });
      const { xs, ys } = data();
      await model.fit(xs, ys, { epochs: 1, batchSize: 64, verbose: 0 });
      // The user's own arrays, set as weights (on cpu the tensor keeps them), and a clone of a trained weight.
      const mine = model.getWeights().map((w) => (w.dataSync() as Float32Array).slice());
      const kept = mine.map((a) => a.slice());
      model.setWeights(mine.map((a, i) => tf.tensor(a, model.getWeights()[i].shape)));
      const kernel = model.trainableWeights[0].read();
      const clone = tf.clone(kernel);
      const cloned = (clone.dataSync() as Float32Array).slice();
      await model.fit(xs, ys, { epochs: 1, batchSize: 64, verbose: 0 });
      mine.forEach((a, i) => expect(hexOf(a), `the user's array ${i}`).to.equal(hexOf(kept[i])));
      expect(hexOf(clone.dataSync() as Float32Array)).to.equal(hexOf(cloned));
      expect(opt.lastTransfer!.inPlace).to.equal(0);
      // The model computes with the weights it holds (wasm's matMul caches packed weights per tensor).
      const fresh = denseModel();
      fresh.setWeights(model.getWeights().map((w) => tf.tensor(w.dataSync(), w.shape)));
      const a = model.predict(xs) as tf.Tensor;
      const b = fresh.predict(xs) as tf.Tensor;
      expect(hexOf(a.dataSync() as Float32Array)).to.equal(hexOf(b.dataSync() as Float32Array));
      tf.dispose([xs, ys, clone, a, b]);
      model.dispose();
      fresh.dispose();
    });

    it('keeps an array dataSync() gave (the cpu backend hands out its own) as it was, and steps in place again after', async () => {
      const model = denseModel();
      const opt = tfOptimizer((params) => new RMSprop(params, OPTIONS));
      model.compile({ optimizer: opt, loss: 'meanSquaredError' });
      const { xs, ys } = data();
      await model.fit(xs, ys, { epochs: 2, batchSize: 64, verbose: 0 });
      const held = model.trainableWeights.map((w) => w.read().dataSync() as Float32Array);
      const alias = held.map((a) => tf.tensor(a)); // on cpu, a second tensor over the same array
      const was = held.map((a) => hexOf(a.slice()));
      await model.fit(xs, ys, { epochs: 1, batchSize: 64, verbose: 0 });
      expect(held.map(hexOf)).to.deep.equal(was);
      expect(alias.map((t) => hexOf(t.dataSync() as Float32Array))).to.deep.equal(was);
      expect(opt.lastTransfer).to.deep.include(backend === 'cpu' ? { inPlace: 0, copied: 4 } : { inPlace: 0 });
      await model.fit(xs, ys, { epochs: 1, batchSize: 64, verbose: 0 });
      if (backend === 'cpu') expect(opt.lastTransfer).to.deep.include({ inPlace: 4, copied: 0 });
      tf.dispose([xs, ys, ...alias]);
      model.dispose();
    });

    // cpu only: TF.js 4.22's wasm backend has no UnsortedSegmentSum, the embedding's gradient.
    if (backend === 'cpu') it('steps an embedding in place on cpu (its Gather reads the table through the backend, not as a hand-out)', async function () {
      const model = tfl.sequential({
        layers: [tfl.layers.embedding({ inputDim: 20, outputDim: 4, inputLength: 3 }), tfl.layers.flatten(), tfl.layers.dense({ units: 2 })],
      });
      const opt = tfOptimizer((params) => new RMSprop(params, OPTIONS));
      model.compile({ optimizer: opt, loss: 'meanSquaredError' });
      const xs = tf.tensor2d([[1, 2, 3], [4, 5, 6], [7, 8, 9], [1, 5, 9]], [4, 3], 'int32');
      const ys = tf.tensor(randomF32(8, 7), [4, 2]);
      await model.fit(xs, ys, { epochs: 3, batchSize: 4, verbose: 0 });
      expect(opt.lastTransfer).to.deep.equal({ path: 'cpu-shared', inPlace: 3, copied: 0 });
      tf.dispose([xs, ys]);
      model.dispose();
    });

    it('hands the kernels the gradients where TF.js holds them, without a copy', () => {
      const v = tf.variable(tf.tensor(randomF32(300, 8), [30, 10]), true, `nocopy-${backend}`);
      const opt = tfOptimizer((params) => new RMSprop(params, OPTIONS));
      const loss = () => tf.sum(tf.square(v)) as tf.Scalar;
      opt.minimize(loss);
      let given: tf.Tensor | undefined;
      const apply = opt.applyGradients.bind(opt);
      opt.applyGradients = (grads) => {
        given = (grads as tf.NamedTensorMap)[v.name];
        apply(grads);
      };
      const step = opt.optimizer.step.bind(opt.optimizer);
      let where = '';
      opt.optimizer.step = () => {
        const grad = opt.optimizer.paramGroups[0].params[0].grad!;
        const b = tf.backend() as any;
        const id = (given as unknown as { dataId: object }).dataId;
        where = backend === 'cpu'
          ? String(grad === b.data.get(id).values)
          : String(grad.buffer === b.wasm.HEAPU8.buffer && grad.byteOffset === b.dataIdMap.get(id).memoryOffset);
        return step();
      };
      opt.minimize(loss);
      expect(where).to.equal('true');
      v.dispose();
    });

    const views: [string, (v: tf.Variable) => tf.Tensor | tf.Tensor[] | Promise<unknown>, (taken: Float32Array) => Float32Array[]][] = [
      ['a contiguous slice', (v) => tf.slice(v, [1, 0], [1, 3]), (t) => [t.subarray(3, 6)]],
      ['unstack\'s rows', (v) => tf.unstack(v), (t) => [0, 1, 2, 3].map((i) => t.subarray(3 * i, 3 * i + 3))],
      ['a pending data()', (v) => v.data(), (t) => [t]],
    ];
    for (const [label, take, expected] of views) {
      it(`leaves ${label} of a weight as it was when taken`, async () => {
        const v = tf.variable(tf.tensor(randomF32(12, 8), [4, 3]), true, `views-${label.length}-${backend}`);
        const opt = tfOptimizer((params) => new SGD(params, { lr: 0.1 }));
        const loss = () => tf.sum(tf.square(v)) as tf.Scalar;
        for (let i = 0; i < 3; i++) opt.minimize(loss);
        const param = opt.optimizer.paramGroups[0].params[0];
        if (backend === 'cpu') expect(param.data, 'the variable\'s own array').to.equal(tf.backend().readSync(v.dataId));
        // Taken without a read through the engine: on cpu these share the weight's array.
        const view = take(v);
        const taken = backend === 'cpu' ? (param.data as Float32Array).slice() : (tf.backend().readSync(v.dataId) as Float32Array).slice();
        opt.minimize(loss);
        opt.minimize(loss);
        const got = view instanceof Promise ? [(await view) as Float32Array] : [view].flat().map((t) => t.dataSync() as Float32Array);
        expect(got.map(hexOf)).to.deep.equal(expected(taken).map(hexOf));
        expect(hexOf(v.dataSync() as Float32Array), 'the weight trained on').to.not.equal(hexOf(taken));
        opt.minimize(loss);
        opt.minimize(loss);
        if (backend === 'cpu') expect(opt.lastTransfer, 'in place again after one copy').to.deep.include({ path: 'cpu-shared', inPlace: 1 });
        tf.dispose([v, ...(view instanceof Promise ? [] : [view].flat())]);
      });
    }

    it('keeps nothing of a first step it refused: the next call starts afresh', () => {
      const a = tf.variable(tf.ones([3]), true, `fresh-a-${backend}`);
      const b = tf.variable(tf.ones([2]), true, `fresh-b-${backend}`);
      const ints = tf.variable(tf.tensor([1, 2], [2], 'int32'), true, `fresh-i-${backend}`);
      const opt = tfOptimizer((params) => new SGD(params, { lr: 0.5 }));
      const g3 = tf.ones([3]);
      const g2 = tf.ones([2]);
      expect(() => opt.applyGradients({ [a.name]: g3, [ints.name]: g2 })).to.throw(TypeError, /variable fresh-i-\w+ is int32; simd-optim steps float32 variables/);
      expect(() => opt.applyGradients({ [a.name]: g3, [b.name]: g3 })).to.throw(TypeError, /the gradient of fresh-b-\w+ is float32 \[3\], its variable float32 \[2\]/);
      expect(() => opt.optimizer).to.throw(/made at the first step/);
      let calls = 0;
      const failing = tfOptimizer(() => {
        calls++;
        throw new RangeError('no optimizer today');
      });
      expect(() => failing.applyGradients({ [a.name]: g3 })).to.throw(/no optimizer today/);
      expect(failing.names).to.deep.equal([]);
      opt.applyGradients({ [a.name]: g3, [b.name]: g2 });
      expect(opt.names).to.deep.equal([a.name, b.name]);
      expect([...a.dataSync(), ...b.dataSync()]).to.deep.equal([0.5, 0.5, 0.5, 0.5, 0.5]);
      expect(calls).to.equal(1);
      tf.dispose([a, b, ints, g3, g2]);
    });

    it('loads weights set before the first step once, without keeping a copy, and keeps them when they do not fit', async () => {
      const { xs, ys } = data();
      const source = denseModel();
      const trained = tfOptimizer((params) => new RMSprop(params, OPTIONS));
      source.compile({ optimizer: trained, loss: 'meanSquaredError' });
      await source.fit(xs, ys, { epochs: 1, batchSize: 32, verbose: 0 });
      const saved = await trained.getWeights();
      const model = denseModel();
      const opt = tfOptimizer((params) => new RMSprop(params, OPTIONS));
      const before = tf.memory().numTensors;
      await opt.setWeights(saved);
      model.compile({ optimizer: opt, loss: 'meanSquaredError' });
      await model.fit(xs, ys, { epochs: 1, batchSize: 64, verbose: 0 });
      expect(tf.memory().numTensors, 'the kept copies are disposed once loaded').to.equal(before);
      // Weights for another optimizer: the first step fails, and again (nothing is lost or made), until fitting weights come.
      const other = tfOptimizer((params) => new RMSprop(params, OPTIONS));
      await other.setWeights(saved);
      const v = tf.variable(tf.ones([2]), true, `pending-${backend}`);
      const loss = () => tf.sum(tf.square(v)) as tf.Scalar;
      expect(() => other.minimize(loss)).to.throw(RangeError, /optimizer weights are for \d+ variables/);
      expect(() => other.minimize(loss)).to.throw(RangeError, /optimizer weights are for \d+ variables/);
      expect(other.names).to.deep.equal([]);
      await other.setWeights([saved[0]]);
      other.minimize(loss);
      expect(other.names).to.deep.equal([v.name]);
      tf.dispose([xs, ys, v, ...saved.map((w) => w.tensor)]);
      source.dispose();
      model.dispose();
    });

    it('changes nothing, and leaks nothing, when a step throws', () => {
      const v = tf.variable(tf.tensor(randomF32(6, 5)), true, `throws-${backend}`);
      const opt = tfOptimizer((params) => new RMSprop(params, { lr: 0.1 }));
      const loss = () => tf.sum(tf.square(v)) as tf.Scalar;
      opt.minimize(loss);
      const was = hexOf((v.dataSync() as Float32Array).slice());
      const tensors = tf.memory().numTensors;
      opt.optimizer.paramGroups[0].lr = NaN; // PyTorch refuses a non-finite lr set on a live group (a negative one it takes)
      expect(() => opt.minimize(loss)).to.throw(/learning rate/);
      expect(hexOf(v.dataSync() as Float32Array)).to.equal(was);
      expect(tf.memory().numTensors).to.equal(tensors);
      expect(opt.iterations).to.equal(1);
      v.dispose();
    });

    it('adds variables it meets later as a new param group, and refuses a variable whose shape changed', () => {
      const a = tf.variable(tf.ones([3]), true, `a-${backend}`);
      const b = tf.variable(tf.ones([2]), true, `b-${backend}`);
      const opt = tfOptimizer((params) => new RMSprop(params, { lr: 0.1 }));
      opt.minimize(() => tf.sum(tf.square(a)) as tf.Scalar, false, [a]);
      opt.minimize(() => tf.sum(tf.square(tf.concat([a, b]))) as tf.Scalar, false, [a, b]);
      expect(opt.optimizer.paramGroups.map((g) => (g as { param_names?: string[] }).param_names)).to.deep.equal([[`a-${backend}`], [`b-${backend}`]]);
      expect(opt.names).to.deep.equal([`a-${backend}`, `b-${backend}`]);
      b.dispose();
      const b2 = tf.variable(tf.ones([4]), true, `b-${backend}`);
      expect(() => opt.minimize(() => tf.sum(b2) as tf.Scalar, false, [b2])).to.throw(RangeError, /has shape \[4\] but it was \[2\]/);
      tf.dispose([a, b2]);
    });

    it('builds the optimizer before training from the variables given, in model.fit\'s order, and refuses what is not a live variable', async () => {
      const model = denseModel();
      const variables = model.trainableWeights.map((w) => w.read() as tf.Variable);
      const opt = tfOptimizer((params) => new RMSprop(params, OPTIONS));
      const notVariable = tf.zeros([2]);
      expect(() => opt.build([variables[0], notVariable as tf.Variable])).to.throw(TypeError, /build variables\[1\]/);
      notVariable.dispose();
      expect(() => opt.build('x' as never)).to.throw(TypeError, /an array of tf\.Variable/);
      expect(() => opt.optimizer).to.throw(/made at the first step/);
      opt.build(variables);
      expect(opt.names).to.deep.equal(variables.map((v) => v.name));
      const made = opt.optimizer;
      opt.build(variables.slice(1)); // known already: nothing changes
      expect(opt.optimizer).to.equal(made);
      expect(made.paramGroups).to.have.length(1);
      model.compile({ optimizer: opt, loss: 'meanSquaredError' });
      const { xs, ys } = data();
      await model.fit(xs, ys, { epochs: 1, batchSize: 64, verbose: 0 });
      expect(opt.optimizer).to.equal(made);
      expect(Object.keys(made.stateDict().state)).to.deep.equal(['0', '1', '2', '3']);
      tf.dispose([xs, ys]);
      model.dispose();
    });

    for (const [label, make] of OPTIMIZERS) {
      it(`round-trips ${label}'s state through getWeights and setWeights`, async () => {
        const { xs, ys } = data();
        const train = async (opt: TfOptimizer, model: tfl.Sequential) => {
          model.compile({ optimizer: opt, loss: 'meanSquaredError' });
          await model.fit(xs, ys, { epochs: 2, batchSize: 32, shuffle: false, verbose: 0 });
        };
        const valuesOf = (weights: NamedTensor[]) => weights.map((w) => `${w.name} ${w.tensor.dtype} ${hexOf(Float32Array.from(w.tensor.dataSync()))}`);
        const model = denseModel();
        const opt = tfOptimizer(make);
        await train(opt, model);
        const saved = await opt.getWeights();
        const dict = opt.optimizer.stateDict();
        expect(saved.map((w) => w.name)).to.deep.equal(['iter', ...opt.names.flatMap((n, i) => Object.keys(dict.state[i]).map((k) => `${n}/${k}`))]);
        if (label === 'RMSprop') expect(Object.keys(dict.state[0])).to.deep.equal(['step', 'square_avg', 'momentum_buffer', 'grad_avg']);

        // Into a new optimizer before its first step, on a copy of the model (whose variables have other names).
        const copy = denseModel();
        copy.setWeights(model.getWeights().map((w) => tf.tensor(w.dataSync(), w.shape)));
        const again = tfOptimizer(make);
        await again.setWeights(saved);
        expect(again.iterations).to.equal(opt.iterations);
        await train(opt, model);
        await train(again, copy);
        const [w1, w2] = [weightsOf(model), weightsOf(copy)];
        expect([...w2.values()].map(hexOf)).to.deep.equal([...w1.values()].map(hexOf));
        const [s1, s2] = [await opt.getWeights(), await again.getWeights()];
        expect(valuesOf(s2).map((v) => v.replace(/^dense_Dense\d+/, ''))).to.deep.equal(valuesOf(s1).map((v) => v.replace(/^dense_Dense\d+/, '')));

        // Into an optimizer that has its state already: back to the saved state.
        await again.setWeights(saved);
        const s3 = await again.getWeights();
        expect(valuesOf(s3).map((v) => v.replace(/^dense_Dense\d+/, ''))).to.deep.equal(valuesOf(saved).map((v) => v.replace(/^dense_Dense\d+/, '')));
        tf.dispose([xs, ys, ...[saved, s1, s2, s3].flat().map((w: NamedTensor) => w.tensor)]);
        model.dispose();
        copy.dispose();
      });
    }
  });
}

describe('tfOptimizer across a switch of backend', () => {
  after(() => tf.setBackend('cpu'));

  it('steps on whichever backend holds the variables, as RMSprop steps the same gradients', async () => {
    const start = randomF32(7, 6);
    await tf.setBackend('cpu');
    const v = tf.variable(tf.tensor(start), true, 'switching');
    const opt = tfOptimizer((params) => new RMSprop(params, OPTIONS));
    const steps = recordGradients(opt);
    const paths: string[] = [];
    for (const backend of ['cpu', 'wasm', 'cpu', 'wasm']) {
      await tf.setBackend(backend);
      for (let i = 0; i < 3; i++) opt.minimize(() => tf.sum(tf.mul(tf.square(v), tf.scalar(i + 1))) as tf.Scalar);
      paths.push(opt.lastTransfer!.path);
    }
    expect(paths).to.deep.equal(['cpu-shared', 'wasm-heap', 'cpu-shared', 'wasm-heap']);
    const p = new Parameter(start.slice());
    const direct = new RMSprop([p], OPTIONS);
    for (const grads of steps) {
      p.grad = grads.get('switching')!;
      direct.step();
    }
    expect(hexOf(v.dataSync() as Float32Array)).to.equal(hexOf(p.data as Float32Array));
    v.dispose();
  });

  it('steps with gradients computed before a switch of backend', async () => {
    const start = randomF32(5, 9);
    for (const [from, to] of [['cpu', 'wasm'], ['wasm', 'cpu']]) {
      await tf.setBackend(from);
      const v = tf.variable(tf.tensor(start), true, `grads-from-${from}`);
      const opt = tfOptimizer((params) => new RMSprop(params, OPTIONS));
      const { grads } = tf.variableGrads(() => tf.sum(tf.square(v)) as tf.Scalar);
      const g = (grads[v.name].dataSync() as Float32Array).slice();
      await tf.setBackend(to);
      opt.applyGradients(grads);
      const p = new Parameter(start.slice());
      p.grad = g;
      new RMSprop([p], OPTIONS).step();
      expect(hexOf(v.dataSync() as Float32Array), `${from} → ${to}`).to.equal(hexOf(p.data as Float32Array));
      tf.dispose([v, grads[v.name]]);
    }
  });
});

describe('a model saved with its tfOptimizer', () => {
  before(() => {
    tf.env().set('PROD', true);
    return tf.setBackend('cpu');
  });

  /** model.save into memory, with the optimizer. */
  async function saved(model: tfl.LayersModel): Promise<tf.io.ModelArtifacts> {
    let artifacts: tf.io.ModelArtifacts | undefined;
    await model.save(tf.io.withSaveHandler(async (a) => ((artifacts = a), { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } })), { includeOptimizer: true });
    return artifacts!;
  }

  it('loads with the same algorithm, groups, hyperparameters and state, and trains on bit for bit', async () => {
    const { xs, ys } = data();
    const model = denseModel();
    const opt = tfOptimizer((params) => new AdamW([
      { params: params.slice(0, 2), weightDecay: 0.05 },
      { params: params.slice(2), amsgrad: true },
    ], { lr: 1e-2, compat: '1.13' }));
    model.compile({ optimizer: opt, loss: 'meanSquaredError' });
    await model.fit(xs, ys, { epochs: 2, batchSize: 16, shuffle: false, verbose: 0 });
    opt.optimizer.paramGroups[1].lr = 3e-3; // as a scheduler would have set it
    const loaded = await tfl.loadLayersModel(tf.io.fromMemory(await saved(model)));
    const again = loaded.optimizer as TfOptimizer;
    expect(Object.getPrototypeOf(again).constructor.name).to.equal('TfOptimizer');
    expect(again.iterations).to.equal(opt.iterations);
    await model.fit(xs, ys, { epochs: 2, batchSize: 16, shuffle: false, verbose: 0 });
    await loaded.fit(xs, ys, { epochs: 2, batchSize: 16, shuffle: false, verbose: 0 });
    expect([...weightsOf(loaded).values()].map(hexOf)).to.deep.equal([...weightsOf(model).values()].map(hexOf));
    const [mine, theirs] = [opt.optimizer, again.optimizer];
    expect(theirs).to.be.instanceOf(AdamW);
    // The same dict but for the variables' names (a loaded model's variables get new ones).
    const unnamed = (o: Optimizer) => {
      const dict = o.stateDict();
      return { ...dict, param_groups: dict.param_groups.map(({ param_names, ...rest }) => rest) };
    };
    expect(unnamed(theirs)).to.deep.equal(unnamed(mine));
    expect((theirs as AdamW).paramGroups.map((g) => g.lr)).to.deep.equal([1e-2, 3e-3]);
    tf.dispose([xs, ys]);
    model.dispose();
    loaded.dispose();
  });

  it('keeps what a scheduler put in the groups (OneCycleLR), and the loaded model trains on bit for bit', async () => {
    const { xs, ys } = data();
    const model = denseModel();
    const opt = tfOptimizer((params) => new SGD(params, { lr: 0.01, momentum: 0.9 }));
    opt.build(model.trainableWeights.map((w) => w.read() as tf.Variable));
    const sched = new OneCycleLR(opt.optimizer, { maxLr: 0.1, totalSteps: 100 });
    model.compile({ optimizer: opt, loss: 'meanSquaredError' });
    await model.fit(xs, ys, { epochs: 1, batchSize: 16, shuffle: false, verbose: 0 });
    sched.step();
    const loaded = await tfl.loadLayersModel(tf.io.fromMemory(await saved(model)));
    const again = (loaded.optimizer as TfOptimizer<SGD>);
    await model.fit(xs, ys, { epochs: 1, batchSize: 16, shuffle: false, verbose: 0 });
    await loaded.fit(xs, ys, { epochs: 1, batchSize: 16, shuffle: false, verbose: 0 });
    expect([...weightsOf(loaded).values()].map(hexOf)).to.deep.equal([...weightsOf(model).values()].map(hexOf));
    const unnamed = (o: Optimizer) => o.stateDict().param_groups.map(({ param_names, ...rest }) => rest);
    expect(unnamed(again.optimizer)).to.deep.equal(unnamed(opt.optimizer));
    expect(again.optimizer.paramGroups[0]).to.include.keys('initial_lr', 'max_lr', 'min_lr');
    // A scheduler attached to the loaded optimizer goes on from the saved one's state.
    const resumed = new OneCycleLR(again.optimizer, { maxLr: 0.1, totalSteps: 100 });
    resumed.loadStateDict(sched.stateDict());
    sched.step();
    resumed.step();
    expect(again.optimizer.paramGroups[0].lr).to.equal(opt.optimizer.paramGroups[0].lr);
    tf.dispose([xs, ys]);
    model.dispose();
    loaded.dispose();
  });

  it('says why it cannot be saved before the first step, or with an optimizer of its own making, or loaded for another model', async () => {
    const model = denseModel();
    model.compile({ optimizer: tfOptimizer((params) => new RMSprop(params)), loss: 'meanSquaredError' });
    let error: unknown;
    await saved(model).catch((e) => (error = e));
    expect(String(error)).to.match(/saved with its model once the simd-optim optimizer is made, at the first step/);
    class Mine extends RMSprop {}
    const { xs, ys } = data();
    model.compile({ optimizer: tfOptimizer((params) => new Mine(params)), loss: 'meanSquaredError' });
    await model.fit(xs, ys, { epochs: 1, batchSize: 64, verbose: 0 });
    error = undefined;
    await saved(model).catch((e) => (error = e));
    expect(String(error)).to.match(/saves RMSprop, Adagrad, SGD, Adam, AdamW with a model, not a Mine/);

    model.compile({ optimizer: tfOptimizer((params) => new RMSprop(params)), loss: 'meanSquaredError' });
    await model.fit(xs, ys, { epochs: 1, batchSize: 64, verbose: 0 });
    const artifacts = await saved(model);
    const bigger = tfl.sequential({ layers: [tfl.layers.dense({ units: 4, inputShape: [8] }), tfl.layers.dense({ units: 4 }), tfl.layers.dense({ units: 3 })] });
    const config = (artifacts.trainingConfig as unknown as { optimizer_config: { config: tf.serialization.ConfigDict } }).optimizer_config.config;
    const opt = TfOptimizer.fromConfig(TfOptimizer, config) as TfOptimizer;
    bigger.compile({ optimizer: opt, loss: 'meanSquaredError' });
    error = undefined;
    await bigger.fit(xs, ys, { epochs: 1, batchSize: 64, verbose: 0 }).catch((e) => (error = e));
    expect(String(error)).to.match(/the saved RMSprop stepped 4 variables in groups of 4, but this model trains 6/);
    expect(() => TfOptimizer.fromConfig(TfOptimizer, { ...config, algorithm: 'Lion' })).to.throw(TypeError, /names the algorithm "Lion"; known: RMSprop/);
    expect(() => TfOptimizer.fromConfig(TfOptimizer, { ...config, groups: 'nope' })).to.throw(TypeError, /groups cannot be read/);
    tf.dispose([xs, ys]);
    model.dispose();
    bigger.dispose();
  });
});

describe('the simd-optim/tfjs entry', () => {
  it('is a subpath for require and import, one instance, extending the app\'s tf.Optimizer; the core never loads TF.js', () => {
    const code = `
      const core = require('simd-optim');
      const loaded = Object.keys(require.cache).filter((f) => f.includes('@tensorflow'));
      const bridge = require('simd-optim/tfjs');
      const tf = require('@tensorflow/tfjs-core');
      import('simd-optim/tfjs').then((esm) => import('@tensorflow/tfjs-core').then((tfEsm) => {
        const opt = bridge.tfOptimizer((p) => new core.RMSprop(p));
        console.log(JSON.stringify([loaded.length, esm.tfOptimizer === bridge.tfOptimizer, tfEsm.Optimizer === tf.Optimizer,
          Object.getPrototypeOf(bridge.TfOptimizer.prototype) === tf.Optimizer.prototype, opt instanceof tf.Optimizer]));
      }));`;
    const r = spawnSync(process.execPath, ['-e', code], { cwd: path.resolve(__dirname, '..'), encoding: 'utf8' });
    expect(r.stderr).to.equal('');
    expect(JSON.parse(r.stdout)).to.deep.equal([0, true, true, true, true]);
  });
});
