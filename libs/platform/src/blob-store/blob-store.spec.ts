import { createHash } from 'node:crypto';
import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { BlobStore, BlobTooLargeError } from './blob-store';

describe('BlobStore', () => {
  let dir: string;
  beforeEach(async () => (dir = await mkdtemp(join(tmpdir(), 'oq-blob-'))));
  afterEach(() => rm(dir, { recursive: true, force: true }));

  it('stores by sha256, reads back byte-identical, and deduplicates', async () => {
    const store = new BlobStore(dir);
    const bytes = Buffer.from([0, 1, 2, 255, 254, 10, 13]);
    const a = await store.put(bytes);
    const b = await store.put(bytes);
    expect(a).toEqual(b);
    expect(a.sha256).toBe(createHash('sha256').update(bytes).digest('hex'));
    expect(await readFile(store.pathOf(a.sha256))).toEqual(bytes);
    const chunks: Buffer[] = [];
    for await (const c of store.read(a.sha256)) chunks.push(c as Buffer);
    expect(Buffer.concat(chunks)).toEqual(bytes);
  });

  it('refuses a stream over the limit and leaves nothing behind', async () => {
    const store = new BlobStore(dir);
    await expect(store.putStream(Readable.from([Buffer.alloc(1000)]), 100)).rejects.toBeInstanceOf(BlobTooLargeError);
    expect(await readdir(join(dir, 'tmp'))).toEqual([]);
  });

  it('rejects a path that is not a hash', () => {
    expect(() => new BlobStore(dir).pathOf('../../etc/passwd')).toThrow(/not a sha256/);
  });
});
