// Gradient clipping and weight EMA against real PyTorch 2.6 (live in CI,
// from committed fixtures everywhere), and the norm's promise: the same bits
// on every backend, ISA and thread count, within an ulp of the exact norm.
// Cases: test/torch/clip-cases.ts.
import { expect } from 'chai';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as zlib from 'node:zlib';
import {
  clipCoefficient,
  clipGradNorm,
  clipGradsWithNorm,
  clipGradValue,
  EMA,
  getTotalNorm,
  loadTorch,
  Parameter,
  saveTorch,
  type FloatArray,
} from '../lib';
import { everyBackend, quickSlice, resetBackend } from './helpers';
import {
  b64,
  clipCases,
  clipFixtureFile,
  clipInputsDigest,
  clipRequest,
  clipScript,
  digest,
  emaCases,
  gradsOf,
  parseHexFloat,
  values,
  weightsOf,
  type ClipCase,
  type ClipOracleAnswer,
} from './torch/clip-cases';
import { oracleFor } from './torch/python';

const fixture = (): ClipOracleAnswer => {
  const file = JSON.parse(zlib.gunzipSync(fs.readFileSync(clipFixtureFile)).toString());
  expect(file.inputs, 'fixture made from the current cases (npx tsx test/torch/make-clip-fixtures.ts)').to.equal(clipInputsDigest());
  return file.answer;
};

/** An array's digest, or a base64 answer's: fixtures hold digests, live answers the arrays. */
const digestOf = (x: string) => (x.startsWith('sha256:') ? x : digest(x));

const paramsOf = (grads: FloatArray[]) =>
  grads.map((g) => {
    const p = new Parameter(g instanceof Float32Array ? new Float32Array(g.length) : new Float64Array(g.length));
    p.grad = g.slice();
    return p;
  });

/** Distance in units in the last place of the dtype: |a - b| / ulp(b). */
function ulps(a: number, b: number, dtype: ClipCase['dtype']): number {
  if (a === b) return 0;
  const exponent = Math.floor(Math.log2(Math.abs(b)));
  return Math.abs(a - b) / 2 ** (exponent - (dtype === 'float32' ? 23 : 52));
}

/** Every case (or `cases`) against one answer of PyTorch's, on every backend and ISA. */
function checkClip(answer: ClipOracleAnswer, cases: readonly ClipCase[] = clipCases): void {
  for (const backend of everyBackend()) {
    backend.use();
    for (const c of cases) {
      const want = answer.clip.find((a) => a.name === c.name)!;
      const label = `${backend.label}, ${c.name}`;
      const torchNorm = parseHexFloat(want.total_norm);
      // Given PyTorch's total norm, PyTorch's clipped grads.
      const params = paramsOf(gradsOf(c));
      clipGradsWithNorm(params, c.maxNorm, torchNorm);
      params.forEach((p, i) => expect(digest(b64(p.grad!)), `${label}: grad ${i} clipped with PyTorch's norm`).to.equal(digestOf(want.clipped[i])));
      if (c.clipValue !== undefined) {
        const clamped = paramsOf(gradsOf(c));
        clipGradValue(clamped, c.clipValue);
        clamped.forEach((p, i) => expect(digest(b64(p.grad!)), `${label}: grad ${i} clamped`).to.equal(digestOf(want.value_clipped![i])));
      }
    }
  }
}

/** The live cases: all in the full suite; in npm test, those up to 20,000 elements. */
const liveClipCases = quickSlice(clipCases, (c) => c.sizes.reduce((a, b) => a + b, 0) <= 20_000);

