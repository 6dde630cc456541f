// The committed PyTorch fixtures, cut down to what the C++ kernel test
// (native/test/fixture_test.cc) needs to check each ISA's kernels, NEON under
// qemu included, against PyTorch's own bits without Node:
//   npx tsx test/torch/make-kernel-fixtures.ts
// writes test/fixtures/kernel-cases.bin; test/kernel-fixtures.test.ts fails
// when that file is not what this script makes from the current fixtures.
//
// One record per tensor of a case in test/torch/optim-cases.ts whose final
// bits the fixture stores in full (it keeps arrays over 3 KiB as SHA-256
// digests; those larger tensors are checked against the scalar kernels by
// native/test/kernel_test.cc). Empty tensors are left out: they cannot fail.
//
// Layout, little-endian:
//   "SOKF", u32 version (1), u32 record count, then each record:
//   u16 name length, name (UTF-8)
//   u8 algorithm (0 RMSprop, 1 Adagrad), u8 dtype (0 float32, 1 float64)
//   u32 n (elements), u32 calls (the steps in which the tensor had a grad)
//   param[n], then the initial state arrays [n] each, in kernel role order
//     (RMSprop: square_avg, momentum_buffer, grad_avg; Adagrad: sum)
//   per call: the hyperparameters as the addon hands them to the kernel
//     (RMSprop: f64 lr, alpha, eps, weight_decay, momentum;
//      Adagrad: f64 clr, eps, weight_decay, with clr = lr / (1 + (step-1) * lr_decay)
//      computed here as lib/adagrad.ts does), u8 flags (1 centered, 2 maximize),
//     then grad[n]
//   u8 expectation count, then per PyTorch version:
//     u16 label length, label; u8 lerp_grad_avg (1 for 2.x, 0 for 1.13);
//     u8 mask (bit 0 param, bit 1+r state role r), then the masked arrays [n] each,
//     the bits PyTorch produced.
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as zlib from 'node:zlib';
import { Adagrad, Parameter, RMSprop, type FloatArray } from '../../lib';
import { cases, fixtureFile, inputsDigest, request, type Case } from './optim-cases';

export const kernelFixtureFile = path.join(__dirname, '..', 'fixtures', 'kernel-cases.bin');

const FORMAT_VERSION = 1;
const ROLES = { RMSprop: ['square_avg', 'momentum_buffer', 'grad_avg'], Adagrad: ['sum'] } as const;
const CAMEL: Record<string, string> = {
  weight_decay: 'weightDecay', lr_decay: 'lrDecay', initial_accumulator_value: 'initialAccumulatorValue',
};
const camel = (o: Record<string, unknown>) => Object.fromEntries(Object.entries(o).map(([k, v]) => [CAMEL[k] ?? k, v]));

interface FixtureCase {
  name: string;
  params: string[];
  state: Record<string, Record<string, unknown>>;
}
interface FixtureResult {
  torch: string;
  cases: FixtureCase[];
}

/** Appends little-endian fields to a growing list of chunks. */
class Writer {
  private readonly chunks: Buffer[] = [];
  u8(v: number) { this.chunks.push(Buffer.from([v])); }
  u16(v: number) { const b = Buffer.alloc(2); b.writeUInt16LE(v); this.chunks.push(b); }
  u32(v: number) { const b = Buffer.alloc(4); b.writeUInt32LE(v); this.chunks.push(b); }
  f64(v: number) { const b = Buffer.alloc(8); b.writeDoubleLE(v); this.chunks.push(b); }
  text(s: string) { const b = Buffer.from(s, 'utf8'); this.u16(b.length); this.chunks.push(b); }
  bytes(b: Buffer) { this.chunks.push(b); }
  array(a: FloatArray) { this.chunks.push(Buffer.from(a.buffer, a.byteOffset, a.byteLength)); }
  done(): Buffer { return Buffer.concat(this.chunks); }
}

const isFull = (s: unknown): s is string => typeof s === 'string' && !s.startsWith('sha256:');

/** The optimizer of a case as lib makes it, for its resolved hyperparameters and initial state. */
function optimizerFor(c: Case, params: Parameter[]): RMSprop | Adagrad {
  const groups = c.groups.map((g) => ({ ...camel(g), params: (g.params as number[]).map((i) => params[i]) }));
  return c.optimizer === 'RMSprop' ? new RMSprop(groups as never, camel(c.defaults)) : new Adagrad(groups as never, camel(c.defaults));
}

