// The cos of the LR schedulers. With the addon loaded, they call the C
// library's cos, as Python's math.cos does (test/schedulers.test.ts checks
// the rates against PyTorch). Without it, lib/reference/cos.ts: correctly
// rounded, checked here against mpmath's cos at 200 bits (in PyTorch's
// Python), and how often the C library's differs from it.
import { expect } from 'chai';
import { backendInfo } from '../lib';
import { libm } from '../lib/engine/backend';
import { cos } from '../lib/reference/cos';
import { parseHexFloat } from './torch/clip-cases';
import { oracleFor } from './torch/python';

/** The arguments the schedulers pass: π·t / T over whole cycles and beyond, π/T, π·fractions, and a spread of others. */
function schedulerArguments(): number[] {
  const xs: number[] = [];
  for (let T = 1; T <= 400; T += 3) {
    for (let t = 0; t <= 2 * T; t++) xs.push((Math.PI * t) / T, (t * Math.PI) / T);
    xs.push(Math.PI / T);
  }
  let s = 7;
  for (let i = 0; i < 4000; i++) {
    s = (s * 1103515245 + 12345) % 2147483648;
    xs.push((s / 2147483648) * 2 ** ((i % 40) - 20) * (i % 2 ? 1 : -1));
  }
  xs.push(0, -0, 1e-300, 5e-324, Math.PI / 2, Math.PI, 1.5e6, -1.5e6);
  return xs;
}

describe('cos for the schedulers', () => {
  it('is correctly rounded: it equals mpmath at 200 bits, rounded once', function () {
    const oracle = oracleFor(this, 'torch-2.6');
    const xs = schedulerArguments();
    const exact = oracle.run(
      'import json, sys, mpmath\nmpmath.mp.prec = 200\n' +
        'print(json.dumps([float(mpmath.cos(mpmath.mpf(x))).hex() for x in json.load(sys.stdin)]))',
      xs,
    ) as string[];
    const bits = (x: number) => {
      const view = new DataView(new ArrayBuffer(8));
      view.setFloat64(0, x);
      return view.getBigUint64(0);
    };
    const wrong = xs.filter((x, i) => cos(x) !== parseHexFloat(exact[i]));
    expect(wrong.map((x) => `${x}: ${cos(x)} (0x${bits(cos(x)).toString(16)})`), 'arguments where it is not').to.deep.equal([]);
  });

  it("differs from the C library's on a few arguments in a thousand, by the last bit", function () {
    if (!backendInfo().nativeLoaded) this.skip();
    const xs = schedulerArguments();
    const differ = xs.filter((x) => cos(x) !== libm.cos(x));
    expect(differ.length / xs.length).to.be.below(0.005);
    for (const x of differ) expect(Math.abs(cos(x) - libm.cos(x)), `at ${x}`).to.be.at.most(Math.abs(cos(x)) * 2 ** -52);
  });

  it('passes NaN and infinities through as Math.cos does', () => {
    expect(cos(NaN)).to.be.NaN;
    expect(cos(Infinity)).to.be.NaN;
    expect(cos(0)).to.equal(1);
  });
});
