// Fused multiply-add in plain JavaScript, bit for bit C's fmaf() and fma():
// a*b + c computed exactly and rounded once, to nearest with ties to even,
// with IEEE 754 special values, signed zeros, subnormals and overflow.
//
// Notation: RN32 / RN64 round to the nearest float32 / double (ties to even),
// x is the exact value a*b + c, and "spacing" is the distance between two
// adjacent values of the format.

const FLT_MAX = 3.4028234663852886e38; // (2 - 2^-23) * 2^127
const FLT_OVERFLOW_TIE = 3.4028235677973366e38; // FLT_MAX + 2^103, halfway to 2^128
const TWO_M968 = 2 ** -968;
const SPLITTER = 134217729; // 2^27 + 1, Veltkamp's constant for doubles
// Guard factor of fma64's fast path (the margin is proven there).
const GUARD = 1 + 2 ** -30;

// ---- float32 --------------------------------------------------------------

/**
 * fmaf(a, b, c) for float32 values a, b, c (numbers already Math.fround'ed).
 *
 * p = a*b is exact in double (24 + 24 <= 53 bits, and the exponents stay far
 * from the double's limits), so the only doubtful step is s = RN64(p + c).
 * RN32(s) = RN32(x) unless s is itself a float32 midpoint (the point halfway
 * between two adjacent float32s, where RN32 changes value): every float32
 * midpoint is a double, so one lying strictly between x and s would be a
 * double nearer to x than s is, which RN64 rules out. When s is a midpoint,
 * the exact error of the addition (TwoSum) tells on which side x lies.
 *
 * No path makes a call: a call in a caller's loop, even one never taken,
 * makes V8 reload the loop's typed-array pointers on every iteration.
 */
export function fmaf32(a: number, b: number, c: number): number {
  const s = a * b + c;
  const r = Math.fround(s);
  // t = 2s - r is r mirrored through s. If s is not a float32 (r !== s), s lies
  // strictly between r and the float32 neighbour n on its side, at most halfway
  // (s = RN64(x) is nearer to r). So 2s - r lies strictly between r and n
  // unless s is the midpoint, where it is n itself, and in both cases it is
  // exact: a multiple of s's double spacing, below 2^(exponent of s + 1) in
  // magnitude unless it equals n. Hence t is a float32 exactly when s is a
  // midpoint (or a float32: t = r). Non-finite s gives t = NaN, except beyond
  // the overflow threshold (r = ±Inf, t = ∓Inf), handled below.
  const t = 2 * s - r;
  // s is a float32: x is within half a double spacing of it, far less than
  // half a float32 spacing, so RN32(x) = s. This also keeps IEEE's signed
  // zeros: p + c in double already follows them (p is exact, and a zero sum
  // of nonzero terms is an exact cancellation, +0).
  if (Math.fround(t) !== t || r === s) return r;

  // Rare: s is the midpoint of r and t (or of ±FLT_MAX and ±2^128, r = ±Inf).
  const p = a * b;
  const v = s - p;
  const e = p - (s - v) + (c - v); // TwoSum: x = s + e exactly
  if (e === 0) return r; // a true tie: Math.fround already chose the even one
  if (r === Infinity || r === -Infinity) {
    // Beyond the overflow threshold RN32 is ±Inf for s and x alike; only the
    // threshold itself, halfway between ±FLT_MAX and ±2^128, can go back down.
    if (Math.abs(s) !== FLT_OVERFLOW_TIE) return r;
    return (e > 0) === (r > 0) ? r : r > 0 ? FLT_MAX : -FLT_MAX;
  }
  // x is just above or just below s: take whichever of r, t lies on that side.
  return (e > 0) === (t > r) ? t : r;
}

// ---- double ---------------------------------------------------------------

