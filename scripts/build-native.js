#!/usr/bin/env node
// `npm install` step: builds the native addon with cmake-js, offline. If the
// build fails (no cmake, no compiler), the package still works on the pure-JS
// backend, so this warns instead of failing the install, except in CI or with
// SIMD_OPTIM_REQUIRE_NATIVE=1, where a missing addon must be loud.
'use strict';
const { spawnSync } = require('node:child_process');
const path = require('node:path');

const root = path.resolve(__dirname, '..');
const strict = process.env.CI === 'true' || process.env.SIMD_OPTIM_REQUIRE_NATIVE === '1';

if (process.env.SIMD_OPTIM_SKIP_BUILD === '1') {
  console.warn('simd-optim: SIMD_OPTIM_SKIP_BUILD=1, not building the native addon');
  process.exit(0);
}

const cmakeJs = require.resolve('cmake-js/bin/cmake-js', { paths: [root] });
const result = spawnSync(process.execPath, [cmakeJs, 'compile', '--out', 'build'], {
  cwd: root,
  stdio: 'inherit',
});
if (result.status !== 0) {
  const why = result.error ? result.error.message : `cmake-js exited with ${result.status}`;
  if (strict) {
    console.error(`simd-optim: native build failed (${why})`);
    process.exit(1);
  }
  console.warn(`simd-optim: native build failed (${why}); the pure-JS backend will be used`);
}
