// (2) AdaGrad's effective step size against RMSprop's, per step, over the
// weights the step moved; and the share of weights whose factor sits at its
// cap lr/ε because they get no gradient at all (see step-size.ts).
import { HIDDEN } from '../mlp';
import type { RunResult } from '../runs';
import { CONFIG, SCHEMA, colorScale, decadeTicks, runLabel, type Chart } from './style';

const CAPPED = 'at the cap lr/ε';
const NEVER = 'of which never a gradient (v = 0)';

/** (2) lr / (√v + ε) and the size of each update, per step: AdaGrad against RMSprop. */
export function stepSizeChart(runs: RunResult[]): Chart {
  const tracked = runs.filter((r) => r.stepSizes.length > 0);
  const values = tracked.flatMap((r) => r.stepSizes.map((s) => ({ run: runLabel(r), step: s.step, factor: s.factor, update: s.update })));
  const shares = tracked.flatMap((r) =>
    r.stepSizes.flatMap((s) => [
      { run: runLabel(r), step: s.step, kind: CAPPED, share: s.capShare },
      { run: runLabel(r), step: s.step, kind: NEVER, share: s.neverShare },
    ]),
  );
  const labels = tracked.map(runLabel);
  const color = { field: 'run', type: 'nominal', title: 'optimizer', scale: colorScale(labels), sort: labels };
  const x = { field: 'step', type: 'quantitative', title: `optimizer step (batches of ${tracked[0]?.batchSize ?? ''} images)` };
  // Bands and lines share one legend; draw its symbols as lines, not as pale bands.
  const lineLegend = { ...color, legend: { symbolType: 'stroke', symbolStrokeWidth: 3, symbolOpacity: 1 } };
  const panel = (field: 'factor' | 'update', title: string[]) => ({
    width: 320, height: 280,
    layer: [
      {
        mark: { type: 'area', opacity: 0.15 },
        encoding: {
          x,
          // Powers of ten as 1e-7, not 0.0000001: these axes span up to ten decades.
          y: {
            field: `${field}.q25`, type: 'quantitative', scale: { type: 'log' }, title,
            axis: { format: '.0e', values: decadeTicks(tracked.flatMap((r) => r.stepSizes.flatMap((s) => [s[field].q25, s[field].q75]))) },
          },
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
          "AdaGrad's v is a running sum of g²: it never decreases, so lr/(√v+ε) falls in the first steps and after that can only creep down.",
          "RMSprop's v averages the last ~1/(1-α) steps: as the gradients shrink, lr/(√v+ε) grows.",
          'Left and middle: the weights each step moved (gradient not 0); lines are medians, bands the 25th to 75th percentile. The updates end up',
          `of similar size: Adagrad's larger lr (${lrRatios(tracked)}) makes up for its frozen factor on a run this short.`,
          "Right: weights with no gradient. RMSprop's v decays for them, so their factor rises to its cap lr/ε, and multiplies 0: the weights of",
          `hidden units that no training image switches on (at the end: ${deadUnits(tracked)}) and of the pixels blank in every image.`,
        ],
      },
      data: { values },
      hconcat: [
        panel('factor', ['effective step size lr/(√v+ε)', '(per unit of gradient, log scale)']),
        panel('update', ['size of each update |lr·g/(√v+ε)|', '(log scale)']),
        {
          width: 250, height: 280,
          data: { values: shares },
          mark: { type: 'line', strokeWidth: 2 },
          encoding: {
            x,
            y: { field: 'share', type: 'quantitative', scale: { domain: [0, 1] }, axis: { format: '.0%' }, title: ['share of all weights whose factor', 'is at its cap lr/ε (√v ≤ ε)'] },
            color: lineLegend,
            strokeDash: { field: 'kind', type: 'nominal', title: null, sort: [CAPPED, NEVER], legend: { orient: 'bottom', direction: 'vertical' } },
          },
        },
      ],
      config: { ...CONFIG, legend: { ...CONFIG.legend, orient: 'bottom', direction: 'horizontal' } },
    },
  };
}

/** "30× RMSprop's", or "10× RMSprop α=0.9's, 30× RMSprop α=0.99's": Adagrad's lr against the others'. */
function lrRatios(runs: RunResult[]): string {
  const adagrad = runs.find((r) => r.id === 'adagrad');
  const others = runs.filter((r) => r.id !== 'adagrad');
  if (adagrad === undefined || others.length === 0) return 'its own';
  const ratio = (r: RunResult) => Number((adagrad.lr / r.lr).toPrecision(2));
  if (others.every((r) => ratio(r) === ratio(others[0]))) return `${adagrad.lr}, ${ratio(others[0])}× RMSprop's`;
  return `${adagrad.lr}: ${others.map((r) => `${ratio(r)}× ${r.label}'s`).join(', ')}`;
}

/** "19 of 32 for RMSprop α=0.9, …": dead units at the end of each run. */
function deadUnits(runs: RunResult[]): string {
  return runs.map((r) => `${r.deadUnits} of ${HIDDEN} for ${r.label}`).join(', ');
}
