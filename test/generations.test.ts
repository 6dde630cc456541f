// Which PyTorch generation wrote a loaded dict: adopted where the dict
// tells, a warning with the remedy where it differs from the chosen compat
// or cannot be told and the arithmetic differs, and fromStateDict, which
// builds an optimizer from a dict alone.
import { expect } from 'chai';
import * as path from 'node:path';
import { Adam, ModelState, Parameter, RMSprop, SGD, loadTorch, type StateDict, type TensorRecord } from '../lib';
import { randomF32 } from './helpers';

const fixture = (version: string, name: string) => path.join(__dirname, 'fixtures', 'torch-files', version, name);

/** The warnings emitted while `fn` runs (they arrive on the next tick). */
async function warningsDuring(fn: () => void): Promise<string[]> {
  const seen: string[] = [];
  const listener = (w: Error & { code?: string }) => {
    if (w.code === 'SIMD_OPTIM_GENERATION') seen.push(w.message);
  };
  process.on('warning', listener);
  try {
    fn();
    await new Promise((resolve) => setImmediate(resolve));
    await new Promise((resolve) => setImmediate(resolve));
  } finally {
    process.off('warning', listener);
  }
  return seen;
}

/** Parameters of the shapes a dict's state gives, in its index order. */
function paramsFor(dict: StateDict): Parameter[] {
  const ids = dict.param_groups.flatMap((g) => g.params);
  return ids.map((id) => {
    const entry = dict.state[id] as Record<string, unknown> | undefined;
    const tensor = Object.values(entry ?? {}).find((v) => v !== null && typeof v === 'object' && (v as TensorRecord).shape?.length) as TensorRecord | undefined;
    const shape = tensor ? [...tensor.shape] : [1];
    return new Parameter(randomF32(shape.reduce((a, b) => a * b, 1), id + 1), shape);
  });
}

describe('PyTorch generations of loaded dicts', () => {
  it('adopts the generation a dict shows, with no warning', async () => {
    const dict = await loadTorch<StateDict>(fixture('torch-1.13', 'adam.pt'));
    const params = paramsFor(dict);
    const opt = new Adam(dict.param_groups.map((g) => ({ params: g.params.map((id) => params[id]) })));
    const warnings = await warningsDuring(() => opt.loadStateDict(dict));
    expect(warnings).to.deep.equal([]);
    expect(opt.paramGroups.map((g) => g.compat)).to.deep.equal(dict.param_groups.map(() => '1.13'));
  });

  it('warns once, with the remedy, when a chosen compat differs from the generation that wrote the dict', async () => {
    const dict = await loadTorch<StateDict>(fixture('torch-1.13', 'adam.pt'));
    const params = paramsFor(dict);
    const opt = new Adam(dict.param_groups.map((g) => ({ params: g.params.map((id) => params[id]) })), { compat: '2.x' });
    const first = await warningsDuring(() => opt.loadStateDict(dict));
    expect(first).to.have.length(1);
    expect(first[0]).to.match(/written by PyTorch 1.13, but its group steps with compat '2.x'.*construct with compat: '1.13'/);
    expect(await warningsDuring(() => opt.loadStateDict(dict)), 'once per optimizer').to.deep.equal([]);
  });

  it("warns where the dict cannot tell and the arithmetic differs (a centered RMSprop of 1.13 or 2.0 to 2.3), and not where it is the same", async () => {
    const dict = await loadTorch<StateDict>(fixture('torch-1.13', 'rmsprop.pt'));
    const params = paramsFor(dict);
    const groups = () => dict.param_groups.map((g) => ({ params: g.params.map((id) => params[id]) }));
    const warnings = await warningsDuring(() => new RMSprop(groups()).loadStateDict(dict));
    expect(warnings).to.have.length(1);
    expect(warnings[0]).to.match(/does not tell.*1.13 and 2.0 to 2.3 write the same keys.*centered.*construct with compat: '1.13'/);
    expect(await warningsDuring(() => new RMSprop(groups(), { compat: '1.13' }).loadStateDict(dict)), 'compat chosen').to.deep.equal([]);
    const sgd = await loadTorch<StateDict>(fixture('torch-1.13', 'sgd.pt'));
    const sgdParams = paramsFor(sgd);
    const opt = new SGD(sgd.param_groups.map((g) => ({ params: g.params.map((id) => sgdParams[id]) })), { compat: '2.x' });
    expect(await warningsDuring(() => opt.loadStateDict(sgd)), "SGD's arithmetic is the same in both").to.deep.equal([]);
  });

  it('keeps group keys of a PyTorch newer than 2.6, and writes them back', async () => {
    const dict = await loadTorch<StateDict>(fixture('torch-2.6', 'adam.pt'));
    dict.param_groups.forEach((g) => Object.assign(g, { decoupled_weight_decay: false, a_future_flag: true }));
    const params = paramsFor(dict);
    const opt = new Adam(dict.param_groups.map((g) => ({ params: g.params.map((id) => params[id]) })));
    opt.loadStateDict(dict);
    expect(opt.stateDict().param_groups[0]).to.include({ a_future_flag: true, decoupled_weight_decay: false });
  });
});

