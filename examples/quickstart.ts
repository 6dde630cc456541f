// The README's 20-line example (test/readme.test.ts runs it).
import { ExponentialLR, Parameter, RMSprop, backendInfo } from 'simd-optim';

// Fit y = 3x - 1 with one weight and one bias.
const w = new Parameter(new Float32Array([0]), [1]);
const b = new Parameter(new Float32Array([0]));
const opt = new RMSprop([{ params: [w], lr: 0.05 }, { params: [b] }], { lr: 0.05, alpha: 0.9 });
const sched = new ExponentialLR(opt, { gamma: 0.99 });   // torch.optim.lr_scheduler's, bit for bit

const xs = Float32Array.from({ length: 64 }, (_, i) => i / 32 - 1);
for (let step = 0; step < 500; step++) {
  const loss = opt.step(() => {
    let gw = 0, gb = 0, l = 0;
    for (const x of xs) {
      const err = w.data[0] * x + b.data[0] - (3 * x - 1);
      l += err * err; gw += 2 * err * x; gb += 2 * err;
    }
    w.grad = new Float32Array([gw / xs.length]);   // grads are plain typed arrays
    b.grad = new Float32Array([gb / xs.length]);
    return l / xs.length;
  });
  sched.step();
  if (step % 100 === 0) console.log(step, loss);
}
console.log(w.data[0], b.data[0], backendInfo());   // 2.99985 -0.99985 { backend: 'native', isa: 'avx512', ... }
