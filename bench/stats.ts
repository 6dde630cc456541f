// Small numeric and formatting helpers of the benchmark.

export const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};

export const now = (): number => Number(process.hrtime.bigint()) / 1e9;

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** 3 significant digits, no exponent: 2390, 47.8, 2.32, 0.0456. */
export function sig(x: number | undefined): string {
  if (x === undefined || !Number.isFinite(x)) return '–';
  const a = Math.abs(x);
  if (a >= 100) return x.toFixed(0);
  if (a >= 10) return x.toFixed(1);
  if (a >= 1) return x.toFixed(2);
  if (a >= 0.1) return x.toFixed(3);
  return x.toPrecision(2);
}

export const pct = (x: number | undefined): string => (x === undefined || !Number.isFinite(x) ? '–' : `${(x * 100).toFixed(0)}%`);

export const times = (x: number | undefined): string => (x === undefined || !Number.isFinite(x) ? '–' : `${x >= 10 ? x.toFixed(0) : x.toFixed(1)}×`);

/** 4096 → 4K, 1048576 → 1M, 100000 → 100K. */
export function sizeName(n: number): string {
  if (n >= 1 << 20 && n % (1 << 20) === 0) return `${n / (1 << 20)}M`;
  if (n >= 1024 && n % 1024 === 0) return `${n / 1024}K`;
  if (n >= 1e6 && n % 1e6 === 0) return `${n / 1e6}M`;
  if (n >= 1e3 && n % 1e3 === 0) return `${n / 1e3}K`;
  return String(n);
}

export function bytesName(b: number): string {
  if (b >= 2 ** 30) return `${(b / 2 ** 30).toFixed(b >= 10 * 2 ** 30 ? 0 : 1)} GiB`;
  if (b >= 2 ** 20) return `${(b / 2 ** 20).toFixed(0)} MiB`;
  return `${(b / 1024).toFixed(0)} KiB`;
}
