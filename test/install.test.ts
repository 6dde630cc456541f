// The install step (scripts/install.js, scripts/install-plan.js): a prebuild
// that loads is used; one that does not load, or none, means a source build
// when cmake-js is there; else one line of warning and the pure-JS backend,
// or a failed install in strict mode. First on made-up facts, then the real
// script in a scratch package, with a stand-in cmake-js that only records it ran.
import { expect } from 'chai';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { addonFile } from '../lib/engine/addon-file';

const root = path.resolve(__dirname, '..');
const { main } = require('../scripts/install.js') as {
  main: (env: Record<string, string | undefined>, io: FakeIo) => number;
};

interface FakeIo {
  platformName(): string;
  findPrebuild(): string | null;
  tryLoad(file: string): { loads: boolean; error?: string };
  findCmakeJs(): string | null;
  buildFromSource(cmakeJs: string): { ok: boolean; why?: string };
  log(line: string): void;
  warn(line: string): void;
  error(line: string): void;
}

/** main() on made-up facts: what it printed, whether it built, its exit code. */
function run(facts: { prebuild?: 'loads' | 'fails'; cmakeJs?: boolean; buildFails?: boolean; platform?: string }, env: Record<string, string> = {}) {
  const out = { log: [] as string[], warn: [] as string[], error: [] as string[], built: 0, loadTried: 0 };
  const io: FakeIo = {
    platformName: () => facts.platform ?? 'linux-x64',
    findPrebuild: () => (facts.prebuild ? '/pkg/prebuilds/simd_optim-linux-x64/node-napi-v8.node' : null),
    tryLoad: () => {
      out.loadTried++;
      return facts.prebuild === 'loads' ? { loads: true } : { loads: false, error: "version `GLIBC_2.31' not found" };
    },
    findCmakeJs: () => (facts.cmakeJs ? '/app/node_modules/cmake-js/bin/cmake-js' : null),
    buildFromSource: () => {
      out.built++;
      return facts.buildFails ? { ok: false, why: 'cmake-js exited with 1' } : { ok: true };
    },
    log: (l) => out.log.push(l),
    warn: (l) => out.warn.push(l),
    error: (l) => out.error.push(l),
  };
  const code = main(env, io);
  return { code, ...out };
}

