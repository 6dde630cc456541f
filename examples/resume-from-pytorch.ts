// Resume a PyTorch run in Node: examples/pytorch/train.py trained a linear
// model for 10 steps and saved model.pt and optimizer.pt; here training goes
// on from exactly that state, and the result is saved for PyTorch again.
import * as path from 'path';
import { loadTorch, Parameter, RMSprop, saveTorch, type StateDict, type TensorRecord } from 'simd-optim';

async function main(): Promise<void> {
  const dir = path.join(__dirname, 'pytorch');
  const model = await loadTorch<Record<string, TensorRecord<'float32'>>>(path.join(dir, 'model.pt'));
  const weight = new Parameter(model.weight.data, model.weight.shape); // [1, 4]
  const bias = new Parameter(model.bias.data, model.bias.shape); // [1]

  // Same param order as model.parameters() in PyTorch; the hyperparameters
  // (lr, alpha, momentum) and the state (step, square_avg, momentum_buffer)
  // come from the file.
  const opt = new RMSprop([weight, bias]);
  opt.loadStateDict(await loadTorch<StateDict>(path.join(dir, 'optimizer.pt')));

  // The data of train.py: 16 rows of 4 inputs, y = x·[1, -2, 0.5, 3] + 0.25.
  const x = Float32Array.from({ length: 64 }, (_, i) => -1 + (2 * i) / 63);
  const truth = [1, -2, 0.5, 3];
  const y = Array.from({ length: 16 }, (_, r) => truth.reduce((s, w, c) => s + w * x[r * 4 + c], 0.25));

  weight.grad = new Float32Array(4);
  bias.grad = new Float32Array(1);
  for (let step = 1; step <= 30; step++) {
    // Mean squared error and its gradient, by hand.
    weight.grad.fill(0);
    bias.grad.fill(0);
    let loss = 0;
    for (let r = 0; r < 16; r++) {
      const err = bias.data[0] + truth.reduce((s, _, c) => s + weight.data[c] * x[r * 4 + c], 0) - y[r];
      loss += err * err / 16;
      for (let c = 0; c < 4; c++) weight.grad[c] += (2 * err * x[r * 4 + c]) / 16;
      bias.grad[0] += (2 * err) / 16;
    }
    opt.step();
    if (step % 5 === 0) console.log(`Node: step ${10 + step}, loss ${loss.toFixed(6)}`);
  }

  // Back to PyTorch: torch.load(...) then model.load_state_dict / opt.load_state_dict.
  await saveTorch({ weight, bias }, path.join(dir, 'model-from-node.pt'));
  await saveTorch(opt.stateDict(), path.join(dir, 'optimizer-from-node.pt'));
  console.log(`saved ${path.join(dir, 'model-from-node.pt')} and optimizer-from-node.pt`);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
