// The demo's closing table, as Markdown so that it pastes into a README.
import type { RunResult } from './runs';

export function formatTable(runs: RunResult[]): string {
  const rows = [
    ['optimizer', 'lr', 'final train loss', 'test accuracy', 'wall time'],
    ...runs.map((r) => [r.label, String(r.lr), r.finalTrainLoss.toFixed(4), `${(r.testAccuracy * 100).toFixed(1)}%`, `${r.seconds.toFixed(1)} s`]),
  ];
  const widths = rows[0].map((_, c) => Math.max(...rows.map((row) => row[c].length)));
  // Text columns left-aligned, numbers right-aligned.
  const pad = (cell: string, c: number) => (c === 0 ? cell.padEnd(widths[c]) : cell.padStart(widths[c]));
  const line = (row: string[]) => `| ${row.map(pad).join(' | ')} |`;
  const rule = `|${widths.map((w, c) => (c === 0 ? '-'.repeat(w + 2) : '-'.repeat(w + 1) + ':')).join('|')}|`;
  return [line(rows[0]), rule, ...rows.slice(1).map(line)].join('\n');
}
