// safetensors: optimizer state dicts and model dicts survive the trip, steps
// keep their exact value and type, and Hugging Face's own library (in the
// PyTorch 2.6 chroot) reads our files and writes files we read.
import { expect } from 'chai';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Adagrad, loadSafetensors, Parameter, readSafetensors, RMSprop, saveSafetensors, type StateDict, type TensorRecord } from '../lib';
import { randomF32 } from './helpers';
import { describeValue } from './torch/describe';
import { oracleFor } from './torch/python';

function trained(compat: '1.13' | '2.x') {
  const params = [new Parameter(randomF32(6, 1), [2, 3]), new Parameter(randomF32(3, 2)), new Parameter(randomF32(4, 3))];
  const opt = new RMSprop([{ params: params.slice(0, 2), momentum: 0.9 }, { params: params.slice(2), centered: true }], { compat });
  for (let t = 0; t < 3; t++) {
    params.forEach((p, i) => (p.grad = randomF32(p.numel, 10 * t + i)));
    if (t === 2) params[1].grad = null; // a param with older state
    opt.step();
  }
  return { params, opt };
}

describe('saveSafetensors / loadSafetensors', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'simd-optim-st-'));
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  for (const compat of ['2.x', '1.13'] as const) {
    it(`round-trips an RMSprop state dict (compat ${compat}) and resumes on the same bits`, async () => {
      const a = trained(compat);
      const b = trained(compat);
      const file = path.join(dir, `opt-${compat}.safetensors`);
      await saveSafetensors(a.opt.stateDict(), file);
      const loaded = await loadSafetensors<StateDict>(file);
      expect(loaded).to.deep.equal(a.opt.stateDict());
      b.opt.loadStateDict(loaded);
      for (const { params, opt } of [a, b]) {
        params.forEach((p, i) => (p.grad = randomF32(p.numel, 99 + i)));
        opt.step();
      }
      expect(b.params.map((p) => [...p.data])).to.deep.equal(a.params.map((p) => [...p.data]));
    });
  }

  it('keeps an Adagrad state dict exactly, and lays it out as state.<i>.<name> with param_groups in the metadata', async () => {
    const p = new Parameter(randomF32(5, 4));
    const opt = new Adagrad([p], { lrDecay: 0.1 });
    p.grad = randomF32(5, 5);
    opt.step();
    const file = path.join(dir, 'adagrad.safetensors');
    await saveSafetensors(opt.stateDict(), file);
    expect(await loadSafetensors(file)).to.deep.equal(opt.stateDict());
    const raw = await readSafetensors(file);
    expect(Object.keys(raw.tensors)).to.deep.equal(['state.0.sum']);
    expect(JSON.parse(raw.metadata.param_groups)).to.deep.equal(opt.stateDict().param_groups);
    expect(JSON.parse(raw.metadata.state_scalars)).to.deep.equal({ 0: { step: 1 } });
  });

  it('round-trips a model dict of Parameters and records of every dtype', async () => {
    const model = {
      'fc.weight': new Parameter(randomF32(6, 8), [3, 2]),
      'fc.bias': { dtype: 'float64', shape: [2], data: new Float64Array([0.1, -2]) } as TensorRecord,
      half: { dtype: 'float16', shape: [2], data: new Uint16Array([0x3c00, 0xc000]) } as TensorRecord,
      steps: { dtype: 'int64', shape: [], data: new BigInt64Array([2n ** 60n]) } as TensorRecord,
      mask: { dtype: 'bool', shape: [3], data: Uint8Array.from([1, 0, 1]) } as TensorRecord,
      bare: new Float64Array([1.5, -3]), // a bare typed array, as saveTorch takes it
    };
    const file = path.join(dir, 'model.safetensors');
    await saveSafetensors(model, file, { note: 'made in node' });
    const loaded = await readSafetensors(file);
    expect(loaded.metadata).to.deep.equal({ note: 'made in node' });
    expect(loaded.tensors['fc.weight']).to.deep.equal({ dtype: 'float32', shape: [3, 2], data: model['fc.weight'].data });
    expect(loaded.tensors.steps.data).to.deep.equal(model.steps.data);
    expect(loaded.tensors.bare).to.deep.equal({ dtype: 'float64', shape: [2], data: model.bare });
    expect(Object.keys(loaded.tensors)).to.deep.equal(Object.keys(model));
  });

  it('refuses values safetensors cannot hold, naming them', async () => {
    const file = path.join(dir, 'bad.safetensors');
    const err = await saveSafetensors({ w: [1, 2, 3] }, file).catch((e: unknown) => e);
    expect(err).to.be.instanceOf(TypeError);
    expect((err as Error).message).to.match(/saveSafetensors value w/);
    expect(fs.existsSync(file)).to.equal(false);
  });

  describe('with Hugging Face safetensors (PyTorch 2.6 chroot)', function () {
    this.timeout(120_000);
    it('reads the files Node writes, and Node reads the file it writes', async function () {
      const oracle = oracleFor(this, 'torch-2.6', ['safetensors']);
      const tmp = oracle.tempDir();
      try {
        const { opt } = trained('2.x');
        const model = { 'fc.weight': new Parameter(randomF32(6, 8), [3, 2]), 'fc.bias': new Parameter(randomF32(2, 9)) };
        await saveSafetensors(opt.stateDict(), path.join(tmp.host, 'opt.safetensors'));
        await saveSafetensors(model, path.join(tmp.host, 'model.safetensors'));
        const answer = oracle.run(fs.readFileSync(path.join(__dirname, 'torch', 'io_oracle.py'), 'utf8'),
          { mode: 'safetensors', dir: tmp.python }) as { read: Record<string, { tensors: unknown; metadata: Record<string, string> }>; written: unknown };
        const modelDict = Object.fromEntries(Object.entries(model).map(([k, p]) => [k, { dtype: p.dtype, shape: [...p.shape], data: p.data }]));
        const byName = (o: unknown) => Object.fromEntries((o as { dict: [string, unknown][] }).dict);
        expect(byName(answer.read['model.safetensors'].tensors)).to.deep.equal(byName(describeValue(modelDict)));
        const sd = opt.stateDict();
        const flat = Object.fromEntries(Object.entries(sd.state).flatMap(([i, entry]) =>
          Object.entries(entry).filter(([, v]) => typeof v === 'object').map(([name, v]) => [`state.${i}.${name}`, v])));
        expect(byName(answer.read['opt.safetensors'].tensors)).to.deep.equal(byName(describeValue(flat)));
        expect(JSON.parse(answer.read['opt.safetensors'].metadata.param_groups)).to.deep.equal(sd.param_groups);
        const theirs = await loadSafetensors(path.join(tmp.host, 'python.safetensors'));
        expect(byName(describeValue(theirs))).to.deep.equal(byName(answer.written));
      } finally {
        fs.rmSync(tmp.host, { recursive: true, force: true });
      }
    });
  });
});
