// The zip layer on its own: records aligned to 64 bytes as PyTorch aligns
// them, and the zip64 layout (needed past 4 GiB) checked without writing
// gigabytes: the writer is told to use zip64 records from byte 0, and both
// loadTorch and real PyTorch must read the result.
import { expect } from 'chai';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { loadTorch, torchBytes } from '../lib';
import { RECORD_ALIGNMENT } from '../lib/io/zip';
import { describeValue } from './torch/describe';
import { quickSlice } from './helpers';
import { oracleFor } from './torch/python';
import { zipOf, zipRecords } from './zip-helpers';

const fixtures = (version: string) => path.join(__dirname, 'fixtures', 'torch-files', version);
const FILES = ['rmsprop.pt', 'model.pt', 'dtypes-and-views.pt'];

/** The same records, rewritten with zip64 records for every entry and the end of directory. */
async function asZip64(bytes: Uint8Array): Promise<Uint8Array> {
  return zipOf((await zipRecords(bytes)).map((r): [string, Uint8Array] => [r.name, r.data]), 0);
}

async function dataOffsets(bytes: Uint8Array): Promise<number[]> {
  return (await zipRecords(bytes)).map((r) => r.dataAt);
}

describe('zip container', () => {
  it('aligns every record of a written file to 64 bytes, as PyTorch does', async () => {
    const bytes = await torchBytes(await loadTorch(path.join(fixtures('torch-2.6'), 'dtypes-and-views.pt')));
    const offsets = await dataOffsets(bytes);
    expect(offsets.length).to.be.greaterThan(10);
    for (const at of offsets) expect(at % RECORD_ALIGNMENT).to.equal(0);
    expect(await dataOffsets(await asZip64(bytes))).to.satisfy((all: number[]) => all.every((at) => at % RECORD_ALIGNMENT === 0));
  });

  it('accepts the records newer PyTorch versions add (.format_version, .storage_alignment, .data/version)', async () => {
    const original = fs.readFileSync(path.join(fixtures('torch-2.6'), 'rmsprop.pt'));
    const text = (t: string) => new TextEncoder().encode(t);
    // Newer versions keep the version under .data/ as well.
    const records = (await zipRecords(original)).map(({ name, data }): [string, Uint8Array] =>
      [name === 'rmsprop/version' ? 'rmsprop/.data/version' : name, data]);
    records.push(['rmsprop/.format_version', text('1')], ['rmsprop/.storage_alignment', text('64')]);
    const newer = await zipOf(records);
    expect(describeValue(await loadTorch(newer))).to.deep.equal(describeValue(await loadTorch(original)));
  });

  for (const name of FILES) {
    it(`reads its own zip64 layout: ${name}`, async () => {
      const original = fs.readFileSync(path.join(fixtures('torch-2.6'), name));
      const zip64 = await asZip64(original);
      expect(Buffer.from(zip64).indexOf(Buffer.from([0x50, 0x4b, 0x06, 0x06]))).to.be.greaterThan(0); // zip64 end record
      expect(describeValue(await loadTorch(zip64))).to.deep.equal(describeValue(await loadTorch(original)));
    });
  }

  // Both generations in the full suite; the default one (2.x) in npm test.
  for (const id of quickSlice(['torch-1.13', 'torch-2.6'] as const, (id) => id === 'torch-2.6')) {
    it(`${id} reads the zip64 layout Node writes`, async function () {
      this.timeout(60_000);
      const oracle = oracleFor(this, id);
      const expected = JSON.parse(fs.readFileSync(path.join(fixtures(id), 'expected.json'), 'utf8')) as { files: Record<string, unknown> };
      const dir = oracle.tempDir();
      try {
        for (const name of FILES) fs.writeFileSync(path.join(dir.host, name), await asZip64(fs.readFileSync(path.join(fixtures(id), name))));
        const script = fs.readFileSync(path.join(__dirname, 'torch', 'io_oracle.py'), 'utf8');
        const answer = oracle.run(script, { mode: 'describe', dir: dir.python }) as { files: Record<string, unknown> };
        for (const name of FILES) expect(answer.files[name], name).to.deep.equal(expected.files[name]);
      } finally {
        fs.rmSync(dir.host, { recursive: true, force: true });
      }
    });
  }
});
