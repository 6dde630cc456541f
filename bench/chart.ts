// The throughput chart of the sweep's optimizer (RMSprop): Melem/s against
// elements per step, log-log, one line per peer, one panel per config
// (float32 single tensors), the limits as dashed lines and the sqrt+div bound
// as dots. Hand-written SVG, no dependencies.
import { sweepAlgorithm } from './cells';
import { sizeName } from './stats';
import type { CellResult, PeerResult, RunMeta } from './types';

interface Point {
  x: number;
  y: number;
  lo?: number;
  hi?: number;
}
interface Series {
  label: string;
  color: string;
  dash?: string;
  width: number;
  marker: boolean;
  points: Point[];
}

const STYLE: { match: (r: PeerResult, defaultIsa: string) => boolean; label?: string; color: string; dash?: string; width?: number }[] = [
  { match: (r, d) => r.kind === 'native' && r.isa === d && r.threads === 1, color: '#d62728', width: 3 },
  { match: (r, d) => r.kind === 'native' && r.isa === d && r.threads > 1, color: '#ff7f0e', width: 2.5 },
  { match: (r) => r.kind === 'native' && r.isa === 'avx2' && r.threads === 1, color: '#e7969c', width: 1.5 },
  { match: (r) => r.kind === 'native' && r.isa === 'scalar' && r.threads === 1, color: '#ad494a', width: 1.5, dash: '2 3' },
  { match: (r) => r.id === 'js-backend', color: '#8c564b' },
  { match: (r) => r.id === 'js-loop', color: '#e377c2' },
  { match: (r) => r.id === 'tfjs-cpu', color: '#bcbd22' },
  { match: (r) => r.id === 'tfjs-wasm', color: '#17becf' },
  { match: (r) => r.id === 'torch-1.13-single-1t', color: '#1f77b4' },
  { match: (r) => r.id === 'torch-1.13-foreach-1t', color: '#1f77b4', dash: '6 3' },
  { match: (r) => r.id === 'torch-2.6-single-1t', color: '#9467bd' },
  { match: (r) => r.id === 'torch-2.6-foreach-1t', color: '#9467bd', dash: '6 3' },
];

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

function seriesFor(cells: CellResult[], defaultIsa: string): Series[] {
  const out: Series[] = [];
  for (const style of STYLE) {
    const points: Point[] = [];
    let label = '';
    for (const c of cells) {
      const r = c.peers.find((p) => style.match(p, defaultIsa));
      if (!r) continue;
      label = r.label;
      if (r.melemPerSec) points.push({ x: c.elements, y: r.melemPerSec.median, lo: r.melemPerSec.min, hi: r.melemPerSec.max });
    }
    if (label) out.push({ label, color: style.color, dash: style.dash, width: style.width ?? 1.8, marker: true, points });
  }
  // Limits, in this config's elements per second: GB/s ÷ bytes per element.
  for (const [key, color, name] of [['1', '#333333', 'limit 1T'], ['all', '#999999', 'limit all cores']] as const) {
    const points = cells
      .filter((c) => c.limit[key])
      .map((c) => ({ x: c.elements, y: (c.limit[key]!.gbPerSec * 1e3) / c.bytesPerElement }));
    if (points.length) out.push({ label: `${name} (bandwidth)`, color, dash: '8 4', width: 1.5, marker: false, points });
  }
  const bound = cells.filter((c) => c.bound).map((c) => ({ x: c.elements, y: c.bound!.melemPerSec }));
  if (bound.length) out.push({ label: 'bound: sqrt+div loop (best ISA)', color: '#2ca02c', dash: '2 4', width: 2, marker: true, points: bound });
  return out;
}

