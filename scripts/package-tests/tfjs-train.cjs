// An app that installed simd-optim and TF.js trains a model through
// simd-optim/tfjs: the loss falls, and the step took the cpu backend's
// zero-copy path. Run as a CommonJS app, it requires its modules; the ES
// module app (tfjs-train.mjs) imports them and calls train() with them.
async function train({ tf, tfl, RMSprop, tfOptimizer }, label) {
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
  console.log(`${label}: loss ${first.toFixed(3)} -> ${after.toFixed(3)}, path ${opt.lastTransfer.path}`);
}

function exitOnError(promise) {
  promise.catch((e) => {
    console.error(e);
    process.exit(1);
  });
}

module.exports = { train, exitOnError };

if (require.main === module) {
  const tf = require('@tensorflow/tfjs-core');
  require('@tensorflow/tfjs-backend-cpu');
  const modules = { tf, tfl: require('@tensorflow/tfjs-layers'), RMSprop: require('simd-optim').RMSprop, tfOptimizer: require('simd-optim/tfjs').tfOptimizer };
  exitOnError(train(modules, 'tfjs-train.cjs'));
}
