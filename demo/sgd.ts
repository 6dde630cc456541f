// Plain SGD, the baseline of the demo: θ ← θ - lr·g. Written as a custom
// optimizer on simd-optim's public `ops` (the way examples/custom-rmsprop.ts
// is), so that the SGD run's updates go through the same native kernels.
import { Optimizer, ops, type Parameter } from 'simd-optim';

export class Sgd extends Optimizer<{ lr: number }> {
  constructor(params: Iterable<Parameter>, { lr }: { lr: number }) {
    if (!(lr >= 0)) throw new RangeError(`Invalid learning rate: ${lr}`);
    super(params, { lr });
  }

  step<T>(closure?: () => T): T | undefined {
    const loss = closure?.();
    for (const group of this.paramGroups) {
      for (const p of group.params) {
        if (p.grad !== null) ops.add_(p.data, p.grad, -group.lr);
      }
    }
    return loss;
  }
}
