// cos(x) for the LR schedulers when the addon is not loaded (with it, they
// call the C library's cos, as Python's math.cos does). V8's Math.cos
// differs from glibc's on about 4% of the schedulers' arguments. This one is
// correctly rounded; glibc's is not quite (it differs on about one argument
// in 600: docs/schedulers.md). The argument is reduced and the series summed
// in double-double arithmetic (about 100 bits), then rounded once.

/** A double-double: the unevaluated sum hi + lo, |lo| ≤ ulp(hi) / 2. */
interface DD {
  hi: number;
  lo: number;
}

/** Veltkamp's split constant: 2^27 + 1. */
const SPLITTER = 134217729;

function twoSum(a: number, b: number): DD {
  const s = a + b;
  const v = s - a;
  return { hi: s, lo: a - (s - v) + (b - v) };
}

function quickTwoSum(a: number, b: number): DD {
  const s = a + b;
  return { hi: s, lo: b - (s - a) };
}

/** a · b exactly, as hi + lo (Dekker's product: no fused multiply-add in JS). */
function twoProd(a: number, b: number): DD {
  const p = a * b;
  let t = SPLITTER * a;
  const ah = t - (t - a);
  const al = a - ah;
  t = SPLITTER * b;
  const bh = t - (t - b);
  const bl = b - bh;
  return { hi: p, lo: ah * bh - p + ah * bl + al * bh + al * bl };
}

function add(a: DD, b: DD): DD {
  const s = twoSum(a.hi, b.hi);
  const t = twoSum(a.lo, b.lo);
  const u = quickTwoSum(s.hi, s.lo + t.hi);
  return quickTwoSum(u.hi, u.lo + t.lo);
}

function mul(a: DD, b: DD): DD {
  const p = twoProd(a.hi, b.hi);
  return quickTwoSum(p.hi, p.lo + (a.hi * b.lo + a.lo * b.hi));
}

/** a / n for a small positive integer n (exact as a double). */
function divInt(a: DD, n: number): DD {
  const q1 = a.hi / n;
  const p = twoProd(q1, n);
  const r = add(a, { hi: -p.hi, lo: -p.lo });
  const q2 = r.hi / n;
  return quickTwoSum(q1, q2);
}

const ONE: DD = { hi: 1, lo: 0 };

/** 1 - x·(1 - y·(...)), the nested form of a Taylor series, innermost term first. */
function series(r2: DD, first: number, last: number): DD {
  let acc = ONE;
  for (let k = last; k >= first; k -= 2) {
    const term = divInt(mul(r2, acc), k * (k + 1));
    acc = add(ONE, { hi: -term.hi, lo: -term.lo });
  }
  return acc;
}

/** cos(r) for |r| ≤ π/4: 1 - r²/2!(1 - r²/(3·4)(...)), to r^30. */
function cosSeries(r: DD): DD {
  return series(mul(r, r), 1, 29);
}

/** sin(r) for |r| ≤ π/4: r(1 - r²/(2·3)(1 - r²/(4·5)(...))), to r^31. */
function sinSeries(r: DD): DD {
  return mul(r, series(mul(r, r), 2, 30));
}

// π/2 in four parts: the first three have 33 significant bits, so that k · part
// is exact for k < 2^20 (fdlibm's pio2_1, pio2_2, pio2_3 and pio2_3t).
const PIO2_1 = 1.57079632673412561417e0;
const PIO2_2 = 6.07710050630396597660e-11;
const PIO2_3 = 2.02226624871116645580e-21;
const PIO2_3T = 8.47842766036889956997e-32;
const TWO_OVER_PI = 6.36619772367581382433e-1;

/** Up to here, k = round(x · 2/π) < 2^20 and the reduction above is exact enough. */
const REDUCIBLE = 1.6e6;

/**
 * cos(x), correctly rounded for |x| < 1.6e6 (the schedulers' arguments: π
 * times a fraction of a cycle); V8's Math.cos beyond, and for NaN and ±∞.
 */
export function cos(x: number): number {
  if (!(Math.abs(x) < REDUCIBLE)) return Math.cos(x);
  const k = Math.round(x * TWO_OVER_PI);
  // r = x - k·π/2: each k·part is exact; the sum is kept in double-double.
  let r: DD = twoSum(x, -k * PIO2_1);
  r = add(r, { hi: -k * PIO2_2, lo: 0 });
  r = add(r, { hi: -k * PIO2_3, lo: 0 });
  const tail = twoProd(k, PIO2_3T);
  r = add(r, { hi: -tail.hi, lo: -tail.lo });
  // cos(r + kπ/2) by the quadrant k mod 4.
  const quadrant = ((k % 4) + 4) % 4;
  const v = quadrant % 2 === 0 ? cosSeries(r) : sinSeries(r);
  const sum = v.hi + v.lo;
  return quadrant === 1 || quadrant === 2 ? -sum : sum;
}
