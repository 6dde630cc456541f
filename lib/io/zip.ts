// The zip container of torch.save files: a reader for what PyTorch writes
// (stored entries, data descriptors, zip64 records, any archive prefix) and a
// writer of the same layout (stored entries, data aligned to 64 bytes with an
// "FB" padding field as PyTorch does, zip64 records when sizes need them).
import * as zlib from 'zlib';
import { CHUNK, MAX_TYPED_LENGTH, type ByteSource } from './byte-source';
import { FileFormatError } from './format-error';

const LOCAL_HEADER = 0x04034b50;
const CENTRAL_HEADER = 0x02014b50;
const END_OF_DIRECTORY = 0x06054b50;
const ZIP64_END_OF_DIRECTORY = 0x06064b50;
const ZIP64_LOCATOR = 0x07064b50;
const ZIP64_EXTRA = 0x0001;
const STORED = 0;
const DEFLATED = 8;
const U32_MAX = 0xffffffff;
const U16_MAX = 0xffff;
/** PyTorch aligns every record's data to 64 bytes, so a file can be memory-mapped. */
export const RECORD_ALIGNMENT = 64;

export interface ZipEntry {
  name: string;
  method: number;
  crc32: number;
  compressedSize: number;
  size: number;
  localHeaderOffset: number;
}

/** The entries of a zip archive, from its central directory. */
export async function readZipDirectory(source: ByteSource): Promise<Map<string, ZipEntry>> {
  const fail = (detail: string): never => {
    throw new FileFormatError(source.name, detail);
  };
  // The end record is in the last 22 + 65535 (longest comment) bytes.
  const tailLength = Math.min(source.size, 22 + U16_MAX);
  const tailStart = source.size - tailLength;
  const tail = await source.read(tailStart, tailLength);
  const view = new DataView(tail.buffer, tail.byteOffset, tail.byteLength);
  let end = -1;
  for (let i = tail.length - 22; i >= 0; i--) {
    if (view.getUint32(i, true) === END_OF_DIRECTORY && i + 22 + view.getUint16(i + 20, true) === tail.length) {
      end = i;
      break;
    }
  }
  if (end < 0) fail('not a zip archive (no end-of-directory record)');
  let count = view.getUint16(end + 10, true);
  let directorySize = view.getUint32(end + 12, true);
  let directoryOffset = view.getUint32(end + 16, true);
  const locatorAt = tailStart + end - 20;
  if (locatorAt >= 0 && (count === U16_MAX || directorySize === U32_MAX || directoryOffset === U32_MAX ||
      (end >= 20 && view.getUint32(end - 20, true) === ZIP64_LOCATOR))) {
    const locator = dataView(await source.read(locatorAt, 20));
    if (locator.getUint32(0, true) !== ZIP64_LOCATOR) fail('zip64 sizes without a zip64 locator');
    const record = dataView(await source.read(safeU64(locator, 8, fail), 56));
    if (record.getUint32(0, true) !== ZIP64_END_OF_DIRECTORY) fail('bad zip64 end-of-directory record');
    count = safeU64(record, 32, fail);
    directorySize = safeU64(record, 40, fail);
    directoryOffset = safeU64(record, 48, fail);
  }
  if (directoryOffset + directorySize > source.size) fail('the zip directory points past the end of the file (truncated?)');
  const directory = dataView(await source.read(directoryOffset, directorySize));
  const entries = new Map<string, ZipEntry>();
  let at = 0;
  for (let i = 0; i < count; i++) {
    if (at + 46 > directory.byteLength || directory.getUint32(at, true) !== CENTRAL_HEADER) {
      fail(`zip directory entry ${i} is damaged`);
    }
    const flags = directory.getUint16(at + 8, true);
    const nameLength = directory.getUint16(at + 28, true);
    const extraLength = directory.getUint16(at + 30, true);
    const commentLength = directory.getUint16(at + 32, true);
    if (at + 46 + nameLength + extraLength + commentLength > directory.byteLength) fail(`zip directory entry ${i} is damaged`);
    const name = new TextDecoder().decode(new Uint8Array(directory.buffer, directory.byteOffset + at + 46, nameLength));
    const entry: ZipEntry = {
      name,
      method: directory.getUint16(at + 10, true),
      crc32: directory.getUint32(at + 16, true),
      compressedSize: directory.getUint32(at + 20, true),
      size: directory.getUint32(at + 24, true),
      localHeaderOffset: directory.getUint32(at + 42, true),
    };
    readZip64Extra(directory, at + 46 + nameLength, extraLength, entry, fail);
    if (flags & 1) fail(`zip entry ${name} is encrypted`);
    if (entry.method !== STORED && entry.method !== DEFLATED) fail(`zip entry ${name} uses compression method ${entry.method}`);
    if (entries.has(name)) fail(`zip entry ${name} appears twice`);
    entries.set(name, entry);
    at += 46 + nameLength + extraLength + commentLength;
  }
  return entries;
}