describe('fromStateDict', () => {
  it("builds the optimizer a dict describes: its groups' hyperparameters, its state, its generation", async () => {
    for (const version of ['torch-1.13', 'torch-2.6']) {
      const dict = await loadTorch<StateDict>(fixture(version, 'adam.pt'));
      const params = paramsFor(dict);
      const opt = Adam.fromStateDict(params, dict);
      expect(opt).to.be.instanceOf(Adam);
      expect(opt.paramGroups.map((g) => g.compat)).to.deep.equal(dict.param_groups.map(() => (version === 'torch-1.13' ? '1.13' : '2.x')));
      expect(opt.paramGroups.map((g) => g.lr)).to.deep.equal(dict.param_groups.map((g) => g.lr));
      // It steps as one built by hand and loaded does.
      const copies = params.map((p) => new Parameter(p.data.slice(), p.shape));
      const byHand = new Adam(dict.param_groups.map((g) => ({ params: g.params.map((id) => copies[id]) })));
      byHand.loadStateDict(dict);
      params.forEach((p, i) => (p.grad = randomF32(p.numel, 50 + i)));
      copies.forEach((p, i) => (p.grad = randomF32(p.numel, 50 + i)));
      opt.step();
      byHand.step();
      params.forEach((p, i) => expect(Buffer.from(p.data.buffer).equals(Buffer.from(copies[i].data.buffer)), `${version} param ${i}`).to.equal(true));
    }
  });

  it("matches a ModelState's parameters by the groups' param_names (PyTorch numbers params group by group)", () => {
    const record = (n: number) => ({ dtype: 'float32' as const, shape: [n], data: randomF32(n, n) });
    const model = new ModelState({ 'a.weight': record(4), 'a.bias': record(2), 'b.weight': record(3), 'b.bias': record(1) });
    const p = (name: string) => model.parameter(name)!;
    const decay = [p('a.weight'), p('b.weight')];
    const noDecay = [p('a.bias'), p('b.bias')];
    const opt = new Adam([{ params: decay, weightDecay: 0.01 }, { params: noDecay, weightDecay: 0 }]);
    model.parameters.forEach((q, i) => (q.grad = randomF32(q.numel, 9 + i)));
    opt.step();
    const dict = opt.stateDict();
    Object.assign(dict.param_groups[0], { param_names: ['a.weight', 'b.weight'] });
    Object.assign(dict.param_groups[1], { param_names: ['a.bias', 'b.bias'] });
    const again = Adam.fromStateDict(model, dict);
    expect(again.paramGroups.map((g) => g.params)).to.deep.equal([decay, noDecay]);
    expect(again.paramGroups.map((g) => g.weightDecay)).to.deep.equal([0.01, 0]);
  });

  it("asks for compat where the dict does not tell, and names buffers when the count is off", async () => {
    const dict = await loadTorch<StateDict>(fixture('torch-1.13', 'rmsprop.pt'));
    const params = paramsFor(dict);
    expect(() => RMSprop.fromStateDict(params, dict)).to.throw(TypeError, /does not tell which PyTorch generation.*pass \{ compat: '1.13' \} or \{ compat: '2.x' \}/);
    expect(RMSprop.fromStateDict(params, dict, { compat: '1.13' }).paramGroups[0].compat).to.equal('1.13');
    const buffer = new Parameter(new Float32Array(3));
    expect(() => RMSprop.fromStateDict([...params, buffer], dict, { compat: '1.13' }))
      .to.throw(RangeError, /list \d+ params, but \d+ were given.*buffers, such as running_mean/);
    expect(() => SGD.fromStateDict(params, dict)).to.throw(TypeError, /from RMSprop/);
    expect(() => RMSprop.fromStateDict(params, { epoch: 1, optimizer_state_dict: dict } as never)).to.throw(TypeError, /pass its optimizer_state_dict/);
  });
});
