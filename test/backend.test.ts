// Backends and ISAs: what is reported, how the addon is called, where state
// lives, and the environment switches. Each ISA's numerics against PyTorch
// are in rmsprop-torch.test.ts; here every path must agree with every other.
import { expect } from 'chai';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Adagrad, Parameter, RMSprop, backendInfo, useBackend, zeros } from '../lib';
import { addonFile } from '../lib/engine/addon-file';
import { place } from '../lib/engine/backend';
import { RMSPROP_HYPER, RMSPROP_KERNEL } from '../lib/reference/rmsprop';
import { bytesOf, everyBackend, randomF32, resetBackend, runNode } from './helpers';

const root = path.resolve(__dirname, '..');
const requireNative = process.env.CI === 'true' || process.env.SIMD_OPTIM_REQUIRE_NATIVE === '1';
/** The addon lib/backend.ts loaded (SIMD_OPTIM_BINDING points the sanitizer run at its own build). */
const bindingPath = backendInfo().nativeLoaded ? addonFile() : '';

/** RMSprop's hyperparameter array for a raw native group: PyTorch's defaults, 2.x, with `over` on top. */
function rmspropHyper(over: Partial<Record<keyof typeof RMSPROP_HYPER, number>>): Float64Array {
  const h = new Float64Array(RMSPROP_KERNEL.hyper.length);
  const values = { lr: 0.01, alpha: 0.99, eps: 1e-8, lerpGradAvg: 1, ...over };
  for (const [name, value] of Object.entries(values)) h[RMSPROP_HYPER[name as keyof typeof RMSPROP_HYPER]] = value;
  return h;
}

const HUGE_PAGE = 2 ** 21;
/** The kernel's THP mode ("always", "madvise", "never"), or undefined without THP. */
function thpMode(): string | undefined {
  try {
    return /\[(\w+)\]/.exec(fs.readFileSync('/sys/kernel/mm/transparent_hugepage/enabled', 'utf8'))?.[1];
  } catch {
    return undefined;
  }
}

/** The mapping of this process (/proc/self/smaps) that holds `address`: its range, VmFlags and AnonHugePages. */
function mappingAt(address: number): { start: number; end: number; flags: string[]; hugeKiB: number } {
  for (const entry of fs.readFileSync('/proc/self/smaps', 'utf8').split(/\n(?=[0-9a-f]+-[0-9a-f]+ )/)) {
    const [start, end] = entry.slice(0, entry.indexOf(' ')).split('-').map((x) => parseInt(x, 16));
    if (address < start || address >= end) continue;
    const flags = /^VmFlags:(.*)$/m.exec(entry)?.[1].trim().split(/\s+/) ?? [];
    return { start, end, flags, hugeKiB: Number(/^AnonHugePages:\s+(\d+)/m.exec(entry)?.[1] ?? 0) };
  }
  throw new Error(`no mapping holds address ${address.toString(16)}`);
}

