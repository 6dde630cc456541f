// Mid-sized tensors (16 KiB to 2 MiB) cannot hold a 2 MiB huge page of their
// own, so simd-optim lays them out together: `zeros` carves params and grads
// from 16 MiB native allocations (binding.d.ts allocZeros), and the state
// created or loaded for several of them goes into one allocation per key
// (state-slabs.ts, allocStateViews). These tests pin that layout, that every
// array still behaves as an array of its own, that the memory is freed with
// the last array, and that the step computes the same bits.
import { expect } from 'chai';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Adagrad, backendInfo, Parameter, RMSprop, useBackend, zeros } from '../lib';
import { addonFile } from '../lib/engine/addon-file';
import { bytesOf, itFull, randomF32, resetBackend, runNode } from './helpers';

const root = path.resolve(__dirname, '..');
const bindingPath = backendInfo().nativeLoaded ? addonFile() : '';
const PAGE = 4096;
const HUGE_PAGE = 2 ** 21;

function binding() {
  return require(bindingPath) as typeof import('../binding');
}
const address = (a: ArrayBufferView) => binding().addressOf(a);

/** VmFlags of the mapping that holds `at` (/proc/self/smaps), or undefined off Linux. */
function vmFlags(at: number): string[] | undefined {
  if (process.platform !== 'linux') return undefined;
  for (const entry of fs.readFileSync('/proc/self/smaps', 'utf8').split(/\n(?=[0-9a-f]+-[0-9a-f]+ )/)) {
    const [start, end] = entry.slice(0, entry.indexOf(' ')).split('-').map((x) => parseInt(x, 16));
    if (at >= start && at < end) return /^VmFlags:(.*)$/m.exec(entry)?.[1].trim().split(/\s+/) ?? [];
  }
  throw new Error(`no mapping holds ${at.toString(16)}`);
}

/** Whether this process advises huge pages and the kernel has THP. */
function hugePagesHere(): boolean {
  return backendInfo().hugePages && fs.existsSync('/sys/kernel/mm/transparent_hugepage/enabled');
}

/** A fresh Node process that can collect garbage on demand (gc()). */
const runWithGc = (code: string, env: Record<string, string> = {}) => runNode(code, env, ['--expose-gc']);

