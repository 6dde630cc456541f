#!/usr/bin/env node
// `npm install` step for the native addon: gathers the facts (is there a
// prebuild for this platform, does it load, can cmake-js be resolved) and
// carries out what scripts/install-plan.js decides. Every side effect is in
// `io`, so that test/install.test.ts can run main() on made-up facts.
'use strict';
const { spawnSync } = require('node:child_process');
const path = require('node:path');
const { decide, afterBuild } = require('./install-plan');

const root = path.resolve(__dirname, '..');

/** This platform as the messages name it: linux-x64, linux-arm64-musl, darwin-arm64, win32-x64. */
function platformName() {
  const musl = process.platform === 'linux' && !process.report.getReport().header.glibcVersionRuntime;
  return `${process.platform}-${process.arch}${musl ? '-musl' : ''}`;
}

const io = {
  platformName,
  /** The prebuild that pkg-prebuilds picks for this platform (prebuilds/ only), or null. */
  findPrebuild() {
    return require('pkg-prebuilds').resolve(root, require('../binding-options'), true, false);
  },
  /** Whether `file` loads in a fresh Node: a prebuild can exist and still fail to dlopen (an older glibc, say). */
  tryLoad(file) {
    const probe = 'try { require(process.argv[1]) } catch (e) { console.error(e.message.split("\\n")[0]); process.exit(1) }';
    const r = spawnSync(process.execPath, ['-e', probe, file], { encoding: 'utf8', timeout: 60_000 });
    if (r.status === 0) return { loads: true };
    const error = (r.stderr || '').trim().split('\n')[0] || (r.signal ? `killed by ${r.signal}` : r.error?.message ?? `exit ${r.status}`);
    return { loads: false, error };
  },
  /** cmake-js's CLI, from this package's or the app's node_modules, or null. */
  findCmakeJs() {
    try {
      return require.resolve('cmake-js/bin/cmake-js', { paths: [root] });
    } catch {
      return null;
    }
  },
  buildFromSource(cmakeJs) {
    const r = spawnSync(process.execPath, [cmakeJs, 'compile', '--out', 'build'], { cwd: root, stdio: 'inherit' });
    return r.status === 0 ? { ok: true } : { ok: false, why: r.error ? r.error.message : `cmake-js exited with ${r.status}` };
  },
  log: (line) => console.log(line),
  warn: (line) => console.warn(line),
  error: (line) => console.error(line),
};

/** npm sets npm_config_build_from_source=true for --build-from-source. */
const isSet = (value) => value !== undefined && value !== '' && value !== 'false' && value !== '0';

function gather(env, io) {
  const file = io.findPrebuild();
  return {
    skip: env.SIMD_OPTIM_SKIP_BUILD === '1',
    strict: env.CI === 'true' || env.SIMD_OPTIM_REQUIRE_NATIVE === '1',
    fromSource: isSet(env.npm_config_build_from_source),
    platform: io.platformName(),
    prebuild: file ? { file, ...io.tryLoad(file) } : null,
    cmakeJs: io.findCmakeJs(),
  };
}

/** Runs the install step; returns its exit code. */
function main(env = process.env, sideEffects = io) {
  const facts = gather(env, sideEffects);
  let plan = decide(facts);
  if (plan.action === 'build') {
    sideEffects.log(plan.message);
    plan = afterBuild(facts, sideEffects.buildFromSource(facts.cmakeJs));
  }
  if (plan.message) sideEffects[plan.level](plan.message);
  return plan.exitCode;
}

module.exports = { main, gather, io };
if (require.main === module) process.exitCode = main();
