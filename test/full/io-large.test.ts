// Checkpoints at size: files over 4 GiB (zip64 sizes and offsets in
// torch.save files) holding tensors over 2 GiB, written and read by Node,
// read and written by PyTorch 2.6 (torch.save / torch.load(weights_only=True))
// and Hugging Face's safetensors; and tensors of more than 2^32 elements,
// which no typed array holds in Node 20, refused with an error naming that
// limit, in sparse files that take no disk.
//
// Each Node step runs in its own process (io-large-worker.ts): its peak RSS
// is its own, and a crash fails the step instead of ending mocha. Contents
// are compared by sha256 of the raw little-endian bytes (the same on both
// sides, and fixed below), plus samples of the pattern.
//
// Needs about 6 GB of free disk (one 4.8 GB file at a time) and 16 GiB of
// memory (Node holds 4.8 GB, Hugging Face's save_file twice that); with less,
// it is skipped outside CI and fails in CI.
import { expect } from 'chai';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { pythonOracles, oracleFor } from '../torch/python';
import { A_PERIOD, B_PERIOD, B_SHAPE, N, TAIL, type LoadCase, type Request, type TensorFacts } from './io-large-worker';

const ROOT = path.resolve(__dirname, '..', '..');
const WORKER = path.join(__dirname, 'io-large-worker.ts');
const GiB = 2 ** 30;
const U32 = 2 ** 32;

/** sha256 of each tensor's bytes: a[i] = i mod 16777213, b[i] = (i mod 4099) / 4 - 512 (float32), tail[i] = 7i - 3000 (int32). */
const SHA256 = {
  a: 'f874efd1eeceeb2f57286c9d842728bc5f7499e3d6dcf022be659cb439589bcd',
  b: '4632cb16a7902a53e83f5a1c3321ebfb0f45956e66a8a543f5075f232d768009',
  tail: '96ea43a8c0f1f48c28726ec44d6c886a0aa7ebf9ac0760a59fee77ed433c5d32',
};
const EXPECTED = {
  a: { dtype: 'float32', shape: [N] },
  b: { dtype: 'float32', shape: B_SHAPE },
  tail: { dtype: 'int32', shape: [TAIL] },
};
/** What a file of the three takes on disk, and what the test needs free: one such file at a time, and 1 GiB to spare. */
const FILE_BYTES = 2 * N * 4 + TAIL * 4;
const NEED_DISK = FILE_BYTES + GiB;
const NEED_MEMORY = 16 * GiB;
/** What PYTHON needs to make the same tensors as io-large-worker.ts. */
const pattern = { n: N, a_period: A_PERIOD, b_period: B_PERIOD, b_shape: B_SHAPE, tail: TAIL };

const PYTHON = String.raw`
import hashlib, json, os, resource, sys, time
from concurrent.futures import ThreadPoolExecutor
import torch

req = json.load(sys.stdin)
n, path = req["n"], req["path"]

def periodic(base):
    # The values in one period, then doubling copies: as the Node side fills them.
    t = torch.empty(n, dtype=torch.float32)
    m = min(len(base), n)
    t[:m] = base[:m]
    filled = len(base)
    while filled < n:
        k = min(filled, n - filled)
        t[filled:filled + k] = t[:k]
        filled *= 2
    return t

def tensors():
    a = periodic(torch.arange(req["a_period"], dtype=torch.float64).to(torch.float32))
    b = periodic((torch.arange(req["b_period"], dtype=torch.float64) * 0.25 - 512).to(torch.float32))
    tail = torch.arange(req["tail"], dtype=torch.int32) * 7 - 3000
    return {"a": a, "b": b.view(*req["b_shape"]), "tail": tail}

def sha256(t):
    return hashlib.sha256(memoryview(t.numpy()).cast("B")).hexdigest()

def facts(d):
    with ThreadPoolExecutor(2) as pool:  # hashlib lets go of the GIL
        shas = list(pool.map(sha256, [t.contiguous() for t in d.values()]))
    return {k: {"dtype": str(t.dtype).replace("torch.", ""), "shape": list(t.shape), "contiguous": t.is_contiguous(), "sha256": s}
            for (k, t), s in zip(d.items(), shas)}

op = req["op"]
t0 = time.monotonic()
seconds = {}
if op.endswith("-write"):
    d = tensors()
    seconds["fill"] = time.monotonic() - t0
    t0 = time.monotonic()
    if op == "torch-write":
        torch.save(d, path)
    else:
        from safetensors.torch import save_file
        save_file(d, path)
    seconds["save"] = time.monotonic() - t0
else:
    if op == "torch-read":
        d = torch.load(path, weights_only=True)
    else:
        from safetensors.torch import load_file
        d = load_file(path)
    seconds["load"] = time.monotonic() - t0
t0 = time.monotonic()
answer = {"type": type(d).__name__, "keys": list(d.keys()), "tensors": facts(d)}
seconds["hash"] = time.monotonic() - t0
answer.update(size=os.path.getsize(path), seconds=seconds, max_rss_mib=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024)
print(json.dumps(answer))
`;

