import { Inject, Injectable, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { BlobRepository } from '@oq/database';
import { BlobStore, CONFIG, LOGGER } from '@oq/platform';
import { Logger } from 'pino';
import { DataSource } from 'typeorm';
import { Config } from '../config';

const BATCH = 200;

export interface BlobGcResult {
  /** Rows deleted (no message referenced them). */
  removed: number;
  /** Files deleted with them; a row's file written again within the grace period is kept. */
  filesRemoved: number;
  /** Rows found referenced by a message, marked so and never looked at again. */
  referenced: number;
}

/**
 * Deletes agent uploads (the `blobs` index and their files) that no message (nor unreplayed dead
 * letter, nor suppressed mail) references
 * BLOB_GC_GRACE_SECONDS after their last upload, every BLOB_GC_INTERVAL_SECONDS.
 *
 * Against a reply referencing a blob at the same moment: a reply takes FOR KEY SHARE on
 * the blob rows it attaches and holds it until its message is committed. The collector
 * locks candidates FOR UPDATE SKIP LOCKED (a reply in flight → skipped), then checks for
 * references in a new statement, whose snapshot includes every message committed before
 * its locks were granted; a reply arriving after that waits and then finds the row gone
 * (404, "attachment not found"). Files are shared, content-addressed, with the channel
 * services, so one whose bytes were written again within the grace period stays.
 * Replicas split the work through SKIP LOCKED.
 */
@Injectable()
export class BlobGcService implements OnApplicationBootstrap, OnApplicationShutdown {
  private timer?: NodeJS.Timeout;
  private running?: Promise<void>;

  constructor(
    @Inject(DataSource) private readonly ds: DataSource,
    private readonly index: BlobRepository,
    private readonly blobs: BlobStore,
    @Inject(CONFIG) private readonly config: Config,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {}

  onApplicationBootstrap() {
    this.timer = setInterval(() => this.tick(), this.config.BLOB_GC_INTERVAL_SECONDS * 1000);
    this.timer.unref();
  }

  async onApplicationShutdown() {
    clearInterval(this.timer);
    await this.running;
  }

  private tick() {
    if (this.running) return;
    this.running = this.collect()
      .then((r) => {
        if (r.removed || r.referenced) this.logger.info(r, 'unreferenced uploads collected');
      })
      .catch((err: Error) => this.logger.warn({ err: err.message }, 'blob garbage collection failed'))
      .finally(() => (this.running = undefined));
  }

  /** One pass over every upload older than the grace period that is not known to be referenced. */
  async collect(now = new Date()): Promise<BlobGcResult> {
    const cutoff = new Date(now.getTime() - this.config.BLOB_GC_GRACE_SECONDS * 1000);
    const result: BlobGcResult = { removed: 0, filesRemoved: 0, referenced: 0 };
    let after: { at: Date; sha256: string } | null = null;
    for (;;) {
      const batch = await this.ds.transaction(async (m) => {
        const index = this.index.with(m);
        const locked = await index.lockCollectable(cutoff, after, BATCH);
        if (!locked.length) return null;
        const shas = locked.map((r) => r.sha256);
        // A new statement, so a new snapshot: it sees the messages of replies that held these rows before us.
        const gone = new Set(await index.deleteUnreferenced(shas));
        const kept = shas.filter((s) => !gone.has(s));
        if (kept.length) await index.markReferenced(kept);
        return { locked, deleted: [...gone], kept: kept.length };
      });
      if (!batch) break;
      // After the commit: a re-upload now writes a fresh file, which removeIfOlderThan leaves alone.
      for (const sha256 of batch.deleted)
        if ((await this.blobs.removeIfOlderThan(sha256, cutoff)) === 'removed') result.filesRemoved++;
      result.removed += batch.deleted.length;
      result.referenced += batch.kept;
      const last = batch.locked[batch.locked.length - 1];
      after = { at: last.uploaded_at, sha256: last.sha256 };
      if (batch.locked.length < BATCH) break;
    }
    return result;
  }
}