function writeRecord(w: Writer, c: Case, tensor: number, results: FixtureResult[]): void {
  const req = request(c);
  const decode = (s: string): FloatArray => {
    const copy = new Uint8Array(Buffer.from(s, 'base64')).buffer;
    return c.dtype === 'float32' ? new Float32Array(copy) : new Float64Array(copy);
  };
  const params = req.params.map((p) => new Parameter(decode(p)));
  const opt = optimizerFor(c, params);
  const p = params[tensor];
  const n = p.numel;
  const group = opt.paramGroups.findIndex((g) => g.params.includes(p));
  const roles = ROLES[c.optimizer];
  const calls = req.steps.map((s, i) => ({ grad: s.grads[tensor], step: i })).filter((s) => s.grad !== null);

  w.text(`${c.name} / param ${tensor}`);
  w.u8(c.optimizer === 'RMSprop' ? 0 : 1);
  w.u8(c.dtype === 'float32' ? 0 : 1);
  w.u32(n);
  w.u32(calls.length);
  w.array(p.data);
  // RMSprop's state starts zeroed; Adagrad's sum as the constructor filled it.
  const initial = opt.state.get(p);
  for (const role of roles) w.array((initial?.[role] as FloatArray | undefined) ?? new (p.data.constructor as Float32ArrayConstructor)(n));

  calls.forEach(({ grad, step }, k) => {
    const g = opt.paramGroups[group] as unknown as Record<string, number | boolean>;
    const lr = c.lrFrom && step >= c.lrFrom.step ? c.lrFrom.lr[group] : (g.lr as number);
    if (c.optimizer === 'RMSprop') {
      for (const v of [lr, g.alpha, g.eps, g.weightDecay, g.momentum]) w.f64(v as number);
      w.u8((g.centered ? 1 : 0) | (g.maximize ? 2 : 0));
    } else {
      // The tensor's own step count, from 1, as PyTorch has it after its += 1.
      for (const v of [lr / (1 + k * (g.lrDecay as number)), g.eps, g.weightDecay]) w.f64(v as number);
      w.u8(g.maximize ? 2 : 0);
    }
    w.array(decode(grad!));
  });

  w.u8(results.length);
  for (const r of results) {
    const got = r.cases.find((e) => e.name === c.name)!;
    const state = got.state[String(tensor)] as Record<string, string | number> | undefined;
    if ((state?.step ?? 0) !== calls.length) {
      throw new Error(`${c.name} param ${tensor}: torch ${r.torch} took ${state?.step} steps, the inputs have ${calls.length}`);
    }
    w.text(`torch ${r.torch}`);
    w.u8(r.torch.startsWith('1.13') ? 0 : 1);
    const arrays = [got.params[tensor], ...roles.map((role) => state?.[role] as string | undefined)];
    w.u8(arrays.reduce<number>((mask, a, i) => (a === undefined ? mask : mask | (1 << i)), 0));
    for (const a of arrays) if (a !== undefined) w.bytes(Buffer.from(a, 'base64'));
  }
}

/** Whether every expected array of this tensor is stored in full, in every result. */
function storedInFull(c: Case, tensor: number, results: FixtureResult[]): boolean {
  return results.every((r) => {
    const got = r.cases.find((e) => e.name === c.name);
    if (!got) throw new Error(`the fixture of torch ${r.torch} has no case '${c.name}'`);
    const state = got.state[String(tensor)] ?? {};
    return isFull(got.params[tensor]) && ROLES[c.optimizer].every((role) => state[role] === undefined || isFull(state[role]));
  });
}

/** The bytes of test/fixtures/kernel-cases.bin, made from the committed PyTorch fixtures. */
export function makeKernelFixtures(): Buffer {
  const fixtures = JSON.parse(zlib.gunzipSync(fs.readFileSync(fixtureFile)).toString());
  if (fixtures.inputs !== inputsDigest()) throw new Error('stale PyTorch fixtures: npx tsx test/torch/make-optim-fixtures.ts');
  const results = [...(fixtures.results as FixtureResult[])].sort((a, b) => a.torch.localeCompare(b.torch));
  const records = new Writer();
  let count = 0;
  for (const c of cases) {
    c.sizes.forEach((n, tensor) => {
      if (n === 0 || !storedInFull(c, tensor, results)) return;
      writeRecord(records, c, tensor, results);
      count++;
    });
  }
  const header = new Writer();
  header.bytes(Buffer.from('SOKF', 'latin1'));
  header.u32(FORMAT_VERSION);
  header.u32(count);
  return Buffer.concat([header.done(), records.done()]);
}

if (require.main === module) {
  const bytes = makeKernelFixtures();
  fs.writeFileSync(kernelFixtureFile, bytes);
  console.log(`wrote ${path.relative(process.cwd(), kernelFixtureFile)} (${bytes.length} bytes)`);
}