interface PythonAnswer {
  type: string;
  keys: string[];
  tensors: Record<string, { dtype: string; shape: number[]; contiguous: boolean; sha256: string }>;
  size: number;
  seconds: Record<string, number>;
  max_rss_mib: number;
}

/** One step in a Node process of its own; its JSON answer, or an error with the end of its stderr (an abort's message). */
function worker<T>(request: Request, timeoutMs = 200_000): T {
  const r = spawnSync(process.execPath, ['--expose-gc', '--import', 'tsx', WORKER, JSON.stringify(request)], {
    cwd: ROOT,
    encoding: 'utf8',
    maxBuffer: 1 << 26,
    timeout: timeoutMs,
  });
  if (r.status !== 0) {
    const how = r.signal !== null ? `was killed by ${r.signal}` : `exited with ${r.status}`;
    throw new Error(`the Node process (${request.op}) ${how}: ${(r.stderr || String(r.error)).slice(-3000)}`);
  }
  return JSON.parse(r.stdout.trim().split('\n').pop()!) as T;
}

function log(line: string): void {
  console.log(`      ${line}`);
}

const seconds = (ms: number): string => `${(ms / 1000).toFixed(1)} s`;

/** Room on disk (and in memory) for the files and arrays a test makes: a skip outside CI, a failure in CI. */
function checkRoom(ctx: Mocha.Context, dir: string): void {
  const stat = fs.statfsSync(dir);
  const free = stat.bavail * stat.bsize;
  const missing: string[] = [];
  if (free < NEED_DISK) missing.push(`${(free / 1e9).toFixed(1)} GB free in ${dir}, needs ${(NEED_DISK / 1e9).toFixed(1)} GB`);
  if (os.totalmem() < NEED_MEMORY) missing.push(`${(os.totalmem() / GiB).toFixed(1)} GiB of memory, needs ${NEED_MEMORY / GiB} GiB`);
  if (missing.length === 0) return;
  const why = `too little room for files over 4 GiB: ${missing.join('; ')}`;
  if (process.env.CI === 'true') throw new Error(why);
  log(`skipped: ${why}`);
  ctx.skip();
}

function expectTensors(tensors: Record<string, Partial<TensorFacts> & { contiguous?: boolean }>, label: string): void {
  expect(Object.keys(tensors), `${label}: keys`).to.deep.equal(['a', 'b', 'tail']);
  for (const [name, want] of Object.entries(EXPECTED)) {
    const got = tensors[name];
    expect({ dtype: got.dtype, shape: got.shape }, `${label}: ${name}`).to.deep.equal(want);
    expect(got.badSample, `${label}: ${name}, an element off the pattern`).to.equal(undefined);
    if (got.contiguous !== undefined) expect(got.contiguous, `${label}: ${name} is contiguous`).to.equal(true);
    expect(got.sha256, `${label}: sha256 of ${name}`).to.equal(SHA256[name as keyof typeof SHA256]);
  }
}

// ---- reading files' layout, independently of lib/ ----

function readAt(fd: number, position: number, length: number): Buffer {
  const out = Buffer.alloc(length);
  expect(fs.readSync(fd, out, 0, length, position)).to.equal(length);
  return out;
}

interface ZipRecord {
  name: string;
  size: number;
  method: number;
  /** Whether the offset took a zip64 extra field (a saturated 32-bit slot). */
  zip64Offset: boolean;
  dataAt: number;
}

