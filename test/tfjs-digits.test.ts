// The example, for real: a TF.js model trained with model.fit and
// tfOptimizer(RMSprop) on the UCI digits learns them (> 95% of the held-out
// images right), on TF.js's cpu and wasm backends, and every one of its
// steps is simd-optim's: the weights equal RMSprop stepping the gradients
// model.fit gave, recorded with a hook, bit for bit.
import { expect } from 'chai';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-backend-wasm';
import * as tfl from '@tensorflow/tfjs-layers';
import { CLASSES, IMAGE_PIXELS, loadDigits, trainTestSplit, type Dataset } from '../demo/data';
import { Parameter, RMSprop, type RMSpropOptions } from '../lib';
import { tfOptimizer } from '../lib/tfjs';
import { bytesOf, itFull } from './helpers';
import { oracleFor } from './torch/python';
import { recordGradients } from './tfjs-helpers';

const OPTIONS: Partial<RMSpropOptions> = { lr: 1e-2, alpha: 0.9, centered: true };
// Deterministic: seeded initializers and no shuffling (TF.js shuffles with
// Math.random). 20 epochs clear 95% on both backends by several images.
const EPOCHS = 20;
const BATCH = 32;

function tensorsOf(data: Dataset): { xs: tf.Tensor2D; ys: tf.Tensor2D } {
  const oneHot = new Float32Array(data.n * CLASSES);
  data.y.forEach((label, i) => (oneHot[i * CLASSES + label] = 1));
  return { xs: tf.tensor2d(data.x, [data.n, IMAGE_PIXELS]), ys: tf.tensor2d(oneHot, [data.n, CLASSES]) };
}

const hexOf = (a: ArrayBufferView) => bytesOf(a).toString('hex');

for (const backend of ['cpu', 'wasm']) {
  describe(`tfOptimizer(RMSprop) trains the UCI digits with model.fit on TF.js's ${backend} backend`, function () {
    this.timeout(120_000);

    it(`reaches > 95% test accuracy, every step bit for bit simd-optim's RMSprop`, async () => {
      tf.env().set('PROD', true);
      expect(await tf.setBackend(backend)).to.equal(true);
      await tf.ready();
      const { train, test } = trainTestSplit(loadDigits());
      const model = tfl.sequential({
        layers: [
          tfl.layers.dense({ units: 32, activation: 'relu', inputShape: [IMAGE_PIXELS], kernelInitializer: tfl.initializers.glorotUniform({ seed: 1 }) }),
          tfl.layers.dense({ units: CLASSES, activation: 'softmax', kernelInitializer: tfl.initializers.glorotUniform({ seed: 2 }) }),
        ],
      });
      const initial = model.trainableWeights.map((w) => (w.read().dataSync() as Float32Array).slice());
      const opt = tfOptimizer((params) => new RMSprop(params, OPTIONS));
      const steps = recordGradients(opt);
      model.compile({ optimizer: opt, loss: 'categoricalCrossentropy', metrics: ['accuracy'] });
      const before = tf.memory().numTensors;
      const trainSet = tensorsOf(train);
      const testSet = tensorsOf(test);
      await model.fit(trainSet.xs, trainSet.ys, { epochs: EPOCHS, batchSize: BATCH, shuffle: false, verbose: 0 });
      const [loss, accuracy] = model.evaluate(testSet.xs, testSet.ys) as tf.Scalar[];
      const testAccuracy = accuracy.dataSync()[0];
      expect(testAccuracy, `test accuracy on ${test.n} images`).to.be.above(0.95);
      expect(steps).to.have.length(EPOCHS * Math.ceil(train.n / BATCH));
      expect(opt.lastTransfer?.path).to.equal(backend === 'cpu' ? 'cpu-shared' : 'wasm-heap');

      // The same optimizer, stepping the recorded gradients directly.
      const params = model.trainableWeights.map((w, i) => new Parameter(initial[i], w.shape as number[]));
      const direct = new RMSprop(params, OPTIONS);
      const names = model.trainableWeights.map((w) => (w.read() as tf.Variable).name);
      for (const grads of steps) {
        params.forEach((p, i) => (p.grad = grads.get(names[i])!));
        direct.step();
      }
      model.trainableWeights.forEach((w, i) => expect(hexOf(w.read().dataSync()), w.name).to.equal(hexOf(params[i].data)));
      const { state, param_groups: [group] } = opt.optimizer.stateDict();
      expect(state).to.deep.equal(direct.stateDict().state);
      expect(group.param_names, "the group carries TF.js's variable names").to.deep.equal(names);

      tf.dispose([trainSet.xs, trainSet.ys, testSet.xs, testSet.ys, loss, accuracy]);
      expect(tf.memory().numTensors, 'no tensor left behind').to.equal(before);
      model.dispose();
      opt.dispose();
    });
  });
}

describe('examples/tfjs-digits.ts', function () {
  this.timeout(120_000);

  // The full suite only: the test above holds the same training in npm test.
  itFull('trains the digits past 95% and saves files PyTorch 2.6 loads into nn.Sequential and RMSprop', function () {
    const oracle = oracleFor(this, 'torch-2.6');
    const dir = oracle.tempDir();
    try {
      const root = path.resolve(__dirname, '..');
      const r = spawnSync(process.execPath, ['--import', 'tsx', 'examples/tfjs-digits.ts', dir.host], { cwd: root, encoding: 'utf8' });
      expect(r.status, r.stderr).to.equal(0);
      const accuracy = Number(/test accuracy: ([\d.]+)%/.exec(r.stdout)?.[1]);
      expect(accuracy).to.be.above(95);
      expect(fs.readdirSync(dir.host).sort()).to.deep.equal(['model.pt', 'optimizer.pt']);
      const script = `
import json, sys, torch
d = json.load(sys.stdin)['dir']
m = torch.nn.Sequential(torch.nn.Linear(64, 32), torch.nn.ReLU(), torch.nn.Linear(32, 10))
m.load_state_dict(torch.load(d + '/model.pt', weights_only=True))
o = torch.optim.RMSprop(m.parameters())
o.load_state_dict(torch.load(d + '/optimizer.pt', weights_only=True))
g = o.param_groups[0]
print(json.dumps({'lr': g['lr'], 'alpha': g['alpha'], 'centered': g['centered'], 'names': g.get('param_names'),
  'shapes': [list(o.state[p]['square_avg'].shape) for p in m.parameters()], 'step': float(o.state[m[0].weight]['step'])}))`;
      expect(oracle.run(script, { dir: dir.python })).to.deep.equal({
        lr: 1e-2, alpha: 0.9, centered: true, names: ['0.weight', '0.bias', '2.weight', '2.bias'],
        shapes: [[32, 64], [32], [10, 32], [10]], step: 20 * 45,
      });
    } finally {
      fs.rmSync(dir.host, { recursive: true, force: true });
    }
  });
});
