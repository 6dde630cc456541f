// The pickle writer's integers at each opcode's boundary (BININT1 holds
// 0..255, BININT2 to 65535, BININT to 2^31 - 1, LONG1 beyond), -0 as a float,
// and where a safetensors file's data starts. A 1.13-form RMSprop dict after
// 256 steps, or one with a param index of 256, is where a user meets the first.
import { expect } from 'chai';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { loadTorch, Parameter, RMSprop, saveSafetensors, torchBytes, type StateDict } from '../lib';

describe('IO: values at the encodings\' boundaries', () => {
  it('ints round-trip at every opcode boundary, and -0 stays a float -0', async () => {
    const ints = [0, 1, 255, 256, 257, 65535, 65536, -1, -128, -129, 2 ** 31 - 1, 2 ** 31, -(2 ** 31), -(2 ** 31) - 1, 2 ** 40, -(2 ** 40)];
    const value = { ints, negZero: -0, half: 0.5 };
    const back = await loadTorch<{ ints: (number | bigint)[]; negZero: number; half: number }>(await torchBytes(value));
    expect(back.ints.map(Number)).to.deep.equal(ints);
    expect(Object.is(back.negZero, -0), `negZero came back as ${String(back.negZero)}`).to.equal(true);
    expect(back.half).to.equal(0.5);
  });

  it('a 1.13 RMSprop state dict after 256 steps, with 300 params, loads back as it was', async () => {
    const params = Array.from({ length: 300 }, () => new Parameter(new Float32Array(1)));
    const opt = new RMSprop(params, { compat: '1.13' });
    for (let t = 0; t < 256; t++) {
      params.forEach((p) => (p.grad = new Float32Array([1])));
      opt.step();
    }
    const dict = opt.stateDict();
    const back = await loadTorch<StateDict>(await torchBytes(dict, { form: '1.13' }));
    expect(Number(back.state[0].step)).to.equal(256);
    expect(back.param_groups[0].params.map(Number)).to.deep.equal(dict.param_groups[0].params);
  });

  it("saveSafetensors starts the data 8-byte aligned, as the reference does", async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'st-align-'));
    try {
      for (let extra = 0; extra < 8; extra++) {
        const file = path.join(dir, `a${extra}.safetensors`);
        await saveSafetensors({ ['w' + 'x'.repeat(extra)]: { dtype: 'float32', shape: [2], data: new Float32Array([1, 2]) } }, file);
        const bytes = fs.readFileSync(file);
        const headerLength = Number(bytes.readBigUInt64LE(0));
        expect((8 + headerLength) % 8, `name length ${extra + 1}`).to.equal(0);
      }
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
