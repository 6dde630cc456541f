// The README and docs/ as a reader meets them: every link to a file of the
// repository resolves, and the pages speak to users (no issue numbers or
// commit hashes: history lives in git).
import { expect } from 'chai';
import * as fs from 'node:fs';
import * as path from 'node:path';

const root = path.resolve(__dirname, '..');

function pages(): string[] {
  const docs = fs.readdirSync(path.join(root, 'docs'), { recursive: true, encoding: 'utf8' })
    .filter((f) => f.endsWith('.md'))
    .map((f) => path.join('docs', f));
  return ['README.md', 'CHANGELOG.md', ...docs];
}

describe('docs', () => {
  it('every relative link in the README and docs/ points at a file or folder that exists', () => {
    for (const page of pages()) {
      const text = fs.readFileSync(path.join(root, page), 'utf8');
      for (const [, target] of text.matchAll(/\]\(([^)#\s]+)(?:#[^)]*)?\)/g)) {
        if (/^[a-z]+:/.test(target)) continue; // https:, mailto:
        const resolved = path.join(root, path.dirname(page), decodeURIComponent(target));
        expect(fs.existsSync(resolved), `${page} links to ${target}`).to.equal(true);
      }
    }
  });

  it('no source comment names an issue number', () => {
    const dirs = ['lib', 'native', 'test', 'bench', 'scripts', 'demo', 'examples'];
    for (const dir of dirs) {
      for (const file of fs.readdirSync(path.join(root, dir), { recursive: true, encoding: 'utf8' })) {
        if (!/\.(ts|js|cc|h|c|py|sh)$/.test(file) || file.includes('fixtures')) continue;
        const text = fs.readFileSync(path.join(root, dir, file), 'utf8');
        // Built from parts, so that this file does not match itself.
        expect(text, `${dir}/${file}`).not.to.match(new RegExp(['\\bissue', '#?\\d+'].join(' '), 'i'));
      }
    }
  });

  it('no page names an issue number or a commit hash', () => {
    for (const page of pages()) {
      const text = fs.readFileSync(path.join(root, page), 'utf8');
      expect(text, page).not.to.match(/\bissue #?\d+/i);
      expect(text, `${page} cites an issue or pull request by number`).not.to.match(/\b[\w-]+\/[\w.-]+#\d+/);
      // A hash is 7 to 40 hex digits with at least one letter and one digit (not a word, not a number).
      const hashes = [...text.matchAll(/\b[0-9a-f]{7,40}\b/g)].map((m) => m[0]).filter((w) => /[a-f]/.test(w) && /\d/.test(w));
      expect(hashes, `${page} mentions what look like commit hashes`).to.deep.equal([]);
    }
  });
});
