// (1) Training loss and test accuracy per epoch of the five runs.
import type { RunResult } from '../runs';
import { CONFIG, SCHEMA, colorScale, decadeTicks, runLabel, type Chart } from './style';

/** (1) Training loss and test accuracy per epoch, every run. */
export function lossCurvesChart(runs: RunResult[]): Chart {
  const values = runs.flatMap((r) => r.epochs.map((e) => ({ run: runLabel(r), ...e })));
  const labels = runs.map(runLabel);
  const batch = runs[0].batchSize;
  const color = { field: 'run', type: 'nominal', title: 'optimizer', scale: colorScale(labels), sort: labels };
  const epochAxis = { field: 'epoch', type: 'quantitative', title: `epoch (${Math.floor(runs[0].epochs[1].step)} steps of ${batch} images)` };
  return {
    name: 'loss-curves',
    spec: {
      $schema: SCHEMA,
      title: {
        text: 'Training a 64→32→10 MLP on the UCI digits with five optimizers',
        subtitle: [
          'Same initial weights, batches and split (1,438 training / 359 test images). Each learning rate is the one, of half decades,',
          'with the lowest final training loss after 40 epochs over three seeds (demo/tune-lrs.ts); this is one of those seeds.',
          'Loss and accuracy are measured on the whole set after each epoch.',
        ],
      },
      data: { values },
      hconcat: [
        {
          width: 420, height: 300,
          mark: { type: 'line', strokeWidth: 2 },
          encoding: {
            x: epochAxis,
            y: {
              field: 'trainLoss', type: 'quantitative', scale: { type: 'log' }, title: ['training loss', '(cross-entropy in nats, log scale)'],
              axis: { format: '~g', values: decadeTicks(values.map((v) => v.trainLoss)) },
            },
            color,
          },
        },
        {
          width: 300, height: 300,
          // Clipped, not clamped: an accuracy below 80% leaves the plot rather than sit on its floor.
          mark: { type: 'line', strokeWidth: 2, clip: true },
          encoding: {
            x: epochAxis,
            y: { field: 'testAccuracy', type: 'quantitative', scale: { domain: [0.8, 1] }, axis: { format: '.0%' }, title: ['test accuracy', '(axis starts at 80%)'] },
            color,
          },
        },
      ],
      config: CONFIG,
    },
  };
}
