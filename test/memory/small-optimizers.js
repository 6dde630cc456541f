// The optimizers the step-leak scripts run: RMSprop with a plain group and a
// momentum+centered float64 group, and an Adagrad, over small tensors whose
// lengths exercise the SIMD tails.
'use strict';
const { Adagrad, Parameter, RMSprop } = require('../../dist');

function smallOptimizers() {
  const params = [new Parameter(new Float32Array(64)), new Parameter(new Float64Array(33)), new Parameter(new Float32Array(17))];
  params[0].grad = new Float32Array(64).fill(0.01);
  params[1].grad = new Float64Array(33).fill(-0.01);
  params[2].grad = new Float32Array(17).fill(0.02);
  const rmsprop = new RMSprop([{ params: [params[0]] }, { params: [params[1]], momentum: 0.9, centered: true }]);
  const adagrad = new Adagrad([params[2]], { lrDecay: 0.01 });
  return { params, rmsprop, adagrad };
}

module.exports = { smallOptimizers };
