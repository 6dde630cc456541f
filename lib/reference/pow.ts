// x ** y for the per-tensor scalars of the pure-JS backend when the addon is
// not loaded (with the addon, the engine calls the C library's pow, as
// PyTorch's Python does): Adam's bias corrections, beta ** step and
// x ** 0.5. Correctly rounded there, where V8's Math.pow is not; the C
// library's pow is within about half an ulp and differs on a few inputs in
// ten thousand, which docs/spec/adam-arithmetic.md measures.

/** 1 - 2^-53, the largest double below 1. */
const BELOW_ONE = 1 - 2 ** -53;

/**
 * x ** y: correctly rounded for x > 0 with a whole exponent 1 ≤ y ≤ 2^53,
 * and for y = 0.5 (where glibc's pow(1 - 2^-53, 0.5) is 1, which Adam meets
 * for thousands of consecutive steps once b2^t falls below 2^-53, and which
 * is kept); Math.pow elsewhere.
 */
export function pow(x: number, y: number): number {
  if (y === 0 || x === 1) return 1; // as Python's float pow, before it calls the C library
  if (y === 0.5 && x === BELOW_ONE) return 1;
  if (y === 0.5 && x >= 0) return Math.sqrt(x); // IEEE sqrt is correctly rounded
  if (Number.isInteger(y) && y >= 1 && y <= 2 ** 53 && x > 0 && Number.isFinite(x)) return wholePower(x, y);
  return Math.pow(x, y);
}

/** A number m · 2^e with m a non-negative BigInt. */
interface Scaled {
  m: bigint;
  e: number;
}

/** m as an odd BigInt times 2^e: x's exact value. */
function exactOf(x: number): Scaled {
  const view = new DataView(new ArrayBuffer(8));
  view.setFloat64(0, x);
  const bits = view.getBigUint64(0);
  const biased = Number((bits >> 52n) & 0x7ffn);
  let m = bits & ((1n << 52n) - 1n);
  let e = biased - 1075;
  if (biased === 0) e = -1074; // subnormal
  else m |= 1n << 52n;
  while (m !== 0n && (m & 1n) === 0n) {
    m >>= 1n;
    e += 1;
  }
  return { m, e };
}

/** The number of bits of m > 0. */
function bitLength(m: bigint): number {
  const hex = m.toString(16);
  return hex.length * 4 - (Math.clz32(parseInt(hex[0], 16)) - 28);
}

/** a · b kept to `bits` bits, rounded down (or up). */
function times(a: Scaled, b: Scaled, bits: number, up: boolean): Scaled {
  let m = a.m * b.m;
  let e = a.e + b.e;
  const extra = bitLength(m) - bits;
  if (extra > 0) {
    const cut = m & ((1n << BigInt(extra)) - 1n);
    m >>= BigInt(extra);
    if (up && cut !== 0n) m += 1n;
    e += extra;
  }
  return { m, e };
}

/** x^n for n ≥ 1 kept to `bits` bits, rounded down (or up) at every product: a bound below (or above) the exact power. */
function boundedPower(x: Scaled, n: number, bits: number, up: boolean): Scaled {
  let result: Scaled = { m: 1n, e: 0 };
  let base = x;
  for (let k = n; ; ) {
    if (k % 2 === 1) result = times(result, base, bits, up);
    k = Math.floor(k / 2);
    if (k === 0) return result;
    base = times(base, base, bits, up);
  }
}

/** m · 2^e rounded to the nearest double, ties to even (the exact value must not be a tie, or is exact). */
function toDouble({ m, e }: Scaled): number {
  if (m === 0n) return 0;
  const length = bitLength(m);
  const exponent = length - 1 + e; // the value lies in [2^exponent, 2^(exponent + 1))
  if (exponent > 1023) return Infinity;
  // Bits a double keeps at this exponent: 53, fewer among the subnormals.
  const keep = exponent >= -1022 ? 53 : exponent + 1075;
  if (keep < 0) return 0; // below half the smallest subnormal
  // In [2^-1075, 2^-1074): the smallest subnormal, but for exactly 2^-1075, a tie that goes to even (0).
  if (keep === 0) return (m & (m - 1n)) === 0n ? 0 : 2 ** -1074;
  const drop = length - keep;
  if (drop <= 0) return scale(Number(m), e);
  const dropped = BigInt(drop);
  let q = m >> dropped;
  const rest = m & ((1n << dropped) - 1n);
  const half = 1n << (dropped - 1n);
  if (rest > half || (rest === half && (q & 1n) === 1n)) q += 1n;
  return scale(Number(q), e + drop);
}

/** q · 2^k, exactly, for an integer q below 2^54 whose product is a double. */
function scale(q: number, k: number): number {
  let value = q;
  let rest = k;
  while (rest < -1000) {
    value *= 2 ** -1000;
    rest += 1000;
  }
  while (rest > 1000) {
    value *= 2 ** 1000;
    rest -= 1000;
  }
  return value * 2 ** rest;
}

/**
 * x^n, correctly rounded: the power is bounded from below and above with
 * products kept to a growing number of bits, until both bounds round to the
 * same double. For n ≥ 2 the exact power of an odd mantissa has more bits
 * than a double and is never a tie, so the bounds meet.
 */
function wholePower(x: number, n: number): number {
  const exact = exactOf(x);
  if (exact.m === 1n) return toDouble({ m: 1n, e: exact.e * n }); // a power of two
  for (let bits = 128; bits <= 4096; bits *= 2) {
    const low = toDouble(boundedPower(exact, n, bits, false));
    const high = toDouble(boundedPower(exact, n, bits, true));
    if (low === high) return low;
  }
  return Math.pow(x, n); // not reached for powers a double can hold
}
