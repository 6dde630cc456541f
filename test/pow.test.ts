// The pow of Adam's bias corrections. With the addon loaded, both backends
// call the C library's pow, as PyTorch's Python does (the bit tests check
// that against PyTorch). Without it, the pure-JS backend uses
// lib/reference/pow.ts: correctly rounded powers, and glibc's one rounding
// rule that Adam meets in bulk. Here: that it is correctly rounded, checked
// against an independent exact computation, and how close the C library
// comes to it (docs/spec/adam-arithmetic.md measures the rest).
import { expect } from 'chai';
import { backendInfo } from '../lib';
import { pow } from '../lib/reference/pow';
import { libm } from '../lib/engine/backend';

/** x as m · 2^e, m a BigInt. */
function split(x: number): { m: bigint; e: number } {
  const view = new DataView(new ArrayBuffer(8));
  view.setFloat64(0, x);
  const bits = view.getBigUint64(0);
  const biased = Number((bits >> 52n) & 0x7ffn);
  return { m: (bits & ((1n << 52n) - 1n)) | (1n << 52n), e: biased - 1075 };
}

/** x^t for a normal x in (0, 1) and a small t, computed exactly in integers and rounded once, ties to even. */
function exactPower(x: number, t: number): number {
  const { m, e } = split(x);
  const full = m ** BigInt(t);
  const shift = full.toString(2).length - 53;
  if (shift === 0) return Number(full) * 2 ** (e * t);
  let q = full >> BigInt(shift);
  const rest = full - (q << BigInt(shift));
  const half = 1n << BigInt(shift - 1);
  if (rest > half || (rest === half && (q & 1n) === 1n)) q += 1n;
  return Number(q) * 2 ** (e * t + shift);
}

/** One ulp of x (a positive normal double). */
const ulp = (x: number) => 2 ** (Math.floor(Math.log2(x)) - 52);

const BETAS = [0.5, 0.8, 0.9, 0.95, 0.98, 0.99, 0.995, 0.999, 0.9999];

describe('pow for the bias corrections', () => {
  it('is correctly rounded for whole powers: every beta, t = 1..40, against exact integer arithmetic', () => {
    for (const b of [...BETAS, 0.123456789, 0.7071067811865476, 1 - 2 ** -52]) {
      for (let t = 1; t <= 40; t++) expect(pow(b, t), `${b} ** ${t}`).to.equal(exactPower(b, t));
    }
  });

  it('keeps glibc\'s pow(1 - 2^-53, 0.5) = 1 (Adam meets it for hundreds of steps), else sqrt', () => {
    expect(pow(1 - 2 ** -53, 0.5)).to.equal(1);
    expect(Math.sqrt(1 - 2 ** -53)).to.equal(1 - 2 ** -53); // which is what it differs from
    for (const x of [0.25, 0.2923922652727339, 0.5, 0.999, 1 - 2 ** -52]) expect(pow(x, 0.5), String(x)).to.equal(Math.sqrt(x));
    expect([pow(0.9, 0), pow(1, 123.5)]).to.deep.equal([1, 1]);
  });

  it('agrees with the C library\'s pow on all but a few inputs in a thousand, and then within one ulp', function () {
    if (!backendInfo().nativeLoaded) this.skip(); // no C library pow to compare with (the addon is not built)
    let differ = 0;
    let total = 0;
    for (const b of BETAS) {
      for (let t = 1; t <= 2000; t += 1) {
        const ours = pow(b, t);
        const theirs = libm.pow(b, t);
        total++;
        if (ours === theirs) continue;
        differ++;
        expect(Math.abs(ours - theirs), `${b} ** ${t}`).to.be.at.most(ulp(theirs));
      }
    }
    expect(differ / total).to.be.below(0.005);
  });
});
