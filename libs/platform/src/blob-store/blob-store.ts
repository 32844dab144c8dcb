import { createHash, randomUUID } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';

export interface StoredBlob {
  sha256: string;
  size: number;
}

export class BlobTooLargeError extends Error {
  constructor(readonly limit: number) {
    super(`blob exceeds ${limit} bytes`);
    this.name = 'BlobTooLargeError';
  }
}

/**
 * Content-addressed blob store on a directory shared by every service
 * (BLOB_DIR; S3-compatible later behind the same methods). A blob's name is its
 * sha256, so storing the same bytes twice is free and retries are idempotent.
 * Writes go to a temp file and are renamed into place: readers never see a partial blob.
 */
export class BlobStore {
  constructor(private readonly dir: string) {}

  pathOf(sha256: string): string {
    if (!/^[0-9a-f]{64}$/.test(sha256)) throw new Error(`not a sha256: ${sha256}`);
    return join(this.dir, sha256.slice(0, 2), sha256.slice(2, 4), sha256);
  }

  async put(data: Buffer | string): Promise<StoredBlob> {
    return this.putStream(Readable.from([typeof data === 'string' ? Buffer.from(data) : data]));
  }

  async putStream(source: Readable, maxBytes = Number.POSITIVE_INFINITY): Promise<StoredBlob> {
    const tmpDir = join(this.dir, 'tmp');
    await mkdir(tmpDir, { recursive: true });
    const tmp = join(tmpDir, randomUUID());
    const hash = createHash('sha256');
    let size = 0;
    const meter = new Transform({
      transform(chunk: Buffer, _enc, cb) {
        size += chunk.length;
        if (size > maxBytes) return cb(new BlobTooLargeError(maxBytes));
        hash.update(chunk);
        cb(null, chunk);
      },
    });
    try {
      await pipeline(source, meter, createWriteStream(tmp));
      const sha256 = hash.digest('hex');
      const target = this.pathOf(sha256);
      await mkdir(join(target, '..'), { recursive: true });
      await rename(tmp, target);
      return { sha256, size };
    } catch (err) {
      await rm(tmp, { force: true });
      throw err;
    }
  }

  async exists(sha256: string): Promise<boolean> {
    try {
      await stat(this.pathOf(sha256));
      return true;
    } catch {
      return false;
    }
  }

  read(sha256: string): Readable {
    return createReadStream(this.pathOf(sha256));
  }

  /**
   * Deletes the blob unless its file was written at or after `cutoff`: a concurrent put of
   * the same bytes renames a fresh file into place, and that one must survive. The file is
   * first moved aside, so a put racing this either wrote the file that was moved (fresh:
   * moved back) or lands at the path afterwards (untouched).
   */
  async removeIfOlderThan(sha256: string, cutoff: Date): Promise<'removed' | 'kept' | 'missing'> {
    const path = this.pathOf(sha256);
    const tmpDir = join(this.dir, 'tmp');
    await mkdir(tmpDir, { recursive: true });
    const aside = join(tmpDir, `gc-${randomUUID()}`);
    try {
      await rename(path, aside);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return 'missing';
      throw err;
    }
    if ((await stat(aside)).mtimeMs >= cutoff.getTime()) {
      // Same bytes by definition, so replacing a file that landed meanwhile changes nothing.
      await rename(aside, path);
      return 'kept';
    }
    await rm(aside, { force: true });
    return 'removed';
  }

  async remove(sha256: string): Promise<void> {
    await rm(this.pathOf(sha256), { force: true });
  }
}
