// The committed PyTorch fixtures, cut down to what the C++ kernel test
// (native/test/fixture_test.cc) needs to check each ISA's kernels, NEON under
// qemu included, against PyTorch's own bits without Node:
//   npx tsx test/torch/make-kernel-fixtures.ts
// writes test/fixtures/kernel-cases.bin.gz (scripts/native-tests.sh unpacks
// it for the test); test/kernel-fixtures.test.ts fails when that file does
// not hold what this script makes from the current fixtures.
//
// One record per tensor of a case in test/torch/optim-cases.ts whose final
// bits the fixture stores in full (it keeps arrays over 3 KiB as SHA-256
// digests; those larger tensors are checked against the scalar kernels by
// native/test/kernel_test.cc), and whose grads over the run are not too many
// (MAX_GRAD_ELEMENTS). Empty tensors are left out: they cannot fail.
// The records know no algorithm: each call carries the hyperparameter array
// and the tensor's scalars as the optimizer's spec writes them for the
// kernel, so the C++ test replays any algorithm the same way.
//
// Layout, little-endian:
//   "SOKF", u32 version (2), u32 record count, then each record:
//   u16 name length, name (UTF-8)
//   u8 algorithm (the kernel's id), u8 dtype (0 float32, 1 float64)
//   u32 n (elements), u32 calls (the steps in which the tensor had a grad),
//   u8 state arrays, u8 hyperparameters, u8 scalars (the kernel's counts)
//   param[n], then the initial state arrays [n] each, in the kernel's order
//   grad[n] for each call
//   u8 expectation count, then per PyTorch version:
//     u16 label length, label; u8 1 when +0 and -0 count as equal (docs/spec/adam-arithmetic.md)
//     per call, as the spec writes them for that version: u8 1 if the
//       hyperparameters changed (always at the first call), then they (f64
//       each) if so, then the f64 scalars
//     u8 mask (bit 0 param, bit 1+k state k), then the masked arrays [n] each,
//     the bits PyTorch produced.
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as zlib from 'node:zlib';
import { Adagrad, Adam, AdamW, Parameter, RMSprop, SGD, type FloatArray } from '../../lib';
import { libm } from '../../lib/engine/backend';
import type { KernelOptions, OptimizerSpec } from '../../lib/engine/optimizer-spec';
import { cases, fixtureFile, inputsDigest, request, type Case } from './optim-cases';

export const kernelFixtureFile = path.join(__dirname, '..', 'fixtures', 'kernel-cases.bin.gz');

const FORMAT_VERSION = 2;
/**
 * The most grad elements a record holds (n × steps): the long runs keep
 * their smaller tensors, whose calls carry the same per-call scalars, and
 * the file stays small enough to commit.
 */
const MAX_GRAD_ELEMENTS = 3_500;
const OPTIMIZERS = { RMSprop, Adagrad, SGD, Adam, AdamW };
const CAMEL: Record<string, string> = {
  weight_decay: 'weightDecay', lr_decay: 'lrDecay', initial_accumulator_value: 'initialAccumulatorValue',
};
const camel = (o: Record<string, unknown>) => Object.fromEntries(Object.entries(o).map(([k, v]) => [CAMEL[k] ?? k, v]));
const specOf = (c: Case) => (OPTIMIZERS[c.optimizer] as unknown as { spec: OptimizerSpec<KernelOptions> }).spec;

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
function optimizerFor(c: Case, params: Parameter[]) {
  const groups = c.groups.map((g) => ({ ...camel(g), params: (g.params as number[]).map((i) => params[i]) }));
  return new OPTIMIZERS[c.optimizer](groups as never, camel(c.defaults) as never);
}

/** A group's options at step `step` of a case: its schedule (lrFrom) and changes (setAt) applied, as the given generation. */
function groupAt(c: Case, values: Record<string, unknown>, group: number, step: number, compat: '1.13' | '2.x'): KernelOptions {
  const g: Record<string, unknown> = { ...values, compat };
  if (c.lrFrom && step >= c.lrFrom.step) g.lr = c.lrFrom.lr[group];
  if (c.setAt && step >= c.setAt.step) Object.assign(g, camel(c.setAt.groups[group]));
  return g as unknown as KernelOptions;
}

