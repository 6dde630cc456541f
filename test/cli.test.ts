// The command line: `simd-optim inspect` and `simd-optim convert`, run as a
// user would (node dist/cli.js, the package's bin), on real PyTorch files.
import { expect } from 'chai';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { loadTorch, readSafetensors, saveTorch } from '../lib';
import { describeValue } from './torch/describe';
import { describeValue as describeFileValue } from '../lib/cli/inspect';

const cli = path.join(__dirname, '..', 'dist', 'cli.js');
const fixture = (version: string, name: string) => path.join(__dirname, 'fixtures', 'torch-files', version, name);

function run(...args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8' });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('simd-optim CLI', function () {
  this.timeout(30_000);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'simd-optim-cli-'));
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('inspect shows an optimizer dict: groups, hyperparameters, and each tensor with stats', () => {
    const r = run('inspect', fixture('torch-2.6', 'rmsprop.pt'));
    expect(r.status, r.stderr).to.equal(0);
    expect(r.stdout).to.include('optimizer state dict: 2 param group(s), state for 3 param(s)');
    // Which optimizer and PyTorch generation wrote each group, then its values as Python prints them.
    expect(r.stdout).to.match(/group 0: params \[0, 1\]\n  RMSprop, written by PyTorch 2.x\n  lr=0\.05  momentum=0 {2}alpha=0\.99 {2}eps=1e-08/);
    // PyTorch keeps the keys a group was given first (momentum, centered), then its defaults.
    expect(r.stdout).to.match(/group 1: params \[2\]\n  RMSprop, written by PyTorch 2.x\n  momentum=0\.9  centered=True  lr=0\.01 /);
    expect(r.stdout).to.match(/state 2:\n  step +float32 +\[\] += 3\n  square_avg +float32 +\[2, 4\] +min [-\d.e]+ +max /);
    expect(r.stdout).to.match(/grad_avg/);
  });

  it("inspect says where a dict does not tell its generation, and lines up long names", () => {
    const r = run('inspect', fixture('torch-1.13', 'rmsprop.pt'));
    expect(r.stdout).to.match(/RMSprop, by a PyTorch generation the dict does not tell \(PyTorch 1.13 and 2.0 to 2.3 write the same keys/);
    const long = 'encoder.layers.11.self_attention.in_proj_weight';
    const t = { dtype: 'float32', shape: [2], data: new Float32Array([1, 3]) };
    const lines = describeFileValue({ w: t, [long]: { ...t, data: new Float32Array([2, 2]) } });
    expect(lines[0].indexOf('float32'), 'the columns line up').to.equal(lines[1].indexOf('float32'));
    expect(lines[1].startsWith(long)).to.equal(true);
  });

  it('convert --key takes one entry of a checkpoint, and a mixed checkpoint keeps its numbers in __metadata__', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'convert-'));
    const weight = { dtype: 'float32', shape: [2, 2], data: new Float32Array([1, 2, 3, 4]) };
    const optimizer = { state: { 0: { step: 3, exp_avg: { dtype: 'float32', shape: [2, 2], data: new Float32Array(4) } } }, param_groups: [{ lr: 0.1, betas: [0.9, 0.999], params: [0] }] };
    const ckpt = path.join(dir, 'ckpt.pt');
    await saveTorch({ epoch: 5, model_state_dict: { '0.weight': weight }, optimizer_state_dict: optimizer, loss: 0.25, note: 'tutorial' }, ckpt);
    const whole = path.join(dir, 'whole.safetensors');
    expect(run('convert', ckpt, whole).status).to.equal(0);
    const file = await readSafetensors(whole);
    expect(Object.keys(file.tensors)).to.deep.equal(['model_state_dict.0.weight', 'optimizer_state_dict.state.0.exp_avg']);
    expect(file.metadata).to.include({ epoch: '5', loss: '0.25', note: '"tutorial"', 'optimizer_state_dict.state.0.step': '3',
      'optimizer_state_dict.param_groups.0.lr': '0.1', 'optimizer_state_dict.param_groups.0.betas': '[0.9,0.999]' });
    const model = path.join(dir, 'model.safetensors');
    expect(run('convert', ckpt, model, '--key', 'model_state_dict').status).to.equal(0);
    expect(Object.keys((await readSafetensors(model)).tensors)).to.deep.equal(['0.weight']);
    const missing = run('convert', ckpt, model, '--key', 'model');
    expect(missing.status).to.equal(2);
    expect(missing.stderr).to.match(/has no entry 'model'; its keys: epoch, model_state_dict, optimizer_state_dict, loss, note/);
  });

  it('inspect shows a model dict by tensor name', () => {
    const r = run('inspect', fixture('torch-1.13', 'model.pt'));
    expect(r.status, r.stderr).to.equal(0);
    expect(r.stdout).to.match(/^0\.weight +float32 +\[4, 3\] +min /m).and.to.match(/^2\.bias +float32 +\[2\] /m);
  });

  it('inspect prints a value met again once: a tensor (tied weights) with its stats, a list or dict by name', () => {
    // Python pickles an object once and refers to it after; loadTorch gives back the same object.
    const t = { dtype: 'float32', shape: [2], data: new Float32Array([1, 3]) };
    const block = { w: t, sizes: [3, 4] };
    const layers = [block, { bias: 0.5 }];
    const empty = {};
    expect(describeFileValue({ embed: t, head: t, a: block, b: block, layers, again: layers, e: empty, f: empty, '': 1, 'x.y': 2 })).to.deep.equal([
      'embed  float32  [2]             min 1  max 3  mean 2',
      'head   float32  [2]             min 1  max 3  mean 2  (the same tensor as embed)',
      'a.w    float32  [2]             min 1  max 3  mean 2  (the same tensor as embed)',
      'a.sizes = [3, 4]',
      'b = the same object as a',
      'layers[0] = the same object as a',
      'layers[1].bias = 0.5',
      'again = the same object as layers',
      'e = {}',
      'f = the same object as e',
      "[''] = 1",
      'x.y = 2',
    ]);
  });

  it('inspect stops after a million values', () => {
    // Each dict and its one number are two values: half a million lines, then the note.
    const lines = describeFileValue({ many: Array.from({ length: 1_000_001 }, () => ({ k: 1 })) });
    expect(lines).to.have.length(500_000);
    expect(lines.slice(-2)).to.deep.equal(['many[499998].k = 1', '... stopped after 1000000 values']);
  });

  for (const version of ['torch-1.13', 'torch-2.6']) {
    it(`convert ${version} .pt → .safetensors → .pt keeps every value and the file's PyTorch form, for every optimizer`, async () => {
      for (const name of ['rmsprop', 'adagrad', 'sgd', 'adam', 'adamw']) {
        const source = fixture(version, `${name}.pt`);
        const st = path.join(dir, `${version}-${name}.safetensors`);
        const back = path.join(dir, `${version}-${name}.pt`);
        for (const [from, to] of [[source, st], [st, back]]) {
          const r = run('convert', from, to);
          expect(r.status, r.stderr).to.equal(0);
          expect(r.stdout).to.include(`${from} → ${to}`);
        }
        expect(describeValue(await loadTorch(back)), name).to.deep.equal(describeValue(await loadTorch(source)));
        expect(run('inspect', st).stdout).to.include('safetensors file');
      }
    });
  }

  it('convert --form 1.13 writes steps as Python ints, the default keeps the 2.x tensors', async () => {
    const st = path.join(dir, 'opt26.safetensors');
    expect(run('convert', fixture('torch-2.6', 'rmsprop.pt'), st).status).to.equal(0);
    for (const [form, type] of [['1.13', 'number'], [undefined, 'object']] as const) {
      const out = path.join(dir, `opt-${form ?? 'default'}.pt`);
      const r = run('convert', st, out, ...(form ? ['--form', form] : []));
      expect(r.status, r.stderr).to.equal(0);
      const sd = await loadTorch<{ state: Record<string, { step: unknown }> }>(out);
      expect(typeof sd.state[0].step, `step with --form ${form}`).to.equal(type);
    }
  });

  const mistakes: Array<[string, string[], RegExp]> = [
    ['a missing file', ['inspect', '/nonexistent/x.pt'], /no such file: \/nonexistent\/x\.pt/],
    ['a legacy file', ['inspect', fixture('torch-2.6', 'legacy.pt')], /legacy torch\.save format/],
    ['an output of unknown format', ['convert', fixture('torch-2.6', 'model.pt'), 'out.txt'], /cannot tell the output format from 'out\.txt'/],
    ['a bad --form', ['convert', fixture('torch-2.6', 'model.pt'), 'x.pt', '--form', '3.0'], /--form must be 2\.x or 1\.13, got '3\.0'/],
    ['an unknown option', ['inspect', '--colour', 'x.pt'], /unknown option --colour/],
    ['an unknown command', ['inpsect', 'x.pt'], /unknown command 'inpsect'/],
    ['an output in a missing folder', ['convert', fixture('torch-2.6', 'model.pt'), '/nonexistent/out.pt'], /cannot write \/nonexistent\/out\.pt: ENOENT/],
    ['a folder to inspect', ['inspect', os.tmpdir()], /cannot read .*: EISDIR \(a directory\)/],
    ['an unusable --out for the demo', ['demo', '--quick', '--out', '/proc/self/status/x'], /cannot use --out \/proc\/self\/status\/x/],
  ];
  for (const [what, args, message] of mistakes) {
    it(`exits with status 2 and one clear line for ${what}`, () => {
      const r = run(...args);
      expect(r.status).to.equal(2);
      expect(r.stderr).to.match(message);
      expect(r.stderr).not.to.match(/\n\s+at /); // no stack trace
    });
  }
});
