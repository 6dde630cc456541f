// `simd-optim demo`: the command a newcomer runs first. Runs the built CLI
// (dist/, which `npm test` rebuilds) the way `npx simd-optim demo` does.
import { expect } from 'chai';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

const root = path.resolve(__dirname, '..');
const cli = path.join(root, 'dist', 'cli.js');

function demo(args: string[]) {
  return spawnSync(process.execPath, [cli, 'demo', ...args], { cwd: root, encoding: 'utf8', timeout: 120_000 });
}

describe('simd-optim demo', function () {
  this.timeout(180_000);

  let out: string;
  before(() => {
    out = fs.mkdtempSync(path.join(os.tmpdir(), 'simd-optim-demo-'));
  });
  after(() => fs.rmSync(out, { recursive: true, force: true }));

  it('--quick trains all five runs, prints the table, writes four charts as SVG and PNG', () => {
    const started = Date.now();
    const r = demo(['--quick', '--out', out]);
    const seconds = (Date.now() - started) / 1000;
    expect(r.status, r.stderr).to.equal(0);
    // About 6 s on an idle 2-core machine; the bound is loose because CI machines are shared.
    expect(seconds, 'wall time of --quick').to.be.below(60);

    for (const label of ['RMSprop α=0.9', 'RMSprop α=0.99', 'RMSprop centered+momentum 0.9', 'Adagrad', 'SGD']) {
      const escaped = label.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
      expect(r.stdout, `table row for ${label}`).to.match(new RegExp(`^\\| ${escaped} +\\| .*%.* s \\|$`, 'm'));
    }
    expect(r.stdout).to.include('| optimizer').and.include('final train loss').and.include('test accuracy').and.include('wall time');
    expect(r.stdout, 'the output folder is printed').to.include(out);

    const charts = ['loss-curves', 'step-size', 'ravine', 'alpha-batch'];
    for (const name of charts) {
      const svg = fs.readFileSync(path.join(out, `${name}.svg`), 'utf8');
      expect(svg, `${name}.svg`).to.match(/^<svg/);
      expect(svg, `${name}.svg has text`).to.include('<text');
      const png = fs.readFileSync(path.join(out, `${name}.png`));
      expect(png.subarray(1, 4).toString('latin1'), `${name}.png`).to.equal('PNG');
      expect(png.length, `${name}.png size`).to.be.above(20_000);
    }

    const results = JSON.parse(fs.readFileSync(path.join(out, 'results.json'), 'utf8'));
    const accuracy = (id: string) => results.runs.find((run: { id: string }) => run.id === id).testAccuracy;
    expect(accuracy('rmsprop-0.9'), 'RMSprop α=0.9 test accuracy').to.be.above(0.9);
    expect(accuracy('rmsprop-0.99'), 'RMSprop α=0.99 test accuracy').to.be.above(0.9);
    expect(results.sweep, 'α × batch cells').to.have.length(16);
  });

  it('without the chart libraries (installed without dev dependencies): --no-charts works, charts name what to install', () => {
    // A copy of the package with no node_modules above it, as a user's install without devDependencies sees it.
    const pkg = path.join(out, 'package');
    for (const part of ['dist', 'data', 'package.json']) fs.cpSync(path.join(root, part), path.join(pkg, part), { recursive: true });
    const run = (args: string[]) => spawnSync(process.execPath, [path.join(pkg, 'dist', 'cli.js'), 'demo', ...args], {
      cwd: out, encoding: 'utf8', timeout: 60_000, env: { ...process.env, SIMD_OPTIM_BACKEND: 'js' },
    });
    const withCharts = run(['--quick', '--out', path.join(out, 'x')]);
    expect(withCharts.status, withCharts.stderr).to.equal(2);
    expect(withCharts.stderr).to.include('npm install --no-save vega vega-lite @resvg/resvg-js').and.include('--no-charts');
    expect(fs.existsSync(path.join(out, 'x')), 'fails before training').to.equal(false);
    const noCharts = run(['--quick', '--no-charts', '--epochs', '1', '--out', path.join(out, 'y')]);
    expect(noCharts.status, noCharts.stderr).to.equal(0);
    expect(noCharts.stdout).to.include('| SGD');
    expect(fs.readdirSync(path.join(out, 'y')), '--no-charts writes only results.json').to.deep.equal(['results.json']);
    expect(JSON.parse(fs.readFileSync(path.join(out, 'y', 'results.json'), 'utf8')).epochs).to.equal(1);
  });

  it('examples/train-digits.ts trains the same MLP with RMSprop to over 90% test accuracy', () => {
    const r = spawnSync(process.execPath, ['--import', 'tsx', 'examples/train-digits.ts'], { cwd: root, encoding: 'utf8', timeout: 120_000 });
    expect(r.status, r.stderr).to.equal(0);
    const accuracies = [...r.stdout.matchAll(/test accuracy ([\d.]+)%/g)].map((m) => Number(m[1]));
    expect(accuracies, r.stdout).to.have.length(4);
    expect(accuracies[accuracies.length - 1]).to.be.above(90);
  });

  it('rejects an unknown option with a one-line usage error and exit code 2', () => {
    const r = demo(['--epoch', '3']);
    expect(r.status).to.equal(2);
    expect(r.stderr.trim()).to.match(/^simd-optim demo: unknown option --epoch /);
  });

  it('--help describes the options', () => {
    const r = demo(['--help']);
    expect(r.status).to.equal(0);
    for (const flag of ['--out', '--epochs', '--quick', '--no-charts']) expect(r.stdout).to.include(flag);
  });
});
