// Small state tensors share one buffer per state key (lib/state-slabs.ts),
// and the step checks one length per shared buffer instead of one per view
// (KernelBinding.sharedBufferRuns). These tests pin the layout, that it
// computes the bits of separate buffers, and that a detached shared buffer is
// still caught wherever its views sit.
import { expect } from 'chai';
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { Adagrad, Adam, backendInfo, Parameter, RMSprop, SGD, useBackend, type Optimizer } from '../lib';
import { KernelBinding } from '../lib/engine/kernel-binding';
import { ADAGRAD_KERNEL } from '../lib/reference/adagrad';
import { isDetached } from '../lib/core/tensor';
import { SHARED_STATE_MAX_BYTES } from '../lib/engine/state-slabs';
import { everyBackend, hex, randomF32, resetBackend, snapshot, thrown } from './helpers';


const kinds = [
  {
    name: 'RMSprop',
    keys: ['square_avg', 'momentum_buffer', 'grad_avg'],
    make: (groups: Parameter[][]) =>
      new RMSprop(groups.map((params) => ({ params })), { lr: 0.01, momentum: 0.9, centered: true, weightDecay: 0.1 }),
  },
  {
    name: 'Adagrad',
    keys: ['sum'],
    make: (groups: Parameter[][]) => new Adagrad(groups.map((params) => ({ params })), { lr: 0.05, initialAccumulatorValue: 0.25 }),
  },
  {
    name: 'SGD',
    keys: ['momentum_buffer'],
    make: (groups: Parameter[][]) => new SGD(groups.map((params) => ({ params })), { lr: 0.05, momentum: 0.9, nesterov: true }),
  },
  {
    name: 'Adam',
    keys: ['exp_avg', 'exp_avg_sq', 'max_exp_avg_sq'],
    make: (groups: Parameter[][]) => new Adam(groups.map((params) => ({ params })), { lr: 0.01, amsgrad: true, weightDecay: 0.1 }),
  },
];

/** Parameters of the given lengths, with grads, seeded by position. */
function params(lengths: number[], seed = 1): Parameter[] {
  return lengths.map((n, i) => {
    const p = new Parameter(randomF32(n, seed + 2 * i));
    p.grad = randomF32(n, seed + 2 * i + 1);
    return p;
  });
}

/**
 * Transfers `buffer`, which detaches it, and says whether it did: the native
 * backend's own external buffers are copied by a transfer instead, so they
 * never detach (SIMD_OPTIM_NO_EXTERNAL_BUFFERS=1 makes them V8's, which do).
 */
function detach(buffer: ArrayBufferLike): boolean {
  structuredClone(buffer, { transfer: [buffer as ArrayBuffer] });
  return isDetached(buffer);
}

const bigLength = SHARED_STATE_MAX_BYTES / 4; // float32 elements of the first size that is not shared

describe('shared state buffers in V8 memory (SIMD_OPTIM_NO_EXTERNAL_BUFFERS=1)', () => {
  it('refuses a native step once a detached shared buffer has emptied the views', function () {
    this.timeout(60_000);
    // The native kernels would write through pointers into the detached memory:
    // every ISA must see the detach at the check, whichever view it came through.
    const code = `
      const { Parameter, RMSprop, backendInfo, useIsa } = require('./lib');
      const out = [];
      for (const isa of backendInfo().isas) {
        useIsa(isa);
        for (const which of [0, 2]) {
          const ps = [0, 1, 2].map((i) => { const p = new Parameter(new Float32Array(8).fill(i + 1)); p.grad = new Float32Array(8).fill(0.5); return p; });
          const opt = new RMSprop(ps, { momentum: 0.9, centered: true });
          opt.step(); opt.step();
          const buffer = opt.state.get(ps[which]).square_avg.buffer;
          structuredClone(buffer, { transfer: [buffer] });
          const data = ps.map((p) => Array.from(p.data).join());
          let error = 'none';
          try { opt.step(); } catch (e) { error = e.constructor.name + ': ' + e.message; }
          out.push({ isa, which, detached: buffer.detached ?? opt.state.get(ps[which]).square_avg.length === 0, error,
                     unchanged: ps.every((p, i) => Array.from(p.data).join() === data[i]) });
        }
      }
      console.log(JSON.stringify({ external: backendInfo().externalBuffers, out }));`;
    const r = spawnSync(process.execPath, ['--import', 'tsx', '-e', code], {
      cwd: path.join(__dirname, '..'),
      env: { ...process.env, SIMD_OPTIM_NO_EXTERNAL_BUFFERS: '1' },
      encoding: 'utf8',
    });
    expect(r.status, r.stderr).to.equal(0);
    const { external, out } = JSON.parse(r.stdout) as { external: boolean; out: { detached: boolean; error: string; unchanged: boolean }[] };
    expect(external).to.equal(false);
    expect(out.length).to.be.at.least(2);
    for (const row of out) {
      expect(row.detached, JSON.stringify(row)).to.equal(true);
      expect(row.error, JSON.stringify(row)).to.match(/^TypeError: param 0 of group 0 state square_avg .*detached/);
      expect(row.unchanged, JSON.stringify(row)).to.equal(true);
    }
  });
});

