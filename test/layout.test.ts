// The package's layering: lib/ is the library, and the demo is a program that
// uses it through its public entry, as any user would.
import { expect } from 'chai';
import * as fs from 'node:fs';
import * as path from 'node:path';

const root = path.resolve(__dirname, '..');

function sources(dir: string): string[] {
  return fs.readdirSync(path.join(root, dir), { recursive: true, encoding: 'utf8' })
    .filter((f) => f.endsWith('.ts'))
    .map((f) => path.join(dir, f));
}

/** Every module specifier a TypeScript file imports or requires. */
function importsOf(file: string): string[] {
  const text = fs.readFileSync(path.join(root, file), 'utf8');
  const found = [...text.matchAll(/(?:from|import|require)\s*\(?\s*'([^']+)'/g)].map((m) => m[1]);
  return found;
}

describe('package layout', () => {
  it('no library module imports the demo, the benchmark or the chart libraries', () => {
    for (const file of sources('lib')) {
      for (const spec of importsOf(file)) {
        expect(spec, `${file} imports ${spec}`).not.to.match(/(^|\/)(demo|bench)(\/|$)|^(vega|vega-lite|@resvg\/resvg-js)$/);
      }
    }
  });

  it('the demo and the examples use the library only through its public entry', () => {
    for (const file of [...sources('demo'), ...sources('examples')]) {
      for (const spec of importsOf(file)) {
        expect(spec, `${file} imports ${spec}`).not.to.match(/(^|\/)lib(\/|$)/);
      }
    }
  });
});
