// (2) AdaGrad's effective step size against RMSprop's, per step.
import type { RunResult } from '../runs';
import { CONFIG, SCHEMA, colorScale, runLabel, type Chart } from './style';

/** (2) lr / (√v + ε) and the size of each update, per step: AdaGrad against RMSprop. */
export function stepSizeChart(runs: RunResult[]): Chart {
  const tracked = runs.filter((r) => r.stepSizes.length > 0);
  const values = tracked.flatMap((r) => r.stepSizes.map((s) => ({ run: runLabel(r), step: s.step, factor: s.factor, update: s.update })));
  const labels = tracked.map(runLabel);
  const color = { field: 'run', type: 'nominal', title: 'optimizer', scale: colorScale(labels), sort: labels };
  const x = { field: 'step', type: 'quantitative', title: `optimizer step (batches of ${tracked[0]?.batchSize ?? ''} images)` };
  // Bands and lines share one legend; draw its symbols as lines, not as pale bands.
  const lineLegend = { ...color, legend: { symbolType: 'stroke', symbolStrokeWidth: 3, symbolOpacity: 1 } };
  const panel = (field: 'factor' | 'update', title: string[]) => ({
    width: 380, height: 300,
    layer: [
      {
        mark: { type: 'area', opacity: 0.15 },
        encoding: {
          x,
          // Powers of ten as 1e-7, not 0.0000001: these axes span up to ten decades.
          y: { field: `${field}.q25`, type: 'quantitative', scale: { type: 'log' }, axis: { format: '.0e' }, title },
          y2: { field: `${field}.q75` },
          color: lineLegend,
        },
      },
      { mark: { type: 'line', strokeWidth: 2 }, encoding: { x, y: { field: `${field}.median`, type: 'quantitative' }, color: lineLegend } },
    ],
  });
  return {
    name: 'step-size',
    spec: {
      $schema: SCHEMA,
      title: {
        text: "AdaGrad freezes: its step size lr/(√v+ε) can only shrink",
        subtitle: [
          "AdaGrad's v is a running sum of g²: it never decreases, so lr/(√v+ε) falls in the first steps and then stays frozen.",
          "RMSprop's v averages the last ~1/(1-α) steps: as the gradients shrink, lr/(√v+ε) grows (up to its cap, lr/ε).",
          "Right: the updates that result. With each lr tuned, they end up of similar size here (α=0.9's swing the most): Adagrad's",
          '10-30× larger lr makes up for its frozen factor on a problem this small. Lines: median over the weights; bands: 25th to 75th percentile.',
        ],
      },
      data: { values },
      hconcat: [
        panel('factor', ['effective step size lr/(√v+ε)', '(per unit of gradient, log scale)']),
        panel('update', ['size of each update |lr·g/(√v+ε)|', '(weights the batch moved, log scale)']),
      ],
      config: { ...CONFIG, legend: { ...CONFIG.legend, orient: 'bottom', direction: 'horizontal' } },
    },
  };
}
