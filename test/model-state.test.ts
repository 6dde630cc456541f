// ModelState on a checkpoint PyTorch 2.6 wrote (test/torch/make_tied_checkpoint.py):
// a model with a BatchNorm, a float buffer of its own and a tied weight.
import { expect } from 'chai';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { AdamW, loadTorch, ModelState, saveTorch, type StateDict, type TensorRecord } from '../lib';
import { float16ToNumber, float32ToBfloat16Bits, float32ToFloat16Bits, bfloat16ToNumber } from '../lib/core/tensor';
import { oracleFor } from './torch/python';

const file = path.join(__dirname, 'fixtures', 'torch-files', 'torch-2.6', 'checkpoint-tied-bn.pt');
type Checkpoint = { epoch: number; model_state_dict: Record<string, TensorRecord>; optimizer_state_dict: StateDict; loss: number };

/** PyTorch's named_parameters() of that model. */
const NAMED_PARAMETERS = ['embed.weight', 'block.0.weight', 'block.0.bias', 'block.1.weight', 'block.1.bias', 'head.bias'];

describe('ModelState', () => {
  it("gives the parameters in model.parameters() order, a tied one once, and keeps the buffers apart", async () => {
    const ckpt = await loadTorch<Checkpoint>(file);
    const model = new ModelState(ckpt.model_state_dict, { buffers: ['position_ids'] });
    expect(model.names).to.deep.equal(NAMED_PARAMETERS);
    expect(model.parameter('head.weight')).to.equal(model.parameter('embed.weight'));
    expect([...model.buffers.keys()]).to.deep.equal(['position_ids', 'block.1.running_mean', 'block.1.running_var', 'block.1.num_batches_tracked']);
    expect(model.buffers.get('block.1.num_batches_tracked')!.dtype).to.equal('int64');
    const opt = AdamW.fromStateDict(model, ckpt.optimizer_state_dict);
    expect(opt.paramGroups[0].params).to.deep.equal(model.parameters);
    expect(opt.paramGroups[0].compat).to.equal('2.x');
  });

  it('names the likely buffers when the optimizer counts fewer params', async () => {
    const ckpt = await loadTorch<Checkpoint>(file);
    const model = new ModelState(ckpt.model_state_dict);
    expect(() => AdamW.fromStateDict(model, ckpt.optimizer_state_dict)).to.throw(RangeError,
      /lists 6 params, the model state has 7; 1 of them are likely buffers: position_ids. Pass new ModelState\(dict, \{ buffers: \['position_ids'\] \}\)/);
  });

  it('writes the dict back with its names, order, dtypes and tied tensor, and the trained values', async () => {
    const ckpt = await loadTorch<Checkpoint>(file);
    const model = new ModelState(ckpt.model_state_dict, { buffers: [/^position_ids$/] });
    model.parameter('block.0.bias')!.data[0] = 7;
    const out = model.stateDict();
    expect(Object.keys(out)).to.deep.equal(Object.keys(ckpt.model_state_dict));
    expect(Object.values(out).map((r) => r.dtype)).to.deep.equal(Object.values(ckpt.model_state_dict).map((r) => r.dtype));
    expect(out['head.weight'], 'tied names share one tensor').to.equal(out['embed.weight']);
    expect(out['block.0.bias'].data[0]).to.equal(7);
    expect(Array.from(out['block.1.running_mean'].data as Float32Array)).to.deep.equal(Array.from(ckpt.model_state_dict['block.1.running_mean'].data as Float32Array));
  });

  it('goes back to PyTorch 2.6: load_state_dict takes it, strict, with the weight still tied', async function () {
    const oracle = oracleFor(this, 'torch-2.6');
    const dir = oracle.tempDir();
    try {
      const ckpt = await loadTorch<Checkpoint>(file);
      const model = new ModelState(ckpt.model_state_dict, { buffers: ['position_ids'] });
      model.parameter('embed.weight')!.data[0] = 0.125;
      await saveTorch(model.stateDict(), path.join(dir.host, 'model.pt'));
      const script = fs.readFileSync(path.join(__dirname, 'torch', 'make_tied_checkpoint.py'), 'utf8').split('m = Net()')[0] +
        "import json\nsd = torch.load(json.load(sys.stdin))\nm = Net()\nm.load_state_dict(sd, strict=True)\n" +
        "print(json.dumps([float(m.head.weight[0, 0]), m.head.weight is m.embed.weight, sd['head.weight'].data_ptr() == sd['embed.weight'].data_ptr(), int(m.block[1].num_batches_tracked)]))";
      expect(oracle.run(script, path.posix.join(dir.python, 'model.pt'))).to.deep.equal([0.125, true, true, 4]);
    } finally {
      fs.rmSync(dir.host, { recursive: true, force: true });
    }
  });

  it('keeps float16 and bfloat16 parameters in their dtype, rounding to nearest even as PyTorch', () => {
    for (let bits = 0; bits < 0x10000; bits++) {
      const x = float16ToNumber(bits);
      if (Number.isNaN(x)) continue;
      expect(float32ToFloat16Bits(x), `float16 0x${bits.toString(16)}`).to.equal(bits);
      const b = bfloat16ToNumber(bits);
      if (!Number.isNaN(b)) expect(float32ToBfloat16Bits(b), `bfloat16 0x${bits.toString(16)}`).to.equal(bits);
    }
    // Halfway between 1 and 1 + 2^-10: ties to the even one; just above rounds up; past the largest float16, infinity.
    expect(float32ToFloat16Bits(1 + 2 ** -11)).to.equal(0x3c00);
    expect(float32ToFloat16Bits(Math.fround(1 + 2 ** -11 + 2 ** -20))).to.equal(0x3c01);
    expect(float32ToFloat16Bits(65520)).to.equal(0x7c00);
    expect(float32ToFloat16Bits(2 ** -25)).to.equal(0);
    expect(float32ToFloat16Bits(Math.fround(2 ** -25 * 1.5))).to.equal(1);
    const half = { dtype: 'float16' as const, shape: [2], data: new Uint16Array([0x3c00, 0xc000]) };
    const model = new ModelState({ w: half });
    expect(Array.from(model.parameters[0].data)).to.deep.equal([1, -2]);
    expect(model.stateDict().w).to.deep.equal(half);
  });

  it('says what it was given instead of a model state dict', async () => {
    const ckpt = await loadTorch<Checkpoint>(file);
    expect(() => new ModelState(ckpt as never)).to.throw(TypeError, /not all tensors \(keys epoch, model_state_dict, optimizer_state_dict, loss\): is it a checkpoint\? pass its model_state_dict/);
    expect(() => new ModelState(ckpt.optimizer_state_dict as never)).to.throw(TypeError, /optimizer's state dict/);
    expect(() => new ModelState(loadTorch(file) as never)).to.throw(TypeError, /forget await/);
  });
});
