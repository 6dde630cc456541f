// Train a small MLP (64 → 32 → 10, ReLU, softmax cross-entropy) on the UCI
// handwritten digits with RMSprop: the core of `npx simd-optim demo`, as a
// script to read and change. Run it with `npx tsx examples/train-digits.ts`.
//
// The model (demo/mlp.ts) is forward and backward by hand in TypeScript:
// `lossAndGrad` fills each Parameter's grad; simd-optim does every update.
import { RMSprop, backendInfo } from 'simd-optim';
import { loadDigits, trainTestSplit } from '../demo/data';
import { Mlp } from '../demo/mlp';
import { mulberry32, shuffle } from '../demo/random';

const { train, test } = trainTestSplit(loadDigits()); // 1,438 / 359 images, stratified, seed 0
const model = new Mlp(/* seed */ 1);
const opt = new RMSprop(model.params, { lr: 0.01, alpha: 0.99 });

const batchSize = 32;
const order = Int32Array.from({ length: train.n }, (_, i) => i);
const rand = mulberry32(2);
for (let epoch = 1; epoch <= 20; epoch++) {
  shuffle(order, rand);
  for (let start = 0; start + batchSize <= train.n; start += batchSize) {
    // One optimizer step on the mean loss of 32 images.
    opt.step(() => model.lossAndGrad(train, order.subarray(start, start + batchSize)));
  }
  if (epoch % 5 === 0) {
    const t = model.evaluate(train);
    const v = model.evaluate(test);
    console.log(`epoch ${epoch}: train loss ${t.loss.toFixed(4)}, test accuracy ${(v.accuracy * 100).toFixed(1)}%`);
  }
}
console.log(`${model.parameterCount} weights trained on the ${backendInfo().backend} backend`);
