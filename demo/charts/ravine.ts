// (3) The ravine: each optimizer's path over the contours at its tuned lr, f
// per step on a log scale (where it ends up), and the tuning rule's score
// over the lr grid (why that lr).
import { CONDITION, ravineContours, rmspropCycleLoss, START } from '../ravine';
import type { RavineResult } from '../ravine-tuning';
import { CONFIG, SCHEMA, colorScale, type Chart } from './style';

export function ravineChart(ravine: RavineResult): Chart {
  const levels = [0.25, 1, 4, 16, 64, 256];
  const labels = ravine.tuning.map((t) => t.label);
  const color = { field: 'optimizer', type: 'nominal', title: 'optimizer (tuned lr)', scale: colorScale(labels), sort: labels };
  const { steps, window, floor } = ravine;
  // Every 10th point on the paths: 300 dots per path would hide the lines.
  const points = ravine.points.map((p) => ({ ...p, dot: p.step % 10 === 0 }));
  const rms = ravine.tuning.find((t) => t.id.startsWith('rmsprop'));
  const cycle = rms === undefined ? [] : [{ optimizer: rms.label, from: 0, to: steps, loss: rmspropCycleLoss(rms.lr) }];
  const scores = ravine.tuning.flatMap((t) =>
    t.scores.map((s) => ({ optimizer: t.label, lr: s.lr, score: s.score, picked: s.lr === t.lr })),
  );
  const stepTitle = `step (shaded: steps ${window.from}–${window.to}, which the rule scores)`;
  const decades = ravine.grid.filter((lr) => Number.isInteger(Math.log10(lr)));
  const logLoss = (title: string | string[]) => ({ type: 'quantitative', scale: { type: 'log' }, axis: { format: '.0e' }, title });
  return {
    name: 'ravine',
    spec: {
      $schema: SCHEMA,
      title: {
        text: `A steep ravine, f(x, y) = (x² + ${CONDITION}·y²)/2: ${steps} steps from (${START.join(', ')}), each optimizer at its tuned lr`,
        subtitle: [
          `One rule for all: the lr, on the same grid (quarter decades from ${ravine.grid[0]} to ${ravine.grid[ravine.grid.length - 1]}), with the lowest median f over steps ${window.from}–${window.to}`,
          `(f below ${floor.toExponential(0)} counts as ${floor.toExponential(0)}; among equals, the smaller lr). Right: that score at every lr, the picked one circled.`,
          `SGD must keep lr below 2/${CONDITION} or diverge across the ravine: it zigzags, then crawls along the floor. Adagrad's steps shrink as its sum of g²`,
          "grows, and it converges. RMSprop's v forgets the early gradients, so near the minimum each step is ≈ lr·sign(g): it ends",
          `in a cycle of ±lr/2 per coordinate, at f ≈ (1+${CONDITION})·lr²/8 (dashed), and a smaller lr only takes longer to get there.`,
        ],
      },
      hconcat: [
        {
          width: 360, height: 280,
          title: { text: 'paths (a dot every 10 steps)', fontSize: 12, fontWeight: 'normal' },
          layer: [
            {
              data: { values: ravineContours(levels) },
              mark: { type: 'line', color: '#bbb', strokeWidth: 1, clip: true },
              encoding: {
                x: { field: 'x', type: 'quantitative', scale: { domain: [-5, 1], nice: false }, title: 'x (shallow direction)' },
                y: { field: 'y', type: 'quantitative', scale: { domain: [-1.75, 1.75], nice: false }, title: 'y (steep direction)' },
                detail: { field: 'level' },
                order: { field: 'order' },
              },
            },
            {
              data: { values: points },
              mark: { type: 'line', strokeWidth: 1.5, clip: true },
              encoding: { x: { field: 'x', type: 'quantitative' }, y: { field: 'y', type: 'quantitative' }, color, order: { field: 'step' } },
            },
            {
              data: { values: points },
              transform: [{ filter: 'datum.dot' }],
              mark: { type: 'point', size: 14, filled: true, clip: true },
              encoding: { x: { field: 'x', type: 'quantitative' }, y: { field: 'y', type: 'quantitative' }, color },
            },
            {
              data: { values: [{ x: 0, y: 0 }] },
              mark: { type: 'point', shape: 'cross', size: 120, color: 'black', filled: true },
              encoding: { x: { field: 'x', type: 'quantitative' }, y: { field: 'y', type: 'quantitative' } },
            },
          ],
        },
        {
          width: 300, height: 280,
          title: { text: 'f per step (log scale)', fontSize: 12, fontWeight: 'normal' },
          layer: [
            {
              // The window the rule scores.
              data: { values: [{ from: window.from, to: window.to }] },
              mark: { type: 'rect', color: '#f2f2f2' },
              encoding: { x: { field: 'from', type: 'quantitative', title: stepTitle }, x2: { field: 'to' } },
            },
            {
              data: { values: ravine.points },
              mark: { type: 'line', strokeWidth: 1.5, clip: true },
              encoding: {
                x: { field: 'step', type: 'quantitative', title: stepTitle },
                y: { field: 'loss', ...logLoss('f(x, y)'), scale: { type: 'log', domain: [floor, 1e3] } },
                color,
              },
            },
            {
              data: { values: cycle },
              mark: { type: 'rule', strokeDash: [5, 3], strokeWidth: 1.5 },
              encoding: { x: { field: 'from', type: 'quantitative' }, x2: { field: 'to' }, y: { field: 'loss', type: 'quantitative' }, color },
            },
          ],
        },
        {
          width: 260, height: 280,
          title: { text: 'the rule: median f over the scored steps, per lr', fontSize: 12, fontWeight: 'normal' },
          data: { values: scores },
          layer: [
            {
              mark: { type: 'line', point: { size: 20, filled: true }, strokeWidth: 1.5, clip: true },
              encoding: {
                x: { field: 'lr', type: 'quantitative', scale: { type: 'log' }, axis: { format: '~g', values: decades }, title: 'learning rate (log scale; off the top: diverged)' },
                y: { field: 'score', ...logLoss(`median f, steps ${window.from}–${window.to}`), scale: { type: 'log', domain: [floor, 1e3] } },
                color,
              },
            },
            {
              transform: [{ filter: 'datum.picked' }],
              mark: { type: 'point', size: 180, strokeWidth: 2, filled: false },
              encoding: { x: { field: 'lr', type: 'quantitative' }, y: { field: 'score', type: 'quantitative' }, color },
            },
          ],
        },
      ],
      config: { ...CONFIG, legend: { ...CONFIG.legend, orient: 'bottom', direction: 'horizontal' } },
    },
  };
}
