// Reading real torch.save files from PyTorch 1.13 and 2.6, committed under
// test/fixtures/torch-files/ (made by test/torch/make-io-fixtures.ts), so
// machines without Python check the reader too: every dtype, strided views,
// shared storages, 0-dim and empty tensors, Python values, model dicts with
// _metadata, optimizer dicts of both generations, and the legacy format.
import { expect } from 'chai';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { FileFormatError, loadTorch, torchBytes } from '../lib';
import { describeValue } from './torch/describe';
import { zipRecords } from './zip-helpers';

const root = path.join(__dirname, 'fixtures', 'torch-files');
const versions = ['torch-1.13', 'torch-2.6'];

describe('loadTorch on committed files from real PyTorch', () => {
  for (const version of versions) {
    const expected = JSON.parse(fs.readFileSync(path.join(root, version, 'expected.json'), 'utf8')) as {
      files: Record<string, unknown>;
    };
    describe(version, () => {
      for (const [name, description] of Object.entries(expected.files)) {
        it(`reads ${name} exactly`, async () => {
          const value = await loadTorch(path.join(root, version, name));
          expect(describeValue(value)).to.deep.equal(description);
        });
        it(`writes ${name} back so that it reads the same`, async () => {
          const value = await loadTorch(path.join(root, version, name));
          expect(describeValue(await loadTorch(await torchBytes(value)))).to.deep.equal(description);
        });
      }
      it('refuses the legacy format with advice to re-save', async () => {
        const err = await loadTorch(path.join(root, version, 'legacy.pt')).catch((e: unknown) => e);
        expect(err).to.be.instanceOf(FileFormatError);
        expect((err as Error).message).to.match(/legacy\.pt: .*legacy torch\.save format.*re-save/);
      });
    });
  }

  it('writes and reads back Python bytes of every byte value, also megabytes of them', async () => {
    const big = Uint8Array.from({ length: 3 << 20 }, (_, i) => (i * 7) & 0xff);
    const back = await loadTorch<{ small: Uint8Array; big: Uint8Array }>(await torchBytes({ small: Uint8Array.from([0, 128, 255]), big }));
    expect([...back.small]).to.deep.equal([0, 128, 255]);
    expect(Buffer.compare(Buffer.from(back.big), Buffer.from(big))).to.equal(0);
  });

  it('writes and reads back long tuples and lists, and ints of any size', async () => {
    const long = Object.freeze(Array.from({ length: 300_000 }, (_, i) => i));
    const huge = 7n ** 1000n; // 2,808 bits: past LONG1's 255 bytes
    const back = await loadTorch<{ long: readonly number[]; list: number[]; huge: bigint; negative: bigint }>(
      await torchBytes({ long, list: [...long], huge, negative: -huge }));
    expect(Object.isFrozen(back.long) && back.long.length === long.length && back.long[299_999] === 299_999).to.equal(true);
    expect(Object.isFrozen(back.list)).to.equal(false);
    expect(back.list.length).to.equal(long.length);
    expect(back.huge).to.equal(huge);
    expect(back.negative).to.equal(-huge);
  });

  it('reads the archive records of 2.6 (byteorder, .data/serialization_id) and of 1.13 (neither)', async () => {
    const records = async (file: string) => (await zipRecords(fs.readFileSync(file))).map((r) => r.name);
    const newer = await records(path.join(root, 'torch-2.6', 'rmsprop.pt'));
    expect(newer).to.include.members(['rmsprop/byteorder', 'rmsprop/.data/serialization_id', 'rmsprop/version', 'rmsprop/data.pkl']);
    const older = await records(path.join(root, 'torch-1.13', 'rmsprop.pt'));
    expect(older.some((n) => n.endsWith('byteorder') || n.includes('serialization_id'))).to.equal(false);
  });
});
