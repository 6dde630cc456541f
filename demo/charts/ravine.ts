// (3) The ravine: each optimizer's path over the contours, and f per step.
import { CONDITION, RAVINE_RUNS, ravineContours, START, type RavinePoint } from '../ravine';
import { CONFIG, SCHEMA, colorScale, type Chart } from './style';

/** (3) The ravine's contours with each optimizer's path, and its loss per step. */
export function ravineChart(points: RavinePoint[]): Chart {
  const levels = [0.25, 1, 4, 16, 64, 256];
  const labels = RAVINE_RUNS.map((r) => r.label);
  const color = { field: 'optimizer', type: 'nominal', title: 'optimizer', scale: colorScale(labels), sort: labels };
  const xDomain = [-5, 1];
  const yDomain = [-1.75, 1.75];
  const steps = Math.max(...points.map((p) => p.step));
  return {
    name: 'ravine',
    spec: {
      $schema: SCHEMA,
      title: {
        text: `A steep ravine, f(x, y) = (x² + ${CONDITION}·y²)/2: ${steps} steps from (${START.join(', ')})`,
        subtitle: [
          `SGD's learning rate must stay below 2/${CONDITION} or it diverges across the ravine, so it zigzags, then crawls along it.`,
          'Adagrad and RMSprop divide each coordinate by its own gradient scale: steps of like size in x and y, no zigzag.',
          "Adagrad's steps keep shrinking (its sum of g² only grows); RMSprop's do not, and it reaches the minimum.",
        ],
      },
      hconcat: [
        {
          width: 440, height: 300,
          layer: [
            {
              data: { values: ravineContours(levels) },
              mark: { type: 'line', color: '#bbb', strokeWidth: 1, clip: true },
              encoding: {
                x: { field: 'x', type: 'quantitative', scale: { domain: xDomain }, title: 'x (shallow direction)' },
                y: { field: 'y', type: 'quantitative', scale: { domain: yDomain }, title: 'y (steep direction)' },
                detail: { field: 'level' },
                order: { field: 'order' },
              },
            },
            {
              data: { values: points },
              mark: { type: 'line', point: { size: 14 }, strokeWidth: 1.5, clip: true },
              encoding: {
                x: { field: 'x', type: 'quantitative' },
                y: { field: 'y', type: 'quantitative' },
                color,
                order: { field: 'step' },
              },
            },
            {
              data: { values: [{ x: 0, y: 0, text: 'minimum' }] },
              mark: { type: 'point', shape: 'cross', size: 120, color: 'black', filled: true },
              encoding: { x: { field: 'x', type: 'quantitative' }, y: { field: 'y', type: 'quantitative' } },
            },
          ],
        },
        {
          width: 260, height: 300,
          data: { values: points },
          mark: { type: 'line', strokeWidth: 2 },
          encoding: {
            x: { field: 'step', type: 'quantitative', title: 'step' },
            y: { field: 'loss', type: 'quantitative', scale: { type: 'log' }, title: 'f(x, y) (log scale)' },
            color,
          },
        },
      ],
      config: { ...CONFIG, legend: { ...CONFIG.legend, orient: 'bottom', direction: 'horizontal' } },
    },
  };
}
