// fmaf32 / fma64 (lib/reference/fma.ts) against an exact reference written
// here: a*b + c as a BigInt times a power of two, rounded once to float32 or
// double (nearest, ties to even) by building the result's bits directly.
import { expect } from 'chai';
import { fmaf32, fma64 } from '../lib/reference/fma';

// ---- bits -----------------------------------------------------------------

const words = new Uint32Array(2); // little-endian view of one double / one float
const asF64 = new Float64Array(words.buffer);
const asF32 = new Float32Array(words.buffer, 0, 1);

interface Format {
  name: string;
  precision: number; // significand bits, hidden bit included
  emin: number; // exponent of the smallest normal
  emax: number; // exponent of the largest finite
  round: (x: number) => number; // the format's rounding of a double (hardware)
  fma: (a: number, b: number, c: number) => number; // the function under test
}

const F32: Format = { name: 'fmaf32', precision: 24, emin: -126, emax: 127, round: Math.fround, fma: fmaf32 };
const F64: Format = { name: 'fma64', precision: 53, emin: -1022, emax: 1023, round: (x) => x, fma: fma64 };

/** A finite double (float32 values included) as sign, integer magnitude and exponent: x = ±m 2^e. */
function decode(x: number): { neg: boolean; m: bigint; e: number } {
  asF64[0] = x;
  const hi = words[1];
  const biased = (hi >>> 20) & 0x7ff;
  let m = (BigInt(hi & 0xfffff) << 32n) + BigInt(words[0]);
  if (biased !== 0) m += 1n << 52n;
  return { neg: hi >>> 31 === 1, m, e: Math.max(biased, 1) - 1075 };
}

/** The value with the given sign, biased exponent and fraction field in format f. */
function encode(f: Format, neg: boolean, biased: number, fraction: bigint): number {
  if (f === F32) {
    words[0] = ((neg ? 1 : 0) << 31) | (biased << 23) | Number(fraction);
    return asF32[0];
  }
  words[0] = Number(fraction & 0xffffffffn);
  words[1] = (((neg ? 1 : 0) << 31) | (biased << 20) | Number(fraction >> 32n)) >>> 0;
  return asF64[0];
}

const bitLength = (m: bigint) => m.toString(2).length;

/** ±m 2^e (m > 0) rounded to format f: nearest, ties to even, gradual underflow, overflow to ±Inf. */
function roundExact(f: Format, neg: boolean, m: bigint, e: number): number {
  const P = f.precision;
  // The quantum (weight of the last significand bit) of the result.
  let q = Math.max(e + bitLength(m) - 1, f.emin) - (P - 1);
  let n: bigint;
  if (q <= e) {
    n = m << BigInt(e - q);
  } else {
    const d = BigInt(q - e);
    n = m >> d;
    const twiceRest = (m - (n << d)) << 1n;
    const unit = 1n << d;
    if (twiceRest > unit || (twiceRest === unit && (n & 1n) === 1n)) n += 1n;
  }
  if (n === 1n << BigInt(P)) {
    n >>= 1n; // rounding carried into a new binade
    q += 1;
  }
  const bias = f.emax;
  if (n < 1n << BigInt(P - 1)) return encode(f, neg, 0, n); // subnormal (or zero)
  const exponent = q + P - 1;
  if (exponent > f.emax) return neg ? -Infinity : Infinity;
  return encode(f, neg, exponent + bias, n - (1n << BigInt(P - 1)));
}

