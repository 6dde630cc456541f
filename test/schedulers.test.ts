// The LR schedulers against real PyTorch, bit for bit over 1,000+ steps:
// live against PyTorch 2.6 and 1.13 when installed (CI installs both), and
// against the committed fixtures everywhere; resumed through state dicts,
// in Node and across torch.save files both ways. Cases: test/torch/sched-cases.ts.
import { expect } from 'chai';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as zlib from 'node:zlib';
import { loadTorch, MultiStepLR, saveTorch, SGD, Parameter, torchBytes } from '../lib';
import { COUNTERS } from '../lib/core/python-values';
import { libm } from '../lib/engine/backend';
import { cos as referenceCos } from '../lib/reference/cos';
import { pow as referencePow } from '../lib/reference/pow';
import { quickSlice } from './helpers';
import {
  checkpointCases,
  checkpointDir,
  checkpointStep,
  schedCases,
  schedCheckpoint,
  schedFixtureFile,
  schedInputsDigest,
  schedOurs,
  schedRequest,
  schedResumed,
  schedScript,
  unpack,
  valuesDigest,
  type SchedAnswer,
  type SchedCase,
  type SchedCheckpoint,
  type SchedOracleAnswer,
} from './torch/sched-cases';
import { oracleFor } from './torch/python';

/** The values of the run, per group an lr and maybe a momentum, equal bit for bit; the first difference named. */
function sameValues(label: string, got: Float64Array, want: Float64Array): void {
  expect(got.length, `${label}: how many values`).to.equal(want.length);
  const i = want.findIndex((v, k) => !Object.is(v, got[k]));
  if (i >= 0) expect.fail(`${label}: value ${i}: ${got[i]} (ours) vs ${want[i]} (PyTorch)`);
}

function answerOf(answer: SchedOracleAnswer, c: SchedCase): SchedAnswer {
  const a = answer.cases.find((x) => x.name === c.name);
  expect(a, `an answer for ${c.name}`).to.not.equal(undefined);
  return a!;
}

function fixtures(): SchedOracleAnswer[] {
  return JSON.parse(zlib.gunzipSync(fs.readFileSync(schedFixtureFile)).toString()).results;
}

/** Runs `fn` with the pure-JS backend's cos and pow, as without the addon. */
function withReferenceMath<T>(fn: () => T, onDiffer: () => void): T {
  const native = { ...libm };
  libm.cos = (x) => {
    const r = referenceCos(x);
    if (!Object.is(r, native.cos(x))) onDiffer();
    return r;
  };
  libm.pow = (x, y) => {
    const r = referencePow(x, y);
    if (!Object.is(r, native.pow(x, y))) onDiffer();
    return r;
  };
  try {
    return fn();
  } finally {
    Object.assign(libm, native);
  }
}

/** One case of each scheduler in npm test; every case in the full suite. */
const firstOfKind = (c: SchedCase) => schedCases.find((k) => k.scheduler.kind === c.scheduler.kind) === c;
const liveCases = quickSlice(schedCases, firstOfKind);

