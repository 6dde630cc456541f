// The README's example runs and does what it says.
import { expect } from 'chai';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { loadTorch } from '../lib';

const root = path.resolve(__dirname, '..');

describe('README', () => {
  it('shows examples/quickstart.ts verbatim, and it fits y = 3x - 1', () => {
    const example = fs.readFileSync(path.join(root, 'examples', 'quickstart.ts'), 'utf8');
    const body = example.split('\n').slice(1).join('\n').trim();
    expect(fs.readFileSync(path.join(root, 'README.md'), 'utf8')).to.include(body);
    const r = spawnSync(process.execPath, ['--import', 'tsx', 'examples/quickstart.ts'], { cwd: root, encoding: 'utf8' });
    expect(r.status, r.stderr).to.equal(0);
    const last = r.stdout.trim().split('\n').find((l) => /^-?\d+\.\d+ -?\d+\.\d+ /.test(l))!;
    const [w, b] = last.split(' ').map(Number);
    expect(w).to.be.closeTo(3, 0.01);
    expect(b).to.be.closeTo(-1, 0.01);
  });

  it('quotes the summary table of docs/benchmark.md, the committed run, verbatim', () => {
    const table = (text: string) => text.split('\n').filter((line) => line.startsWith('| RMSprop step') || /^\| [0-9,]+[K M]/.test(line) || line.startsWith('|---|---:'));
    const page = fs.readFileSync(path.join(root, 'docs', 'benchmark.md'), 'utf8');
    const summary = table(page.slice(page.indexOf('## Summary'), page.indexOf('## Targets')));
    expect(summary.length, 'the summary table of docs/benchmark.md').to.be.above(3);
    expect(table(fs.readFileSync(path.join(root, 'README.md'), 'utf8'))).to.deep.equal(summary);
  });

  it('stays a signpost: under 12 KB', () => {
    expect(Buffer.byteLength(fs.readFileSync(path.join(root, 'README.md'))), 'README.md bytes').to.be.below(12 * 1024);
  });

  it('examples/resume-from-pytorch.ts continues the PyTorch run (loss keeps falling) and writes files loadTorch reads', async () => {
    const r = spawnSync(process.execPath, ['--import', 'tsx', 'examples/resume-from-pytorch.ts'], { cwd: root, encoding: 'utf8' });
    expect(r.status, r.stderr).to.equal(0);
    const losses = [...r.stdout.matchAll(/Node: step \d+, loss (\d+\.\d+)/g)].map((m) => Number(m[1]));
    expect(losses).to.have.length(6);
    // PyTorch stopped at 1.37 after 10 steps; the resumed run starts below it and keeps going down.
    expect(losses[0]).to.be.below(1.37);
    losses.slice(1).forEach((loss, i) => expect(loss).to.be.below(losses[i]));
    const sd = await loadTorch<{ state: Record<string, { step: { data: Float32Array } }> }>(
      path.join(root, 'examples', 'pytorch', 'optimizer-from-node.pt'));
    expect(sd.state[0].step.data[0]).to.equal(40);
  });
});
