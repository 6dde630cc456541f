// What `npm install` does about the native addon, decided from facts that
// scripts/install.js gathers (no I/O here, so that every case is testable):
// use a prebuild that loads, else build from source with cmake-js, else warn
// in one line and let the package run on the pure-JS backend. In strict mode
// (CI=true or SIMD_OPTIM_REQUIRE_NATIVE=1) anything short of an addon fails.
'use strict';

const HOW_TO_BUILD =
  'to build it: npm install cmake-js node-addon-api && npm rebuild simd-optim (needs cmake and a C++17 compiler)';

/**
 * @param {object} facts
 * @param {boolean} facts.skip        SIMD_OPTIM_SKIP_BUILD=1
 * @param {boolean} facts.strict      CI=true or SIMD_OPTIM_REQUIRE_NATIVE=1
 * @param {boolean} facts.fromSource  npm_config_build_from_source
 * @param {string} facts.platform     e.g. linux-x64, linux-x64-musl, darwin-arm64
 * @param {{file: string, loads: boolean, error?: string} | null} facts.prebuild  the prebuild for this platform
 * @param {string | null} facts.cmakeJs  cmake-js's CLI, if it can be resolved
 * @returns {{action: 'skip' | 'prebuild' | 'build' | 'none', level: 'log' | 'warn' | 'error', message: string, exitCode?: number}}
 */
function decide(facts) {
  if (facts.skip) {
    return { action: 'skip', level: 'log', message: 'simd-optim: SIMD_OPTIM_SKIP_BUILD=1, not installing the native addon', exitCode: 0 };
  }
  const { prebuild } = facts;
  if (prebuild && prebuild.loads && !facts.fromSource) {
    return { action: 'prebuild', level: 'log', message: `simd-optim: using the prebuilt addon for ${facts.platform}`, exitCode: 0 };
  }
  if (facts.cmakeJs) {
    const why = facts.fromSource ? 'npm_config_build_from_source is set'
      : prebuild ? `the prebuilt addon for ${facts.platform} does not load here (${prebuild.error})`
      : `no prebuilt addon for ${facts.platform}`;
    return { action: 'build', level: 'log', message: `simd-optim: ${why}; building from source with cmake-js` };
  }
  const why = facts.fromSource ? 'npm_config_build_from_source is set but cmake-js is not installed'
    : prebuild ? `the prebuilt addon for ${facts.platform} does not load here (${prebuild.error})`
    : `no prebuilt addon for ${facts.platform}`;
  return fallback(facts, why);
}

/** After a source build: nothing to say if it worked, else what the package falls back to. */
function afterBuild(facts, status) {
  if (status.ok) return { action: 'built', level: 'log', message: '', exitCode: 0 };
  return fallback(facts, `building from source failed (${status.why})`, false);
}

/**
 * No source build: a prebuild that loads is still a native addon (the loader
 * finds it at run time); without one the package runs on pure JS, which
 * strict mode refuses.
 */
function fallback(facts, why, howTo = true) {
  const rest = howTo ? `; ${HOW_TO_BUILD}` : '';
  if (facts.prebuild && facts.prebuild.loads) {
    return { action: 'prebuild', level: 'warn', exitCode: 0, message: `simd-optim: ${why}, so the prebuilt addon for ${facts.platform} will be used${rest}` };
  }
  if (facts.strict) {
    return { action: 'none', level: 'error', exitCode: 1, message: `simd-optim: ${why}, and CI=true or SIMD_OPTIM_REQUIRE_NATIVE=1 requires the native addon${rest}` };
  }
  return { action: 'none', level: 'warn', exitCode: 0, message: `simd-optim: ${why}, so the pure-JS backend will be used${rest}` };
}

module.exports = { decide, afterBuild, HOW_TO_BUILD };