describe('gradient clipping', function () {
  this.timeout(300_000);
  afterEach(resetBackend);

  it('computes the same total norm on every backend, ISA and thread count', () => {
    const big = [values(1_000_003, 1, 3, 'float32'), values(77, 2, 3, 'float32'), values(300_000, 3, 30, 'float64')];
    const lists = [...clipCases.map(gradsOf), big];
    for (const normType of [2, 1, Infinity, 3]) {
      const expected = lists.map((grads) => getTotalNorm(grads, { normType, threads: 1 }));
      for (const backend of everyBackend()) {
        backend.use();
        for (const threads of [1, 2, 3, 4]) {
          lists.forEach((grads, i) => {
            expect(Object.is(getTotalNorm(grads, { normType, threads }), expected[i]), `${backend.label}, ${threads} threads, list ${i}, L${normType}`).to.equal(true);
          });
        }
      }
    }
  });

  it('is within an ulp of the exact norm, and PyTorch 2.6 farther on large sums', () => {
    const answer = fixture();
    let worstTorch = 0;
    for (const c of clipCases) {
      const want = answer.clip.find((a) => a.name === c.name)!;
      const ours = getTotalNorm(gradsOf(c), { normType: c.normType });
      const torchNorm = parseHexFloat(want.total_norm);
      if (want.exact_norm === undefined) {
        expect(Object.is(ours, torchNorm), `${c.name}: ${ours} vs PyTorch's ${torchNorm}`).to.equal(true);
        continue;
      }
      const exact = parseHexFloat(want.exact_norm);
      // float32: the double sum rounded once; float64: each square rounds, a few ulps at most.
      expect(ulps(ours, exact, c.dtype), `${c.name}: ours ${ours}, exact ${exact}`).to.be.at.most(c.dtype === 'float32' ? 0.5 + 1e-9 : 4);
      worstTorch = Math.max(worstTorch, ulps(torchNorm, exact, c.dtype));
    }
    // PyTorch sums per tensor in float32, then the tensors' norms: its L1 over 133K elements is hundreds of ulp off.
    expect(worstTorch, "PyTorch's farthest norm, in ulps").to.be.above(10);
  });

  it("clips to PyTorch 2.6's grads bit for bit given its total norm, and clamps as clip_grad_value_ (fixtures)", () => {
    checkClip(fixture());
  });

  it(`matches live PyTorch 2.6 (${liveClipCases.length} of ${clipCases.length} cases)`, function () {
    const oracle = oracleFor(this, 'torch-2.6');
    const live = oracle.run(clipScript, clipRequest(liveClipCases, false)) as ClipOracleAnswer;
    checkClip(live, liveClipCases);
    const stored = fixture();
    for (const c of live.clip) expect(c.total_norm, `${c.name}: the fixture's norm`).to.equal(stored.clip.find((s) => s.name === c.name)!.total_norm);
  });

  it("computes PyTorch's clip coefficient: a float32 reciprocal, then a product", () => {
    // A plain division differs on about one input in ten: the test would see it.
    let differ = 0;
    for (let i = 1; i <= 1000; i++) {
      const norm = Math.fround(1 + i / 7);
      const maxNorm = 1 + (i % 13) / 10;
      const division = Math.fround(Math.fround(maxNorm) / Math.fround(norm + Math.fround(1e-6)));
      if (clipCoefficient(maxNorm, norm, 'float32') !== division) differ++;
    }
    expect(differ).to.be.within(30, 300);
    expect(clipCoefficient(1, 0.5, 'float32')).to.equal(1);
    expect(clipCoefficient(1, NaN, 'float32')).to.be.NaN;
  });

  it('returns the norm, clips in place, and leaves params without a grad alone', () => {
    const a = new Parameter(new Float32Array([3, 4]));
    const b = new Parameter(new Float32Array([1]));
    a.grad = new Float32Array([3, 4]);
    expect(clipGradNorm([a, b], 1)).to.equal(5);
    expect(Array.from(a.grad)).to.deep.equal([Math.fround(Math.fround(3) * Math.fround(Math.fround(1 / Math.fround(5 + Math.fround(1e-6))))),
      Math.fround(4 * Math.fround(Math.fround(1 / Math.fround(5 + Math.fround(1e-6)))))]);
    expect(b.grad).to.equal(null);
    expect(clipGradNorm([b], 1)).to.equal(0);
  });

  it('refuses bad input with a named error, changing nothing', () => {
    const p = new Parameter(new Float32Array(4));
    p.grad = new Float32Array([1, 2, Infinity, 4]);
    const before = p.grad.slice();
    expect(() => clipGradNorm([p], -1)).to.throw(TypeError, /clipGradNorm maxNorm.*-1/);
    expect(() => clipGradNorm([p], 1, { normType: 0 })).to.throw(TypeError, /normType.*0/);
    expect(() => clipGradNorm([p], 1, { errorIfNonfinite: true })).to.throw(RangeError, /non-finite, so it cannot be clipped/);
    expect(() => clipGradNorm([p], 1, { norm_type: 2 } as never)).to.throw(TypeError, /Unknown option 'norm_type'/);
    expect(() => clipGradValue([p], 0)).to.throw(TypeError, /number > 0 for clipGradValue clipValue but received 0/);
    const q = new Parameter(new Float32Array(2));
    q.grad = p.grad.subarray(1, 3);
    expect(() => clipGradNorm([p, q], 1)).to.throw(RangeError, /params\[0\].grad and params\[1\].grad share memory/);
    const r = new Parameter(new Float32Array(3));
    r.grad = new Float32Array(2);
    expect(() => clipGradNorm([r], 1)).to.throw(RangeError, /params\[0\].grad has 2 elements, its parameter 3/);
    expect(Array.from(p.grad)).to.deep.equal(Array.from(before));
  });
});