/** A zip's records from its central directory, and whether it ends with zip64 records. */
function zipLayout(file: string): { records: Map<string, ZipRecord>; directoryAt: number; zip64End: boolean } {
  const fd = fs.openSync(file, 'r');
  try {
    const size = fs.fstatSync(fd).size;
    const end = readAt(fd, size - 22, 22);
    expect(end.readUInt32LE(0), 'end of central directory').to.equal(0x06054b50);
    let count = end.readUInt16LE(10);
    let directorySize = end.readUInt32LE(12);
    let directoryAt = end.readUInt32LE(16);
    const zip64End = directoryAt === 0xffffffff || count === 0xffff;
    if (zip64End) {
      const locator = readAt(fd, size - 22 - 20, 20);
      expect(locator.readUInt32LE(0), 'zip64 locator').to.equal(0x07064b50);
      const record = readAt(fd, Number(locator.readBigUInt64LE(8)), 56);
      expect(record.readUInt32LE(0), 'zip64 end of central directory').to.equal(0x06064b50);
      count = Number(record.readBigUInt64LE(32));
      directorySize = Number(record.readBigUInt64LE(40));
      directoryAt = Number(record.readBigUInt64LE(48));
    }
    const directory = readAt(fd, directoryAt, directorySize);
    const records = new Map<string, ZipRecord>();
    for (let at = 0, i = 0; i < count; i++) {
      expect(directory.readUInt32LE(at), `central header ${i}`).to.equal(0x02014b50);
      const nameLength = directory.readUInt16LE(at + 28);
      const extraLength = directory.readUInt16LE(at + 30);
      const name = directory.toString('utf8', at + 46, at + 46 + nameLength);
      let size = directory.readUInt32LE(at + 24);
      let compressed = directory.readUInt32LE(at + 20);
      let offset = directory.readUInt32LE(at + 42);
      const zip64Offset = offset === 0xffffffff;
      for (let e = at + 46 + nameLength; e < at + 46 + nameLength + extraLength;) {
        const id = directory.readUInt16LE(e);
        let field = e + 4;
        const next = (): number => Number(directory.readBigUInt64LE((field += 8) - 8));
        if (id === 1) {
          if (size === 0xffffffff) size = next();
          if (compressed === 0xffffffff) compressed = next();
          if (offset === 0xffffffff) offset = next();
        }
        e += 4 + directory.readUInt16LE(e + 2);
      }
      const local = readAt(fd, offset, 30);
      expect(local.readUInt32LE(0), `local header of ${name}`).to.equal(0x04034b50);
      const dataAt = offset + 30 + local.readUInt16LE(26) + local.readUInt16LE(28);
      records.set(name, { name, size, method: directory.readUInt16LE(at + 10), zip64Offset, dataAt });
      at += 46 + nameLength + extraLength + directory.readUInt16LE(at + 32);
    }
    return { records, directoryAt, zip64End };
  } finally {
    fs.closeSync(fd);
  }
}

/** The torch.save file's storages: data/0 and data/1 hold 2.4 GB each, data/2 (tail) lies past 4 GiB, with a zip64 offset. */
function expectTorchLayout(file: string, label: string): void {
  const { records, directoryAt, zip64End } = zipLayout(file);
  const storage = (key: string): ZipRecord => {
    const found = [...records.values()].find((r) => r.name.endsWith(`/data/${key}`));
    expect(found, `${label}: a data/${key} record`).to.not.equal(undefined);
    return found!;
  };
  for (const key of ['0', '1']) expect(storage(key).size, `${label}: data/${key} size`).to.equal(N * 4);
  expect(storage('2').size).to.equal(TAIL * 4);
  expect(storage('2').dataAt, `${label}: tail's data offset`).to.be.above(U32);
  expect(storage('2').zip64Offset, `${label}: tail's offset in a zip64 field`).to.equal(true);
  expect(directoryAt, `${label}: central directory offset`).to.be.above(U32);
  expect(zip64End, `${label}: zip64 end records`).to.equal(true);
  for (const r of records.values()) {
    expect(r.method, `${label}: ${r.name} stored`).to.equal(0);
    expect(r.dataAt % 64, `${label}: ${r.name} data 64-byte aligned`).to.equal(0);
  }
}

