// Which tensors saveTorch writes as one storage: views of one buffer that
// overlap (tied weights, slices), and every view of a storage loadTorch made;
// not neighbours that merely share a buffer (Node's Buffer pool, a user's
// arena), which PyTorch would then save together.
import { expect } from 'chai';
import { loadTorch, torchBytes, type TensorRecord } from '../lib';
import { openSource } from '../lib/io/byte-source';
import { readZipDirectory } from '../lib/io/zip';

type Records = Record<string, TensorRecord>;
const f32 = (data: Float32Array): TensorRecord => ({ dtype: 'float32', shape: [data.length], data });

async function storageCount(bytes: Uint8Array): Promise<number> {
  const source = await openSource(bytes);
  const names = [...(await readZipDirectory(source)).keys()];
  return names.filter((n) => /\/data\/\d+$/.test(n)).length;
}

describe('saveTorch storages', () => {
  it('writes overlapping views of one buffer as one storage, which load sharing memory', async () => {
    const f = Float32Array.from({ length: 8 }, (_, i) => i);
    const bytes = await torchBytes({ a: f32(f.subarray(0, 6)), empty: f32(f.subarray(4, 4)), b: f32(f.subarray(4, 8)) });
    expect(await storageCount(bytes)).to.equal(2); // a+b, and the empty view's own
    const back = await loadTorch<Records>(bytes);
    expect(back.a.data.buffer).to.equal(back.b.data.buffer);
    (back.b.data as Float32Array)[0] = 40;
    expect(back.a.data[4]).to.equal(40);
    expect([...back.b.data]).to.deep.equal([40, 5, 6, 7]);
    expect(back.empty.data.length).to.equal(0);
  });

  it('writes the same array under two names once', async () => {
    const w = new Float32Array([1, 2, 3]);
    const bytes = await torchBytes({ 'embed.weight': f32(w), 'head.weight': f32(w) });
    expect(await storageCount(bytes)).to.equal(1);
    const back = await loadTorch<Records>(bytes);
    expect(back['embed.weight'].data).to.not.equal(back['head.weight'].data);
    expect(back['embed.weight'].data.buffer).to.equal(back['head.weight'].data.buffer);
  });

  it('keeps neighbours in one buffer apart: touching views and Buffer pool slices are separate storages', async () => {
    const arena = new Float32Array(8);
    expect(await storageCount(await torchBytes({ a: f32(arena.subarray(0, 4)), b: f32(arena.subarray(4, 8)) }))).to.equal(2);
    const x = Buffer.from([1, 2, 3]);
    const y = Buffer.from([4, 5, 6]);
    expect(x.buffer, 'the test needs two slices of the pool').to.equal(y.buffer);
    const u8 = (b: Buffer): TensorRecord => ({ dtype: 'uint8', shape: [b.length], data: new Uint8Array(b.buffer, b.byteOffset, b.length) });
    const bytes = await torchBytes({ x: u8(x), y: u8(y) });
    expect(await storageCount(bytes)).to.equal(2);
    const back = await loadTorch<Records>(bytes);
    expect([...back.x.data]).to.deep.equal([1, 2, 3]);
    expect(back.x.data.buffer.byteLength).to.equal(3);
  });

  it('writes disjoint views of a loaded storage back as that one storage', async () => {
    const loaded = await loadTorch<Records>(await torchBytes({ w: f32(Float32Array.from({ length: 10 }, (_, i) => i)) }));
    const w = loaded.w.data as Float32Array;
    const bytes = await torchBytes({ head: f32(w.subarray(0, 2)), tail: f32(w.subarray(7, 10)) });
    expect(await storageCount(bytes)).to.equal(1);
    const back = await loadTorch<Records>(bytes);
    expect(back.head.data.buffer).to.equal(back.tail.data.buffer);
    expect([...back.tail.data]).to.deep.equal([7, 8, 9]);
  });

  it('keeps views of one buffer at offsets of another alignment apart', async () => {
    const f = new Float32Array(6).map((_, i) => i);
    const c = (data: Float32Array): TensorRecord => ({ dtype: 'complex64', shape: [data.length / 2], data });
    // Complex elements are 8 bytes: views starting 4 bytes apart cannot be one storage.
    const bytes = await torchBytes({ a: c(f.subarray(0, 4)), b: c(f.subarray(1, 5)), d: c(f.subarray(2, 6)) });
    expect(await storageCount(bytes)).to.equal(2);
    const back = await loadTorch<Records>(bytes);
    expect([...back.b.data]).to.deep.equal([1, 2, 3, 4]);
    expect(back.a.data.buffer).to.equal(back.d.data.buffer);
  });
});
