// Multi-threaded steps and stepAsync(): same bits as a plain step, and the
// locking that keeps arrays still while a step runs off the main thread.
import { expect } from 'chai';
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { Adagrad, Adam, AdamW, Parameter, RMSprop, SGD, backendInfo, type Optimizer } from '../lib';
import { addonFile } from '../lib/engine/addon-file';
import { bytesOf, everyBackend, itFull, quickSlice, randomF32, resetBackend } from './helpers';

const root = path.resolve(__dirname, '..');

/**
 * A group mixing large and small, float32 and float64 tensors, after `steps`
 * steps. Threads split it mid-tensor, and between runs of small tensors that a
 * part steps whole.
 */
type Stepping = Optimizer & { stepAsync(): Promise<unknown> };

/** Each optimizer with the settings that use all its state; npm test takes RMSprop and Adam, the full suite all. */
const OPTIMIZERS: [string, (params: Parameter[], threads: number) => Stepping][] = quickSlice<[string, (params: Parameter[], threads: number) => Stepping]>([
  ['RMSprop', (ps, threads) => new RMSprop(ps, { momentum: 0.9, centered: true, weightDecay: 0.01, threads })],
  ['Adagrad', (ps, threads) => new Adagrad(ps, { lrDecay: 0.01, weightDecay: 0.01, threads })],
  ['SGD', (ps, threads) => new SGD(ps, { lr: 0.01, momentum: 0.9, nesterov: true, weightDecay: 0.01, threads })],
  ['Adam', (ps, threads) => new Adam(ps, { amsgrad: true, weightDecay: 0.01, threads })],
  ['AdamW', (ps, threads) => new AdamW(ps, { amsgrad: true, threads })],
], ([name]) => name === 'RMSprop' || name === 'Adam');

/** Two groups of each optimizer, for the locking test; npm test takes Adagrad and SGD, the full suite all. */
const LOCKED = quickSlice<[string, (ps: Parameter[]) => Stepping]>([
  ['RMSprop', (ps) => new RMSprop([{ params: [ps[0]] }, { params: [ps[1]], momentum: 0.9, centered: true }])],
  ['Adagrad', (ps) => new Adagrad([{ params: [ps[0]] }, { params: [ps[1]], lrDecay: 0.01 }])],
  ['SGD', (ps) => new SGD([{ params: [ps[0]] }, { params: [ps[1]], momentum: 0.9 }], { lr: 0.1 })],
  ['Adam', (ps) => new Adam([{ params: [ps[0]] }, { params: [ps[1]], amsgrad: true }])],
  ['AdamW', (ps) => new AdamW([{ params: [ps[0]] }, { params: [ps[1]], amsgrad: true }])],
], ([name]) => name === 'Adagrad' || name === 'SGD');

function run(make: (params: Parameter[], threads: number) => Stepping, options: { threads?: number; async?: boolean }, steps = 3): Promise<string> | string {
  const small = Array.from({ length: 120 }, (_, i) => 1 + ((i * 37) % 300));
  const sizes = [300_001, 17, ...small, 200_000, 5, 131_072, ...small];
  const params = sizes.map((n, k) =>
    k % 2 ? new Parameter(Float64Array.from(randomF32(n, k))) : new Parameter(randomF32(n, k)));
  const opt = make(params, options.threads ?? 0);
  const setGrads = (s: number) =>
    params.forEach((p, k) => (p.grad = p.data instanceof Float64Array ? Float64Array.from(randomF32(p.numel, 10 * s + k)) : randomF32(p.numel, 10 * s + k)));
  const digest = () => params.map((p) => require('node:crypto').createHash('sha256').update(bytesOf(p.data)).digest('hex')).join();
  if (!options.async) {
    for (let s = 0; s < steps; s++) {
      setGrads(s);
      opt.step();
    }
    return digest();
  }
  return (async () => {
    for (let s = 0; s < steps; s++) {
      setGrads(s);
      await opt.stepAsync();
    }
    return digest();
  })();
}

