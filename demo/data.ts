// The UCI handwritten digits (8×8, 1,797 images) as shipped by scikit-learn,
// committed in data/digits.bin.gz (see data/README.md), and the demo's fixed,
// stratified train/test split.
import { existsSync, readFileSync } from 'fs';
import { join } from 'path';
import { gunzipSync } from 'zlib';
import { mulberry32, shuffle } from './random';

export const IMAGE_PIXELS = 64;
export const CLASSES = 10;
export const DIGITS_COUNT = 1797;

export interface Dataset {
  /** n × 64 pixel intensities scaled to [0, 1] (the file's 0..16 divided by 16), row-major. */
  x: Float32Array;
  /** n labels, 0..9. */
  y: Uint8Array;
  n: number;
}

/**
 * Where data/digits.bin.gz is: in the package's data/ folder, one level above
 * demo/ (sources run by tsx) or two above dist/demo/ (the compiled package).
 */
export function digitsPath(): string {
  const candidates = [join(__dirname, '..', 'data', 'digits.bin.gz'), join(__dirname, '..', '..', 'data', 'digits.bin.gz')];
  const path = candidates.find((p) => existsSync(p));
  if (path === undefined) {
    throw new Error(`The digits data set is missing: expected ${candidates[1]} (from the simd-optim package's data/ folder)`);
  }
  return path;
}

/** Reads and checks the digits file: 1797 × 64 pixel bytes (0..16), then 1797 label bytes (0..9). */
export function loadDigits(path = digitsPath()): Dataset {
  const raw = gunzipSync(readFileSync(path));
  const n = DIGITS_COUNT;
  if (raw.length !== n * (IMAGE_PIXELS + 1)) {
    throw new Error(`${path}: expected ${n * (IMAGE_PIXELS + 1)} bytes after gunzip, got ${raw.length}`);
  }
  const x = new Float32Array(n * IMAGE_PIXELS);
  for (let i = 0; i < n * IMAGE_PIXELS; i++) {
    if (raw[i] > 16) throw new Error(`${path}: pixel ${i} is ${raw[i]}, outside 0..16`);
    x[i] = raw[i] / 16;
  }
  const y = new Uint8Array(raw.subarray(n * IMAGE_PIXELS));
  if (y.some((label) => label >= CLASSES)) throw new Error(`${path}: a label is outside 0..9`);
  return { x, y, n };
}

/** The rows `indices` of a data set, as a new data set. */
export function subset(data: Dataset, indices: ArrayLike<number>): Dataset {
  const n = indices.length;
  const x = new Float32Array(n * IMAGE_PIXELS);
  const y = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    const r = indices[i];
    x.set(data.x.subarray(r * IMAGE_PIXELS, (r + 1) * IMAGE_PIXELS), i * IMAGE_PIXELS);
    y[i] = data.y[r];
  }
  return { x, y, n };
}

/**
 * A stratified split: `testFraction` of each class (rounded) goes to the test
 * set, chosen by a seeded shuffle. The demo's split: seed 0, 20% → 1,438
 * train and 359 test images.
 */
export function trainTestSplit(data: Dataset, testFraction = 0.2, seed = 0): { train: Dataset; test: Dataset } {
  const rand = mulberry32(seed);
  const train: number[] = [];
  const test: number[] = [];
  for (let c = 0; c < CLASSES; c++) {
    const rows: number[] = [];
    for (let i = 0; i < data.n; i++) if (data.y[i] === c) rows.push(i);
    shuffle(rows, rand);
    const k = Math.round(rows.length * testFraction);
    test.push(...rows.slice(0, k));
    train.push(...rows.slice(k));
  }
  const byIndex = (a: number, b: number) => a - b;
  return { train: subset(data, train.sort(byIndex)), test: subset(data, test.sort(byIndex)) };
}