/** The safetensors file's header: the tail's bytes lie past 4 GiB. */
function expectSafetensorsLayout(file: string, label: string): void {
  const fd = fs.openSync(file, 'r');
  try {
    const headerLength = Number(readAt(fd, 0, 8).readBigUInt64LE(0));
    const header = JSON.parse(readAt(fd, 8, headerLength).toString('utf8')) as Record<string, { data_offsets: number[] }>;
    expect(8 + headerLength + header.tail.data_offsets[0], `${label}: tail's data offset`).to.be.above(U32);
    expect(header.a.data_offsets[1] - header.a.data_offsets[0]).to.equal(N * 4);
  } finally {
    fs.closeSync(fd);
  }
}

// ---- crafting sparse files of huge tensors ----

const CRC_TABLE = Uint32Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});

/** A CRC-32 register (before the final inversion) after `bytes`. */
function crcBytes(register: number, bytes: Uint8Array): number {
  let c = register;
  for (const b of bytes) c = CRC_TABLE[(c ^ b) & 0xff] ^ (c >>> 8);
  return c >>> 0;
}

/** The register after `count` zero bytes, in O(log count): powers of the one-zero-byte operator over GF(2) (zlib's crc32_combine). */
function crcZeros(register: number, count: number): number {
  const times = (matrix: Uint32Array, vector: number): number => {
    let sum = 0;
    for (let i = 0; vector !== 0; i++, vector >>>= 1) if (vector & 1) sum ^= matrix[i];
    return sum >>> 0;
  };
  const square = (matrix: Uint32Array): Uint32Array => Uint32Array.from(matrix, (column) => times(matrix, column));
  let op: Uint32Array = Uint32Array.from({ length: 32 }, (_, i) => (i === 0 ? 0xedb88320 : 2 ** (i - 1))); // one zero bit
  for (let k = 0; k < 3; k++) op = square(op); // one zero byte
  let c = register;
  for (let n = count; n > 0; n = Math.floor(n / 2), op = square(op)) if (n % 2 === 1) c = times(op, c);
  return c;
}

/** Bytes at given offsets of a record otherwise all zeros (left as a hole in the file). */
type Pieces = Array<[number, Uint8Array]>;

function crcOf(size: number, pieces: Pieces): number {
  let c = 0xffffffff;
  let at = 0;
  for (const [offset, bytes] of [...pieces].sort((x, y) => x[0] - y[0])) {
    c = crcBytes(crcZeros(c, offset - at), bytes);
    at = offset + bytes.length;
  }
  return ~crcZeros(c, size - at) >>> 0;
}