/**
 * fma(a, b, c) for doubles, exactly C's fma().
 *
 * Fast path: error-free transformations give x = hi + lo + eps exactly, with
 *   p + pe = a*b (Dekker's product, Veltkamp splitting),
 *   s + se = p + c (TwoSum),  err = RN64(pe + se),  eps = pe + se - err,
 *   hi + lo = s + err (TwoSum), so hi = RN64(s + err).
 * Dekker's product is exact when e_a + e_b >= -970 (exponents of a and b,
 * subnormals counting as -1022), which |p| >= 2^-968 guarantees. Beyond that
 * the transformations fail only by overflow (|a| or |b| above ~2^996 in the
 * split, a*b or s near DBL_MAX), and an overflow leaves an Inf or NaN in
 * pe or se, since nothing here turns those back into finite values; then
 * both tests below fail and the exact path takes over.
 *
 * 1. eps = 0: s + err = x exactly, and hi, its one rounding, is RN64(x),
 *    subnormal, zero (+0, as x = 0 comes from a cancellation) or overflowed.
 *
 * 2. eps != 0, so se != 0 (else err = pe exactly): p + c is inexact, hence
 *    c lies outside [-2p, -p/2] (Sterbenz) and |s| >= |p|/2 >= 2^-969. With
 *    |pe| <= 2^-53 |p| <= 2^-52 |s| and |se| <= 2^-53 |s|, |pe + se| <=
 *    3 * 2^-53 |s|, so |x| >= (1 - 2^-51) |s| > 2^-970 and hi is normal, and
 *    |eps| <= 2^-53 |err| < 2^-104 |s| < 2^-103 |hi| (err is normal: a
 *    subnormal sum would be exact).
 *    Let g be the spacing next to hi on lo's side (half the usual one when hi
 *    is a power of two and lo points to zero): g/2 >= 2^-55 |hi| > 2^48 |eps|,
 *    and g/2 >= 2^-1024. The guard RN64(hi + RN64(GUARD * lo)) === hi means
 *    |RN64(GUARD * lo)| <= g/2, so GUARD |lo| <= (1 + 2^-51) g/2 (relative
 *    rounding error 2^-53, or absolute 2^-1075 <= 2^-51 g/2 if GUARD * lo is
 *    subnormal), so |lo| < (1 - 2^-31) g/2, and |x - hi| <= |lo| + |eps| <
 *    g/2: x is nearer to hi than to any other double. (If x - hi and lo
 *    differ in sign, |x - hi| <= |eps|, below either half spacing.) Written
 *    as (hi + GUARD * lo) - hi === 0, the test is also false for an infinite
 *    hi (NaN), and for a finite hi it is RN64(hi + y) === hi: two different
 *    doubles never have a zero difference.
 *
 * What falls through: x within 2^-30 (relative to g) of a midpoint with
 * eps != 0, |p| < 2^-968, overflow, zeros and non-finite operands.
 */
export function fma64(a: number, b: number, c: number): number {
  const p = a * b;
  if (Math.abs(p) >= TWO_M968) {
    let t = SPLITTER * a;
    const ah = t - (t - a);
    const al = a - ah;
    t = SPLITTER * b;
    const bh = t - (t - b);
    const bl = b - bh;
    const pe = ah * bh - p + ah * bl + al * bh + al * bl;
    const s = p + c;
    let v = s - p;
    const se = p - (s - v) + (c - v);
    const err = pe + se;
    const hi = s + err;
    v = hi - s;
    const lo = s - (hi - v) + (err - v);
    if (hi + lo * GUARD - hi === 0) return hi;
    v = err - pe;
    if (pe - (err - v) + (se - v) === 0) return hi; // eps === 0
  }
  return fma64Slow(a, b, c);
}