for (const kind of kinds) {
  describe(`shared state buffers, ${kind.name}`, () => {
    afterEach(resetBackend);

    it('puts the state of small tensors in one buffer per key, in param order, each view exactly its tensor', () => {
      for (const backend of everyBackend()) {
        backend.use();
        const ps = params([3, 100, bigLength, 17]);
        const opt = kind.make([ps]);
        opt.step();
        for (const key of kind.keys) {
          const [a, b, big, c] = ps.map((p) => opt.state.get(p)![key] as Float32Array);
          expect([a.length, b.length, big.length, c.length], `${backend.label} ${key}`).to.deep.equal([3, 100, bigLength, 17]);
          expect(b.buffer, `${backend.label} ${key}`).to.equal(a.buffer);
          expect(c.buffer, `${backend.label} ${key}`).to.equal(a.buffer);
          expect([b.byteOffset - a.byteOffset, c.byteOffset - a.byteOffset], `${backend.label} ${key}`).to.deep.equal([12, 412]);
          expect(a.buffer.byteLength - a.byteOffset, `${backend.label} ${key}: nothing but the three`).to.be.at.least(120 * 4);
          expect(big.buffer, `${backend.label} ${key}: from ${SHARED_STATE_MAX_BYTES} bytes, its own`).to.not.equal(a.buffer);
        }
        const buffers = new Set(kind.keys.map((key) => (opt.state.get(ps[0])![key] as Float32Array).buffer));
        expect(buffers.size, `${backend.label}: one buffer per key`).to.equal(kind.keys.length);
      }
    });

    it('steps to the same bits as state in buffers of its own', () => {
      for (const backend of everyBackend()) {
        backend.use();
        const lengths = [5, 64, 1, 33, 100];
        const shared = params(lengths);
        const alone = params(lengths);
        const a = kind.make([shared]);
        const singles = alone.map((p) => kind.make([[p]])); // one param per optimizer: nothing to share
        for (let s = 0; s < 5; s++) {
          a.step();
          for (const b of singles) b.step();
        }
        expect((singles[1].state.get(alone[1])![kind.keys[0]] as Float32Array).buffer).to.not.equal(
          (singles[0].state.get(alone[0])![kind.keys[0]] as Float32Array).buffer,
        );
        const bytes = (o: Optimizer) => snapshot(o, undefined, { groups: false });
        expect(bytes(a), backend.label).to.equal(singles.map(bytes).join('|'));
      }
    });

    it('loads small state tensors into shared buffers too, with their values', () => {
      for (const backend of everyBackend()) {
        backend.use();
        const source = kind.make([params([4, 9, 2])]);
        for (let s = 0; s < 3; s++) source.step();
        const target = kind.make([params([4, 9, 2], 50)]);
        target.loadStateDict(source.stateDict());
        const [p0, p1, p2] = target.paramGroups[0].params;
        for (const key of kind.keys) {
          const views = [p0, p1, p2].map((p) => target.state.get(p)![key] as Float32Array);
          expect(views.map((v) => v.buffer === views[0].buffer), `${backend.label} ${key}`).to.deep.equal([true, true, true]);
          const want = source.paramGroups[0].params.map((p) => hex(source.state.get(p)![key]));
          expect(views.map(hex), `${backend.label} ${key}`).to.deep.equal(want);
        }
      }
    });

    // Detaching any view's buffer empties every view of it, and the step
    // reads the length of the first view of each run only. Here params 2-4
    // have their state moved into a buffer of the user's (V8's, so it can be
    // detached on every backend): two buffers, two runs, and a detach through
    // either must be caught at its own head.
    for (const [which, head] of [[0, 0], [1, 0], [2, 2], [4, 2]]) {
      it(`refuses a step after a shared state buffer is detached through param ${which}, changing nothing`, async () => {
        for (const backend of everyBackend()) {
          backend.use();
          for (const run of ['step', 'stepAsync'] as const) {
            const ps = params([8, 8, 8, 8, 8]);
            const opt = kind.make([ps]);
            opt.step();
            const moved = new Float32Array(24);
            ps.slice(2).forEach((p, i) => {
              const s = opt.state.get(p)!;
              const view = moved.subarray(8 * i, 8 * i + 8);
              view.set(s[kind.keys[0]] as Float32Array);
              s[kind.keys[0]] = view;
            });
            opt.step();
            opt.step(); // the step's checks now take their short way
            const buffers = ps.map((p) => (opt.state.get(p)![kind.keys[0]] as Float32Array).buffer);
            expect(buffers.map((b) => (b === buffers[0] ? 'A' : b === buffers[2] ? 'B' : '?')).join(''), backend.label).to.equal('AABBB');
            const label = `${backend.label} ${run}()`;
            if (!detach(buffers[which])) {
              expect(backendInfo().externalBuffers && backend.label !== 'js', `${label}: only native buffers stay`).to.equal(true);
              continue;
            }
            const before = snapshot(opt);
            const e = await thrown(() => opt[run]());
            expect(e, label).to.be.instanceOf(TypeError);
            expect(e.message, label).to.contain(`param ${head} of group 0 state ${kind.keys[0]}`).and.contain('detached');
            expect(snapshot(opt), label).to.equal(before);
          }
        }
      });
    }

    it('still checks a shared state buffer when the first param of its run has no grad', () => {
      for (const backend of everyBackend()) {
        backend.use();
        const ps = params([8, 8, 8]);
        const opt = kind.make([ps]);
        opt.step();
        ps[0].grad = null; // its state stays, but the step no longer reads it
        opt.step();
        opt.step();
        if (!detach((opt.state.get(ps[2])![kind.keys[0]] as Float32Array).buffer)) continue; // native: see detach
        const before = snapshot(opt);
        expect(() => opt.step(), backend.label).to.throw(TypeError, `param 1 of group 0 state ${kind.keys[0]}`);
        expect(snapshot(opt), backend.label).to.equal(before);
      }
    });

    it('refuses a step after params that are views of one buffer have it detached, changing nothing', () => {
      for (const backend of everyBackend()) {
        backend.use();
        const flat = randomF32(30, 7);
        const ps = [0, 10, 20].map((at) => {
          const p = new Parameter(flat.subarray(at, at + 10));
          p.grad = randomF32(10, at + 1);
          return p;
        });
        const opt = kind.make([ps]);
        opt.step();
        opt.step();
        expect(detach(flat.buffer)).to.equal(true);
        const before = snapshot(opt);
        expect(() => opt.step(), backend.label).to.throw(TypeError, 'param 0 of group 0.data');
        expect(snapshot(opt), backend.label).to.equal(before);
      }
    });

    it('still checks views of one buffer whose first is empty (an empty view reads as its length even detached)', () => {
      for (const backend of everyBackend()) {
        backend.use();
        const flat = randomF32(8, 3);
        const grads = randomF32(8, 4);
        const empty = new Parameter(flat.subarray(0, 0), [0]);
        empty.grad = grads.subarray(0, 0);
        const full = new Parameter(flat.subarray(0, 8));
        full.grad = grads.subarray(0, 8);
        const opt = kind.make([[empty, full]]);
        opt.step();
        opt.step();
        expect(detach(flat.buffer)).to.equal(true);
        const received = new Float32Array(structuredClone(grads.buffer)); // unrelated memory stays as it is
        const before = snapshot(opt);
        expect(() => opt.step(), backend.label).to.throw(TypeError, 'param 1 of group 0.data');
        expect(snapshot(opt), backend.label).to.equal(before);
        expect(received.length).to.equal(8);
      }
    });
  });
}

