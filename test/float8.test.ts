// The float8 decoder `simd-optim inspect` uses: every bit pattern of the four
// formats against PyTorch 2.6's own conversion, and a few landmarks without it.
import { expect } from 'chai';
import { float8ToNumber, type Float8DType } from '../lib/core/float8';
import { Parameter, RMSprop, type TensorRecord } from '../lib';
import { oracleFor } from './torch/python';

const FORMATS: Float8DType[] = ['float8_e4m3fn', 'float8_e5m2', 'float8_e4m3fnuz', 'float8_e5m2fnuz'];

describe('float8 bit patterns', () => {
  it('decode the landmarks of each format', () => {
    const cases: [Float8DType, number, number][] = [
      ['float8_e4m3fn', 0x7e, 448], ['float8_e4m3fn', 0x7f, NaN], ['float8_e4m3fn', 0x01, 2 ** -9], ['float8_e4m3fn', 0x80, -0],
      ['float8_e5m2', 0x7b, 57344], ['float8_e5m2', 0x7c, Infinity], ['float8_e5m2', 0x7d, NaN], ['float8_e5m2', 0x01, 2 ** -16],
      ['float8_e4m3fnuz', 0x7f, 240], ['float8_e4m3fnuz', 0x80, NaN], ['float8_e4m3fnuz', 0x01, 2 ** -10],
      ['float8_e5m2fnuz', 0x7f, 57344], ['float8_e5m2fnuz', 0x80, NaN], ['float8_e5m2fnuz', 0x01, 2 ** -17],
    ];
    for (const [dtype, bits, want] of cases) expect(float8ToNumber(bits, dtype), `${dtype} 0x${bits.toString(16)}`).to.deep.equal(want);
  });

  it('decode all 256 patterns of each format as PyTorch 2.6 does', function () {
    const oracle = oracleFor(this, 'torch-2.6');
    const script = `
import json, sys, torch
out = {}
for name in json.load(sys.stdin):
    values = torch.arange(256, dtype=torch.uint8).view(getattr(torch, name)).double().tolist()
    out[name] = [repr(v) for v in values]
print(json.dumps(out))`;
    const want = oracle.run(script, FORMATS) as Record<Float8DType, string[]>;
    const py = (x: number): string => (Number.isNaN(x) ? 'nan' : x === Infinity ? 'inf' : x === -Infinity ? '-inf' : Object.is(x, -0) ? '-0.0' : '');
    for (const dtype of FORMATS) {
      want[dtype].forEach((text, bits) => {
        const got = float8ToNumber(bits, dtype);
        const same = py(got) !== '' ? py(got) === text : Number(text) === got && text !== '-0.0';
        expect(same, `${dtype} 0x${bits.toString(16)}: PyTorch ${text}, decoded ${got}`).to.equal(true);
      });
    }
  });

  it('a float8 step in a state dict loads as its value, not its bits', () => {
    const p = new Parameter(new Float32Array(3));
    p.grad = new Float32Array([1, 2, 3]);
    const opt = new RMSprop([p]);
    opt.step();
    const sd = opt.stateDict();
    sd.state[0].step = { dtype: 'float8_e4m3fn', shape: [], data: Uint8Array.of(0x40) }; // 2.0
    opt.loadStateDict(sd);
    const step = opt.stateDict().state[0].step as number | TensorRecord;
    expect(typeof step === 'number' ? step : Number(step.data[0])).to.equal(2);
  });
});