/** Bytes in a buffer: a Uint8Array, or an ArrayBuffer's whole length (which may pass 4 GiB). */
export interface EntryBytes {
  readonly buffer: ArrayBuffer;
  readonly byteOffset: number;
  readonly byteLength: number;
}

/** An entry's bytes, inflated if needed, with its CRC checked (at most 4 GiB: see readZipEntryBytes). */
export async function readZipEntry(source: ByteSource, entry: ZipEntry): Promise<Uint8Array> {
  const bytes = await readZipEntryBytes(source, entry);
  return new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/** An entry's bytes, inflated if needed, with its CRC checked; a stored entry may pass 4 GiB. */
export async function readZipEntryBytes(source: ByteSource, entry: ZipEntry): Promise<EntryBytes> {
  const fail = (detail: string): never => {
    throw new FileFormatError(source.name, `zip entry ${entry.name}: ${detail}`);
  };
  if (entry.method === STORED) {
    const at = await storedDataOffset(source, entry);
    const buffer = await source.readBuffer(at, entry.size);
    let crc = 0;
    for (let i = 0; i < entry.size; i += CHUNK) crc = crc32(new Uint8Array(buffer, i, Math.min(CHUNK, entry.size - i)), crc);
    if (crc !== entry.crc32) fail('CRC mismatch (the file is corrupt)');
    return { buffer, byteOffset: 0, byteLength: entry.size };
  }
  if (entry.size > MAX_TYPED_LENGTH) fail(`inflates to ${entry.size} bytes, more than the 4 GiB Node inflates into one buffer`);
  const stored = await source.read(await entryDataOffset(source, entry), entry.compressedSize);
  let data: Uint8Array = stored;
  try {
    // The limit stops a small "zip bomb" from inflating past the size the directory declares.
    data = zlib.inflateRawSync(stored, { maxOutputLength: Math.max(entry.size, 1) });
  } catch (err) {
    fail(`cannot inflate (${(err as Error).message})`);
  }
  if (data.length !== entry.size) fail(`holds ${data.length} bytes, the directory says ${entry.size}`);
  if (crc32(data) !== entry.crc32) fail('CRC mismatch (the file is corrupt)');
  // A buffer of its own: zlib may return a slice of a larger one (Node's pool, for small outputs).
  const own = data.byteOffset === 0 && data.buffer.byteLength === data.length ? data : data.slice();
  return own as Uint8Array & { buffer: ArrayBuffer };
}

/** Whether an entry's bytes lie in the file as they are (so they can be mapped). */
export function isStored(entry: ZipEntry): boolean {
  return entry.method === STORED;
}

/**
 * Where a stored entry's bytes start, once its sizes agree. Mapping reads
 * from here without the CRC check, which would read every byte.
 */
export async function storedDataOffset(source: ByteSource, entry: ZipEntry): Promise<number> {
  if (entry.compressedSize !== entry.size) {
    throw new FileFormatError(source.name, `zip entry ${entry.name}: is stored but its sizes differ (${entry.compressedSize} and ${entry.size})`);
  }
  return entryDataOffset(source, entry);
}

/** Where an entry's data starts: after its local header, whose name and extra field may differ from the directory's. */
export async function entryDataOffset(source: ByteSource, entry: ZipEntry): Promise<number> {
  const local = dataView(await source.read(entry.localHeaderOffset, 30));
  if (local.getUint32(0, true) !== LOCAL_HEADER) {
    throw new FileFormatError(source.name, `zip entry ${entry.name}: bad local header`);
  }
  return entry.localHeaderOffset + 30 + local.getUint16(26, true) + local.getUint16(28, true);
}

function readZip64Extra(view: DataView, start: number, length: number, entry: ZipEntry, fail: (d: string) => never): void {
  for (let at = start; at + 4 <= start + length;) {
    const id = view.getUint16(at, true);
    const size = view.getUint16(at + 2, true);
    if (at + 4 + size > start + length) fail(`zip entry ${entry.name} has a damaged extra field`);
    if (id === ZIP64_EXTRA) {
      // Only the fields whose 32-bit slot is saturated are present, in this order.
      let field = at + 4;
      const next = (): number => {
        if (field + 8 > at + 4 + size) fail(`zip entry ${entry.name} has a short zip64 field`);
        const v = safeU64(view, field, fail);
        field += 8;
        return v;
      };
      if (entry.size === U32_MAX) entry.size = next();
      if (entry.compressedSize === U32_MAX) entry.compressedSize = next();
      if (entry.localHeaderOffset === U32_MAX) entry.localHeaderOffset = next();
    }
    at += 4 + size;
  }
}

function safeU64(view: DataView, at: number, fail: (d: string) => never): number {
  const v = view.getBigUint64(at, true);
  if (v > BigInt(Number.MAX_SAFE_INTEGER)) fail(`a zip64 size or offset is out of range (${v})`);
  return Number(v);
}

function dataView(bytes: Uint8Array): DataView {
  return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

// ---- CRC-32 (zlib.crc32 from Node 20.15/22.2; a table otherwise) ----

let table: Uint32Array | undefined;
function crc32Table(): Uint32Array {
  if (table === undefined) {
    table = new Uint32Array(256);
    for (let n = 0; n < 256; n++) {
      let c = n;
      for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
      table[n] = c >>> 0;
    }
  }
  return table;
}

export function crc32(data: Uint8Array, previous = 0): number {
  const native = (zlib as unknown as { crc32?: (d: Uint8Array, v: number) => number }).crc32;
  if (native !== undefined) return native(data, previous) >>> 0;
  const t = crc32Table();
  let c = ~previous >>> 0;
  for (let i = 0; i < data.length; i++) c = t[(c ^ data[i]) & 0xff] ^ (c >>> 8);
  return ~c >>> 0;
}

// ---- Writer ----

interface WrittenEntry {
  name: Uint8Array;
  crc32: number;
  size: number;
  offset: number;
  zip64: boolean;
}

/**
 * Writes a zip as PyTorch does: stored entries, each record's data aligned to
 * 64 bytes, zip64 records only when an offset or size needs them. `write`
 * appends bytes to the output (a file handle or a buffer list).
 */
export class ZipWriter {
  private offset = 0;
  private readonly entries: WrittenEntry[] = [];

  /**
   * `zip64From`: sizes and offsets from this value on get zip64 records
   * (4 GiB - 1 by default, as the format requires; tests lower it to check
   * the zip64 layout without writing gigabytes).
   */
  constructor(
    private readonly write: (chunk: Uint8Array) => Promise<void>,
    private readonly zip64From = U32_MAX,
  ) {}

  /** Appends one stored entry whose data is the concatenation of `parts`. */
  async add(name: string, parts: readonly Uint8Array[]): Promise<void> {
    const nameBytes = new TextEncoder().encode(name);
    const size = parts.reduce((n, p) => n + p.length, 0);
    const crc = parts.reduce((c, p) => crc32(p, c), 0);
    const zip64 = size >= this.zip64From || this.offset >= this.zip64From;
    const zip64Extra = zip64 ? 20 : 0;
    // "FB" padding field, as PyTorch writes it: 4 header bytes plus filler.
    const unpadded = this.offset + 30 + nameBytes.length + zip64Extra + 4;
    const padding = (RECORD_ALIGNMENT - (unpadded % RECORD_ALIGNMENT)) % RECORD_ALIGNMENT;
    const header = new DataView(new ArrayBuffer(30 + nameBytes.length + zip64Extra + 4 + padding));
    header.setUint32(0, LOCAL_HEADER, true);
    header.setUint16(4, zip64 ? 45 : 20, true); // version needed
    header.setUint16(6, 0x800, true); // names are UTF-8
    header.setUint16(8, STORED, true);
    header.setUint16(10, 0, true); // time 00:00
    header.setUint16(12, 33, true); // date 1980-01-01
    header.setUint32(14, crc, true);
    header.setUint32(18, zip64 ? U32_MAX : size, true);
    header.setUint32(22, zip64 ? U32_MAX : size, true);
    header.setUint16(26, nameBytes.length, true);
    header.setUint16(28, zip64Extra + 4 + padding, true);
    const bytes = new Uint8Array(header.buffer);
    bytes.set(nameBytes, 30);
    let at = 30 + nameBytes.length;
    if (zip64) {
      header.setUint16(at, ZIP64_EXTRA, true);
      header.setUint16(at + 2, 16, true);
      header.setBigUint64(at + 4, BigInt(size), true);
      header.setBigUint64(at + 12, BigInt(size), true);
      at += 20;
    }
    bytes.set([0x46, 0x42], at); // "FB"
    header.setUint16(at + 2, padding, true);
    bytes.fill(0x5a, at + 4); // "Z"
    this.entries.push({ name: nameBytes, crc32: crc, size, offset: this.offset, zip64 });
    await this.emit(bytes);
    for (const part of parts) await this.emit(part);
  }

  /** Writes the central directory and the end records. */
  async finish(): Promise<void> {
    const directoryOffset = this.offset;
    for (const e of this.entries) await this.emit(centralHeader(e));
    const directorySize = this.offset - directoryOffset;
    const needZip64 = this.entries.length >= U16_MAX || directoryOffset >= this.zip64From || directorySize >= this.zip64From;
    if (needZip64) {
      const record = new DataView(new ArrayBuffer(56 + 20));
      record.setUint32(0, ZIP64_END_OF_DIRECTORY, true);
      record.setBigUint64(4, 44n, true); // size of the rest of this record
      record.setUint16(12, 45, true);
      record.setUint16(14, 45, true);
      record.setBigUint64(24, BigInt(this.entries.length), true);
      record.setBigUint64(32, BigInt(this.entries.length), true);
      record.setBigUint64(40, BigInt(directorySize), true);
      record.setBigUint64(48, BigInt(directoryOffset), true);
      record.setUint32(56, ZIP64_LOCATOR, true);
      record.setBigUint64(64, BigInt(this.offset), true); // where the zip64 end record starts
      record.setUint32(72, 1, true); // one disk
      await this.emit(new Uint8Array(record.buffer));
    }
    const end = new DataView(new ArrayBuffer(22));
    end.setUint32(0, END_OF_DIRECTORY, true);
    // With zip64 records, the classic fields are saturated: readers take the zip64 values.
    end.setUint16(8, needZip64 ? U16_MAX : this.entries.length, true);
    end.setUint16(10, needZip64 ? U16_MAX : this.entries.length, true);
    end.setUint32(12, needZip64 ? U32_MAX : directorySize, true);
    end.setUint32(16, needZip64 ? U32_MAX : directoryOffset, true);
    await this.emit(new Uint8Array(end.buffer));
  }

  private async emit(chunk: Uint8Array): Promise<void> {
    await this.write(chunk);
    this.offset += chunk.length;
  }
}

function centralHeader(e: WrittenEntry): Uint8Array {
  const { zip64 } = e;
  const extraLength = zip64 ? 28 : 0;
  const header = new DataView(new ArrayBuffer(46 + e.name.length + extraLength));
  header.setUint32(0, CENTRAL_HEADER, true);
  header.setUint16(4, zip64 ? 45 : 20, true); // version made by
  header.setUint16(6, zip64 ? 45 : 20, true); // version needed
  header.setUint16(8, 0x800, true);
  header.setUint16(10, STORED, true);
  header.setUint16(12, 0, true);
  header.setUint16(14, 33, true);
  header.setUint32(16, e.crc32, true);
  header.setUint32(20, zip64 ? U32_MAX : e.size, true);
  header.setUint32(24, zip64 ? U32_MAX : e.size, true);
  header.setUint16(28, e.name.length, true);
  header.setUint16(30, extraLength, true);
  header.setUint32(42, zip64 ? U32_MAX : e.offset, true);
  new Uint8Array(header.buffer).set(e.name, 46);
  if (zip64) {
    const at = 46 + e.name.length;
    header.setUint16(at, ZIP64_EXTRA, true);
    header.setUint16(at + 2, 24, true);
    header.setBigUint64(at + 4, BigInt(e.size), true);
    header.setBigUint64(at + 12, BigInt(e.size), true);
    header.setBigUint64(at + 20, BigInt(e.offset), true);
  }
  return new Uint8Array(header.buffer);
}