/** IEEE 754 fusedMultiplyAdd(a, b, c) in format f, for a, b, c in that format. */
function reference(f: Format, a: number, b: number, c: number): number {
  if (Number.isNaN(a) || Number.isNaN(b) || Number.isNaN(c)) return NaN;
  const productSign = (a < 0 || Object.is(a, -0)) !== (b < 0 || Object.is(b, -0)); // true: negative
  if (!Number.isFinite(a) || !Number.isFinite(b)) {
    if (a === 0 || b === 0) return NaN; // Inf * 0
    if (c === (productSign ? Infinity : -Infinity)) return NaN; // Inf - Inf
    return productSign ? -Infinity : Infinity;
  }
  if (!Number.isFinite(c)) return c;
  const x = decode(a);
  const y = decode(b);
  const z = decode(c);
  // Exact a*b + c as a signed BigInt times 2^e.
  const e = Math.min(x.e + y.e, z.e);
  const pm = ((x.m * y.m) << BigInt(x.e + y.e - e)) * (productSign ? -1n : 1n);
  const cm = (z.m << BigInt(z.e - e)) * (z.neg ? -1n : 1n);
  const sum = pm + cm;
  if (sum === 0n) {
    // An exact zero: -0 only for (-0) + (-0); a cancellation of nonzero terms is +0.
    const productIsZero = x.m === 0n || y.m === 0n;
    return productIsZero && productSign && Object.is(c, -0) ? -0 : 0;
  }
  return roundExact(f, sum < 0n, sum < 0n ? -sum : sum, e);
}

const same = (x: number, y: number) => Object.is(x, y) || (Number.isNaN(x) && Number.isNaN(y));
const show = (x: number) => (Object.is(x, -0) ? '-0' : String(x));

/** Checks fn against the reference on every case, reporting the first few failures. */
function expectExact(f: Format, cases: Iterable<readonly [number, number, number]>): number {
  let count = 0;
  const failures: string[] = [];
  for (const [a, b, c] of cases) {
    count++;
    const got = f.fma(a, b, c);
    const want = reference(f, a, b, c);
    if (!same(got, want) && failures.push(`${f.name}(${show(a)}, ${show(b)}, ${show(c)}) = ${show(got)}, want ${show(want)}`) >= 5) break;
  }
  expect(failures, failures.join('\n')).to.deep.equal([]);
  return count;
}

// ---- inputs ---------------------------------------------------------------

let state = 0x2545f491;
function seed(s: number): void {
  state = s >>> 0 || 1;
}
/** xorshift32: uniform 32-bit integers. */
function u32(): number {
  state ^= state << 13;
  state ^= state >>> 17;
  state ^= state << 5;
  return (state >>>= 0);
}
const int = (lo: number, hi: number) => lo + (u32() % (hi - lo + 1)); // lo..hi inclusive
const sign = () => (u32() & 1 ? -1 : 1);

/** Any bit pattern of the format: every exponent, subnormals, ±0, ±Inf and NaN. */
function anyBits(f: Format): number {
  words[0] = u32();
  words[1] = u32();
  return f === F32 ? asF32[0] : asF64[0];
}

/** ±(a random significand of `bits` bits, top bit set) * 2^exp, exactly in format f when bits <= precision. */
function withBits(f: Format, bits: number, exp: number): number {
  let m = 1;
  for (let i = 1; i < bits; i++) m = m * 2 + (u32() & 1);
  // m 2^(1-bits) in [1, 2) is exact, so the only rounding is the format's own
  // (to a subnormal when exp < emin; Math.fround of an exact double is one rounding).
  return f.round(sign() * m * 2 ** (1 - bits) * 2 ** exp);
}

/** A random finite value with exponent in [lo, hi] (subnormal when below emin). */
function inRange(f: Format, lo: number, hi: number): number {
  return withBits(f, f.precision, int(lo, hi));
}

