// An app that installed simd-optim and TF.js trains a model through
// simd-optim/tfjs (ES modules): the loss falls, and the step took the cpu
// backend's zero-copy path.
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import * as tfl from '@tensorflow/tfjs-layers';
import { RMSprop } from 'simd-optim';
import { tfOptimizer } from 'simd-optim/tfjs';

async function main() {
  tf.env().set('PROD', true);
  await tf.setBackend('cpu');
  const model = tfl.sequential({ layers: [tfl.layers.dense({ units: 8, activation: 'relu', inputShape: [4] }), tfl.layers.dense({ units: 1 })] });
  const opt = tfOptimizer((params) => new RMSprop(params, { lr: 0.01 }));
  model.compile({ optimizer: opt, loss: 'meanSquaredError' });
  const xs = tf.randomNormal([64, 4]);
  const ys = tf.sum(xs, 1, true);
  const last = (h) => h.history.loss[h.history.loss.length - 1];
  const first = last(await model.fit(xs, ys, { epochs: 1, verbose: 0 }));
  const after = last(await model.fit(xs, ys, { epochs: 40, verbose: 0 }));
  if (!(after < first / 2)) throw new Error(`did not learn: loss ${first} -> ${after}`);
  if (opt.lastTransfer.path !== 'cpu-shared') throw new Error(`the step took the ${opt.lastTransfer.path} path`);
  console.log(`tfjs-train.mjs: loss ${first.toFixed(3)} -> ${after.toFixed(3)}, path ${opt.lastTransfer.path}`);
}
main().catch((e) => {
  console.error(e);
  process.exit(1);
});
