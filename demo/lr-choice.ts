// How the demo picks a learning rate from runs with several seeds, for the
// α × batch sweep and for the five runs' tuning alike.

/** One learning rate: the final training loss of each seed, and their geometric mean. */
export interface LrResult {
  lr: number;
  /** Geometric mean over the seeds (Infinity if a seed diverged). */
  loss: number;
  seedLosses: number[];
  /** Mean test accuracy over the seeds. */
  testAccuracy: number;
}

/**
 * The geometric mean: final losses span four decades, so they are averaged
 * as logarithms; one seed that blows up still counts against its lr (a median
 * of three would ignore it).
 */
export function geometricMean(xs: readonly number[]): number {
  if (xs.some((x) => !(x < Infinity))) return Infinity;
  return Math.exp(xs.reduce((sum, x) => sum + Math.log(x), 0) / xs.length);
}

/** Groups seeds' results by lr into LrResults, smallest lr first. */
export function byLearningRate(results: readonly { lr: number; seed: number; finalTrainLoss: number; testAccuracy: number }[]): LrResult[] {
  const lrs = [...new Set(results.map((r) => r.lr))].sort((a, b) => a - b);
  return lrs.map((lr) => {
    const seeds = results.filter((r) => r.lr === lr).sort((a, b) => a.seed - b.seed);
    const seedLosses = seeds.map((r) => r.finalTrainLoss);
    return { lr, loss: geometricMean(seedLosses), seedLosses, testAccuracy: seeds.reduce((a, r) => a + r.testAccuracy, 0) / seeds.length };
  });
}

/**
 * The lr of lowest loss (the smaller lr on a tie), and whether it is the
 * smallest or largest lr tried: then a better one may lie beyond it.
 */
export function pickBest(byLr: readonly LrResult[]): { best: LrResult; edge: 'low' | 'high' | null } {
  const sorted = [...byLr].sort((a, b) => a.lr - b.lr);
  const best = sorted.reduce((b, r) => (r.loss < b.loss ? r : b));
  const edge = sorted.length === 1 ? null : best === sorted[0] ? 'low' : best === sorted[sorted.length - 1] ? 'high' : null;
  return { best, edge };
}