describe('KernelBinding.sharedBufferRuns', () => {
  afterEach(resetBackend);

  it('marks the views after the first non-empty one of each run of a buffer, per role, among slots with a grad', () => {
    useBackend('js');
    const a = new Float32Array(64);
    const b = new Float32Array(64);
    const own = () => new Float32Array(4);
    const binding = new KernelBinding(ADAGRAD_KERNEL); // data, grad, one state role
    const g = [own(), own(), own(), null, own(), own(), own()];
    // slot:      0             1             2             3 (no grad)   4             5             6
    const data = [a.subarray(0, 0), a.subarray(0, 4), a.subarray(4, 8), a.subarray(8, 12), b.subarray(0, 4), a.subarray(12, 16), own()];
    const state = [null, b.subarray(4, 8), b.subarray(8, 12), b.subarray(12, 16), b.subarray(16, 20), null, b.subarray(20, 24)];
    data.forEach((d, slot) => {
      binding.arrays[3 * slot] = d;
      binding.arrays[3 * slot + 1] = g[slot];
      binding.arrays[3 * slot + 2] = state[slot];
    });
    binding.sync(7);
    expect(binding.hasSharedBufferRuns()).to.equal(false);
    expect(Array.from(binding.sharedBufferRuns()), 'all lengths read until found').to.deep.equal([0, 0, 0, 0, 0, 0, 0]);
    binding.findSharedBufferRuns();
    // data: slot 0 is empty (no head), 1 heads a's run, 2 joins, 4 is b, 5 joins a's run again after b? no: b starts a new head
    // state: 1 heads b's run, 2 joins, 3 has no grad, 4 joins, 6 joins; grads are each their own buffer
    const bit = (data: boolean, st: boolean) => (data ? 1 : 0) | (st ? 4 : 0);
    expect(Array.from(binding.sharedBufferRuns())).to.deep.equal([
      bit(false, false),
      bit(false, false),
      bit(true, true),
      0,
      bit(false, true),
      bit(false, false),
      bit(false, true),
    ]);
    binding.arrays[3 * 2 + 2] = own(); // a rebind clears them until found again
    binding.sync(7);
    expect(binding.hasSharedBufferRuns()).to.equal(false);
    expect(Array.from(binding.sharedBufferRuns())).to.deep.equal([0, 0, 0, 0, 0, 0, 0]);
  });
});
