// simd-optim/tfjs's types as a TypeScript app sees them through the
// package's exports (module node16), beside TF.js's own.
import { RMSprop, type StateDict } from 'simd-optim';
import { tfOptimizer, torchSequential, type TfOptimizer } from 'simd-optim/tfjs';
import * as tfl from '@tensorflow/tfjs-layers';

const model = tfl.sequential({ layers: [tfl.layers.dense({ units: 1, inputShape: [2] })] });
const opt: TfOptimizer<RMSprop> = tfOptimizer((params) => new RMSprop(params, { lr: 0.01 }));
model.compile({ optimizer: opt, loss: 'meanSquaredError' });
const dict: StateDict = torchSequential(model).optimizerStateDict(opt);
const lr: number = opt.optimizer.paramGroups[0].lr;
console.log(dict.param_groups.length, lr);