describe('install: what it decides', () => {
  it('uses a prebuild that loads, and builds nothing', () => {
    const r = run({ prebuild: 'loads', cmakeJs: true });
    expect(r.loadTried, 'the prebuild was tried in a child').to.equal(1);
    expect(r.built).to.equal(0);
    expect(r.code).to.equal(0);
    expect(r.log).to.deep.equal(['simd-optim: using the prebuilt addon for linux-x64']);
    expect(r.warn.concat(r.error)).to.deep.equal([]);
    expect(run({ prebuild: 'loads' }, { CI: 'true' }).code, 'strict mode is content with a prebuild').to.equal(0);
  });

  it('builds from source when the prebuild is there but does not load', () => {
    const r = run({ prebuild: 'fails', cmakeJs: true });
    expect(r.built).to.equal(1);
    expect(r.code).to.equal(0);
    expect(r.log[0]).to.match(/prebuilt addon for linux-x64 does not load here \(version `GLIBC_2.31' not found\); building from source/);
  });

  it('builds from source when there is no prebuild and cmake-js is installed', () => {
    const r = run({ cmakeJs: true });
    expect(r.built).to.equal(1);
    expect(r.code).to.equal(0);
    expect(r.log).to.deep.equal(['simd-optim: no prebuilt addon for linux-x64; building from source with cmake-js']);
    expect(r.warn.concat(r.error)).to.deep.equal([]);
  });

  it('with neither, warns in one line naming the platform and how to build, and succeeds', () => {
    const r = run({ platform: 'linux-x64-musl' });
    expect(r.built).to.equal(0);
    expect(r.code).to.equal(0);
    expect(r.log.concat(r.error)).to.deep.equal([]);
    expect(r.warn).to.have.length(1);
    expect(r.warn[0]).to.not.include('\n');
    expect(r.warn[0]).to.include('no prebuilt addon for linux-x64-musl');
    expect(r.warn[0]).to.include('pure-JS backend');
    expect(r.warn[0]).to.include('npm install cmake-js node-addon-api && npm rebuild simd-optim');
    expect(r.warn[0]).to.include('cmake and a C++17 compiler');
    const broken = run({ prebuild: 'fails', platform: 'linux-arm64' });
    expect(broken.code).to.equal(0);
    expect(broken.warn).to.have.length(1);
    expect(broken.warn[0]).to.include('prebuilt addon for linux-arm64 does not load here');
  });

  it('fails the install in strict mode (CI=true or SIMD_OPTIM_REQUIRE_NATIVE=1) when there is no addon', () => {
    const strictEnvs: Record<string, string>[] = [{ CI: 'true' }, { SIMD_OPTIM_REQUIRE_NATIVE: '1' }];
    for (const env of strictEnvs) {
      const r = run({ platform: 'darwin-arm64' }, env);
      expect(r.code, JSON.stringify(env)).to.equal(1);
      expect(r.error).to.have.length(1);
      expect(r.error[0]).to.include('no prebuilt addon for darwin-arm64');
      expect(r.warn).to.deep.equal([]);
    }
    expect(run({ prebuild: 'fails' }, { CI: 'true' }).code).to.equal(1);
  });

  it('a failed source build warns (exit 0), or fails the install in strict mode', () => {
    const lax = run({ cmakeJs: true, buildFails: true });
    expect([lax.code, lax.built, lax.warn.length]).to.deep.equal([0, 1, 1]);
    expect(lax.warn[0]).to.match(/building from source failed \(cmake-js exited with 1\), so the pure-JS backend will be used/);
    const strict = run({ cmakeJs: true, buildFails: true }, { SIMD_OPTIM_REQUIRE_NATIVE: '1' });
    expect([strict.code, strict.error.length]).to.deep.equal([1, 1]);
  });

  it('npm_config_build_from_source builds even when a prebuild loads', () => {
    const r = run({ prebuild: 'loads', cmakeJs: true }, { npm_config_build_from_source: 'true' });
    expect(r.built).to.equal(1);
    expect(r.log[0]).to.include('npm_config_build_from_source is set');
    const without = run({ prebuild: 'loads' }, { npm_config_build_from_source: 'true' });
    expect([without.built, without.code, without.warn.length]).to.deep.equal([0, 0, 1]);
    expect(without.warn[0]).to.include('cmake-js is not installed, so the prebuilt addon for linux-x64 will be used');
    expect(run({ prebuild: 'loads' }, { npm_config_build_from_source: 'true', CI: 'true' }).code, 'a native addon all the same').to.equal(0);
    const failed = run({ prebuild: 'loads', cmakeJs: true, buildFails: true }, { npm_config_build_from_source: 'true', CI: 'true' });
    expect([failed.built, failed.code]).to.deep.equal([1, 0]);
    expect(failed.warn[0]).to.include('building from source failed (cmake-js exited with 1), so the prebuilt addon for linux-x64 will be used');
    expect(run({ prebuild: 'loads', cmakeJs: true }, { npm_config_build_from_source: 'false' }).built).to.equal(0);
  });

  it('SIMD_OPTIM_SKIP_BUILD=1 does nothing, even in strict mode', () => {
    const r = run({ cmakeJs: true }, { SIMD_OPTIM_SKIP_BUILD: '1', CI: 'true' });
    expect([r.code, r.built]).to.deep.equal([0, 0]);
    expect(r.log).to.deep.equal(['simd-optim: SIMD_OPTIM_SKIP_BUILD=1, not installing the native addon']);
  });
});

describe('install: the real script in a scratch package', function () {
  this.timeout(60_000);
  const { getPrebuildName } = require('pkg-prebuilds/lib/prebuild');
  const options = require('../binding-options');
  let dir: string;

  /** A package with the install script and pkg-prebuilds; a stand-in cmake-js and a prebuild if asked. */
  function scratch(opts: { prebuild?: 'real' | 'garbage'; cmakeJs?: boolean }): void {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'simd-optim-install-'));
    fs.mkdirSync(path.join(dir, 'scripts'));
    for (const f of ['scripts/install.js', 'scripts/install-plan.js', 'binding-options.js', 'package.json']) {
      fs.copyFileSync(path.join(root, f), path.join(dir, f));
    }
    fs.mkdirSync(path.join(dir, 'node_modules'));
    fs.symlinkSync(path.join(root, 'node_modules', 'pkg-prebuilds'), path.join(dir, 'node_modules', 'pkg-prebuilds'));
    if (opts.cmakeJs) {
      const bin = path.join(dir, 'node_modules', 'cmake-js', 'bin');
      fs.mkdirSync(bin, { recursive: true });
      fs.writeFileSync(path.join(bin, '..', 'package.json'), '{"name":"cmake-js","version":"8.0.0"}');
      fs.writeFileSync(path.join(bin, 'cmake-js'), "require('fs').writeFileSync('cmake-js-ran', process.argv.slice(2).join(' '));");
    }
    if (opts.prebuild) {
      const name = getPrebuildName({ name: options.name, platform: process.platform, arch: process.arch, napi_version: Math.max(...options.napi_versions), runtime: 'node' });
      const file = path.join(dir, 'prebuilds', name);
      fs.mkdirSync(path.dirname(file), { recursive: true });
      if (opts.prebuild === 'real') fs.copyFileSync(addonFile(), file);
      else fs.writeFileSync(file, 'not an ELF file');
    }
  }

  function install(env: Record<string, string> = {}) {
    const clean = Object.fromEntries(Object.entries(process.env).filter(([k]) =>
      !['CI', 'SIMD_OPTIM_REQUIRE_NATIVE', 'SIMD_OPTIM_SKIP_BUILD', 'npm_config_build_from_source'].includes(k)));
    const r = spawnSync(process.execPath, ['scripts/install.js'], { cwd: dir, env: { ...clean, ...env }, encoding: 'utf8' });
    return { code: r.status, stdout: r.stdout, stderr: r.stderr, built: fs.existsSync(path.join(dir, 'cmake-js-ran')) };
  }

  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('uses a prebuild that loads (no build)', function () {
    try {
      addonFile();
    } catch {
      this.skip(); // no addon here to stand in for a prebuild
    }
    scratch({ prebuild: 'real', cmakeJs: true });
    const r = install();
    expect(r.code, r.stderr).to.equal(0);
    expect(r.built).to.equal(false);
    expect(r.stdout).to.match(/using the prebuilt addon for /);
  });

  it('builds from source with cmake-js when the prebuild does not load', () => {
    scratch({ prebuild: 'garbage', cmakeJs: true });
    const r = install();
    expect(r.code, r.stderr).to.equal(0);
    expect(r.built).to.equal(true);
    expect(fs.readFileSync(path.join(dir, 'cmake-js-ran'), 'utf8')).to.equal('compile --out build');
    expect(r.stdout).to.match(/does not load here \(.*\); building from source/);
  });

  it('with no prebuild and no cmake-js: one line on stderr, exit 0; exit 1 with CI=true', () => {
    scratch({});
    const r = install();
    expect(r.code).to.equal(0);
    expect(r.stdout).to.equal('');
    expect(r.stderr.trimEnd().split('\n')).to.have.length(1);
    expect(r.stderr).to.include(`no prebuilt addon for ${process.platform}-${process.arch}`);
    const strict = install({ CI: 'true' });
    expect(strict.code).to.equal(1);
    expect(strict.stderr).to.include('requires the native addon');
  });
});
