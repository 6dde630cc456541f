// A custom optimizer, written the way PyTorch's tutorial writes RMSprop:
// extend Optimizer, keep per-parameter state in this.state, and update with
// in-place ops. Because simd-optim's ops have PyTorch's arithmetic, this gives
// exactly the bits of the built-in RMSprop (test/ops.test.ts checks 100 steps).
//
// PyTorch:                                          simd-optim:
//   square_avg.mul_(alpha)                            ops.mul_(squareAvg, alpha)
//     .addcmul_(grad, grad, value=1 - alpha)          ops.addcmul_(..., grad, grad, 1 - alpha)
//   avg = square_avg.sqrt().add_(eps)                 ops.add_(ops.sqrt(squareAvg), eps)
//   p.addcdiv_(grad, avg, value=-lr)                  ops.addcdiv_(p.data, grad, avg, -lr)
import { Optimizer, ops, type FloatArray, type ParamGroupInput, type Parameter } from 'simd-optim';

export interface CustomRMSpropOptions {
  lr: number;
  alpha: number;
  eps: number;
  weightDecay: number;
  momentum: number;
  centered: boolean;
}

const zerosLike = (a: FloatArray): FloatArray => (a instanceof Float32Array ? new Float32Array(a.length) : new Float64Array(a.length));

export class CustomRMSprop extends Optimizer<CustomRMSpropOptions> {
  constructor(
    params: Iterable<Parameter> | Iterable<ParamGroupInput<CustomRMSpropOptions>>,
    { lr = 0.01, alpha = 0.99, eps = 1e-8, weightDecay = 0, momentum = 0, centered = false }: Partial<CustomRMSpropOptions> = {},
  ) {
    if (lr < 0) throw new RangeError(`Invalid learning rate: ${lr}`);
    if (eps < 0) throw new RangeError(`Invalid epsilon value: ${eps}`);
    if (momentum < 0) throw new RangeError(`Invalid momentum value: ${momentum}`);
    if (weightDecay < 0) throw new RangeError(`Invalid weight_decay value: ${weightDecay}`);
    if (alpha < 0) throw new RangeError(`Invalid alpha value: ${alpha}`);
    super(params, { lr, alpha, eps, weightDecay, momentum, centered });
  }

  step<T>(closure?: () => T): T | undefined {
    const loss = closure?.();
    for (const group of this.paramGroups) {
      for (const p of group.params) {
        if (p.grad === null) continue;
        let grad = p.grad;
        let state = this.state.get(p);
        // State initialization
        if (state === undefined) {
          state = { step: 0, square_avg: zerosLike(p.data) };
          if (group.momentum > 0) state.momentum_buffer = zerosLike(p.data);
          if (group.centered) state.grad_avg = zerosLike(p.data);
          this.state.set(p, state);
        }
        const squareAvg = state.square_avg as FloatArray;
        const alpha = group.alpha;
        state.step = (state.step as number) + 1;

        if (group.weightDecay !== 0) grad = ops.add_(grad.slice(), p.data, group.weightDecay); // grad = grad.add(p, alpha=wd)

        ops.addcmul_(ops.mul_(squareAvg, alpha), grad, grad, 1 - alpha);

        let avg: FloatArray;
        if (group.centered) {
          const gradAvg = state.grad_avg as FloatArray;
          ops.lerp_(gradAvg, grad, 1 - alpha); // PyTorch 1.13: ops.add_(ops.mul_(gradAvg, alpha), grad, 1 - alpha)
          avg = ops.add_(ops.sqrt_(ops.addcmul_(squareAvg.slice(), gradAvg, gradAvg, -1)), group.eps);
        } else {
          avg = ops.add_(ops.sqrt(squareAvg), group.eps);
        }

        if (group.momentum > 0) {
          const buf = state.momentum_buffer as FloatArray;
          ops.addcdiv_(ops.mul_(buf, group.momentum), grad, avg);
          ops.add_(p.data, buf, -group.lr);
        } else {
          ops.addcdiv_(p.data, grad, avg, -group.lr);
        }
      }
    }
    return loss;
  }
}