/** Random triples, a mix of: any bits, moderate, spread over the whole range, cancellation, tiny and huge. */
function* randomTriples(f: Format, n: number): Generator<[number, number, number]> {
  const P = f.precision;
  const lo = f.emin - P; // smallest subnormal's exponent minus one
  const hi = f.emax;
  for (let i = 0; i < n; i++) {
    let a: number;
    let b: number;
    let c: number;
    switch (i % 8) {
      case 0: // raw bit patterns
        [a, b, c] = [anyBits(f), anyBits(f), anyBits(f)];
        break;
      case 1: // moderate exponents, c of any size relative to a*b
        [a, b, c] = [inRange(f, -30, 30), inRange(f, -30, 30), inRange(f, -90, 90)];
        break;
      case 2: // c close to -a*b: heavy cancellation
        a = inRange(f, -30, 30);
        b = inRange(f, -30, 30);
        c = f.round(-a * b * (1 + int(-4, 4) * 2 ** (1 - P)));
        break;
      case 3: // c = -RN(a*b) exactly: x is the product's rounding error
        a = inRange(f, -60, 60);
        b = inRange(f, -60, 60);
        c = f.round(-a * b);
        break;
      case 4: // exponents spread over the whole format
        a = inRange(f, Math.floor(lo / 2), Math.ceil(hi / 2));
        b = inRange(f, Math.floor(lo / 2), Math.ceil(hi / 2));
        c = inRange(f, lo, hi);
        break;
      case 5: // tiny: subnormal products and results
        a = inRange(f, Math.floor(f.emin / 2) - P, Math.floor(f.emin / 2) + 5);
        b = inRange(f, Math.floor(f.emin / 2) - 10, Math.floor(f.emin / 2) + 5);
        c = u32() & 1 ? f.round(-a * b * (1 + int(-2, 2) * 2 ** (1 - P))) : inRange(f, lo, f.emin + 2);
        break;
      case 6: // huge: near overflow, a*b beyond the range while x is not
        a = inRange(f, Math.floor(hi / 2) - 2, Math.floor(hi / 2) + 3);
        b = inRange(f, Math.floor(hi / 2) - 2, Math.floor(hi / 2) + 3);
        c = u32() & 1 ? f.round(-a * b * (1 - int(0, 3) * 2 ** -P)) : inRange(f, hi - 2, hi);
        break;
      default: // short significands: a*b near a midpoint of the format, nudged by a small c
        a = withBits(f, (P >> 1) + 1, int(-5, 5));
        b = withBits(f, (P >> 1) + 1, int(-5, 5));
        c = f.round(sign() * 2 ** int(-2 * P - 20, -P + 2));
        if (u32() & 1) c = f.round(c + inRange(f, -3, 8));
    }
    yield [a, b, c];
  }
}

/**
 * Triples whose exact a*b + c lies just beside a midpoint of format f (never
 * on it), so close that a rounding to double on the way (of a*b + c for
 * float32, of a*b for doubles) often lands on the midpoint: a*b = ±(h - h 2^-2k)
 * with h half the spacing at c, i.e. x sits within h 2^-2k of c ± h, on c's side.
 */
function* nearMidpoints(f: Format, n: number): Generator<[number, number, number]> {
  const P = f.precision;
  for (let i = 0; i < n; i++) {
    // c: normal or subnormal, any significand, either sign.
    const c = i % 5 === 0 ? f.round(sign() * int(1, 2 ** 20) * 2 ** (f.emin - P + 1)) : inRange(f, f.emin, f.emax - 1);
    const { e: ce, m: cm } = decode(c);
    // For a double, cm and ce describe c's double significand; the spacing of
    // format f at c is 2^(exponent of c's top bit - (P - 1)), or the subnormal quantum.
    const top = ce + bitLength(cm) - 1;
    const hExp = Math.max(top, f.emin) - P; // h = 2^hExp, half a spacing
    // For doubles, k >= 27 makes a*b = h (1 - 2^-2k) inexact: RN64(a*b) = h, the midpoint's offset.
    const k = int(f === F32 ? 15 : 27, f === F32 ? 23 : 40);
    const e1 = Math.floor(hExp / 2);
    const a = f.round(sign() * 2 ** e1 * (1 + 2 ** -k));
    const b = f.round(2 ** (hExp - e1) * (1 - 2 ** -k));
    yield [a, b, c];
  }
}

