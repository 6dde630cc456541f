// The worked example (examples/train-resume.ts): killed and resumed, it ends
// with the bits of an uninterrupted run. And a hand-off with PyTorch 2.6: a
// checkpoint PyTorch wrote (model, AdamW, a warmup + cosine SequentialLR,
// an AveragedModel EMA) goes on in Node with PyTorch's recorded gradients
// (a TypeScript backward pass cannot give ATen's bits), step by step equal,
// and back to PyTorch, which ends where its own uninterrupted run ended.
import { expect } from 'chai';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import {
  AdamW,
  clipGradsWithNorm,
  CosineAnnealingLR,
  EMA,
  LinearLR,
  loadTorch,
  ModelState,
  saveTorch,
  SequentialLR,
  type StateDict,
  type TensorRecord,
} from '../lib';
import { parseHexFloat } from './torch/clip-cases';
import { oracleFor } from './torch/python';

const root = path.resolve(__dirname, '..');

function example(...args: string[]) {
  return spawnSync(process.execPath, ['--import', 'tsx', 'examples/train-resume.ts', ...args], { cwd: root, encoding: 'utf8' });
}

const digestOf = (stdout: string) => /sha256 ([0-9a-f]{64})/.exec(stdout)?.[1];

interface Checkpoint {
  step: number;
  model_state_dict: Record<string, TensorRecord>;
  optimizer_state_dict: StateDict;
  scheduler_state_dict: Record<string, unknown>;
  ema_state_dict: Record<string, unknown>;
  loss: number;
}

interface Recorded {
  grads: string[];
  norm: string;
  state: { params: string[]; ema: string[]; lr: string; exp_avg_sq: string[] };
}

describe('the worked example: train, checkpoint, kill, resume', function () {
  this.timeout(300_000);

  it('resumed after a SIGKILL, ends with the bits of a run never interrupted', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'train-resume-'));
    try {
      const straight = example('--steps', '200', '--every', '40', '--dir', path.join(dir, 'a'));
      expect(straight.status, straight.stderr).to.equal(0);
      const killed = example('--steps', '200', '--every', '40', '--dir', path.join(dir, 'b'), '--kill-at', '130');
      expect(killed.signal, 'killed at step 130, past the checkpoint of step 120').to.equal('SIGKILL');
      expect(killed.stdout).to.include('step 120:');
      expect(killed.stdout).to.not.include('done');
      const resumed = example('--steps', '200', '--every', '40', '--dir', path.join(dir, 'b'), '--resume');
      expect(resumed.status, resumed.stderr).to.equal(0);
      expect(resumed.stdout, 'from the checkpoint of step 120').to.not.include('step 120:');
      expect(resumed.stdout).to.include('step 160:');
      expect(digestOf(resumed.stdout)).to.be.a('string').and.equal(digestOf(straight.stdout));
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('continues a PyTorch 2.6 checkpoint with its gradients, step by step equal, and PyTorch continues from Node', async function () {
    const oracle = oracleFor(this, 'torch-2.6');
    const script = fs.readFileSync(path.join(__dirname, 'torch', 'train_oracle.py'), 'utf8');
    const dir = oracle.tempDir();
    try {
      const warm = 30;
      const inNode = 40;
      const start = oracle.run(script, { mode: 'start', warm, file: path.posix.join(dir.python, 'torch.pt') }) as { steps: number; recorded: Recorded[] };
      const ckpt = await loadTorch<Checkpoint>(path.join(dir.host, 'torch.pt'));
      const model = new ModelState(ckpt.model_state_dict);
      const opt = AdamW.fromStateDict(model, ckpt.optimizer_state_dict);
      const warmup = new LinearLR(opt, { startFactor: 0.1, totalIters: 20 });
      const cosine = new CosineAnnealingLR(opt, { tMax: start.steps - 20, etaMin: 1e-4 });
      const sched = new SequentialLR(opt, { schedulers: [warmup, cosine], milestones: [20] });
      const ema = new EMA(new Map(model.namedParameters()), { decay: 0.99 });
      opt.loadStateDict(ckpt.optimizer_state_dict);
      sched.loadStateDict(ckpt.scheduler_state_dict);
      ema.loadStateDict(ckpt.ema_state_dict);
      const b64 = (a: ArrayBufferView) => Buffer.from(a.buffer, a.byteOffset, a.byteLength).toString('base64');
      for (let k = 0; k < inNode; k++) {
        const step = start.recorded[k];
        model.parameters.forEach((p, i) => (p.grad = new Float32Array(new Uint8Array(Buffer.from(step.grads[i], 'base64')).buffer)));
        clipGradsWithNorm(model.parameters, 1.0, parseHexFloat(step.norm));
        opt.step();
        sched.step();
        ema.update();
        const label = `step ${warm + k + 1}`;
        expect(model.parameters.map((p) => b64(p.data)), `${label}: params`).to.deep.equal(step.state.params);
        expect(ema.params.map((p) => b64(p.data)), `${label}: EMA`).to.deep.equal(step.state.ema);
        expect(opt.paramGroups[0].lr, `${label}: lr`).to.equal(parseHexFloat(step.state.lr));
        expect(model.parameters.map((p) => b64(opt.state.get(p)!.exp_avg_sq as Float32Array)), `${label}: exp_avg_sq`).to.deep.equal(step.state.exp_avg_sq);
      }
      await saveTorch({
        step: warm + inNode,
        model_state_dict: model.stateDict(),
        optimizer_state_dict: opt.stateDict(),
        scheduler_state_dict: sched.stateDict(),
        ema_state_dict: ema.stateDict(),
        loss: 0,
      }, path.join(dir.host, 'node.pt'));
      const back = oracle.run(script, { mode: 'resume', file: path.posix.join(dir.python, 'node.pt') });
      expect(back, 'PyTorch from Node\'s checkpoint ends where its uninterrupted run ended').to.deep.equal(start.recorded[start.recorded.length - 1].state);
    } finally {
      fs.rmSync(dir.host, { recursive: true, force: true });
    }
  });
});
