// (4) The α × batch-size sweep: a heatmap of each cell's best final loss,
// with its lr, its range over the seeds and a mark if it won at the edge of
// its search; below it, the loss at every lr each cell tried, so that the
// reader can see how sharp each optimum is and how far apart the seeds are.
import { formatLoss } from '../format';
import { SWEEP_ALPHAS, SWEEP_BATCHES, type SweepResult } from '../sweep';
import { CONFIG, SCHEMA, decadeTicks, type Chart } from './style';

const ALPHA_COLORS = ['#17becf', '#1f77b4', '#ff7f0e', '#8c564b'];

export function sweepChart(sweep: SweepResult): Chart {
  const { steps, seeds, cells } = sweep;
  const alphaLabel = (a: number) => `α = ${a}`;
  const alphaOrder = [...SWEEP_ALPHAS].reverse().map(alphaLabel);
  const edgeMark = { low: ' ◀ edge', high: ' ▶ edge' };
  const heat = cells.map((c) => ({
    alphaLabel: alphaLabel(c.alpha),
    batchSize: c.batchSize,
    loss: c.finalTrainLoss,
    lossText: formatLoss(c.finalTrainLoss),
    lrText: `lr ${c.bestLr}${c.edge === null ? '' : edgeMark[c.edge]}`,
    rangeText: seeds > 1 ? `${formatLoss(Math.min(...c.seedLosses))}–${formatLoss(Math.max(...c.seedLosses))}` : '',
    edge: c.edge !== null,
  }));
  const finite = (x: number | null): x is number => x !== null && Number.isFinite(x);
  const curves = cells.flatMap((c) =>
    c.byLr
      .filter((r) => finite(r.loss))
      .map((r) => ({
        alphaLabel: alphaLabel(c.alpha),
        batchLabel: `batch ${c.batchSize}`,
        lr: r.lr,
        loss: r.loss,
        low: Math.min(...r.seedLosses),
        high: Math.max(...r.seedLosses.filter(finite)),
        best: r.lr === c.bestLr,
      })),
  );
  const losses = heat.map((h) => h.loss).filter(finite);
  const mid = Math.sqrt(Math.min(...losses) * Math.max(...losses));
  const textColor = { condition: { test: `datum.loss < ${mid}`, value: 'white' }, value: 'black' };
  const edges = cells.filter((c) => c.edge !== null).length;
  const alphaColor = { field: 'alphaLabel', type: 'nominal', title: 'α', sort: [...SWEEP_ALPHAS].map(alphaLabel), scale: { range: ALPHA_COLORS } };
  const lrs = [...new Set(curves.map((c) => c.lr))];
  const y = { type: 'quantitative', scale: { type: 'log' }, axis: { format: '.0e', values: decadeTicks(curves.flatMap((c) => [c.low, c.high])) } };
  return {
    name: 'alpha-batch',
    spec: {
      $schema: SCHEMA,
      title: {
        text: `RMSprop's α against batch size: final training loss after ${steps} steps, each cell at its own best lr`,
        subtitle: [
          `Each cell trains at lr ${sweep.startLrs.join(', ')}, and one half decade further out while its best lr is the smallest or largest tried`,
          `(within ${sweep.ladder[0]}–${sweep.ladder[sweep.ladder.length - 1]}), each with ${seeds} seed${seeds === 1 ? '' : 's'} (initial weights and batch order). Best: the lowest geometric mean over the seeds`,
          `of the loss on all 1,438 training images. ${edges === 0 ? 'Every winner has a worse lr on both sides.' : `${edges} winner${edges === 1 ? '' : 's'} at the edge of its search: marked ◀ or ▶.`}`,
          `Every cell takes ${steps} steps, so a batch of 512 sees 64× the images of a batch of 8. Memory of v, 1/(1-α): 2, 10, 100 and 1000 steps.`,
        ],
      },
      vconcat: [
        {
          title: { text: `best lr per cell: geometric mean loss, its lr, and the lowest–highest seed`, fontSize: 12, fontWeight: 'normal' },
          data: { values: heat },
          width: 520, height: 340,
          encoding: {
            x: { field: 'batchSize', type: 'ordinal', sort: [...SWEEP_BATCHES], title: 'batch size (images per step)', axis: { labelAngle: 0 } },
            y: { field: 'alphaLabel', type: 'ordinal', sort: alphaOrder, title: ['α (decay of the', 'squared-gradient average)'] },
          },
          layer: [
            {
              mark: 'rect',
              encoding: {
                color: { field: 'loss', type: 'quantitative', scale: { type: 'log', scheme: 'viridis' }, title: ['best final', 'training loss', '(log scale)'] },
              },
            },
            {
              // An edge winner gets a red frame as well as its arrow.
              transform: [{ filter: 'datum.edge' }],
              mark: { type: 'rect', fill: null, stroke: '#d62728', strokeWidth: 3 },
            },
            { mark: { type: 'text', fontSize: 14, dy: -16 }, encoding: { text: { field: 'lossText' }, color: textColor } },
            { mark: { type: 'text', fontSize: 11, dy: 2 }, encoding: { text: { field: 'lrText' }, color: textColor } },
            { mark: { type: 'text', fontSize: 10, dy: 17 }, encoding: { text: { field: 'rangeText' }, color: textColor } },
          ],
        },
        {
          title: { text: 'every lr each cell tried: geometric mean over the seeds (line), lowest to highest seed (bar), the winner (circle)', fontSize: 12, fontWeight: 'normal' },
          data: { values: curves },
          facet: { column: { field: 'batchLabel', type: 'nominal', sort: SWEEP_BATCHES.map((b) => `batch ${b}`), title: null, header: { labelFontSize: 12 } } },
          spec: {
            width: 165, height: 200,
            layer: [
              {
                mark: { type: 'rule', strokeWidth: 1.5, opacity: 0.6 },
                encoding: {
                  x: { field: 'lr', type: 'quantitative', scale: { type: 'log' }, axis: { values: lrs, format: '~g', labelAngle: -45, labelOverlap: false }, title: 'learning rate' },
                  y: { field: 'low', ...y, title: 'final training loss (log)' },
                  y2: { field: 'high' },
                  color: alphaColor,
                },
              },
              {
                mark: { type: 'line', strokeWidth: 1.5, point: { size: 16, filled: true } },
                encoding: { x: { field: 'lr', type: 'quantitative' }, y: { field: 'loss', type: 'quantitative' }, color: alphaColor },
              },
              {
                transform: [{ filter: 'datum.best' }],
                mark: { type: 'point', size: 110, strokeWidth: 2, filled: false },
                encoding: { x: { field: 'lr', type: 'quantitative' }, y: { field: 'loss', type: 'quantitative' }, color: alphaColor },
              },
            ],
          },
        },
      ],
      config: { ...CONFIG, legend: { ...CONFIG.legend, orient: 'right' } },
    },
  };
}