function panel(title: string, series: Series[], ox: number, oy: number, w: number, h: number, xr: [number, number], yr: [number, number]): string {
  const lx = (x: number) => ox + ((Math.log10(x) - Math.log10(xr[0])) / (Math.log10(xr[1]) - Math.log10(xr[0]))) * w;
  const ly = (y: number) => oy + h - ((Math.log10(y) - Math.log10(yr[0])) / (Math.log10(yr[1]) - Math.log10(yr[0]))) * h;
  const parts: string[] = [];
  parts.push(`<rect x="${ox}" y="${oy}" width="${w}" height="${h}" fill="#fff" stroke="#444"/>`);
  parts.push(`<text x="${ox + w / 2}" y="${oy - 10}" text-anchor="middle" font-size="15" font-weight="bold">${esc(title)}</text>`);
  // y grid: decades and 2, 5
  for (let e = Math.floor(Math.log10(yr[0])); e <= Math.ceil(Math.log10(yr[1])); e++) {
    for (const m of [1, 2, 5]) {
      const v = m * 10 ** e;
      if (v < yr[0] || v > yr[1]) continue;
      const y = ly(v);
      parts.push(`<line x1="${ox}" x2="${ox + w}" y1="${y}" y2="${y}" stroke="${m === 1 ? '#ccc' : '#eee'}"/>`);
      parts.push(`<text x="${ox - 6}" y="${y + 4}" text-anchor="end" font-size="11">${v >= 1 ? v : v.toPrecision(1)}</text>`);
    }
  }
  // x grid: powers of 4
  for (let x = 1024; x <= xr[1]; x *= 4) {
    if (x < xr[0]) continue;
    const X = lx(x);
    parts.push(`<line x1="${X}" x2="${X}" y1="${oy}" y2="${oy + h}" stroke="#eee"/>`);
    parts.push(`<text x="${X}" y="${oy + h + 16}" text-anchor="middle" font-size="11">${sizeName(x)}</text>`);
  }
  parts.push(`<text x="${ox + w / 2}" y="${oy + h + 34}" text-anchor="middle" font-size="12">elements per step (one tensor)</text>`);
  parts.push(`<text transform="translate(${ox - 46},${oy + h / 2}) rotate(-90)" text-anchor="middle" font-size="12">Melem/s (median; bars: min–max)</text>`);
  for (const s of series) {
    const pts = s.points.filter((p) => p.y > 0).sort((a, b) => a.x - b.x);
    if (pts.length > 1) {
      parts.push(`<polyline fill="none" stroke="${s.color}" stroke-width="${s.width}"${s.dash ? ` stroke-dasharray="${s.dash}"` : ''} points="${pts.map((p) => `${lx(p.x).toFixed(1)},${ly(p.y).toFixed(1)}`).join(' ')}"/>`);
    }
    for (const p of pts) {
      if (p.lo !== undefined && p.hi !== undefined && p.hi > p.lo) {
        parts.push(`<line x1="${lx(p.x).toFixed(1)}" x2="${lx(p.x).toFixed(1)}" y1="${ly(p.hi).toFixed(1)}" y2="${ly(p.lo).toFixed(1)}" stroke="${s.color}" stroke-width="1"/>`);
      }
      if (s.marker) parts.push(`<circle cx="${lx(p.x).toFixed(1)}" cy="${ly(p.y).toFixed(1)}" r="2.8" fill="${s.color}"/>`);
    }
  }
  return parts.join('\n');
}

export function renderChart(meta: RunMeta, cells: CellResult[]): string {
  const sweep = sweepAlgorithm();
  const single = cells.filter((c) => c.algorithm === sweep.name && c.dtype === 'float32' && c.tensors === 1);
  const configs = sweep.configs.map((c) => c.name);
  const perConfig = configs.map((name) => seriesFor(single.filter((c) => c.config === name), meta.defaultIsa));
  const xs = single.map((c) => c.elements);
  const ys = perConfig.flat().flatMap((s) => s.points.flatMap((p) => [p.y, p.lo ?? p.y, p.hi ?? p.y])).filter((y) => y > 0);
  const xr: [number, number] = [Math.min(...xs, 4096) / 1.5, Math.max(...xs, 1 << 20) * 1.5];
  const yr: [number, number] = [10 ** Math.floor(Math.log10(Math.min(...ys, 1))), 10 ** Math.ceil(Math.log10(Math.max(...ys, 10)))];
  const pw = 520;
  const ph = 400;
  const left = 70;
  const top = 70;
  const gap = 90;
  const legendX = left + 2 * pw + gap + 30;
  const width = legendX + 300;
  const height = top + ph + 90;
  const parts: string[] = [];
  parts.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="Helvetica, Arial, sans-serif">`);
  parts.push(`<rect width="100%" height="100%" fill="#fafafa"/>`);
  const m = meta.machine;
  parts.push(`<text x="${left}" y="24" font-size="17" font-weight="bold">${sweep.name} step throughput, float32 — simd-optim against its peers and the machine's limits</text>`);
  parts.push(`<text x="${left}" y="44" font-size="12" fill="#444">${esc(`${m.cpu}, ${m.cores} cores, L${m.llcLevel ?? '?'} ${m.llcBytes ? `${Math.round(m.llcBytes / 2 ** 20)} MiB` : '?'}; Node ${m.node}; ${m.date}${meta.quick ? ' (--quick)' : ''}; default ISA ${meta.defaultIsa}; one thread unless marked`)}</text>`);
  configs.forEach((name, i) => {
    parts.push(panel(name, perConfig[i], left + i * (pw + gap), top, pw, ph, xr, yr));
  });
  // Legend (from the plain panel, which has every series the other has).
  const legend = perConfig[0].length >= perConfig[1].length ? perConfig[0] : perConfig[1];
  legend.forEach((s, i) => {
    const y = top + 8 + i * 20;
    parts.push(`<line x1="${legendX}" x2="${legendX + 28}" y1="${y}" y2="${y}" stroke="${s.color}" stroke-width="${s.width}"${s.dash ? ` stroke-dasharray="${s.dash}"` : ''}/>`);
    if (s.marker) parts.push(`<circle cx="${legendX + 14}" cy="${y}" r="2.8" fill="${s.color}"/>`);
    parts.push(`<text x="${legendX + 36}" y="${y + 4}" font-size="12">${esc(s.label)}${s.points.length ? '' : ' (not measured)'}</text>`);
  });
  parts.push('</svg>\n');
  return parts.join('\n');
}
