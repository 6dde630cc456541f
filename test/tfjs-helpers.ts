// What the TF.js test files share.
import type { TfOptimizer } from '../lib/tfjs';

/** Copies of every gradient the optimizer is given, step by step, by variable name (a hook on applyGradients, either form). */
export function recordGradients(opt: TfOptimizer): Map<string, Float32Array>[] {
  const steps: Map<string, Float32Array>[] = [];
  const apply = opt.applyGradients.bind(opt);
  opt.applyGradients = (grads) => {
    const list = Array.isArray(grads) ? grads : Object.entries(grads).map(([name, tensor]) => ({ name, tensor }));
    steps.push(new Map(list.map(({ name, tensor }) => [name, (tensor.dataSync() as Float32Array).slice()])));
    apply(grads);
  };
  return steps;
}