describe('mid-sized tensors: zeros', () => {
  afterEach(resetBackend);

  function nativeExternal(this: Mocha.Context) {
    if (!backendInfo().nativeLoaded || !backendInfo().externalBuffers) this.skip();
  }

  it('carves arrays of 16 KiB to 2 MiB one after another, each on a page of its own and with its own buffer', function () {
    nativeExternal.call(this);
    const lengths = [4096, 100_000, 12_345, (HUGE_PAGE - 8) / 4, 5000];
    const arrays = lengths.map((n, i) => (i === 4 ? zeros(n, 'float64') : zeros(n)));
    for (const [i, a] of arrays.entries()) {
      expect(a.length, `array ${i}`).to.equal(lengths[i]);
      expect(address(a) % PAGE, `array ${i} starts a page`).to.equal(0);
      expect([a.byteOffset, a.buffer.byteLength], `array ${i}: a buffer of exactly its bytes`).to.deep.equal([0, a.byteLength]);
      expect(a.every((x) => x === 0), `array ${i} zeroed`).to.equal(true);
    }
    // Each starts at the first page after the one before, or a new allocation begins.
    for (let i = 1; i < arrays.length; i++) {
      const next = Math.ceil((address(arrays[i - 1]) + arrays[i - 1].byteLength) / PAGE) * PAGE;
      const fresh = backendInfo().hugePages ? address(arrays[i]) % HUGE_PAGE === 0 : true;
      expect(address(arrays[i]) === next || fresh, `array ${i} right after array ${i - 1}, or in a new allocation`).to.equal(true);
    }
    const together = arrays.slice(1).filter((a, i) => address(a) === Math.ceil((address(arrays[i]) + arrays[i].byteLength) / PAGE) * PAGE);
    expect(together.length, 'most follow the one before').to.be.at.least(2);
    arrays.forEach((a, i) => a.fill(i + 1));
    arrays.forEach((a, i) => expect(a.every((x) => x === i + 1), `array ${i} kept its own values`).to.equal(true));
    // Its own buffer: structuredClone copies just it.
    const clone = structuredClone(arrays[1]);
    expect([clone.buffer.byteLength, clone[99_999]]).to.deep.equal([400_000, 2]);
  });

  it('advises the arena as huge pages (Linux)', function () {
    nativeExternal.call(this);
    if (!hugePagesHere()) this.skip();
    const a = zeros(100_000);
    a.fill(1);
    expect(vmFlags(address(a)), 'advised (hg)').to.include('hg');
  });

  it('leaves other sizes, the JS backend and V8 buffers to plain arrays', function () {
    nativeExternal.call(this);
    const below = [zeros(4095), zeros(4095)]; // 16 KiB - 4 bytes: V8's, which does not start them on a page
    expect(below.map((a) => a.buffer.byteLength)).to.deep.equal([16_380, 16_380]);
    expect(below.some((a) => address(a) % PAGE !== 0), 'not carved').to.equal(true);
    if (backendInfo().hugePages) expect(address(zeros(HUGE_PAGE / 4)) % HUGE_PAGE, '2 MiB: on a 2 MiB boundary of its own').to.equal(0);
    useBackend('js');
    const js = zeros(100_000);
    // A V8 array from malloc: never advised as huge pages (its address may land on a page by chance).
    if (hugePagesHere()) expect(vmFlags(binding().addressOf(js)), 'a V8 array, not carved').to.not.include('hg');
    expect(js.buffer.byteLength, 'a buffer of its own').to.equal(400_000);
  });

  it('is V8 arrays where external buffers are refused (zeros, and allocZeros and allocStateViews themselves)', function () {
    if (!backendInfo().nativeLoaded) this.skip();
    const r = runWithGc(
      `const { zeros, backendInfo } = require('./lib');
       const b = require(${JSON.stringify(bindingPath)});
       const a = zeros(100000); a.fill(1);
       const direct = b.allocZeros('float32', 100000);
       const like = new Float32Array(50000).subarray(5);
       const views = b.allocStateViews('float64', [40000, 0, 3000], [like, like, like], 2);
       console.log(JSON.stringify({
         external: backendInfo().externalBuffers,
         zeros: [a.buffer.byteLength, a.reduce((s, x) => s + x, 0)],
         direct: [direct.length, direct.buffer.byteLength, b.pageOffset(direct) !== 0, direct.every((x) => x === 0)],
         views: views.map((v) => [v.constructor.name, v.length, v.every((x) => x === 0)]),
         placed: b.pageOffset(views[0]) === ((b.pageOffset(like) & ~63) + 2048) % 4096 }));`,
      { SIMD_OPTIM_NO_EXTERNAL_BUFFERS: '1' },
    );
    expect(r.status, r.stderr).to.equal(0);
    expect(JSON.parse(r.stdout)).to.deep.equal({
      external: false,
      zeros: [400_000, 100_000],
      direct: [100_000, 400_000, true, true],
      views: [['Float64Array', 40_000, true], ['Float64Array', 0, true], ['Float64Array', 3000, true]],
      placed: true,
    });
  });

  it('gives the pages of a collected array back while its neighbours live on', function () {
    nativeExternal.call(this);
    // 200 long-lived 16 KiB arrays, each between two dropped 2 MB ones: without giving pages back,
    // every 16 MiB allocation stays resident for the one small array in it (about 400 MB).
    const r = runWithGc(`
      const { zeros } = require('./lib');
      const tick = () => new Promise((resolve) => setImmediate(resolve));
      (async () => {
        for (let i = 0; i < 3; i++) { global.gc(); await tick(); }
        const before = process.memoryUsage().rss;
        const keep = [];
        for (let i = 0; i < 200; i++) { keep.push(zeros(4096).fill(i)); zeros(500000).fill(1); }
        for (let i = 0; i < 5; i++) { global.gc(); await tick(); }
        const grewMB = (process.memoryUsage().rss - before) / 1e6;
        console.log(JSON.stringify({ grewMB, kept: keep.every((a, i) => a.every((x) => x === i)) }));
      })();`);
    expect(r.status, r.stderr).to.equal(0);
    const out = JSON.parse(r.stdout);
    expect(out.kept, 'the live arrays kept their values').to.equal(true);
    expect(out.grewMB, 'RSS growth for 3.3 MB kept').to.be.below(100);
  });

  it('survives workers terminated while they allocate (no process abort)', function () {
    if (!backendInfo().nativeLoaded) this.skip();
    this.timeout(120_000);
    const r = runWithGc(`
      const { Worker } = require('node:worker_threads');
      const body = \`
        const { zeros, Parameter, RMSprop } = require(${JSON.stringify(path.join(root, 'dist'))});
        const mk = (n) => { const p = new Parameter(zeros(n)); p.grad = zeros(n).fill(1); return p; };
        const ps = [mk(50000), mk(50000), mk(50000)];
        require('node:worker_threads').parentPort.postMessage('ready');
        for (;;) { zeros(100000); zeros(200); new RMSprop(ps, { momentum: 0.9 }).step(); }
      \`;
      (async () => {
        for (let i = 0; i < 30; i++) {
          const w = new Worker(body, { eval: true });
          await new Promise((resolve, reject) => { w.once('message', resolve); w.once('error', reject); });
          await new Promise((resolve) => setTimeout(resolve, Math.random() * 20));
          await w.terminate();
        }
        console.log('survived');
      })();`);
    expect(r.status, r.stderr).to.equal(0);
    expect(r.stdout.trim()).to.equal('survived');
  });

  it('frees an allocation with the last array carved from it, and not before', function () {
    nativeExternal.call(this);
    // 100 MB in 16 MiB allocations, written, dropped; one array outlives the rest of its allocation.
    const r = runWithGc(`
      const { zeros } = require('./lib');
      const tick = () => new Promise((resolve) => setImmediate(resolve));
      (async () => {
        let arrays = Array.from({ length: 250 }, () => zeros(100000).fill(1));
        const survivor = arrays[3];
        const before = process.memoryUsage().rss;
        arrays = null;
        for (let i = 0; i < 5; i++) { global.gc(); await tick(); }
        const after = process.memoryUsage().rss;
        survivor.fill(2); // its allocation must still be mapped (ASan would catch a use after free)
        console.log(JSON.stringify({ freedMB: (before - after) / 1e6, survivor: survivor.every((x) => x === 2) }));
      })();`);
    expect(r.status, r.stderr).to.equal(0);
    const out = JSON.parse(r.stdout);
    expect(out.survivor).to.equal(true);
    expect(out.freedMB, 'most of 100 MB returned').to.be.above(60);
  });
});

