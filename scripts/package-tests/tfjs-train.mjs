// tfjs-train.cjs's training, with every module imported as an ES module app imports it.
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import * as tfl from '@tensorflow/tfjs-layers';
import { RMSprop } from 'simd-optim';
import { tfOptimizer } from 'simd-optim/tfjs';
import script from './tfjs-train.cjs';

script.exitOnError(script.train({ tf, tfl, RMSprop, tfOptimizer }, 'tfjs-train.mjs'));