/** A small set of special and boundary values of format f. */
function specials(f: Format): number[] {
  const max = f === F32 ? 3.4028234663852886e38 : Number.MAX_VALUE;
  const minSub = 2 ** (f.emin - f.precision + 1);
  const vals = [0, 1, 2, 0.5, 3, 1 + 2 ** (1 - f.precision), max, minSub, 2 ** f.emin, 2 ** (f.emin - 1), 2 ** Math.floor(f.emax / 2), Infinity];
  return [...vals, ...vals.map((v) => -v), NaN];
}

function* grid(vals: number[]): Generator<[number, number, number]> {
  for (const a of vals) for (const b of vals) for (const c of vals) yield [a, b, c];
}

// ---- tests ----------------------------------------------------------------

describe('exact fma (lib/reference/fma)', () => {
  describe("the test's own exact reference", () => {
    // Rounding checked against the hardware's correctly rounded * and +.
    for (const f of [F32, F64]) {
      it(`rounds like the hardware does: ${f.name}(a, b, ±0) = RN(a*b), ${f.name}(a, 1, c) = RN(a + c)`, () => {
        seed(7);
        let n = 0;
        for (const [a, b, c] of randomTriples(f, 40_000)) {
          // In float32 a*b is exact in double, so Math.fround(a*b) is one rounding.
          expect(same(reference(f, a, b, -0), f.round(a * b)), `${a} * ${b}`).to.equal(true);
          // a + c in double is exact for float32 inputs, and one rounding for doubles.
          expect(same(reference(f, a, 1, c), f.round(a + c)), `${a} + ${c}`).to.equal(true);
          n++;
        }
        expect(n).to.equal(40_000);
      });
    }
  });

  for (const f of [F32, F64]) {
    describe(f.name, () => {
      it('is exact on 250,000 random inputs across the whole range', () => {
        seed(f === F32 ? 1 : 2);
        expect(expectExact(f, randomTriples(f, 250_000))).to.equal(250_000);
      });

      it('is exact on every combination of special and boundary values', () => {
        expectExact(f, grid(specials(f)));
      });

      it('is exact just beside midpoints, where rounding a*b + c to double first is wrong', () => {
        seed(f === F32 ? 3 : 4);
        const cases = [...nearMidpoints(f, 20_000)];
        expectExact(f, cases);
        // The test can fail: naive evaluation goes wrong on many of these.
        const naiveWrong = cases.filter(([a, b, c]) => !same(f.round(a * b + c), reference(f, a, b, c)));
        expect(naiveWrong.length).to.be.greaterThan(f === F32 ? 5000 : 2000);
      });

      it('keeps signed zeros as IEEE 754 says', () => {
        const t40 = 2 ** (f.emin - f.precision + 40); // half the smallest subnormal, times 2^40
        const minSub = 2 ** (f.emin - f.precision + 1);
        const cases: [number, number, number, number][] = [
          [0, 1, 0, 0],
          [0, 1, -0, 0],
          [-0, 1, 0, 0],
          [-0, 1, -0, -0],
          [0, -1, -0, -0],
          [-0, -1, -0, 0],
          [-0, Infinity, 1, NaN],
          [1, 1, -1, 0], // exact cancellation: +0
          [-1, 1, 1, 0],
          [-3, 0.5, 1.5, 0],
          [-5, 0, 0, 0],
          [-5, 0, -0, -0],
          [5, -0, 1, 1],
          [2 ** Math.floor(f.emin / 2), -(2 ** Math.floor(f.emin / 2)), 0, -(2 ** (2 * Math.floor(f.emin / 2)))],
          [2 ** -60, -(2 ** -60), 2 ** -120, 0],
          [t40, -(2 ** -40), 0, -0], // -minSub/2 exactly: a tie between -0 and -minSub, to -0
          [t40, -(2 ** -40), -0, -0],
          [t40, 2 ** -40, -0, 0],
          [t40, -(2 ** -40) * (1 + 2 ** (1 - f.precision)), 0, -minSub], // just past the tie
          [t40, 2 ** -41, 0, 0], // a quarter of minSub
          [t40, 2 ** -41, -0, 0],
          [t40, 2 ** -40 * 1.5, 0, minSub], // 0.75 minSub
        ];
        for (const [a, b, c, want] of cases) {
          const got = f.fma(a, b, c);
          expect(same(got, want), `${f.name}(${show(a)}, ${show(b)}, ${show(c)}) = ${show(got)}, want ${show(want)}`).to.equal(true);
          expect(same(reference(f, a, b, c), want), `reference(${show(a)}, ${show(b)}, ${show(c)})`).to.equal(true);
        }
      });

      it('overflows exactly at the threshold (halfway from MAX to 2^(emax+1))', () => {
        const P = f.precision;
        const max = f === F32 ? 3.4028234663852886e38 : Number.MAX_VALUE;
        const half = 2 ** (f.emax - P); // half the top spacing: max + half is the threshold
        const h1 = 2 ** Math.floor((f.emax - P) / 2);
        const h2 = half / h1;
        const cases: [number, number, number, number][] = [];
        for (const s of [1, -1]) {
          cases.push(
            [s * half, 1, s * max, s * Infinity], // exactly the threshold: ties to even, 2^(emax+1)
            [s * half * (1 - 2 ** -P), 1, s * max, s * max], // just below
            [s * half * (1 + 2 ** (1 - P)), 1, s * max, s * Infinity], // just above
            [s * max, 1, s * half, s * Infinity],
            [s * max, 1, s * half * (1 - 2 ** -P), s * max],
            [s * max, 2, -s * max, s * max], // a*b overflows, x does not
            [s * max, 1.5, -s * max, s * max * 0.5],
            [s * 2 ** Math.ceil(f.emax / 2 + 1), 2 ** Math.ceil(f.emax / 2 + 1), -s * max, s * Infinity],
          );
          for (let k = 12; k <= P - 1; k++) {
            // a*b = half (1 - 2^-2k) just below the threshold when added to max.
            cases.push([s * h1 * (1 + 2 ** -k), h2 * (1 - 2 ** -k), s * max, s * max]);
          }
        }
        // a*b rounded up to 2^(emax - P) in double, exactly half below it: must stay at max.
        if (f === F64) cases.push([2 ** 485 * (1 + 2 ** -40), 2 ** 485 * (1 - 2 ** -40), max, max]);
        let naiveWrong = 0;
        for (const [a, b, c, want] of cases) {
          const got = f.fma(a, b, c);
          expect(same(got, want), `${f.name}(${a}, ${b}, ${c}) = ${got}, want ${want}`).to.equal(true);
          expect(same(reference(f, a, b, c), want), `reference(${a}, ${b}, ${c})`).to.equal(true);
          if (!same(f.round(a * b + c), want)) naiveWrong++;
        }
        expect(naiveWrong).to.be.greaterThan(0);
      });
    });
  }

  it('fmaf32 differs from Math.fround(a*b + c) on every constructed double-rounding case', () => {
    // (1 + k 2^-12)^2 = 1 + k 2^-11 + k^2 2^-24 is a float32 midpoint for odd k
    // (k < 1696 keeps it below 2); c moves x off it, against the tie's even choice.
    let cases = 0;
    for (let k = 1; k < 1696; k += 2) {
      const a = Math.fround(1 + k * 2 ** -12);
      const even = Math.fround(a * a); // where the tie goes
      const away = (even > a * a ? -1 : 1) * 2 ** -60; // points to the odd neighbour
      for (const [x, y, c] of [
        [a, a, away],
        [-a, a, -away],
        [a * 2 ** -30, a * 2 ** -30, away * 2 ** -60], // the same scaled down (still normal)
      ]) {
        const got = fmaf32(x, y, c);
        expect(got).to.equal(reference(F32, x, y, c));
        expect(got, `fmaf32(${x}, ${y}, ${c})`).to.not.equal(Math.fround(x * y + c));
        cases++;
      }
    }
    // The float32 overflow threshold FLT_MAX + 2^103, approached from below.
    for (let k = 15; k <= 23; k++) {
      const a = Math.fround(2 ** 52 * (1 + 2 ** -k));
      const b = Math.fround(2 ** 51 * (1 - 2 ** -k));
      const c = 3.4028234663852886e38;
      expect(fmaf32(a, b, c)).to.equal(c);
      expect(Math.fround(a * b + c)).to.equal(Infinity);
      cases++;
    }
    // Subnormal results: x = c + 2^-150 (1 - 2^-46) with c an odd number of
    // subnormal quanta 2^-149, just below the midpoint whose even side is up.
    // (c >= 2^-142 keeps 2^-196 below half of c's double spacing.)
    for (let m = 0; m < 1024; m++) {
      const a = Math.fround(2 ** -75 * (1 + 2 ** -23));
      const b = Math.fround(2 ** -75 * (1 - 2 ** -23));
      const c = (2 ** 8 + 2 * m + 1) * 2 ** -149;
      const got = fmaf32(a, b, c);
      expect(got).to.equal(c);
      expect(reference(F32, a, b, c)).to.equal(c);
      expect(Math.fround(a * b + c)).to.equal(c + 2 ** -149);
      cases++;
    }
    expect(cases).to.equal(3 * 848 + 9 + 1024);
  });

  it('fma64 resolves products on a double midpoint and results near one', () => {
    // a, b with 27-bit odd significands: a*b has 53 or 54 bits, and with 54 it
    // is a double midpoint; c = ±2^-j ulp nudges it to either side, by
    // anything from a quarter spacing down to far below double precision.
    seed(5);
    const cases: [number, number, number][] = [];
    while (cases.length < 30_000) {
      const a = withBits(F64, 27, int(-3, 3));
      const b = withBits(F64, 27, int(-3, 3));
      const p = a * b;
      const ulp = 2 ** (Math.floor(Math.log2(Math.abs(p))) - 52);
      const c = sign() * ulp * 2 ** -int(2, 120);
      cases.push([a, b, c]);
      cases.push([a, b, 0]); // the exact midpoint itself: ties to even
    }
    // x = c + 2^(u-1) (1 ± 2^-k)(1 ± 2^-j) with 2^u the spacing at c: within
    // 2^-k of a midpoint, with a*b, p + c and pe + se all inexact (k < j, k + j > 53).
    while (cases.length < 60_000) {
      const c = inRange(F64, -200, 200);
      const u = decode(c).e; // exponent of c's last bit
      const k = int(20, 45);
      const j = int(Math.max(k + 1, 54 - k), 70);
      const a = sign() * 2 ** (u - 1) * (1 + sign() * 2 ** -k);
      const b = 1 + sign() * 2 ** -j;
      cases.push([a, b, c]);
    }
    expectExact(F64, cases);
    const naiveWrong = cases.filter(([a, b, c]) => a * b + c !== reference(F64, a, b, c)).length;
    expect(naiveWrong).to.be.greaterThan(1000);
  });

  it('fma64 is exact where Dekker and TwoSum are unusable (underflow, huge factors)', () => {
    seed(6);
    const cases: [number, number, number][] = [];
    for (let i = 0; i < 20_000; i++) {
      const kind = i % 4;
      if (kind === 0) cases.push([inRange(F64, -1074, -900), inRange(F64, -200, 60), inRange(F64, -1074, -900)]);
      else if (kind === 1) cases.push([inRange(F64, 990, 1023), inRange(F64, -1074, 40), inRange(F64, -1074, 1023)]);
      else if (kind === 2) {
        const a = inRange(F64, -600, -400);
        const b = inRange(F64, -600, -400);
        cases.push([a, b, -a * b * (1 + int(-3, 3) * 2 ** -52)]);
      } else cases.push([inRange(F64, -540, -500), inRange(F64, -540, -500), inRange(F64, -1074, -1000)]);
    }
    expectExact(F64, cases);
  });
});
