// The README's example runs and does what it says.
import { expect } from 'chai';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';

const root = path.resolve(__dirname, '..');

describe('README', () => {
  it('shows examples/quickstart.ts verbatim, and it fits y = 3x - 1', () => {
    const example = fs.readFileSync(path.join(root, 'examples', 'quickstart.ts'), 'utf8');
    const body = example.split('\n').slice(1).join('\n').replace("from '../lib';", "from 'simd-optim';").trim();
    expect(fs.readFileSync(path.join(root, 'README.md'), 'utf8')).to.include(body);
    const r = spawnSync(process.execPath, ['--import', 'tsx', 'examples/quickstart.ts'], { cwd: root, encoding: 'utf8' });
    expect(r.status, r.stderr).to.equal(0);
    const last = r.stdout.trim().split('\n').find((l) => /^-?\d+\.\d+ -?\d+\.\d+ /.test(l))!;
    const [w, b] = last.split(' ').map(Number);
    expect(w).to.be.closeTo(3, 0.01);
    expect(b).to.be.closeTo(-1, 0.01);
  });
});
