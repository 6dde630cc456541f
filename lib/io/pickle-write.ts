// Writes pickle protocol 2 with the opcodes PyTorch's own files use, so that
// torch.load reads it, including 2.x's weights-only unpickler. The input is
// a small tree: JS values for plain data and PyNode objects for the Python
// constructs plain JS cannot say (tuples, floats that look like ints,
// globals, calls, persistent ids).

export type PyNode =
  | { py: 'tuple'; items: PyValue[] }
  | { py: 'float'; value: number }
  | { py: 'int'; value: number | bigint }
  | { py: 'global'; module: string; name: string }
  | { py: 'reduce'; callable: PyValue; args: PyValue[] }
  | { py: 'persid'; pid: PyValue }
  | { py: 'dict'; entries: Array<[PyValue, PyValue]>; ordered?: boolean };

export type PyValue = null | boolean | number | bigint | string | PyValue[] | PyNode;

export const tuple = (...items: PyValue[]): PyNode => ({ py: 'tuple', items });
/** A tuple of an existing list (no spreading: tuples may be long). */
export const tupleOf = (items: PyValue[]): PyNode => ({ py: 'tuple', items });
export const pyFloat = (value: number): PyNode => ({ py: 'float', value });
export const pyInt = (value: number | bigint): PyNode => ({ py: 'int', value });
export const pyGlobal = (module: string, name: string): PyNode => ({ py: 'global', module, name });
export const reduce = (callable: PyValue, ...args: PyValue[]): PyNode => ({ py: 'reduce', callable, args });
export const persistentId = (pid: PyValue): PyNode => ({ py: 'persid', pid });
export const dict = (entries: Array<[PyValue, PyValue]>, ordered = false): PyNode => ({ py: 'dict', entries, ordered });

/** Python's pickler batches APPENDS and SETITEMS by this many items. */
const BATCH = 1000;

export function pickle(value: PyValue): Uint8Array {
  const out = new ByteWriter();
  out.bytes(0x80, 2); // PROTO 2
  write(out, value);
  out.bytes(0x2e); // STOP
  return out.finish();
}

function write(out: ByteWriter, v: PyValue): void {
  if (v === null) return out.bytes(0x4e);
  if (v === true) return out.bytes(0x88);
  if (v === false) return out.bytes(0x89);
  if (typeof v === 'string') return writeString(out, v);
  if (typeof v === 'bigint') return writeInt(out, v);
  // A JS number is a Python int when it is a safe integer (and not -0), a float otherwise.
  if (typeof v === 'number') return Number.isSafeInteger(v) && !Object.is(v, -0) ? writeInt(out, v) : writeFloat(out, v);
  if (Array.isArray(v)) {
    out.bytes(0x5d); // EMPTY_LIST
    for (let i = 0; i < v.length; i += BATCH) {
      out.bytes(0x28); // MARK
      for (const item of v.slice(i, i + BATCH)) write(out, item);
      out.bytes(0x65); // APPENDS
    }
    return;
  }
  switch (v.py) {
    case 'float':
      return writeFloat(out, v.value);
    case 'int':
      return writeInt(out, v.value);
    case 'tuple':
      return writeTuple(out, v.items);
    case 'global':
      out.bytes(0x63);
      return out.text(`${v.module}\n${v.name}\n`);
    case 'reduce':
      write(out, v.callable);
      writeTuple(out, v.args);
      return out.bytes(0x52);
    case 'persid':
      write(out, v.pid);
      return out.bytes(0x51); // BINPERSID
    case 'dict':
      // collections.OrderedDict() then SETITEMS, as Python pickles an OrderedDict.
      if (v.ordered) write(out, reduce(pyGlobal('collections', 'OrderedDict')));
      else out.bytes(0x7d); // EMPTY_DICT
      for (let i = 0; i < v.entries.length; i += BATCH) {
        out.bytes(0x28);
        for (const [key, value] of v.entries.slice(i, i + BATCH)) {
          write(out, key);
          write(out, value);
        }
        out.bytes(0x75); // SETITEMS
      }
      return;
  }
}

function writeTuple(out: ByteWriter, items: PyValue[]): void {
  if (items.length === 0) return out.bytes(0x29);
  if (items.length > 3) out.bytes(0x28);
  for (const item of items) write(out, item);
  out.bytes(items.length > 3 ? 0x74 : [0, 0x85, 0x86, 0x87][items.length]);
}

function writeString(out: ByteWriter, s: string): void {
  const bytes = new TextEncoder().encode(s);
  out.bytes(0x58); // BINUNICODE
  out.u32(bytes.length);
  out.raw(bytes);
}

function writeInt(out: ByteWriter, n: number | bigint): void {
  if (typeof n === 'number' && n >= 0 && n < 0x100) return out.bytes(0x4b, n); // BININT1
  if (typeof n === 'number' && n >= 0 && n < 0x10000) {
    out.bytes(0x4d); // BININT2
    return out.u16(n);
  }
  if (typeof n === 'number' && n >= -0x80000000 && n < 0x80000000) {
    out.bytes(0x4a); // BININT
    return out.i32(n);
  }
  // LONG1: the shortest two's-complement little-endian form.
  let v = BigInt(n);
  const bytes: number[] = [];
  for (;;) {
    const byte = Number(v & 0xffn);
    bytes.push(byte);
    v >>= 8n;
    if ((v === 0n && !(byte & 0x80)) || (v === -1n && byte & 0x80)) break;
  }
  if (bytes.length < 0x100) return out.bytes(0x8a, bytes.length, ...bytes); // LONG1
  out.bytes(0x8b); // LONG4
  out.u32(bytes.length);
  out.raw(Uint8Array.from(bytes));
}

function writeFloat(out: ByteWriter, x: number): void {
  out.bytes(0x47); // BINFLOAT, big-endian
  out.f64be(x);
}

class ByteWriter {
  private buffer = new Uint8Array(256);
  private view = new DataView(this.buffer.buffer);
  private length = 0;

  private reserve(n: number): number {
    if (this.length + n > this.buffer.length) {
      const bigger = new Uint8Array(Math.max(this.buffer.length * 2, this.length + n));
      bigger.set(this.buffer.subarray(0, this.length));
      this.buffer = bigger;
      this.view = new DataView(bigger.buffer);
    }
    const at = this.length;
    this.length += n;
    return at;
  }

  // reserve() may replace the buffer: call it before reading this.buffer.
  bytes(...values: number[]): void {
    const at = this.reserve(values.length);
    this.buffer.set(values, at);
  }
  raw(values: Uint8Array): void {
    const at = this.reserve(values.length);
    this.buffer.set(values, at);
  }
  text(s: string): void {
    this.raw(new TextEncoder().encode(s));
  }
  u16(n: number): void {
    const at = this.reserve(2);
    this.view.setUint16(at, n, true);
  }
  u32(n: number): void {
    const at = this.reserve(4);
    this.view.setUint32(at, n, true);
  }
  i32(n: number): void {
    const at = this.reserve(4);
    this.view.setInt32(at, n, true);
  }
  f64be(x: number): void {
    const at = this.reserve(8);
    this.view.setFloat64(at, x, false);
  }
  finish(): Uint8Array {
    return this.buffer.slice(0, this.length);
  }
}