describe('EMA', function () {
  this.timeout(120_000);
  afterEach(resetBackend);

  /** Our averages after each update, as digests. */
  function ours(c: (typeof emaCases)[number]): string[][] {
    const steps = weightsOf(c);
    const params = steps[0].map((w) => new Parameter(w.slice()));
    const ema = new EMA(params, { decay: c.decay });
    return steps.map((step) => {
      params.forEach((p, i) => p.data.set(step[i]));
      ema.update();
      return ema.params.map((p) => digest(b64(p.data)));
    });
  }

  function checkEma(answer: ClipOracleAnswer): void {
    for (const backend of everyBackend()) {
      backend.use();
      for (const c of emaCases) {
        const want = answer.ema.find((e) => e.name === c.name)!;
        expect(ours(c), `${backend.label}, ${c.name}`).to.deep.equal(want.averages.map((s) => s.map(digestOf)));
      }
    }
  }

  it("averages as PyTorch 2.6's AveragedModel with get_ema_multi_avg_fn, bit for bit, on every backend and ISA (fixtures)", () => {
    checkEma(fixture());
  });

  it('matches live PyTorch 2.6, with its state dict keys', function () {
    const oracle = oracleFor(this, 'torch-2.6');
    const live = oracle.run(clipScript, { clip: [], ema: clipRequest().ema }) as ClipOracleAnswer;
    checkEma(live);
    for (const c of emaCases) {
      const want = live.ema.find((e) => e.name === c.name)!;
      const ema = new EMA(weightsOf(c)[0].map((w) => new Parameter(w.slice())), { decay: c.decay });
      for (let t = 0; t < c.updates; t++) ema.update();
      expect(Object.keys(ema.stateDict()), c.name).to.deep.equal(want.keys);
      expect(ema.nAveraged).to.equal(want.n_averaged);
    }
  });

  it('resumes from its state dict through a torch.save file, equal to an uninterrupted run', async () => {
    const c = emaCases[0];
    const steps = weightsOf(c);
    const run = (from: number, ema: EMA, params: Parameter[]) => {
      for (let t = from; t < steps.length; t++) {
        params.forEach((p, i) => p.data.set(steps[t][i]));
        ema.update();
      }
    };
    const params = steps[0].map((w) => new Parameter(w.slice()));
    const straight = new EMA(params, { decay: c.decay });
    run(0, straight, params);
    const first = steps[0].map((w) => new Parameter(w.slice()));
    const half = new EMA(first, { decay: c.decay });
    for (let t = 0; t < 20; t++) {
      first.forEach((p, i) => p.data.set(steps[t][i]));
      half.update();
    }
    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'ema-')), 'ema.pt');
    await saveTorch(half.stateDict(), file);
    const resumed = new EMA(first, { decay: c.decay });
    resumed.loadStateDict(await loadTorch(file));
    expect(resumed.nAveraged).to.equal(20);
    run(20, resumed, first);
    resumed.params.forEach((p, i) => expect(b64(p.data)).to.equal(b64(straight.params[i].data)));
  });

  it('refuses bad input with a named error, changing nothing', () => {
    const p = new Parameter(new Float32Array([1, 2]));
    expect(() => new EMA([p], { decay: 1.5 })).to.throw(TypeError, /EMA decay.*1.5/);
    expect(() => new EMA([p, p])).to.throw(RangeError, /given twice/);
    const ema = new EMA({ weight: p });
    ema.update();
    const before = ema.stateDict();
    expect(() => ema.loadStateDict({ n_averaged: 3 })).to.throw(TypeError, /missing 'module.weight'/);
    expect(() => ema.loadStateDict({ ...before, 'module.weight': { dtype: 'float32', shape: [3], data: new Float32Array(3) } }))
      .to.throw(RangeError, /module.weight has shape \[3\], the param \[2\]/);
    expect(() => ema.loadStateDict(Promise.resolve({}) as never)).to.throw(TypeError, /did you forget await/);
    expect(ema.stateDict()).to.deep.equal(before);
    p.data = new Float32Array(3);
    expect(() => ema.update()).to.throw(TypeError, /Float32Array of length 2 .* for EMA params weight.data but received Float32Array\(3\)/);
    expect(ema.nAveraged).to.equal(1);
  });
});
