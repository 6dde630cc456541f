// Train a TensorFlow.js model with simd-optim's RMSprop through model.fit,
// on the UCI handwritten digits, then save the model and the optimizer as
// PyTorch's nn.Sequential and torch.optim.RMSprop would save them.
//   node --import tsx examples/tfjs-digits.ts [output folder]
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import * as tfl from '@tensorflow/tfjs-layers';
import { RMSprop, saveTorch } from 'simd-optim';
import { tfOptimizer, torchSequential } from 'simd-optim/tfjs';
import { loadDigits, trainTestSplit, type Dataset } from '../demo/data';

/** 8×8 images as rows of 64 values, labels one-hot. */
function tensors({ x, y, n }: Dataset): { xs: tf.Tensor2D; ys: tf.Tensor2D } {
  const oneHot = new Float32Array(n * 10);
  y.forEach((label, i) => (oneHot[i * 10 + label] = 1));
  return { xs: tf.tensor2d(x, [n, 64]), ys: tf.tensor2d(oneHot, [n, 10]) };
}

async function main(): Promise<void> {
  tf.env().set('PROD', true);
  await tf.setBackend('cpu');
  const { train, test } = trainTestSplit(loadDigits());

  const model = tfl.sequential({
    layers: [
      tfl.layers.dense({ units: 32, activation: 'relu', inputShape: [64], kernelInitializer: tfl.initializers.glorotUniform({ seed: 1 }) }),
      tfl.layers.dense({ units: 10, activation: 'softmax', kernelInitializer: tfl.initializers.glorotUniform({ seed: 2 }) }),
    ],
  });
  const opt = tfOptimizer((params) => new RMSprop(params, { lr: 1e-2, alpha: 0.9, centered: true }));
  model.compile({ optimizer: opt, loss: 'categoricalCrossentropy', metrics: ['accuracy'] });

  const { xs, ys } = tensors(train);
  await model.fit(xs, ys, { epochs: 20, batchSize: 32, shuffle: false, verbose: 0 });
  const held = tensors(test);
  const [, accuracy] = model.evaluate(held.xs, held.ys) as tf.Scalar[];
  console.log(`test accuracy: ${(accuracy.dataSync()[0] * 100).toFixed(1)}% of ${test.n} images (steps through ${opt.lastTransfer?.path})`);

  // nn.Sequential(nn.Linear(64, 32), nn.ReLU(), nn.Linear(32, 10)): 0.weight, 0.bias, 2.weight, 2.bias.
  const torch = torchSequential(model);
  const out = process.argv[2] ?? path.join(os.tmpdir(), 'simd-optim-tfjs-digits');
  fs.mkdirSync(out, { recursive: true });
  await saveTorch(torch.stateDict(), path.join(out, 'model.pt'));
  await saveTorch(torch.optimizerStateDict(opt), path.join(out, 'optimizer.pt'));
  console.log(`saved ${path.join(out, 'model.pt')} and optimizer.pt: load them with model.load_state_dict and opt.load_state_dict`);
}

main().catch((e) => {
  console.error(e);
  process.exitCode = 1;
});
