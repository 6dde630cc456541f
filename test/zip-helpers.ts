// Building and taking apart zip archives in tests of the file readers.
import { openSource } from '../lib/io/byte-source';
import { entryDataOffset, readZipDirectory, readZipEntry, ZipWriter } from '../lib/io/zip';

/** A zip of the given records, in order; zip64 records from `zip64From` bytes on (default: where the format needs them). */
export async function zipOf(records: Iterable<[string, Uint8Array]>, zip64From?: number): Promise<Uint8Array> {
  const chunks: Uint8Array[] = [];
  const zip = new ZipWriter(async (c) => {
    chunks.push(c.slice());
  }, zip64From);
  for (const [name, data] of records) await zip.add(name, [data]);
  await zip.finish();
  return Buffer.concat(chunks);
}

/** Every record of a zip: name, bytes and where its data starts in the file. */
export async function zipRecords(bytes: Uint8Array): Promise<Array<{ name: string; data: Uint8Array; dataAt: number }>> {
  const source = await openSource(bytes);
  const out = [];
  for (const entry of (await readZipDirectory(source)).values()) {
    out.push({ name: entry.name, data: await readZipEntry(source, entry), dataAt: await entryDataOffset(source, entry) });
  }
  return out;
}
