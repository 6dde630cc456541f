// (4) The α × batch-size sweep as a heatmap.
import { SWEEP_ALPHAS, SWEEP_BATCHES, SWEEP_LRS, type SweepCell } from '../sweep';
import { CONFIG, SCHEMA, type Chart } from './style';

/** (4) Best final training loss over α × batch size, as a heatmap with the values and learning rates written in. */
export function sweepChart(cells: SweepCell[]): Chart {
  const steps = cells[0]?.steps ?? 0;
  const seeds = cells[0]?.seedLosses.length ?? 0;
  const values = cells.map((c) => ({ ...c, alphaLabel: `α = ${c.alpha}`, lrLabel: `lr ${c.bestLr}` }));
  const alphaOrder = [...SWEEP_ALPHAS].reverse().map((a) => `α = ${a}`);
  const textColor = { condition: { test: `datum.finalTrainLoss < ${logMidpoint(cells.map((c) => c.finalTrainLoss))}`, value: 'white' }, value: 'black' };
  return {
    name: 'alpha-batch',
    spec: {
      $schema: SCHEMA,
      title: {
        text: `RMSprop's α against batch size: best final training loss after ${steps} steps`,
        subtitle: [
          `Each cell: the lowest final loss on all 1,438 training images over lr ∈ {${SWEEP_LRS.join(', ')}}, ${seeds === 1 ? 'one seed' : `mean of ${seeds} seeds`};`,
          `the lr that won is under it. Every cell takes ${steps} steps, so a batch of 512 sees 64× the images of a batch of 8.`,
          'Memory of v, 1/(1-α): α=0.5 → 2 steps, 0.9 → 10, 0.99 → 100, 0.999 → 1000. PyTorch does not bias-correct v,',
          `so at α=0.999 v is still warming up from 0 and the steps are larger: ${warmUp(steps)}.`,
        ],
      },
      data: { values },
      width: 440, height: 320,
      encoding: {
        x: { field: 'batchSize', type: 'ordinal', sort: [...SWEEP_BATCHES], title: 'batch size (images per step)', axis: { labelAngle: 0 } },
        y: { field: 'alphaLabel', type: 'ordinal', sort: alphaOrder, title: ['α (decay of the', 'squared-gradient average)'] },
      },
      layer: [
        {
          mark: 'rect',
          encoding: {
            color: {
              field: 'finalTrainLoss', type: 'quantitative', scale: { type: 'log', scheme: 'viridis' },
              title: ['best final', 'training loss', '(log scale)'],
            },
          },
        },
        {
          mark: { type: 'text', fontSize: 14, dy: -8 },
          encoding: { text: { field: 'finalTrainLoss', type: 'quantitative', format: '.4f' }, color: textColor },
        },
        {
          mark: { type: 'text', fontSize: 11, dy: 10 },
          encoding: { text: { field: 'lrLabel', type: 'nominal' }, color: textColor },
        },
      ],
      config: CONFIG,
    },
  };
}

/** How much larger RMSprop's steps are at α = 0.999 while v warms up, 1/√(1-αᵗ), at a few steps up to `steps`. */
function warmUp(steps: number): string {
  const at = [10, 100, steps].filter((t, i, all) => t <= steps && all.indexOf(t) === i);
  return at.map((t) => `×${(1 / Math.sqrt(1 - 0.999 ** t)).toFixed(1)} at step ${t}`).join(', ');
}

/** The middle of the colour scale (log): cells below it are dark and get white text. */
function logMidpoint(xs: number[]): number {
  return Math.sqrt(Math.min(...xs) * Math.max(...xs));
}
