// Adagrad against PyTorch, bit for bit: live against both oracles when they
// are installed (CI: always), and against committed fixtures everywhere.
// docs/spec/adagrad-arithmetic.md gives the operation order checked here.
import { expect } from 'chai';
import * as fs from 'node:fs';
import * as zlib from 'node:zlib';
import { everyBackend, resetBackend } from './helpers';
import { cases, digestOf, fixtureFile, inputsDigest, ours, request, script, type Case } from './torch/adagrad-cases';
import { pythonOracles, requireTorch } from './torch/python';

/** Bitwise equality, any NaN equal to any NaN; a readable first difference otherwise. */
function compare(label: string, got: string, want: string, dtype: Case['dtype']) {
  if (got === want) return;
  if (want.startsWith('sha256:')) {
    expect(digestOf(got), `${label}: bytes (digest from the fixture)`).to.equal(want);
    return;
  }
  const a = Buffer.from(got, 'base64');
  const b = Buffer.from(want, 'base64');
  const width = dtype === 'float32' ? 4 : 8;
  expect(a.length, `${label}: length`).to.equal(b.length);
  for (let i = 0; i < a.length; i += width) {
    const x = width === 4 ? a.readFloatLE(i) : a.readDoubleLE(i);
    const y = width === 4 ? b.readFloatLE(i) : b.readDoubleLE(i);
    if (Number.isNaN(x) && Number.isNaN(y)) continue;
    if (!a.subarray(i, i + width).equals(b.subarray(i, i + width))) {
      expect.fail(`${label}: element ${i / width}: ${x} (ours) vs ${y} (PyTorch)`);
    }
  }
}

type Expected = ReturnType<typeof ours> & { name: string };

function check(expected: { torch: string; cases: Expected[] }) {
  const compat = expected.torch.startsWith('1.13') ? '1.13' : '2.x';
  for (const backend of everyBackend()) {
    backend.use();
    for (const c of cases) {
      const want = expected.cases.find((e) => e.name === c.name);
      expect(want, `fixture has case ${c.name}`).to.not.equal(undefined);
      const got = ours(c, compat);
      const label = `${backend.label} ${c.name} vs torch ${expected.torch}`;
      got.params.forEach((p, i) => compare(`${label} param ${i}`, p, want!.params[i], c.dtype));
      expect(Object.keys(got.state), `${label} state entries`).to.deep.equal(Object.keys(want!.state));
      for (const [i, s] of Object.entries(got.state)) {
        expect(s.step, `${label} state ${i} step`).to.equal(want!.state[i].step);
        compare(`${label} state ${i} sum`, s.sum, want!.state[i].sum, c.dtype);
      }
      expect(got.param_groups, `${label} group keys`).to.deep.equal(want!.param_groups);
    }
  }
}

describe('Adagrad: bit-exact with PyTorch', function () {
  this.timeout(600_000);
  afterEach(resetBackend);

  it('matches the committed fixtures (both PyTorch versions) on every backend and ISA', () => {
    const fixtures = JSON.parse(zlib.gunzipSync(fs.readFileSync(fixtureFile)).toString());
    expect(fixtures.inputs, 'fixtures made from the current case list (npx tsx test/torch/make-adagrad-fixtures.ts)')
      .to.equal(inputsDigest());
    expect(fixtures.results.map((r: { torch: string }) => r.torch.slice(0, 4)).sort()).to.deep.equal(['1.13', '2.6.']);
    for (const expected of fixtures.results) check(expected);
  });

  for (const id of ['torch-1.13', 'torch-2.6'] as const) {
    it(`matches live ${id} on every backend and ISA`, function () {
      const oracle = pythonOracles().find((o) => o.id === id);
      if (!oracle) {
        if (requireTorch) expect.fail(`REQUIRE_TORCH=1 but ${id} is not installed (bash scripts/setup-torch.sh)`);
        this.skip();
      }
      check(oracle!.run(script, { cases: cases.map(request) }) as never);
    });
  }
});