describe('LR schedulers: bit-exact with PyTorch', function () {
  this.timeout(300_000);

  it('match the committed fixtures of PyTorch 2.6 on every case, straight and resumed through state dicts mid-run', () => {
    const file = JSON.parse(zlib.gunzipSync(fs.readFileSync(schedFixtureFile)).toString());
    expect(file.inputs, 'fixtures made from the current case list (npx tsx test/torch/make-sched-fixtures.ts)').to.equal(schedInputsDigest());
    const torch26 = fixtures().find((r) => r.torch.startsWith('2.6'))!;
    for (const c of schedCases) {
      const want = unpack(answerOf(torch26, c).values);
      sameValues(c.name, unpack(schedOurs(c).values), want);
      sameValues(`${c.name}, resumed at step ${c.steps >> 1}`, unpack(schedOurs(c, c.steps >> 1).values), want);
    }
  });

  it('give PyTorch 1.13 the same rates on every case it takes (it refuses CyclicLR with Adam)', () => {
    const torch113 = fixtures().find((r) => r.torch.startsWith('1.13'))!;
    const refused = schedCases.filter((c) => answerOf(torch113, c).error !== undefined);
    expect(refused.map((c) => c.name)).to.deep.equal(schedCases.filter((c) => c.scheduler.kind === 'CyclicLR' && c.optimizer === 'Adam').map((c) => c.name));
    for (const c of schedCases) {
      if (refused.includes(c)) continue;
      expect(valuesDigest(schedOurs(c).values), c.name).to.equal(answerOf(torch113, c).values);
    }
  });

  it('without the addon, equal PyTorch up to the first cos or pow that glibc rounds otherwise (correctly rounded ones in JS)', () => {
    const torch26 = fixtures().find((r) => r.torch.startsWith('2.6'))!;
    let differing = 0;
    for (const c of schedCases) {
      const want = unpack(answerOf(torch26, c).values);
      // The step during which a cos or pow first differs from glibc's (-1: the constructor's), if any.
      let step = -1;
      let firstDiffering: number | undefined;
      const got = unpack(withReferenceMath(() => schedOurs(c, undefined, (t) => (step = t)), () => (firstDiffering ??= step)).values);
      if (firstDiffering === undefined) {
        sameValues(`${c.name}, JS cos and pow`, got, want);
        continue;
      }
      differing++;
      // Values are recorded after the constructor and after each step: those before that step's must be equal.
      const width = want.length / (c.steps + 1);
      sameValues(`${c.name}, JS cos and pow, before step ${firstDiffering}`, got.subarray(0, (firstDiffering + 1) * width), want.subarray(0, (firstDiffering + 1) * width));
    }
    // glibc rounds otherwise about 1 cos in 600 and a few pow: a handful of the cases, not most.
    expect(differing, 'cases with a cos or pow that glibc rounds otherwise').to.be.within(1, 15);
  });

  it('resume from the committed checkpoints PyTorch 2.6 wrote mid-run (Counter, phases, inf, nested dicts), with its rates', async () => {
    const torch26 = fixtures().find((r) => r.torch.startsWith('2.6'))!;
    for (const { c, file } of checkpointCases()) {
      const checkpoint = await loadTorch<SchedCheckpoint>(path.join(checkpointDir, file));
      const want = unpack(answerOf(torch26, c).values);
      const at = checkpointStep(c);
      sameValues(`${c.name} from ${file}`, schedResumed(c, checkpoint, at), want.subarray((want.length / (c.steps + 1)) * at));
    }
  });

  it("keep MultiStepLR's milestones a collections.Counter from file to file", async () => {
    const file = path.join(checkpointDir, 'sched-multisteplr.pt');
    const loaded = await loadTorch<SchedCheckpoint>(file);
    const milestones = loaded.scheduler.milestones as Record<string, number>;
    expect(COUNTERS.has(milestones), 'loaded as a Counter').to.equal(true);
    expect(milestones).to.deep.equal({ 30: 1, 80: 2, 500: 1 });
    const written = Buffer.from(await torchBytes(loaded)).toString('latin1');
    expect(written, 'written back as a Counter').to.include('collections\nCounter');
    // A scheduler's own dict writes one too.
    const opt = new SGD([new Parameter(new Float64Array(1))], { lr: 0.1 });
    const dict = new MultiStepLR(opt, { milestones: [3, 3, 9] }).stateDict();
    expect(Buffer.from(await torchBytes(dict)).toString('latin1')).to.include('collections\nCounter');
    expect((await loadTorch<Record<string, unknown>>(Buffer.from(await torchBytes(dict)))).milestones).to.deep.equal({ 3: 2, 9: 1 });
  });

  it('write MultiStepLR state dicts that PyTorch 2.6 loads with weights_only=True as a Counter', async function () {
    const oracle = oracleFor(this, 'torch-2.6');
    const dir = oracle.tempDir();
    try {
      const opt = new SGD([new Parameter(new Float64Array(1))], { lr: 0.1 });
      await saveTorch(new MultiStepLR(opt, { milestones: [3, 3, 9] }).stateDict(), path.join(dir.host, 'm.pt'));
      const seen = oracle.run(
        'import json, sys, torch\nd = torch.load(json.load(sys.stdin), weights_only=True)\n' +
          "print(json.dumps([type(d['milestones']).__name__, sorted(d['milestones'].elements())]))",
        path.posix.join(dir.python, 'm.pt'),
      );
      expect(seen).to.deep.equal(['Counter', [3, 3, 9]]);
    } finally {
      fs.rmSync(dir.host, { recursive: true, force: true });
    }
  });

  for (const id of ['torch-2.6', 'torch-1.13'] as const) {
    it(`match live ${id} (${liveCases.length} of ${schedCases.length} cases)`, function () {
      const oracle = oracleFor(this, id);
      const answer = oracle.run(schedScript, { cases: liveCases.map((c) => schedRequest(c)) }) as SchedOracleAnswer;
      for (const c of liveCases) {
        const a = answerOf(answer, c);
        if (id === 'torch-1.13' && a.error !== undefined) {
          expect(a.error, c.name).to.match(/momentum/);
          continue;
        }
        sameValues(`${c.name}, torch ${answer.torch}`, unpack(schedOurs(c).values), unpack(a.values));
      }
    });
  }

  it('resume from a torch.save checkpoint PyTorch 2.6 wrote, and PyTorch 2.6 resumes from one Node wrote, with the same rates', async function () {
    const oracle = oracleFor(this, 'torch-2.6');
    const list = quickSlice(schedCases, firstOfKind);
    const dir = oracle.tempDir();
    try {
      const at = (c: SchedCase) => Math.floor(c.steps * 0.4);
      // PyTorch runs and saves at `at`; Node writes its own checkpoint at the same step.
      for (const c of list) await saveTorch(schedCheckpoint(c, at(c)), path.join(dir.host, `${list.indexOf(c)}-node.pt`));
      const file = (c: SchedCase, who: string) => `${list.indexOf(c)}-${who}.pt`;
      const straight = oracle.run(schedScript, {
        cases: list.map((c) => schedRequest(c, { save: { step: at(c), file: path.posix.join(dir.python, file(c, 'torch')) } })),
      }) as SchedOracleAnswer;
      const resumed = oracle.run(schedScript, {
        cases: list.map((c) => schedRequest(c, { resume: { step: at(c), file: path.posix.join(dir.python, file(c, 'node')) } })),
      }) as SchedOracleAnswer;
      for (const c of list) {
        const want = unpack(answerOf(straight, c).values);
        const tail = want.subarray((want.length / (c.steps + 1)) * at(c));
        const fromTorch = await loadTorch<SchedCheckpoint>(path.join(dir.host, file(c, 'torch')));
        sameValues(`${c.name}: Node resumed from PyTorch's checkpoint`, schedResumed(c, fromTorch, at(c)), tail);
        sameValues(`${c.name}: PyTorch resumed from Node's checkpoint`, unpack(answerOf(resumed, c).values), tail);
      }
    } finally {
      fs.rmSync(dir.host, { recursive: true, force: true });
    }
  });
});