/** A zip as PyTorch writes it (stored, data 64-byte aligned, zip64 where needed), holes where records are zeros. */
function craftZip(file: string, records: Array<{ name: string; size: number; pieces: Pieces }>): void {
  const fd = fs.openSync(file, 'w');
  try {
    let offset = 0;
    const central: Buffer[] = [];
    for (const { name, size, pieces } of records) {
      const nameBytes = Buffer.from(name);
      const crc = crcOf(size, pieces);
      const zip64 = size >= 0xffffffff || offset >= 0xffffffff;
      const extra = zip64 ? 20 : 0;
      const padding = (64 - ((offset + 30 + nameBytes.length + extra + 4) % 64)) % 64;
      const local = Buffer.alloc(30 + nameBytes.length + extra + 4 + padding, 0x5a);
      local.writeUInt32LE(0x04034b50, 0);
      local.writeUInt16LE(zip64 ? 45 : 20, 4);
      local.writeUInt16LE(0, 6);
      local.writeUInt32LE(0, 8); // stored, time 0
      local.writeUInt16LE(33, 12);
      local.writeUInt32LE(crc, 14);
      local.writeUInt32LE(zip64 ? 0xffffffff : size, 18);
      local.writeUInt32LE(zip64 ? 0xffffffff : size, 22);
      local.writeUInt16LE(nameBytes.length, 26);
      local.writeUInt16LE(extra + 4 + padding, 28);
      nameBytes.copy(local, 30);
      let at = 30 + nameBytes.length;
      if (zip64) {
        local.writeUInt16LE(1, at);
        local.writeUInt16LE(16, at + 2);
        local.writeBigUInt64LE(BigInt(size), at + 4);
        local.writeBigUInt64LE(BigInt(size), at + 12);
        at += 20;
      }
      local.write('FB', at, 'latin1');
      local.writeUInt16LE(padding, at + 2);
      fs.writeSync(fd, local, 0, local.length, offset);
      const dataAt = offset + local.length;
      for (const [where, bytes] of pieces) fs.writeSync(fd, bytes, 0, bytes.length, dataAt + where);
      const bigOffset = offset >= 0xffffffff;
      const centralExtra = (zip64 ? 16 : 0) + (bigOffset ? 8 : 0);
      const header = Buffer.alloc(46 + nameBytes.length + (centralExtra > 0 ? 4 + centralExtra : 0));
      header.writeUInt32LE(0x02014b50, 0);
      header.writeUInt16LE(45, 4);
      header.writeUInt16LE(zip64 ? 45 : 20, 6);
      header.writeUInt16LE(33, 14);
      header.writeUInt32LE(crc, 16);
      header.writeUInt32LE(zip64 ? 0xffffffff : size, 20);
      header.writeUInt32LE(zip64 ? 0xffffffff : size, 24);
      header.writeUInt16LE(nameBytes.length, 28);
      header.writeUInt16LE(centralExtra > 0 ? 4 + centralExtra : 0, 30);
      header.writeUInt32LE(bigOffset ? 0xffffffff : offset, 42);
      nameBytes.copy(header, 46);
      if (centralExtra > 0) {
        let e = 46 + nameBytes.length;
        header.writeUInt16LE(1, e);
        header.writeUInt16LE(centralExtra, e + 2);
        e += 4;
        if (zip64) {
          header.writeBigUInt64LE(BigInt(size), e);
          header.writeBigUInt64LE(BigInt(size), e + 8);
          e += 16;
        }
        if (bigOffset) header.writeBigUInt64LE(BigInt(offset), e);
      }
      central.push(header);
      offset = dataAt + size;
    }
    const directory = Buffer.concat(central);
    const tail = Buffer.alloc(56 + 20 + 22);
    tail.writeUInt32LE(0x06064b50, 0); // zip64 end of central directory
    tail.writeBigUInt64LE(44n, 4);
    tail.writeUInt16LE(45, 12);
    tail.writeUInt16LE(45, 14);
    tail.writeBigUInt64LE(BigInt(records.length), 24);
    tail.writeBigUInt64LE(BigInt(records.length), 32);
    tail.writeBigUInt64LE(BigInt(directory.length), 40);
    tail.writeBigUInt64LE(BigInt(offset), 48);
    tail.writeUInt32LE(0x07064b50, 56); // locator
    tail.writeBigUInt64LE(BigInt(offset + directory.length), 64);
    tail.writeUInt32LE(1, 72);
    tail.writeUInt32LE(0x06054b50, 76); // end of central directory, its fields saturated
    tail.writeUInt16LE(0xffff, 84);
    tail.writeUInt16LE(0xffff, 86);
    tail.writeUInt32LE(0xffffffff, 88);
    tail.writeUInt32LE(0xffffffff, 92);
    fs.writeSync(fd, Buffer.concat([directory, tail]), 0, directory.length + tail.length, offset);
  } finally {
    fs.closeSync(fd);
  }
}

/** The pickle torch.save writes for {'big': tensor of `numel` elements in storage "0"} (protocol 2). */
function bigTensorPickle(storageType: 'ByteStorage' | 'FloatStorage', numel: number): Buffer {
  const out: Buffer[] = [];
  const op = (...bytes: number[]): void => void out.push(Buffer.from(bytes));
  const str = (s: string): void => {
    const head = Buffer.alloc(5);
    head[0] = 0x58; // BINUNICODE
    head.writeUInt32LE(Buffer.byteLength(s), 1);
    out.push(head, Buffer.from(s));
  };
  const global = (module: string, name: string): void => void out.push(Buffer.from(`c${module}\n${name}\n`, 'latin1'));
  const long = (n: number): void => {
    const bytes: number[] = [];
    for (let v = BigInt(n); v > 0n; v >>= 8n) bytes.push(Number(v & 0xffn));
    if (bytes.length > 0 && bytes[bytes.length - 1] & 0x80) bytes.push(0);
    op(0x8a, bytes.length, ...bytes); // LONG1
  };
  op(0x80, 2, 0x7d); // PROTO 2, EMPTY_DICT
  str('big');
  global('torch._utils', '_rebuild_tensor_v2');
  op(0x28, 0x28); // MARK MARK
  str('storage');
  global('torch', storageType);
  str('0');
  str('cpu');
  long(numel);
  op(0x74, 0x51, 0x4b, 0); // TUPLE BINPERSID, offset 0
  long(numel);
  op(0x85, 0x4b, 1, 0x85, 0x89); // size (numel,), stride (1,), requires_grad False
  global('collections', 'OrderedDict');
  op(0x29, 0x52, 0x74, 0x52, 0x73, 0x2e); // () REDUCE, TUPLE REDUCE, SETITEM, STOP
  return Buffer.concat(out);
}

