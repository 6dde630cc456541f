// The demo's four charts as vega-lite specs: plain data in, a spec out. No
// rendering here (see render.ts), so these need no chart library to build.
import { CONDITION, RAVINE_RUNS, ravineContours, START, type RavinePoint } from './ravine';
import type { RunResult } from './runs';
import { SWEEP_ALPHAS, SWEEP_BATCHES, SWEEP_LRS, type SweepCell } from './sweep';

export type VegaLiteSpec = Record<string, unknown>;

export interface Chart {
  /** File name without extension: <name>.svg and <name>.png. */
  name: string;
  spec: VegaLiteSpec;
}

const SCHEMA = 'https://vega.github.io/schema/vega-lite/v6.json';

/** Fonts resvg can find on most machines; render.ts loads the first one present. */
export const FONT_FAMILY = 'DejaVu Sans, Liberation Sans, Arial, Helvetica, sans-serif';

const CONFIG = {
  font: FONT_FAMILY,
  background: 'white',
  title: { fontSize: 16, subtitleFontSize: 12, subtitleColor: '#444', anchor: 'start', offset: 12 },
  axis: { labelFontSize: 11, titleFontSize: 12, titleFontWeight: 'normal', gridColor: '#e6e6e6' },
  legend: { labelFontSize: 11, titleFontSize: 12, labelLimit: 400 },
  view: { stroke: '#bbb' },
};

/** One colour per optimizer, the same in every chart. */
const OPTIMIZER_COLORS: Record<string, string> = {
  SGD: '#7f7f7f',
  Adagrad: '#d62728',
  'RMSprop α=0.9': '#1f77b4',
  'RMSprop α=0.99': '#ff7f0e',
  'RMSprop centered+momentum 0.9': '#2ca02c',
};

function colorScale(labels: string[]): { domain: string[]; range: string[] } {
  // The longest matching name: 'RMSprop α=0.99, …' also starts with 'RMSprop α=0.9'.
  const names = Object.keys(OPTIMIZER_COLORS).sort((a, b) => b.length - a.length);
  const colorOf = (label: string) => OPTIMIZER_COLORS[names.find((k) => label.startsWith(k)) ?? ''] ?? '#9467bd';
  return { domain: labels, range: labels.map(colorOf) };
}

const runLabel = (r: RunResult) => `${r.label}, lr=${r.lr}`;

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
          'Same initial weights, batches and split (1,438 training / 359 test images); learning rates tuned per optimizer.',
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
            y: { field: 'trainLoss', type: 'quantitative', scale: { type: 'log' }, title: ['training loss', '(cross-entropy in nats, log scale)'] },
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
