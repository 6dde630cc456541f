// One rule picks every ravine optimizer's learning rate, so that none is
// favoured: each runs RAVINE_STEPS steps at every lr of the same grid, and
// keeps the lr whose f is lowest over the second half of the run. The second
// half, not the last step: RMSprop can pass close to the minimum and then
// leave it for a cycle (see rmspropCycleLoss), and a rule that looked at one
// step would reward a lucky dip.
import { RAVINE_OPTIMIZERS, RAVINE_STEPS, ravinePath, type RavineOptimizer, type RavinePoint } from './ravine';

/** Quarter decades from 0.001 to 10, to three significant digits. */
export const RAVINE_LR_GRID: readonly number[] = Array.from({ length: 17 }, (_, k) => Number((10 ** ((k - 12) / 4)).toPrecision(3)));

/**
 * f below this counts as this: the minimum reached (|x| < 1.5e-6). Without a
 * floor, lrs that all reach the minimum would be ranked by how far below
 * 1e-100 they went.
 */
export const F_FLOOR = 1e-12;

/** The steps the rule looks at: the second half of the run. */
export function scoreWindow(steps: number): { from: number; to: number } {
  return { from: Math.floor(steps / 2) + 1, to: steps };
}

/**
 * The rule's score of one run: the median of max(f, F_FLOOR) over the steps of
 * scoreWindow. Infinity for a run that diverged (f not finite in the window).
 */
export function ravineScore(losses: readonly number[]): number {
  const { from, to } = scoreWindow(losses.length - 1);
  const window = losses.slice(from, to + 1);
  if (window.some((f) => !Number.isFinite(f))) return Infinity;
  const sorted = window.map((f) => Math.max(f, F_FLOOR)).sort((a, b) => a - b);
  const mid = sorted.length / 2;
  return sorted.length % 2 === 1 ? sorted[Math.floor(mid)] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/**
 * The lr of lowest score; among equal scores (several at the floor) the
 * smallest lr, since a larger one only makes the first steps wilder.
 */
export function pickLr(scores: readonly { lr: number; score: number | null }[]): number {
  const value = (s: number | null) => (s === null ? Infinity : s);
  const byLr = [...scores].sort((a, b) => a.lr - b.lr);
  return byLr.reduce((best, s) => (value(s.score) < value(best.score) ? s : best)).lr;
}

export interface RavineTuning {
  id: string;
  label: string;
  /** The lr the rule picked. */
  lr: number;
  /** Whether that lr is the grid's smallest or largest (the rule may then have missed a better one). */
  edge: boolean;
  /** The rule's score at every lr of the grid; null where the run diverged. */
  scores: { lr: number; score: number | null }[];
}

export interface RavineResult {
  steps: number;
  window: { from: number; to: number };
  floor: number;
  grid: readonly number[];
  tuning: RavineTuning[];
  /** Each optimizer's path at its tuned lr. */
  points: RavinePoint[];
}

/** Tunes every optimizer by the rule, then records its path at the lr picked. */
export function runRavine(steps = RAVINE_STEPS, optimizers: RavineOptimizer[] = RAVINE_OPTIMIZERS): RavineResult {
  const tuning: RavineTuning[] = [];
  const points: RavinePoint[] = [];
  for (const opt of optimizers) {
    const scores = RAVINE_LR_GRID.map((lr) => {
      const score = ravineScore(ravinePath(opt, lr, steps).map((p) => p.loss));
      return { lr, score: Number.isFinite(score) ? score : null };
    });
    const lr = pickLr(scores);
    const label = `${opt.label} lr=${lr}`;
    tuning.push({ id: opt.id, label, lr, edge: lr === RAVINE_LR_GRID[0] || lr === RAVINE_LR_GRID[RAVINE_LR_GRID.length - 1], scores });
    ravinePath(opt, lr, steps).forEach((p, step) => points.push({ optimizer: label, step, ...p }));
  }
  return { steps, window: scoreWindow(steps), floor: F_FLOOR, grid: RAVINE_LR_GRID, tuning, points };
}