const START_MARK = Uint8Array.from([1, 2, 3, 4, 5, 6, 7, 8]);
const END_MARK = Uint8Array.from([9, 10, 11, 12, 13, 14, 15, 16]);

/** A file holding {big: tensor of `numel` `dtype` elements}, zeros but for marks at both ends of its data, as a sparse file. */
function craftBig(file: string, format: 'torch' | 'safetensors', dtype: 'uint8' | 'float32', numel: number): Array<[number, number[]]> {
  const bytes = numel * (dtype === 'uint8' ? 1 : 4);
  const pieces: Pieces = [[0, START_MARK], [bytes - 8, END_MARK]];
  if (format === 'torch') {
    const pickle = bigTensorPickle(dtype === 'uint8' ? 'ByteStorage' : 'FloatStorage', numel);
    craftZip(file, [
      { name: 'big/data.pkl', size: pickle.length, pieces: [[0, pickle]] },
      { name: 'big/byteorder', size: 6, pieces: [[0, Buffer.from('little')]] },
      { name: 'big/data/0', size: bytes, pieces },
      { name: 'big/version', size: 2, pieces: [[0, Buffer.from('3\n')]] },
    ]);
  } else {
    let json = JSON.stringify({ big: { dtype: dtype === 'uint8' ? 'U8' : 'F32', shape: [numel], data_offsets: [0, bytes] } });
    json += ' '.repeat((8 - ((8 + json.length) % 8)) % 8);
    const head = Buffer.alloc(8 + json.length);
    head.writeBigUInt64LE(BigInt(json.length));
    head.write(json, 8, 'latin1');
    const fd = fs.openSync(file, 'w');
    try {
      fs.writeSync(fd, head, 0, head.length, 0);
      for (const [at, mark] of pieces) fs.writeSync(fd, mark, 0, mark.length, head.length + at);
      fs.ftruncateSync(fd, head.length + bytes);
    } finally {
      fs.closeSync(fd);
    }
  }
  return pieces.map(([at, mark]) => [at, [...mark]]);
}

/** The file takes (almost) no disk: a hole where its data is. */
function expectSparse(file: string): void {
  const stat = fs.statSync(file);
  expect(stat.blocks * 512, `${file} on disk`).to.be.below(1 << 20);
}

interface LoadResult {
  label: string;
  error?: { name: string; message: string };
  loaded?: { dtype: string; shape: number[]; byteLength: number; markersOk: boolean; zeros: boolean };
  ms: number;
}

