#!/usr/bin/env node
// Run in an app that installed the simd-optim tarball (scripts/package-tests.sh):
// the addon must be native, with the expected ISA, loaded from the package's
// prebuild for this platform (read from /proc/self/maps: what the process
// really mapped), and a few RMSprop steps on every ISA it runs must give the
// JS backend's bits.
//   node check-installed.js ISA[,ISA...]   (in the app's directory; the ISAs it may pick)
'use strict';
const fs = require('node:fs');
const path = require('node:path');
const { createRequire } = require('node:module');

const expectedIsas = process.argv[2].split(',');
const appRequire = createRequire(path.join(process.cwd(), 'package.json'));
const so = appRequire('simd-optim');
const pkgDir = path.dirname(appRequire.resolve('simd-optim/package.json'));

const failures = [];
const expect = (ok, what) => ok || failures.push(what);

const info = so.backendInfo();
expect(info.backend === 'native', `backend is ${info.backend} (${info.nativeError ?? ''})`);
expect(info.nativeLoaded === true, 'nativeLoaded is not true');
expect(expectedIsas.includes(info.isa), `isa is ${info.isa}, not ${expectedIsas.join(' or ')}`);

const prebuild = fs.realpathSync(path.join(pkgDir, 'prebuilds', `simd_optim-linux-${process.arch}`, 'node-napi-v8.node'));
const mapped = [...new Set(fs.readFileSync('/proc/self/maps', 'utf8').split('\n')
  .map((line) => line.split(/\s+/).slice(5).join(' '))
  .filter((file) => file.endsWith('.node')))];
expect(mapped.length === 1 && mapped[0] === prebuild, `mapped addons: ${JSON.stringify(mapped)}, expected ${prebuild}`);
expect(!fs.existsSync(path.join(pkgDir, 'build')), 'the package has a build/ directory: something was compiled');

/** Bytes of the params after five RMSprop steps (momentum, centered, weight decay) on the current backend. */
function steps(Float) {
  const n = 1031; // past every vector width, with a tail
  const p = new so.Parameter(Float.from({ length: n }, (_, i) => Math.sin(i) * 3));
  const opt = new so.RMSprop([p], { lr: 0.01, momentum: 0.9, centered: true, weightDecay: 0.01 });
  for (let s = 0; s < 5; s++) {
    p.grad = Float.from({ length: n }, (_, i) => Math.cos(i * 0.37 + s) * (i % 7 ? 1 : 1e-3));
    opt.step();
  }
  return Buffer.from(p.data.buffer, p.data.byteOffset, p.data.byteLength).toString('hex');
}
const bits = {};
for (const Float of [Float32Array, Float64Array]) {
  so.useBackend('js');
  const js = steps(Float);
  so.useBackend('native');
  for (const isa of info.isas) {
    so.useIsa(isa);
    const same = steps(Float) === js;
    expect(same, `${Float.name} on ${isa}: native and JS bits differ`);
    bits[`${Float.name} ${isa}`] = same ? 'same bits as JS' : 'DIFFERENT';
  }
}

console.log(JSON.stringify({ arch: process.arch, node: process.version, backend: info.backend, isa: info.isa, isas: info.isas, nativeLoaded: info.nativeLoaded, loaded: mapped, ...bits }));
for (const f of failures) console.error(`FAIL: ${f}`);
process.exitCode = failures.length ? 1 : 0;
