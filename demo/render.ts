// Renders vega-lite specs to SVG (vega, headless: no canvas needed) and SVG
// to PNG (resvg). These are development dependencies, loaded only here and
// only when charts are asked for: whoever installs simd-optim for the
// optimizer does not get a chart toolkit.
import { existsSync, writeFileSync } from 'fs';
import { join } from 'path';
import { pathToFileURL } from 'url';
import { UsageError } from './usage-error';
import type { Chart, VegaLiteSpec } from './charts/style';

export const CHART_PACKAGES = ['vega', 'vega-lite', '@resvg/resvg-js'];

// The small parts of each library the demo uses (typed here so that the
// package compiles without them).
interface VegaLite {
  compile(spec: VegaLiteSpec): { spec: object };
}
interface TextItem {
  fontSize?: number;
  fontWeight?: string | number;
}
interface Vega {
  parse(spec: object): unknown;
  textMetrics: { width(item: TextItem, text: string): number };
  View: new (runtime: unknown, options: { renderer: 'none' }) => { toSVG(): Promise<string>; finalize(): void };
}
interface ResvgModule {
  Resvg: new (svg: string, options: object) => { render(): { asPng(): Buffer } };
}

export interface Renderer {
  /** Writes <dir>/<name>.svg and <dir>/<name>.png; returns both paths. */
  write(chart: Chart, dir: string): Promise<string[]>;
  /** A warning for the user, or null: PNG text needs a font. */
  fontWarning: string | null;
}

// vega and vega-lite are ES modules only. TypeScript compiles `import()` to
// `require()` under CommonJS, so the real dynamic import is reached through
// Function, with the path resolved from this package.
const importEsm = new Function('url', 'return import(url)') as (url: string) => Promise<unknown>;

/** Loads the chart libraries, or throws a UsageError naming what to install. */
export async function loadRenderer(): Promise<Renderer> {
  let vega: Vega, vegaLite: VegaLite, resvg: ResvgModule;
  try {
    vega = (await importEsm(pathToFileURL(require.resolve('vega')).href)) as Vega;
    vegaLite = (await importEsm(pathToFileURL(require.resolve('vega-lite')).href)) as VegaLite;
    resvg = require('@resvg/resvg-js') as ResvgModule;
  } catch (err) {
    throw new UsageError(
      `the charts need ${CHART_PACKAGES.join(', ')}, which are not installed (${(err as Error).message.split('\n')[0]}).\n` +
        `  Install them:  npm install --no-save ${CHART_PACKAGES.join(' ')}\n` +
        '  or run without charts:  simd-optim demo --no-charts',
    );
  }
  // Without a canvas vega guesses text widths at 0.8 em a character, which
  // leaves wide empty margins after titles and legends; DejaVu's are closer
  // to 0.6 em.
  vega.textMetrics.width = (item, text) => estimateTextWidth(String(text ?? ''), item.fontSize ?? 11, item.fontWeight);
  const font = findFont();
  return {
    fontWarning: font === null
      ? 'no DejaVu, Liberation or Arial font found: text in the PNGs may be missing (the SVGs are fine). On Debian/Ubuntu: apt-get install fonts-dejavu-core'
      : null,
    async write(chart, dir) {
      const view = new vega.View(vega.parse(vegaLite.compile(chart.spec).spec), { renderer: 'none' });
      const svg = await view.toSVG();
      view.finalize();
      const png = new resvg.Resvg(svg, {
        fitTo: { mode: 'zoom', value: 2 }, // 2× for sharp text on high-density screens
        background: 'white',
        font: {
          loadSystemFonts: true,
          fontFiles: font === null ? [] : [font.file],
          defaultFontFamily: font?.family ?? 'DejaVu Sans',
        },
      }).render().asPng();
      const paths = [join(dir, `${chart.name}.svg`), join(dir, `${chart.name}.png`)];
      writeFileSync(paths[0], svg);
      writeFileSync(paths[1], png);
      return paths;
    },
  };
}

/**
 * resvg draws text only with a font it can load. It scans the system's font
 * folders itself; this finds one of the families the charts ask for, so that
 * the demo can say so when there is none.
 */
function findFont(): { file: string; family: string } | null {
  const candidates = [
    { file: '/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf', family: 'DejaVu Sans' }, // Debian, Ubuntu
    { file: '/usr/share/fonts/dejavu-sans-fonts/DejaVuSans.ttf', family: 'DejaVu Sans' }, // Fedora
    { file: '/usr/share/fonts/TTF/DejaVuSans.ttf', family: 'DejaVu Sans' }, // Arch
    { file: '/usr/share/fonts/truetype/liberation/LiberationSans-Regular.ttf', family: 'Liberation Sans' },
    { file: '/usr/share/fonts/liberation-sans/LiberationSans-Regular.ttf', family: 'Liberation Sans' },
    { file: '/System/Library/Fonts/Supplemental/Arial.ttf', family: 'Arial' }, // macOS
    { file: '/Library/Fonts/Arial.ttf', family: 'Arial' },
    { file: join(process.env.WINDIR ?? 'C:\\Windows', 'Fonts', 'arial.ttf'), family: 'Arial' },
  ];
  return candidates.find((c) => existsSync(c.file)) ?? null;
}

/**
 * Text width in pixels, from DejaVu Sans's advance widths by character class
 * (in em: digits 0.64, capitals about 0.7, lower case about 0.6, narrow
 * letters 0.3). A slight overestimate, so that text is never cut.
 */
function estimateTextWidth(text: string, fontSize: number, weight?: string | number): number {
  let em = 0;
  for (const ch of text) {
    if (ch === ' ') em += 0.32;
    else if (/[0-9]/.test(ch)) em += 0.64;
    else if (/[ijlftrI.,:;'!|()[\]]/.test(ch)) em += 0.36;
    else if (/[mwMW]/.test(ch)) em += 0.95;
    else if (/[A-Z]/.test(ch)) em += 0.72;
    else em += 0.62;
  }
  const bold = weight === 'bold' || (typeof weight === 'number' && weight >= 600);
  return em * fontSize * (bold ? 1.1 : 1);
}