describe('backends and ISAs', () => {
  afterEach(resetBackend);

  it('reports the backend and ISA in use', () => {
    const info = backendInfo();
    if (requireNative) expect(info.nativeLoaded, info.nativeError).to.equal(true);
    expect(info.backend).to.equal(info.nativeLoaded ? 'native' : 'js');
    if (info.nativeLoaded) {
      expect(info.isas[0]).to.equal('scalar');
      expect(info.isa).to.equal(info.isas[info.isas.length - 1]);
      if (process.arch === 'x64') expect(info.isas).to.include('avx2');
    }
  });

  it('gives the same bits on every ISA and in JS, for every configuration', () => {
    const configs = [
      {}, { weightDecay: 0.01 }, { momentum: 0.9 }, { centered: true }, { centered: true, alpha: 0.3 },
      { maximize: true }, { weightDecay: 0.1, momentum: 0.5, centered: true, maximize: true },
      { centered: true, compat: '1.13' as const },
    ];
    for (const dtype of [Float32Array, Float64Array]) {
      for (const config of configs) {
        const results = everyBackend().map((backend) => {
          backend.use();
          const params = [0, 1, 7, 8, 9, 31, 33, 257].map((n, k) => new Parameter(dtype.from(randomF32(n, k))));
          const opt = new RMSprop(params, { lr: 0.01, ...config });
          for (let s = 0; s < 5; s++) {
            params.forEach((p, k) => (p.grad = dtype.from(randomF32(p.numel, 100 * s + k))));
            opt.step();
          }
          return { label: backend.label, bytes: params.map((p) => bytesOf(p.data).toString('hex')).join() };
        });
        for (const r of results) expect(r.bytes, `${dtype.name} ${JSON.stringify(config)} ${r.label}`).to.equal(results[0].bytes);
      }
    }
  });

  it('keeps the exports only tests need out of the addon users get', function () {
    const release = path.join(root, 'build', 'Release', 'simd_optim.node');
    if (!fs.existsSync(release)) this.skip();
    const testOnly = ['addressAlignment', 'pageOffset', 'addressOf'];
    const exported = (file: string) => testOnly.filter((name) => typeof require(file)[name] === 'function');
    expect(exported(release), 'simd_optim.node').to.deep.equal([]);
    expect(exported(path.join(root, 'build', 'Release', 'simd_optim_test.node')), 'simd_optim_test.node').to.deep.equal(testOnly);
  });

  it('makes one native call per param group per step, binding arrays only when they change', function () {
    if (!backendInfo().nativeLoaded) this.skip();
    const binding = require(bindingPath);
    const proto = binding.ParamGroup.prototype;
    const original = { step: proto.step, bind: proto.bind, bindMany: proto.bindMany };
    const calls = { step: 0, bind: 0, bindCalls: 0 }; // bind: arrays bound; bindCalls: native calls that bound them
    proto.step = function (this: unknown, threads: number) { calls.step++; return original.step.call(this, threads); };
    proto.bind = function (this: unknown, ...args: unknown[]) { calls.bind++; calls.bindCalls++; return original.bind.apply(this, args); };
    proto.bindMany = function (this: unknown, where: Uint32Array, arrays: unknown[]) {
      calls.bind += where.length;
      calls.bindCalls++;
      return original.bindMany.call(this, where, arrays);
    };
    try {
      const params = Array.from({ length: 1000 }, (_, k) => new Parameter(randomF32(10, k)));
      const opt = new RMSprop([{ params: params.slice(0, 500) }, { params: params.slice(500), momentum: 0.9 }]);
      params.forEach((p) => (p.grad = new Float32Array(10).fill(0.1)));
      opt.step();
      expect(calls.step).to.equal(2);
      const firstBinds = calls.bind;
      expect(firstBinds).to.equal(500 * 3 + 500 * 4);
      expect(calls.bindCalls, 'one native call per group binds its arrays').to.equal(2);
      opt.step();
      opt.step();
      expect(calls.step).to.equal(6);
      expect(calls.bind, 'no rebinding when nothing changed').to.equal(firstBinds);
      params[3].grad = new Float32Array(10);
      opt.step();
      expect(calls.bind - firstBinds, 'one new grad, one bind').to.equal(1);
      params.slice(600).forEach((p) => (p.grad = new Float32Array(10)));
      opt.step();
      expect(calls.bind - firstBinds, '400 more new grads, in one more call').to.equal(401);
      expect(calls.bindCalls).to.equal(4);
    } finally {
      proto.step = original.step;
      proto.bind = original.bind;
      proto.bindMany = original.bindMany;
    }
  });

  it('allocates native state 64-byte aligned, as external buffers', function () {
    if (!backendInfo().nativeLoaded) this.skip();
    expect(backendInfo().externalBuffers).to.equal(true);
    const binding = require(bindingPath);
    for (const n of [1, 7, 100, 4097]) {
      const w = new Parameter(new Float32Array(n));
      const opt = new RMSprop([w], { momentum: 0.9, centered: true });
      w.grad = new Float32Array(n).fill(1);
      opt.step();
      for (const key of ['square_avg', 'momentum_buffer', 'grad_avg']) {
        const a = opt.state.get(w)![key] as Float32Array;
        expect(a.length).to.equal(n);
        expect(binding.addressAlignment(a), `${key} of ${n}`).to.be.at.least(64);
        expect(Array.from(a).some((x) => x !== 0), `${key} was written`).to.equal(true);
      }
    }
  });

  it('places large state a quarter page apart from its parameter and from each other (no 4K aliasing), 64-byte aligned, also on load', function () {
    if (!backendInfo().nativeLoaded) this.skip();
    const binding = require(bindingPath);
    const page = (a: unknown) => binding.pageOffset(a) as number;
    // Where a buffer of quarter q belongs: q quarters of a page after the parameter's cache line.
    const placed = (data: unknown, q: number) => ((page(data) & ~63) + q * 1024) % 4096;
    // JS arrays of this size sit 16 bytes into a page; subarrays move them anywhere.
    // 16 KiB of float32, the smallest placed state, and 128 KiB.
    for (const [n, F] of [[1 << 12, Float32Array], [1 << 15, Float32Array], [1 << 15, Float64Array]] as const) {
      const backing = new F(n + 1024);
      for (const shift of [0, 1, 4, 12, 1000]) {
        const data = backing.subarray(shift, shift + n);
        const where = `${F.name} at page offset ${page(data)}`;
        const w = new Parameter(data);
        const rms = new RMSprop([w], { momentum: 0.9, centered: true });
        const adagrad = new Adagrad([w]);
        w.grad = new F(n).fill(0.5);
        rms.step();
        adagrad.step();
        const quarters: [string, number][] = [['square_avg', 1], ['momentum_buffer', 2], ['grad_avg', 3]];
        for (const [key, q] of quarters) expect(page(rms.state.get(w)![key]), `${key}, ${where}`).to.equal(placed(data, q));
        expect(page(adagrad.state.get(w)!.sum), `sum, ${where}`).to.equal(placed(data, 1));
        const loaded = new RMSprop([w], { momentum: 0.9, centered: true });
        loaded.loadStateDict(rms.stateDict());
        for (const [key, q] of quarters) expect(page(loaded.state.get(w)![key]), `loaded ${key}, ${where}`).to.equal(placed(data, q));
      }
    }
  });

  it('falls back to V8-allocated, still aligned state when external buffers are refused', function () {
    if (!backendInfo().nativeLoaded) this.skip();
    const code = `
      const { Parameter, RMSprop, backendInfo } = require('./lib');
      const w = new Parameter(new Float32Array(37).map((_, i) => i / 7));
      const opt = new RMSprop([w], { momentum: 0.9, centered: true });
      for (let s = 0; s < 3; s++) { w.grad = new Float32Array(37).map((_, i) => Math.sin(i + s)); opt.step(); }
      const st = opt.state.get(w);
      console.log(JSON.stringify({ external: backendInfo().externalBuffers,
        alignments: ['square_avg', 'momentum_buffer', 'grad_avg'].map((k) => require(require('./lib/engine/addon-file').addonFile()).addressAlignment(st[k]) >= 64),
        bufferBytes: st.square_avg.buffer.byteLength,
        placed: (() => {
          const big = new Float32Array((1 << 15) + 3).subarray(3, 3 + (1 << 15));
          const p = new Parameter(big);
          const o = new RMSprop([p]);
          p.grad = new Float32Array(1 << 15).fill(1);
          o.step();
          const b = require(require('./lib/engine/addon-file').addonFile());
          return b.pageOffset(o.state.get(p).square_avg) === ((b.pageOffset(big) & ~63) + 1024) % 4096;
        })(),
        data: Buffer.from(w.data.buffer).toString('hex') }));`;
    const normal = runNode(code);
    const fallback = runNode(code, { SIMD_OPTIM_NO_EXTERNAL_BUFFERS: '1' });
    expect(normal.status, normal.stderr).to.equal(0);
    expect(fallback.status, fallback.stderr).to.equal(0);
    const a = JSON.parse(normal.stdout);
    const b = JSON.parse(fallback.stdout);
    expect(a.external).to.equal(true);
    expect(b.external).to.equal(false);
    expect(a.alignments).to.deep.equal([true, true, true]);
    expect(b.alignments).to.deep.equal([true, true, true]);
    expect(b.bufferBytes).to.equal(37 * 4 + 64); // V8 buffer with room to align
    expect([a.placed, b.placed], "large state a quarter page after its parameter's cache line").to.deep.equal([true, true]);
    expect(b.data).to.equal(a.data);
  });

  it('zeros() gives zeroed arrays of each dtype and length', () => {
    for (const n of [0, 1, 100, 4097, (1 << 19) - 1, 1 << 19, (1 << 19) + 3]) {
      const f32 = zeros(n);
      const f64 = zeros(n, 'float64');
      expect([f32.constructor, f64.constructor]).to.deep.equal([Float32Array, Float64Array]);
      expect([f32.length, f64.length]).to.deep.equal([n, n]);
      expect(f32.every((x) => x === 0) && f64.every((x) => x === 0), `zeroed, ${n}`).to.equal(true);
    }
  });

  it('zeros() under 4 KiB hands out consecutive 16-byte aligned views of a shared native buffer, each zeroed and its own', function () {
    const info = backendInfo();
    if (!info.nativeLoaded) this.skip();
    const address = (a: unknown) => require(bindingPath).addressOf(a) as number;
    if (!info.externalBuffers) {
      // SIMD_OPTIM_NO_EXTERNAL_BUFFERS=1 or a runtime that refuses them: V8's buffers could be detached, so no pool.
      expect(zeros(100).buffer.byteLength).to.equal(400);
      return;
    }
    const lengths = [100, 3, 1, 257, 1023];
    const arrays = lengths.map((n, i) => (i % 2 ? zeros(n, 'float64') : zeros(n)));
    // A fresh pool may start between two of them; past that, they follow each other.
    const sameBuffer = arrays.slice(1).every((a) => a.buffer === arrays[0].buffer);
    const list = sameBuffer ? arrays : arrays.slice(arrays.findIndex((a) => a.buffer === arrays.at(-1)!.buffer));
    for (let i = 1; i < list.length; i++) {
      const gap = list[i].byteOffset - (list[i - 1].byteOffset + list[i - 1].byteLength);
      expect(gap, `view ${i} right after view ${i - 1}, rounded up to 16 bytes`).to.be.within(0, 15);
    }
    expect(list.length, 'at least two from one buffer').to.be.at.least(2);
    for (const a of arrays) {
      expect(address(a) % 16, 'aligned').to.equal(0);
      expect(a.every((x) => x === 0), 'zeroed').to.equal(true);
    }
    arrays[0].fill(7);
    expect(arrays.slice(1).every((a) => a.every((x) => x === 0)), 'no view reaches another').to.equal(true);
    // External: a transfer copies it, so a param on it can never be detached by another's transfer.
    structuredClone(arrays[1].buffer, { transfer: [arrays[1].buffer as ArrayBuffer] });
    expect([arrays[0].length, arrays[1].length, arrays[0][0]]).to.deep.equal([100, 3, 7]);
    // From 4 KiB, and on the JS backend, plain arrays.
    expect(zeros(1024).buffer.byteLength, '4 KiB: its own buffer').to.equal(4096);
    useBackend('js');
    try {
      expect(zeros(100).buffer.byteLength, 'JS backend: its own buffer').to.equal(400);
    } finally {
      useBackend('native');
    }
  });

  it('refuses a malformed SIMD_OPTIM_THREADS or SIMD_OPTIM_HUGE_PAGES when loaded, naming it', () => {
    const rows: [Record<string, string>, string | undefined][] = [
      [{ SIMD_OPTIM_THREADS: 'abc' }, 'SIMD_OPTIM_THREADS=abc is not a whole number of threads from 1 to 1024'],
      [{ SIMD_OPTIM_THREADS: '0' }, 'SIMD_OPTIM_THREADS=0 is not'],
      [{ SIMD_OPTIM_THREADS: '4x' }, 'SIMD_OPTIM_THREADS=4x is not'],
      [{ SIMD_OPTIM_HUGE_PAGES: 'maybe' }, "SIMD_OPTIM_HUGE_PAGES=maybe is not '0' or '1'"],
      [{ SIMD_OPTIM_THREADS: '2', SIMD_OPTIM_HUGE_PAGES: '1' }, undefined],
      [{ SIMD_OPTIM_THREADS: '' }, undefined],
    ];
    for (const [env, message] of rows) {
      const r = runNode("require('./lib')", env);
      if (message === undefined) expect(r.status, `${JSON.stringify(env)}: ${r.stderr}`).to.equal(0);
      else expect(r.stderr, JSON.stringify(env)).to.include(message);
    }
  });

  it('costs at most a page more than the array where external buffers are refused, also from 2 MiB (zeros and state)', () => {
    const code = `
      const { zeros, Parameter, RMSprop, backendInfo } = require('./lib');
      const sizes = [1 << 19, (1 << 20) + 3, 1 << 22].map((n) => {
        const z = zeros(n);
        const p = new Parameter(z);
        p.grad = zeros(n);
        const opt = new RMSprop([p], { momentum: 0.9 });
        opt.step();
        const s = opt.state.get(p);
        return [z, s.square_avg, s.momentum_buffer].map((a) => a.buffer.byteLength - a.byteLength);
      });
      console.log(JSON.stringify({ external: backendInfo().externalBuffers, sizes }));`;
    const r = runNode(code, { SIMD_OPTIM_NO_EXTERNAL_BUFFERS: '1' });
    expect(r.status, r.stderr).to.equal(0);
    const { external, sizes } = JSON.parse(r.stdout) as { external: boolean; sizes: number[][] };
    expect(external).to.equal(false);
    for (const extra of sizes.flat()) expect(extra, 'bytes beyond the array').to.be.within(0, 4096);
  });

  it('zeros() and state beyond 4 GiB, where Node refuses external buffers, are V8 buffers (untouched, so not resident)', () => {
    const n = 2 ** 30 + 16; // 4 GiB + 64 B of float32
    const z = zeros(n);
    expect(z.length).to.equal(n);
    expect(z[n - 1]).to.equal(0);
    z[n - 1] = 1.5;
    expect(z[n - 1]).to.equal(1.5);
  });

  it('puts buffers of 2 MiB and more on 2 MiB boundaries and advises their whole 2 MiB pages as huge pages (Linux)', function () {
    if (!backendInfo().nativeLoaded || process.platform !== 'linux') this.skip();
    expect(backendInfo().hugePages, 'huge pages advised unless SIMD_OPTIM_HUGE_PAGES=0').to.equal(process.env.SIMD_OPTIM_HUGE_PAGES !== '0');
    if (!backendInfo().hugePages) this.skip();
    const binding = require(bindingPath);
    const address = (a: unknown) => binding.addressOf(a) as number;
    // zeros: from 2 MiB, at a boundary; each whole 2 MiB page advised, the one holding the end not.
    const z = zeros(HUGE_PAGE / 2 + 1024); // 4 MiB + 4 KiB
    expect(address(z) % HUGE_PAGE, 'zeros at a 2 MiB boundary').to.equal(0);
    expect(z.every((x) => x === 0)).to.equal(true);
    z.fill(0.5); // the first write picks the page size (reads map the zero page)
    const mode = thpMode();
    if (mode !== undefined) {
      const head = mappingAt(address(z));
      expect(head.flags, 'the whole 2 MiB pages are advised (hg)').to.include('hg');
      expect(head.end, 'the advice stops at the last whole 2 MiB page').to.equal(address(z) + 2 * HUGE_PAGE);
      // Advised against, even: under THP "always" it would cost up to 2 MiB more than the array.
      expect(mappingAt(address(z) + z.byteLength - 1).flags, 'the page holding the end is advised against (nh)').to.include('nh');
      if (mode !== 'never') expect(head.hugeKiB, `THP is "${mode}": the advised range is huge pages`).to.equal(4096);
    }
    expect(address(zeros(HUGE_PAGE / 8, 'float64')) % HUGE_PAGE, 'float64 zeros at a 2 MiB boundary').to.equal(0);
    // State: 2 MiB past a boundary by its quarter-page placement (no 4K aliasing), also on load.
    const n = 1 << 20; // 4 MiB of float32
    const data = new Float32Array(n + 8).subarray(3, 3 + n);
    const w = new Parameter(data);
    const rms = new RMSprop([w], { momentum: 0.9, centered: true });
    w.grad = new Float32Array(n).fill(0.5);
    rms.step();
    const loaded = new RMSprop([w], { momentum: 0.9, centered: true });
    loaded.loadStateDict(rms.stateDict());
    const line = binding.pageOffset(data) & ~63;
    for (const opt of [rms, loaded]) {
      const quarters: [string, number][] = [['square_avg', 1], ['momentum_buffer', 2], ['grad_avg', 3]];
      for (const [key, q] of quarters) {
        const a = opt.state.get(w)![key] as Float32Array;
        expect(address(a) % HUGE_PAGE, key).to.equal((line + q * 1024) % 4096);
        if (mode !== undefined) expect(mappingAt(address(a)).flags, `${key} advised`).to.include('hg');
      }
    }
  });

  it('SIMD_OPTIM_HUGE_PAGES=0 keeps every buffer on ordinary pages', function () {
    if (!backendInfo().nativeLoaded || process.platform !== 'linux' || thpMode() === undefined) this.skip();
    const code = `
      const { Parameter, RMSprop, backendInfo, zeros } = require('./lib');
      const b = require(require('./lib/engine/addon-file').addonFile());
      const fs = require('node:fs');
      const advised = (a) => {
        const at = b.addressOf(a);
        const entry = fs.readFileSync('/proc/self/smaps', 'utf8').split(/\\n(?=[0-9a-f]+-[0-9a-f]+ )/).find((e) => {
          const [lo, hi] = e.slice(0, e.indexOf(' ')).split('-').map((x) => parseInt(x, 16));
          return at >= lo && at < hi;
        });
        return / hg( |$)/m.test(/^VmFlags:.*$/m.exec(entry)[0]);
      };
      const w = new Parameter(zeros(1 << 20));
      const opt = new RMSprop([w]);
      w.grad = zeros(1 << 20).fill(1);
      opt.step();
      console.log(JSON.stringify({ huge: backendInfo().hugePages, advised: [w.data, w.grad, opt.state.get(w).square_avg].map(advised) }));`;
    const on = runNode(code, { SIMD_OPTIM_HUGE_PAGES: '1', SIMD_OPTIM_NO_EXTERNAL_BUFFERS: '' });
    const off = runNode(code, { SIMD_OPTIM_HUGE_PAGES: '0', SIMD_OPTIM_NO_EXTERNAL_BUFFERS: '' });
    expect(on.status, on.stderr).to.equal(0);
    expect(off.status, off.stderr).to.equal(0);
    expect(JSON.parse(on.stdout)).to.deep.equal({ huge: true, advised: [true, true, true] });
    expect(JSON.parse(off.stdout)).to.deep.equal({ huge: false, advised: [false, false, false] });
  });

  it('refuses an ISA the machine cannot run, by name, with a clear error', function () {
    if (!backendInfo().nativeLoaded) this.skip();
    const r = runNode(`require('./lib')`, { SIMD_OPTIM_ISA: 'sse1' });
    expect(r.status).to.not.equal(0);
    expect(r.stderr).to.match(/SIMD_OPTIM_ISA=sse1 is not an ISA this build and CPU can run \(runnable: scalar/);
    const forced = runNode(`console.log(require('./lib').backendInfo().isa)`, { SIMD_OPTIM_ISA: 'scalar' });
    expect(forced.stdout.trim()).to.equal('scalar');
  });

  it('SIMD_OPTIM_BACKEND=js uses the pure-JS backend without loading the addon', () => {
    const r = runNode(`console.log(JSON.stringify(require('./lib').backendInfo()))`, { SIMD_OPTIM_BACKEND: 'js' });
    expect(r.status, r.stderr).to.equal(0);
    expect(JSON.parse(r.stdout)).to.include({ backend: 'js', isa: 'js', nativeLoaded: false });
    expect(r.stderr).to.not.match(/warning/i);
  });

  it('warns in one line and falls back to JS when the addon cannot load', () => {
    const r = runNode(`const s = require('./lib'); console.log(s.backendInfo().backend)`, {
      SIMD_OPTIM_BINDING: '/nonexistent/simd_optim.node',
    });
    expect(r.status, r.stderr).to.equal(0);
    expect(r.stdout.trim()).to.equal('js');
    const warnings = r.stderr.split('\n').filter((l) => /SIMD_OPTIM_NO_NATIVE/.test(l));
    expect(warnings).to.have.length(1);
  });
});

describe('native ParamGroup.bindMany', () => {
  it('binds like bind() one call at a time, and refuses a bad array or place by name', function () {
    if (!backendInfo().nativeLoaded) this.skip();
    const binding = require(bindingPath);
    const hyper = rmspropHyper({ momentum: 0.9, centered: 1 });
    const make = () => [3, 17, 100].map((n, i) => [randomF32(n, i), randomF32(n, 10 + i), new Float32Array(n), new Float32Array(n), new Float32Array(n)]);
    const one = make();
    const many = make();
    const a = new binding.ParamGroup(RMSPROP_KERNEL.id, 3, hyper, new Float64Array(0));
    const b = new binding.ParamGroup(RMSPROP_KERNEL.id, 3, hyper, new Float64Array(0));
    one.forEach((arrays, slot) => arrays.forEach((array, role) => a.bind(slot, role, array)));
    const where = new Uint32Array(15).map((_, k) => place(Math.floor(k / 5), k % 5));
    b.bindMany(where, many.flat());
    for (let s = 0; s < 3; s++) {
      a.step(1);
      b.step(1);
    }
    expect(many.flat().map((x) => bytesOf(x).toString('hex'))).to.deep.equal(one.flat().map((x) => bytesOf(x).toString('hex')));
    expect(() => b.bindMany(new Uint32Array([1, 9]), [new Float32Array(3), new Int32Array(17)])).to.throw(TypeError, /role 1 must be a Float32Array or Float64Array/);
    expect(() => b.bindMany(new Uint32Array([place(3, 0)]), [null])).to.throw(RangeError, /slot 3 or role 0 out of range/);
    expect(() => b.bindMany(new Uint32Array([1, 2]), [null])).to.throw(TypeError, /bindMany\(places: Uint32Array/);
  });
});

describe('native ParamGroup: a grad that shares memory with the state', () => {
  // The TypeScript layer refuses it first; the addon must too, for any other caller.
  it('step throws, changing nothing', function () {
    if (!backendInfo().nativeLoaded) this.skip();
    const binding = require(bindingPath);
    const g = new binding.ParamGroup(RMSPROP_KERNEL.id, 1, rmspropHyper({}), new Float64Array(0));
    const p = new Float32Array([1, 2, 3, 4]);
    const buffer = new Float32Array(8).fill(0.5);
    const v = buffer.subarray(0, 4);
    g.bind(0, 0, p);
    g.bind(0, 1, buffer.subarray(2, 6)); // the grad overlaps v
    g.bind(0, 2, v);
    expect(() => g.step(1)).to.throw(/shares memory/);
    expect(Array.from(p)).to.deep.equal([1, 2, 3, 4]);
    expect(Array.from(buffer)).to.deep.equal(new Array<number>(8).fill(0.5));
  });
});

describe('native ParamGroup: memory shared between slots', () => {
  // Threads step parts of a group at once: an array written through two slots,
  // or read through one while written through another, would give results that
  // depend on the thread count.
  // Two threads, so that the native checks guard what a threaded step would race on.
  const group = (slots: (Float32Array | null)[][]) => {
    const g = new (require(bindingPath).ParamGroup)(RMSPROP_KERNEL.id, slots.length, rmspropHyper({}), new Float64Array(0));
    slots.forEach((arrays, slot) => arrays.forEach((array, role) => g.bind(slot, role, array)));
    return { bind: g.bind.bind(g), step: () => g.step(2) };
  };
  const filled = (n: number, x: number) => new Float32Array(n).fill(x);
  const hex = (arrays: Float32Array[]) => arrays.map((a) => bytesOf(a).toString('hex'));

  beforeEach(function () {
    if (!backendInfo().nativeLoaded) this.skip();
  });

  it('refuses two slots writing one array, or overlapping views of one, changing nothing', () => {
    const shared = filled(8, 1);
    const state = filled(8, 0);
    const cases: [string, (Float32Array | null)[][], RegExp][] = [
      ['one param array in two slots', [[shared, filled(8, 0.5), filled(8, 0)], [shared, filled(8, 0.5), filled(8, 0)]],
        /the param of param slot 1 shares memory with the param of param slot 0, which a step writes/],
      ["a slot's state on another's param", [[shared.subarray(0, 4), filled(4, 0.5), filled(4, 0)], [filled(4, 1), filled(4, 0.5), shared.subarray(3, 7)]],
        /the square_avg of param slot 1 shares memory with the param of param slot 0/],
      ["a slot's grad on another's state", [[filled(4, 1), filled(4, 0.5), state.subarray(0, 4)], [filled(4, 1), state.subarray(2, 6), filled(4, 0)]],
        /the grad of param slot 1 shares memory with the square_avg of param slot 0/],
    ];
    for (const [name, slots, message] of cases) {
      const arrays = slots.flat() as Float32Array[];
      const before = hex(arrays);
      expect(() => group(slots).step(), name).to.throw(Error, message);
      expect(hex(arrays), name).to.deep.equal(before);
    }
  });

  it('refuses a grad bound after a step onto what another slot writes', () => {
    const p0 = filled(4, 1);
    const g = group([[p0, filled(4, 0.5), filled(4, 0)], [filled(4, 2), filled(4, 0.5), filled(4, 0)]]);
    g.step();
    const before = hex([p0]);
    g.bind(1, 1, p0); // only a grad is new: the step's check is the short one
    expect(() => g.step()).to.throw(Error, /the grad of param slot 1 shares memory with the param of param slot 0/);
    expect(hex([p0])).to.deep.equal(before);
    g.bind(1, 1, filled(4, 0.5));
    expect(() => g.step()).to.not.throw();
  });

  it('lets a slot without a grad share what another writes, until it gets a grad', () => {
    const p0 = filled(4, 1);
    const g = group([[p0, filled(4, 0.5), filled(4, 0)], [p0, null, filled(4, 0)]]);
    g.step(); // slot 1 is not stepped: nothing writes through it
    const before = hex([p0]);
    g.bind(1, 1, filled(4, 0.5));
    expect(() => g.step()).to.throw(Error, /the param of param slot 1 shares memory with the param of param slot 0/);
    expect(hex([p0])).to.deep.equal(before);
  });

  it('steps adjacent views of one buffer, and one grad read by two slots, as separate arrays', () => {
    const views = (n: number) => {
      const params = new Float32Array(2 * n);
      params.set(randomF32(2 * n, 1));
      const state = new Float32Array(2 * n);
      const grad = randomF32(n, 2);
      return [[params.subarray(0, n), grad, state.subarray(0, n)], [params.subarray(n), grad, state.subarray(n)]];
    };
    const separate = (n: number) => views(n).map((arrays) => arrays.map((a) => a.slice()));
    for (const n of [5, 70_000]) {
      const a = views(n);
      const b = separate(n);
      const ga = group(a);
      const gb = group(b);
      for (let s = 0; s < 3; s++) {
        ga.step();
        gb.step();
      }
      expect(hex(a.flat()), `${n}`).to.deep.equal(hex(b.flat()));
    }
  });

  it('bind refuses a slot or role that is not a whole number in range, and a SharedArrayBuffer', () => {
    const g = group([[filled(4, 1), filled(4, 1), filled(4, 0)]]);
    for (const bad of [NaN, Infinity, 0.5, -1, 1]) {
      expect(() => g.bind(bad, 0, filled(4, 1)), `${bad}`).to.throw(RangeError, new RegExp(`bind: slot ${bad} or role 0 out of range \\(slots: 1`));
    }
    expect(() => g.bind(0, 5, null)).to.throw(RangeError, /slot 0 or role 5 out of range/);
    const shared = new Float32Array(new SharedArrayBuffer(16));
    expect(() => g.bind(0, 1, shared)).to.throw(TypeError, /role 1 must be backed by an ArrayBuffer, not a SharedArrayBuffer/);
  });
});

describe('binding.d.ts', () => {
  it('declares exactly what the native module exports', function () {
    if (!backendInfo().nativeLoaded) this.skip();
    const dts = require('node:fs').readFileSync(path.join(root, 'binding.d.ts'), 'utf8') as string;
    const declared = new Set([...dts.matchAll(/export declare (?:function|class) (\w+)/g)].map((m) => m[1]));
    const binding = require(bindingPath);
    expect(new Set(Object.keys(binding))).to.deep.equal(declared);
    const classBody = dts.slice(dts.indexOf('export declare class ParamGroup'));
    const methods = new Set([...classBody.slice(0, classBody.indexOf('\n}')).matchAll(/^  (\w+)\(/gm)].map((m) => m[1]).filter((n) => n !== 'constructor'));
    const native = new Set(Object.getOwnPropertyNames(binding.ParamGroup.prototype).filter((n) => n !== 'constructor'));
    expect(native).to.deep.equal(methods);
  });
});

describe('packaging', () => {
  it('works from CommonJS and ESM, with types', () => {
    const cjs = execFileSync(process.execPath, ['-e', `const s = require('${root}'); console.log(typeof s.RMSprop, typeof s.Parameter, typeof s.Optimizer, typeof s.backendInfo)`], { encoding: 'utf8' });
    expect(cjs.trim()).to.equal('function function function function');
    const esm = execFileSync(process.execPath, ['--input-type=module', '-e', `import { RMSprop, Parameter, Optimizer, backendInfo } from '${root}/dist/index.mjs'; import cjs from '${root}/dist/index.js'; console.log(typeof RMSprop, RMSprop === cjs.RMSprop, typeof backendInfo)`], { encoding: 'utf8' });
    expect(esm.trim()).to.equal('function true function');
    expect(require('node:fs').existsSync(path.join(root, 'dist', 'index.d.ts'))).to.equal(true);
  });
});
