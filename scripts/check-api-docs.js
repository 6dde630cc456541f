#!/usr/bin/env node
// Fails when docs/api/ is not what TypeDoc makes from the TSDoc comments in
// lib/ today, so that the API reference cannot go stale. Fix: npm run docs:api.
'use strict';
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const root = path.resolve(__dirname, '..');
const committed = path.join(root, 'docs', 'api');
const fresh = fs.mkdtempSync(path.join(os.tmpdir(), 'simd-optim-api-'));

function files(dir) {
  return fs.readdirSync(dir, { recursive: true, encoding: 'utf8' })
    .filter((f) => fs.statSync(path.join(dir, f)).isFile())
    .sort();
}

try {
  const typedoc = path.join(path.dirname(require.resolve('typedoc/package.json', { paths: [root] })), 'bin', 'typedoc');
  const run = spawnSync(process.execPath, [typedoc, '--out', fresh, '--logLevel', 'Warn'], { cwd: root, encoding: 'utf8' });
  if (run.status !== 0) {
    process.stderr.write(run.stdout + run.stderr);
    console.error('check-api-docs: TypeDoc failed (every exported item needs a TSDoc comment)');
    process.exit(1);
  }
  const want = files(fresh);
  const have = fs.existsSync(committed) ? files(committed) : [];
  const stale = [
    ...want.filter((f) => !have.includes(f) || !fs.readFileSync(path.join(fresh, f)).equals(fs.readFileSync(path.join(committed, f)))),
    ...have.filter((f) => !want.includes(f)),
  ];
  if (stale.length > 0) {
    console.error(`check-api-docs: docs/api is stale (${stale.slice(0, 10).join(', ')}${stale.length > 10 ? ', ...' : ''}); run npm run docs:api`);
    process.exit(1);
  }
  console.log(`check-api-docs: docs/api matches the TSDoc comments (${want.length} files)`);
} finally {
  fs.rmSync(fresh, { recursive: true, force: true });
}