/** fma64 off the fast path: special values, zeros, extreme exponents, near-midpoints. */
function fma64Slow(a: number, b: number, c: number): number {
  // A NaN, or an infinite factor: one IEEE operation each gives fma's answer
  // (Inf * 0 and Inf - Inf are NaN, Inf + finite is Inf).
  if (!Number.isFinite(a) || !Number.isFinite(b)) return a * b + c;
  // Finite a*b with an infinite or NaN c: c, even if a*b overflows in double.
  if (!Number.isFinite(c)) return c;
  // A zero factor makes a*b an exact ±0; the sum then has one rounding.
  if (a === 0 || b === 0) return a * b + c;
  // c = ±0 and a*b != 0: x = a*b, so RN64(a*b), whose zero on underflow
  // carries the product's sign as IEEE requires.
  if (c === 0) return a * b;
  // |a*b| < 2^-968 (a*b rounded below 2^-968 means a*b below it too): with
  // |c| >= 2^-900, c's spacing is >= 2^-952, so x is within far less than
  // half a spacing of c, and RN64(x) = c.
  if (Math.abs(a * b) < TWO_M968 && Math.abs(c) >= 2 ** -900) return c;
  return exactFma(a, b, c);
}

// ---- exact path (BigInt) -------------------------------------------------

const view = new DataView(new ArrayBuffer(8));

/** Integer significand of a finite double x = m * 2^exponent(x), sign included. */
function significand(x: number): bigint {
  view.setFloat64(0, x);
  const hi = view.getUint32(0);
  let m = (BigInt(hi & 0xfffff) << 32n) | BigInt(view.getUint32(4));
  if (hi & 0x7ff00000) m |= 1n << 52n;
  return hi >>> 31 ? -m : m;
}

/** The exponent of x's last significand bit (subnormals: -1074). */
function exponent(x: number): number {
  view.setFloat64(0, x);
  const biased = (view.getUint32(0) >>> 20) & 0x7ff;
  return (biased === 0 ? 1 : biased) - 1075;
}

/** RN64(a*b + c) for finite, nonzero a, b, c: exact sum in BigInt, one rounding. */
function exactFma(a: number, b: number, c: number): number {
  let pm = significand(a) * significand(b);
  let pe = exponent(a) + exponent(b);
  let cm = significand(c);
  const ce = exponent(c);
  // Align at the lower exponent (at most ~3100 bits: exponents lie in [-2148, 1942]).
  if (pe > ce) {
    pm <<= BigInt(pe - ce);
    pe = ce;
  } else {
    cm <<= BigInt(ce - pe);
  }
  const sum = pm + cm;
  // An exact zero from nonzero terms is +0 when rounding to nearest.
  if (sum === 0n) return 0;
  return roundToDouble(sum, pe);
}

/** RN64(m * 2^e) for a nonzero integer m: ties to even, subnormals, overflow. */
function roundToDouble(m: bigint, e: number): number {
  const negative = m < 0n;
  let mag = negative ? -m : m;
  // Drop all but 53 significant bits, or fewer if that would put the last
  // kept bit below 2^-1074 (a subnormal result).
  let shift = mag.toString(2).length - 53;
  if (e + shift < -1074) shift = -1074 - e;
  if (shift > 0) {
    const k = BigInt(shift);
    const rest = mag & ((1n << k) - 1n);
    const half = 1n << (k - 1n);
    mag >>= k;
    if (rest > half || (rest === half && (mag & 1n) === 1n)) mag += 1n;
    e += shift;
  }
  // mag <= 2^53 now, so Number(mag) is exact, and so is the scaling below
  // whenever the result is representable; past DBL_MAX it overflows to
  // Infinity, which is RN64's answer there (rounding already happened at
  // 53 bits, so mag * 2^e >= 2^1024 exactly when x >= DBL_MAX + half a spacing).
  const result = scale(Number(mag), e);
  return negative ? -result : result;
}

/** m * 2^e in two exact steps, so that no intermediate underflows or overflows early. */
function scale(m: number, e: number): number {
  if (e > 900) return m * 2 ** 900 * 2 ** (e - 900);
  if (e < -900) return m * 2 ** (e + 900) * 2 ** -900;
  return m * 2 ** e;
}