describe('threads and stepAsync', () => {
  afterEach(resetBackend);

  it(`gives the same bits for any thread count, on every backend (${OPTIMIZERS.map((o) => o[0]).join(', ')})`, () => {
    for (const backend of everyBackend().filter((b) => b.label !== 'js')) {
      backend.use();
      for (const [name, make] of OPTIMIZERS) {
        const one = run(make, { threads: 1 });
        for (const threads of [2, 3, 7]) expect(run(make, { threads }), `${backend.label} ${name} threads=${threads}`).to.equal(one);
      }
    }
  });

  it('rejects a thread count that is not a whole number in [0, 1024]', () => {
    const p = new Parameter(new Float32Array(2));
    expect(() => new RMSprop([p], { threads: -1 })).to.throw(RangeError, /Invalid thread count: -1/);
    expect(() => new RMSprop([p], { threads: 1.5 })).to.throw(RangeError, /threads must be an integer/);
  });

  it(`stepAsync gives the bits of step, on every backend (${OPTIMIZERS.map((o) => o[0]).join(', ')})`, async () => {
    for (const backend of everyBackend()) {
      backend.use();
      if (backend.label === 'js') continue; // the JS backend is covered by the equality of backends
      for (const [name, make] of OPTIMIZERS) expect(await run(make, { async: true }), `${backend.label} ${name}`).to.equal(run(make, {}));
    }
  });

  it('locks the optimizer while stepAsync runs, and unlocks it after', async () => {
    const w = new Parameter(randomF32(1 << 20, 1));
    const opt = new RMSprop([w], { momentum: 0.9 });
    w.grad = randomF32(1 << 20, 2);
    const dict = opt.stateDict();
    const pending = opt.stepAsync();
    expect(() => opt.step()).to.throw(Error, /step\(\) called while stepAsync\(\) is still running/);
    expect(() => opt.zeroGrad()).to.throw(Error, /zeroGrad\(\) called while stepAsync/);
    expect(() => opt.loadStateDict(dict)).to.throw(Error, /loadStateDict\(\) called while stepAsync/);
    expect(() => opt.stateDict()).to.throw(Error, /stateDict\(\) called while stepAsync/); // its state is being written
    expect(() => opt.addParamGroup({ params: [new Parameter(new Float32Array(1))] })).to.throw(Error, /addParamGroup/);
    const second = await opt.stepAsync().then(() => 'resolved', (e: Error) => e.message);
    expect(second).to.match(/stepAsync\(\) called while stepAsync\(\) is still running/);
    await pending;
    expect(opt.state.get(w)!.step).to.equal(1);
    opt.step();
    expect(opt.state.get(w)!.step).to.equal(2);
  });

  it('stays locked until every group started has finished, when one group fails to start', async function () {
    if (!backendInfo().nativeLoaded) this.skip(); // the JS backend's async step is done when it starts
    // The native group's second stepAsync throws: it stands for any error in starting a group's step.
    const proto = require(addonFile()).ParamGroup.prototype;
    const original = proto.stepAsync;
    let started = 0;
    proto.stepAsync = function (this: unknown, threads: number) {
      if (started++ === 1) throw new Error('cannot start');
      return original.call(this, threads);
    };
    const big = new Parameter(randomF32(1 << 22, 1));
    const small = new Parameter(randomF32(4, 2));
    const opt = new RMSprop([{ params: [big] }, { params: [small] }], { threads: 1 });
    big.grad = randomF32(1 << 22, 3);
    small.grad = randomF32(4, 4);
    let failure: string;
    try {
      failure = await opt.stepAsync().then(() => 'resolved', (e: Error) => e.message);
    } finally {
      proto.stepAsync = original;
    }
    expect(failure).to.equal('cannot start');
    // Group 0's step ran to its end before the promise settled: its native group is free again.
    expect(() => opt.step()).to.not.throw();
  });

  it(`refuses every call that would touch its arrays while stepAsync runs, changing nothing (every backend: ${LOCKED.map((m) => m[0]).join(', ')})`, async () => {
    const n = 1 << 18;
    for (const backend of everyBackend()) {
      backend.use();
      for (const [name, make] of LOCKED) {
        const run = async (disturb: boolean) => {
          const ps = [new Parameter(randomF32(n, 1)), new Parameter(Float64Array.from(randomF32(n, 2)))];
          const opt = make(ps);
          for (let s = 0; s < 2; s++) {
            ps[0].grad = randomF32(n, 10 + s);
            ps[1].grad = Float64Array.from(randomF32(n, 20 + s));
            const dict = opt.stateDict();
            const pending = opt.stepAsync();
            if (disturb) {
              const label = `${backend.label} ${name}`;
              expect(() => opt.stateDict(), label).to.throw(Error, /stateDict\(\) called while stepAsync/);
              expect(() => opt.step(), label).to.throw(Error, /step\(\) called while stepAsync\(\) is still running/);
              expect(() => opt.zeroGrad(), label).to.throw(Error, /zeroGrad\(\) called while stepAsync/);
              expect(() => opt.zeroGrad(false), label).to.throw(Error, /zeroGrad\(\) called while stepAsync/);
              expect(() => opt.loadStateDict(dict), label).to.throw(Error, /loadStateDict\(\) called while stepAsync/);
              expect(() => opt.addParamGroup({ params: [new Parameter(new Float32Array(1))] }), label).to.throw(Error, /addParamGroup\(\) called while stepAsync/);
              const again = await opt.stepAsync().then(() => 'resolved', (e: Error) => e.message);
              expect(again, label).to.match(/stepAsync\(\) called while stepAsync\(\) is still running/);
              expect(ps[0].grad, `${label}: grads kept`).to.not.equal(null);
            }
            await pending;
          }
          return ps.map((p) => bytesOf(p.data).toString('base64')).join() + JSON.stringify(opt.stateDict().param_groups);
        };
        expect(await run(true), `${backend.label} ${name}: refused calls changed nothing`).to.equal(await run(false));
      }
    }
  });

  it('keeps the event loop free while a large step runs', async function () {
    if (!backendInfo().nativeLoaded) this.skip();
    const w = new Parameter(randomF32(1 << 23, 3));
    w.grad = randomF32(1 << 23, 4);
    const opt = new RMSprop([w], { momentum: 0.9, centered: true, threads: 1 });
    const order: string[] = [];
    const step = opt.stepAsync().then(() => order.push('step'));
    setImmediate(() => order.push('immediate'));
    await step;
    expect(order).to.deep.equal(['immediate', 'step']);
  });

  // A process ending mid-step, by exit() or an uncaught exception: a crash test, in the full suite.
  itFull('exits cleanly when the process ends during an async step', function () {
    if (!backendInfo().nativeLoaded) this.skip();
    // Several groups and threads in flight; the process ends by exit() or by
    // an uncaught exception, and must neither crash nor hang.
    const start = `
      const { Adagrad, Parameter, RMSprop } = require('./lib');
      const big = () => { const p = new Parameter(new Float32Array(1 << 23).fill(1)); p.grad = new Float32Array(1 << 23).fill(0.5); return p; };
      const rms = new RMSprop([{ params: [big()] }, { params: [big()], momentum: 0.9, centered: true, threads: 2 }]);
      const ada = new Adagrad([big()]);
      rms.stepAsync();
      ada.stepAsync();`;
    const endings: [string, number, RegExp][] = [
      ['setImmediate(() => process.exit(0));', 0, /^$/],
      ['process.exit(3);', 3, /^$/],
      ["setImmediate(() => { throw new Error('boom mid-step'); });", 1, /boom mid-step/],
    ];
    for (const [end, status, stderr] of endings) {
      for (let i = 0; i < 2; i++) {
        const r = spawnSync(process.execPath, ['--import', 'tsx', '-e', start + end], { cwd: root, encoding: 'utf8', timeout: 60_000 });
        expect(r.signal, `${end}: ${r.stderr}`).to.equal(null);
        expect(r.status, `${end}: ${r.stderr}`).to.equal(status);
        expect(r.stderr.trim(), end).to.match(stderr);
      }
    }
  });
});
