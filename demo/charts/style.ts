// What the demo's charts share: the vega-lite schema, fonts, sizes, and one
// colour per optimizer. Each chart is a vega-lite spec built from plain data
// in its own module; rendering is render.ts's job, so building a spec needs no
// chart library.
import type { RunResult } from '../runs';

export type VegaLiteSpec = Record<string, unknown>;

export interface Chart {
  /** File name without extension: <name>.svg and <name>.png. */
  name: string;
  spec: VegaLiteSpec;
}

export const SCHEMA = 'https://vega.github.io/schema/vega-lite/v6.json';

/** Fonts resvg can find on most machines; render.ts loads the first one present. */
export const FONT_FAMILY = 'DejaVu Sans, Liberation Sans, Arial, Helvetica, sans-serif';

export const CONFIG = {
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

export function colorScale(labels: string[]): { domain: string[]; range: string[] } {
  // The longest matching name: 'RMSprop α=0.99, …' also starts with 'RMSprop α=0.9'.
  const names = Object.keys(OPTIMIZER_COLORS).sort((a, b) => b.length - a.length);
  const colorOf = (label: string) => OPTIMIZER_COLORS[names.find((k) => label.startsWith(k)) ?? ''] ?? '#9467bd';
  return { domain: labels, range: labels.map(colorOf) };
}

export const runLabel = (r: RunResult) => `${r.label}, lr=${r.lr}`;

/** Tick values at the powers of ten that span `values` (positive, finite ones): a log axis labelled 1e-3, 1e-2, … and nothing between. */
export function decadeTicks(values: number[]): number[] {
  const logs = values.filter((v) => v > 0 && Number.isFinite(v)).map(Math.log10);
  if (logs.length === 0) return [];
  const ticks: number[] = [];
  for (let k = Math.floor(Math.min(...logs)); k <= Math.ceil(Math.max(...logs)); k++) ticks.push(Number(`1e${k}`));
  return ticks;
}
