// The optimizers this package has, so that a state dict loaded into one of
// them is recognised when it is another's (lib/engine/dict-kinds.ts).
import { registerOptimizers } from '../engine/dict-kinds';
import { Adagrad } from './adagrad';
import { Adam, AdamW } from './adam';
import { RMSprop } from './rmsprop';
import { SGD } from './sgd';

registerOptimizers([
  RMSprop.spec,
  Adagrad.spec,
  SGD.spec,
  Adam.spec,
  AdamW.spec,
]);