describe('mid-sized tensors: state', () => {
  afterEach(resetBackend);

  /** Params of `lengths` at the page offsets V8 or a shift gives them, with grads. */
  function params(lengths: number[], seed = 1): Parameter[] {
    return lengths.map((n, i) => {
      const p = new Parameter(randomF32(n + i, seed + 2 * i).subarray(i));
      p.grad = randomF32(n, seed + 2 * i + 1);
      return p;
    });
  }
  const rmsprop = (ps: Parameter[]) => new RMSprop(ps, { lr: 0.01, momentum: 0.9, centered: true, weightDecay: 0.1 });
  const quarters: [string, number][] = [['square_avg', 1], ['momentum_buffer', 2], ['grad_avg', 3]];

  function expectLaidOutTogether(opt: RMSprop | Adagrad, ps: Parameter[], keys: [string, number][], where: string) {
    const b = binding();
    for (const [key, q] of keys) {
      const arrays = ps.map((p) => opt.state.get(p)![key] as Float32Array);
      for (const [i, a] of arrays.entries()) {
        expect([a.byteOffset, a.buffer.byteLength], `${where} ${key} ${i}: a buffer of its own`).to.deep.equal([0, a.byteLength]);
        expect(b.pageOffset(a), `${where} ${key} ${i}: a quarter page after its param's line`).to.equal(
          ((b.pageOffset(ps[i].data) & ~63) + q * 1024) % PAGE,
        );
        if (i === 0) continue;
        const gap = address(a) - (address(arrays[i - 1]) + arrays[i - 1].byteLength);
        expect(gap, `${where} ${key} ${i}: right after ${i - 1}, within a page`).to.be.within(0, PAGE - 1);
      }
      if (hugePagesHere()) expect(vmFlags(address(arrays[0])), `${where} ${key} advised as huge pages`).to.include('hg');
    }
  }

  it('lays out the state of several mid-sized tensors in one allocation per key, each placed and with its own buffer', function () {
    if (!backendInfo().nativeLoaded || !backendInfo().externalBuffers) this.skip();
    const ps = params([100_000, 100_000, 4096, 300_000, 77_777, 100_000]); // 2.7 MB per key
    const opt = rmsprop(ps);
    opt.step();
    expectLaidOutTogether(opt, ps, quarters, 'created');
    const loaded = rmsprop(ps);
    loaded.loadStateDict(opt.stateDict());
    expectLaidOutTogether(loaded, ps, quarters, 'loaded');
    const adagrad = new Adagrad(ps, { initialAccumulatorValue: 0.5 });
    expectLaidOutTogether(adagrad, ps, [['sum', 1]], 'Adagrad');
    expect((adagrad.state.get(ps[2])!.sum as Float32Array).every((x) => x === 0.5), 'Adagrad sum initialised').to.equal(true);
    // No array reaches another.
    const sums = ps.map((p) => adagrad.state.get(p)!.sum as Float32Array);
    sums.forEach((a, i) => a.fill(i + 1));
    sums.forEach((a, i) => expect(a.every((x) => x === i + 1), `sum ${i} kept its own values`).to.equal(true));
  });

  it('lays out float64 state the same way', function () {
    if (!backendInfo().nativeLoaded || !backendInfo().externalBuffers) this.skip();
    const ps = [100_000, 2048, 120_000, 100_000].map((n, i) => { // 2.6 MB per key
      const p = new Parameter(new Float64Array(n + i).subarray(i).fill(0.25));
      p.grad = new Float64Array(n).fill(0.5);
      return p;
    });
    const opt = rmsprop(ps);
    opt.step();
    expectLaidOutTogether(opt, ps, quarters, 'float64');
    expect(ps.map((p) => opt.state.get(p)!.square_avg.constructor)).to.deep.equal(ps.map(() => Float64Array));
  });

  it('steps to the bits of state allocated tensor by tensor, mixed with small and large tensors', () => {
    const lengths = [100, 100_000, 7, 4096, 600_000, 30_000, 33, 100_000];
    const together = params(lengths);
    const alone = params(lengths);
    const optTogether = rmsprop(together);
    const optsAlone = alone.map((p) => rmsprop([p])); // one tensor each: no layout shared
    for (let s = 0; s < 4; s++) {
      optTogether.step();
      optsAlone.forEach((o) => o.step());
      for (let i = 0; i < lengths.length; i++) {
        together[i].grad = randomF32(lengths[i], 100 * s + i);
        alone[i].grad = randomF32(lengths[i], 100 * s + i);
      }
    }
    for (let i = 0; i < lengths.length; i++) {
      expect(bytesOf(together[i].data).equals(bytesOf(alone[i].data)), `param ${i}`).to.equal(true);
      for (const [key] of quarters) {
        const a = optTogether.state.get(together[i])![key] as Float32Array;
        const b = optsAlone[i].state.get(alone[i])![key] as Float32Array;
        expect(bytesOf(a).equals(bytesOf(b)), `${key} ${i}`).to.equal(true);
      }
    }
  });

  // Many optimizers made and dropped: a stress test, in the full suite.
  itFull('frees the allocation with the last state array (no leak over optimizers)', function () {
    if (!backendInfo().nativeLoaded || !backendInfo().externalBuffers) this.skip();
    const r = runWithGc(`
      const { Parameter, RMSprop, zeros } = require('./lib');
      const tick = () => new Promise((resolve) => setImmediate(resolve));
      (async () => {
        const ps = Array.from({ length: 50 }, () => { const p = new Parameter(zeros(100000)); p.grad = zeros(100000).fill(1); return p; });
        const rssAfter = async (n) => {
          for (let i = 0; i < n; i++) { const o = new RMSprop(ps, { momentum: 0.9, centered: true }); o.step(); }
          for (let i = 0; i < 5; i++) { global.gc(); await tick(); }
          return process.memoryUsage().rss;
        };
        const first = await rssAfter(3);
        const last = await rssAfter(20); // 20 x 60 MB of state if nothing were freed
        console.log(JSON.stringify({ grewMB: (last - first) / 1e6 }));
      })();`);
    expect(r.status, r.stderr).to.equal(0);
    expect(JSON.parse(r.stdout).grewMB, 'RSS growth over 20 more optimizers').to.be.below(100);
  });
});