describe('files over 4 GiB with tensors over 2 GiB, and tensors over 2^32 elements', function () {
  let dir: { host: string; python?: string };

  before(function () {
    this.timeout(60_000);
    const oracle = pythonOracles().find((o) => o.id === 'torch-2.6');
    // Where PyTorch 2.6 can read them too, if it is installed (inside its chroot).
    dir = oracle !== undefined ? oracle.tempDir() : { host: fs.mkdtempSync(path.join(os.tmpdir(), 'simd-optim-large-')) };
    checkRoom(this, dir.host);
  });

  after(() => {
    if (dir !== undefined) fs.rmSync(dir.host, { recursive: true, force: true });
  });

  /** Makes room for the next big file: removes every file in the folder. */
  const clear = (): void => {
    for (const name of fs.readdirSync(dir.host)) fs.rmSync(path.join(dir.host, name), { force: true });
  };

  for (const format of ['torch', 'safetensors'] as const) {
    const ext = format === 'torch' ? 'pt' : 'safetensors';
    const api = format === 'torch' ? 'saveTorch / loadTorch' : 'saveSafetensors / loadSafetensors';
    const pyRead = format === 'torch' ? 'torch.load(weights_only=True)' : 'safetensors load_file';
    const pyWrite = format === 'torch' ? 'torch.save' : 'safetensors save_file';
    const modules = format === 'torch' ? [] : ['safetensors'];
    const expectLayout = format === 'torch' ? expectTorchLayout : expectSafetensorsLayout;

    describe(`${format}: a 4.8 GB file of two 2.4 GB float32 tensors and an int32 tensor past 4 GiB`, () => {
      const nodeFile = (): string => path.join(dir.host, `node.${ext}`);

      /** Node reads `file` copied and memory-mapped, each in its own process, and checks every tensor. */
      const nodeReads = (file: string, label: string): void => {
        for (const mmap of [false, true]) {
          const t0 = Date.now();
          const read = worker<{ keys: string[]; tensors: Record<string, TensorFacts>; mapped: number; mappedAfterGc: number; ms: Record<string, number>; maxRssMiB: number }>(
            { op: 'read', format, file, mmap });
          const how = mmap ? '{ mmap: true }' : 'copied';
          log(`${label}, Node reads ${how}: ${seconds(Date.now() - t0)} (load ${seconds(read.ms.load)}, hash ${seconds(read.ms.check)}), peak RSS ${read.maxRssMiB} MiB`);
          expectTensors(read.tensors, `${label}, read ${how}`);
          if (mmap) expect(read.mapped, `${label}: the file is mapped while its arrays live`).to.be.above(0);
          expect(read.mappedAfterGc, `${label}: no mapping of the file left once the arrays are collected`).to.equal(0);
        }
      };

      it(`Node writes it (${api}) and reads it back, copied and with { mmap: true }`, function () {
        this.timeout(300_000);
        clear();
        const t0 = Date.now();
        const written = worker<{ badSamples: Record<string, unknown>; size: number; ms: Record<string, number>; maxRssMiB: number }>({ op: 'write', format, file: nodeFile() });
        log(`Node writes: ${seconds(Date.now() - t0)} (fill ${seconds(written.ms.fill)}, save ${seconds(written.ms.save)}), peak RSS ${written.maxRssMiB} MiB`);
        expect(written.badSamples, 'elements off the pattern in the arrays Node wrote').to.deep.equal({});
        expect(written.size).to.be.within(FILE_BYTES, FILE_BYTES + (1 << 16));
        expect(fs.readdirSync(dir.host), 'files left by the write (a temporary file?)').to.deep.equal([`node.${ext}`]);
        expectLayout(nodeFile(), 'Node\'s file');
        nodeReads(nodeFile(), 'Node\'s file');
      });

      it(`PyTorch 2.6 reads the file Node wrote (${pyRead})`, function () {
        this.timeout(300_000);
        const oracle = oracleFor(this, 'torch-2.6', modules);
        try {
          expect(fs.existsSync(nodeFile()), 'the file of the test above (its write failed?)').to.equal(true);
          const t0 = Date.now();
          const answer = oracle.run(PYTHON, { op: `${format}-read`, path: path.join(dir.python!, `node.${ext}`), ...pattern }) as PythonAnswer;
          log(`PyTorch reads: ${seconds(Date.now() - t0)} (load ${answer.seconds.load.toFixed(1)} s, hash ${answer.seconds.hash.toFixed(1)} s), peak RSS ${answer.max_rss_mib} MiB`);
          expect(answer.type).to.equal('dict');
          expectTensors(answer.tensors, `PyTorch's ${pyRead} of Node's file`);
        } finally {
          clear();
        }
      });

      it(`Node reads a 4.8 GB file PyTorch 2.6 wrote (${pyWrite}), copied and with { mmap: true }`, function () {
        this.timeout(300_000);
        const oracle = oracleFor(this, 'torch-2.6', modules);
        clear();
        try {
          const t0 = Date.now();
          const answer = oracle.run(PYTHON, { op: `${format}-write`, path: path.join(dir.python!, `python.${ext}`), ...pattern }) as PythonAnswer;
          log(`PyTorch writes: ${seconds(Date.now() - t0)} (fill ${answer.seconds.fill.toFixed(1)} s, save ${answer.seconds.save.toFixed(1)} s, hash ${answer.seconds.hash.toFixed(1)} s), peak RSS ${answer.max_rss_mib} MiB`);
          expectTensors(answer.tensors, `the tensors PyTorch wrote (${pyWrite})`);
          const file = path.join(dir.host, `python.${ext}`);
          expect(answer.size).to.equal(fs.statSync(file).size).and.to.be.above(FILE_BYTES);
          expectLayout(file, `PyTorch's file`);
          nodeReads(file, `PyTorch's file`);
        } finally {
          clear();
        }
      });
    });
  }

  describe('a tensor of more than 2^32 elements (more than a typed array holds in Node 20), in a sparse file', () => {
    type Spec = [format: 'torch' | 'safetensors', dtype: 'uint8' | 'float32', numel: number, modes: boolean[]];
    /** Crafts each file; a load of it with each `mmap` mode. */
    const cases = (specs: Spec[]): LoadCase[] =>
      specs.flatMap(([format, dtype, numel, modes]) => {
        const file = path.join(dir.host, `big-${dtype}-${numel}.${format === 'torch' ? 'pt' : 'safetensors'}`);
        const markers = craftBig(file, format, dtype, numel);
        expectSparse(file);
        return modes.map((mmap) => ({ label: `${format} ${dtype} [${numel}]${mmap ? ' { mmap: true }' : ''}`, format, file, mmap, markers }));
      });
    const both = [false, true];

    afterEach(clear);

    it('is refused with a FileFormatError or RangeError naming the 2^32 limit, copied or mapped, without reading its data', function () {
      this.timeout(120_000);
      // The same files at 1000 elements load: what is refused is the size, not the crafting.
      const controls = worker<{ results: LoadResult[] }>({ op: 'load', cases: cases([['torch', 'uint8', 1000, both], ['torch', 'float32', 1000, both], ['safetensors', 'uint8', 1000, both], ['safetensors', 'float32', 1000, both]]) });
      for (const r of controls.results) {
        expect(r.error, `${r.label}: the small control loads`).to.equal(undefined);
        expect(r.loaded!.markersOk, `${r.label}: its bytes`).to.equal(true);
      }
      const t0 = Date.now();
      const big = worker<{ results: LoadResult[]; maxRssMiB: number }>({
        op: 'load',
        cases: cases([['torch', 'uint8', U32 + 1, both], ['torch', 'float32', U32 + 1, both], ['safetensors', 'uint8', U32 + 1, both], ['safetensors', 'float32', U32 + 1, both]]),
      });
      log(`8 refusals: ${seconds(Date.now() - t0)}, peak RSS ${big.maxRssMiB} MiB; as:`);
      for (const message of new Set(big.results.map((r) => `${r.error?.name}: ${r.error?.message.replace(dir.host, '<dir>')}`))) log(`  ${message}`);
      for (const r of big.results) {
        expect(r.loaded, `${r.label}: loaded instead of refused`).to.equal(undefined);
        expect(r.error!.name, `${r.label}: ${r.error!.message}`).to.be.oneOf(['FileFormatError', 'RangeError']);
        expect(r.error!.message, `${r.label}: names the limit`).to.match(/2\^32|4294967296|4,294,967,296/);
      }
      expect(big.maxRssMiB, 'peak RSS of the refusals (none of the data read)').to.be.below(1024);
    });

    // Reading 4 GiB into fresh memory takes 20 s on a small VM, so one case is copied: a float32 storage over
    // 4 GiB (which is copied even with mmap); 2^32 uint8 values exactly are mapped, from both formats.
    it('loads tensors at the limit: uint8 of 2^32 values (4 GiB) mapped, and float32 of 2^30 + 1 (over 4 GiB, so copied even with mmap)', function () {
      this.timeout(180_000);
      const t0 = Date.now();
      const atLimit = worker<{ results: LoadResult[]; maxRssMiB: number }>({
        op: 'load',
        cases: cases([['safetensors', 'uint8', U32, [true]], ['torch', 'uint8', U32, [true]], ['torch', 'float32', 2 ** 30 + 1, [true]]]),
      });
      log(`3 loads at the limit: ${seconds(Date.now() - t0)} (${atLimit.results.map((r) => `${r.label} ${seconds(r.ms)}`).join(', ')}), peak RSS ${atLimit.maxRssMiB} MiB`);
      for (const r of atLimit.results) {
        expect(r.error, `${r.label}: ${r.error?.message}`).to.equal(undefined);
        const numel = r.label.includes('uint8') ? U32 : 2 ** 30 + 1;
        expect(r.loaded!.shape, r.label).to.deep.equal([numel]);
        expect(r.loaded!.byteLength, r.label).to.equal(numel * (r.label.includes('uint8') ? 1 : 4));
        expect(r.loaded!.markersOk, `${r.label}: the bytes at both ends`).to.equal(true);
        expect(r.loaded!.zeros, `${r.label}: zeros between`).to.equal(true);
      }
    });
  });
});