function writeRecord(w: Writer, c: Case, tensor: number, results: FixtureResult[]): void {
  const req = request(c);
  const decode = (s: string): FloatArray => {
    const copy = new Uint8Array(Buffer.from(s, 'base64')).buffer;
    return c.dtype === 'float32' ? new Float32Array(copy) : new Float64Array(copy);
  };
  const spec = specOf(c);
  const kernel = spec.kernel;
  const params = req.params.map((p) => new Parameter(decode(p)));
  const opt = optimizerFor(c, params);
  const p = params[tensor];
  const n = p.numel;
  const group = opt.paramGroups.findIndex((g) => g.params.includes(p));
  const calls = req.steps.map((s, i) => ({ grad: s.grads[tensor], step: i })).filter((s) => s.grad !== null);

  w.text(`${c.name} / param ${tensor}`);
  w.u8(kernel.id);
  w.u8(c.dtype === 'float32' ? 0 : 1);
  w.u32(n);
  w.u32(calls.length);
  w.u8(kernel.states.length);
  w.u8(kernel.hyper.length);
  w.u8(kernel.scalars.length);
  w.array(p.data);
  // The state as the optimizer starts it: zeroed, or made with the optimizer (Adagrad's sum).
  const initial = opt.state.get(p);
  for (const key of kernel.states) w.array((initial?.[key] as FloatArray | undefined) ?? new (p.data.constructor as Float32ArrayConstructor)(n));
  for (const { grad } of calls) w.array(decode(grad!));

  w.u8(results.length);
  for (const r of results) {
    const compat = r.torch.startsWith('1.13') ? '1.13' : '2.x';
    const got = r.cases.find((e) => e.name === c.name)!;
    const state = got.state[String(tensor)] as Record<string, string | number | null> | undefined;
    if (spec.countsSteps && (state?.step ?? 0) !== calls.length) {
      throw new Error(`${c.name} param ${tensor}: torch ${r.torch} took ${state?.step} steps, the inputs have ${calls.length}`);
    }
    w.text(`torch ${r.torch}`);
    w.u8(c.zeroSigns === false && compat === '2.x' ? 1 : 0);
    // What the engine writes for the kernel at each call, and the state it makes for it.
    let made = initial === undefined ? 0 : kernel.states.reduce((m, key, k) => (initial[key] !== undefined ? m | (1 << k) : m), 0);
    let last: Float64Array | undefined;
    calls.forEach(({ step }, k) => {
      const g = groupAt(c, opt.paramGroups[group] as unknown as Record<string, unknown>, group, step, compat);
      const hyper = new Float64Array(kernel.hyper.length);
      spec.writeHyper(g, hyper);
      const used = kernel.usedStates(hyper);
      const scalars = new Float64Array(kernel.scalars.length);
      // The tensor's own step count, from 1, as PyTorch has it after its += 1.
      spec.writeScalars?.(g, k + 1, used & ~made, scalars, 0, libm);
      made |= used;
      const changed = last === undefined || hyper.some((v, i) => !Object.is(v, last![i]));
      w.u8(changed ? 1 : 0);
      if (changed) for (const v of hyper) w.f64(v);
      for (const v of scalars) w.f64(v);
      last = hyper;
    });
    const arrays = [got.params[tensor], ...kernel.states.map((key) => state?.[key] as string | null | undefined)];
    w.u8(arrays.reduce<number>((mask, a, i) => (typeof a === 'string' ? mask | (1 << i) : mask), 0));
    for (const a of arrays) if (typeof a === 'string') w.bytes(Buffer.from(a, 'base64'));
  }
}

/** Whether every expected array of this tensor is stored in full, in every result. */
function storedInFull(c: Case, tensor: number, results: FixtureResult[]): boolean {
  return results.every((r) => {
    const got = r.cases.find((e) => e.name === c.name);
    if (!got) throw new Error(`the fixture of torch ${r.torch} has no case '${c.name}'`);
    const state = got.state[String(tensor)] ?? {};
    return isFull(got.params[tensor]) && specOf(c).kernel.states.every((key) => typeof state[key] !== 'string' || isFull(state[key]));
  });
}

/** The bytes of test/fixtures/kernel-cases.bin.gz, unpacked, made from the committed PyTorch fixtures. */
export function makeKernelFixtures(): Buffer {
  const fixtures = JSON.parse(zlib.gunzipSync(fs.readFileSync(fixtureFile)).toString());
  if (fixtures.inputs !== inputsDigest()) throw new Error('stale PyTorch fixtures: npx tsx test/torch/make-optim-fixtures.ts');
  const results = [...(fixtures.results as FixtureResult[])].sort((a, b) => a.torch.localeCompare(b.torch));
  const records = new Writer();
  let count = 0;
  for (const c of cases) {
    c.sizes.forEach((n, tensor) => {
      if (n === 0 || n * c.steps > MAX_GRAD_ELEMENTS || !storedInFull(c, tensor, results)) return;
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
  const packed = zlib.gzipSync(bytes, { level: 9 });
  fs.writeFileSync(kernelFixtureFile, packed);
  console.log(`wrote ${path.relative(process.cwd(), kernelFixtureFile)} (${bytes.length} bytes, ${packed.length} packed)`);
}
