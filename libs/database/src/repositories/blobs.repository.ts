import { Inject, Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { Db, execute, rows } from '../sql/db';
import { sql } from '../sql/sql';

/** A blob row the collector holds locked. */
export interface CollectableBlobRow {
  /** char(64), hex. */
  sha256: string;
  uploaded_at: Date;
}

/**
 * Attachment blobs' metadata and their garbage collection.
 * Tables: blobs (and, to find references, messages, dead_letters and suppressed_mails).
 */
@Injectable()
export class BlobRepository {
  constructor(@Inject(DataSource) private readonly db: Db) {}

  /** The same repository on a transaction's manager. */
  with(db: Db): BlobRepository {
    return new BlobRepository(db);
  }

  /**
   * Up to `limit` uploads older than `cutoff` not known to be referenced, after `after` in
   * (uploaded_at, sha256) order, locked until the caller's transaction ends. SKIP LOCKED: a reply
   * attaching one holds FOR KEY SHARE on it until its message commits, so such a blob is skipped
   * (and replicas split the work).
   */
  lockCollectable(
    cutoff: Date,
    after: { at: Date; sha256: string } | null,
    limit: number,
  ): Promise<CollectableBlobRow[]> {
    return rows<CollectableBlobRow>(
      this.db,
      sql`SELECT sha256, uploaded_at FROM blobs
           WHERE NOT referenced AND uploaded_at < ${cutoff}
             AND (${after?.at ?? null}::timestamptz IS NULL
                  OR (uploaded_at, sha256) > (${after?.at ?? null}::timestamptz, ${after?.sha256 ?? null}::bpchar))
           ORDER BY uploaded_at, sha256 LIMIT ${limit}
           FOR UPDATE SKIP LOCKED`,
    );
  }

  /**
   * Deletes those of the (locked) `shas` nothing references; the deleted ones' hashes. Run it as a
   * statement after the lock's, so its snapshot sees the messages of replies that held these rows
   * before the collector. Unreplayed dead letters may still bring a message with the same bytes
   * back: keep those too. So may suppressed mail (its payload's attachments), whose raw source admins
   * download: their rows are only ever soft-deleted, so — like a message's — the reference is for good.
   */
  async deleteUnreferenced(shas: readonly string[]): Promise<string[]> {
    const deleted = await rows<{ sha256: string }>(
      this.db,
      sql`DELETE FROM blobs b
           WHERE b.sha256 = ANY(${shas}::bpchar[])
             AND NOT EXISTS (
               SELECT 1 FROM messages msg
                WHERE msg.attachments <> '[]'::jsonb
                  AND msg.attachments @> jsonb_build_array(jsonb_build_object('sha256', b.sha256::text)))
             AND NOT EXISTS (
               SELECT 1 FROM dead_letters d
                WHERE d.replayed_at IS NULL
                  AND (strpos(d.payload::text, b.sha256::text) > 0
                       OR position(convert_to(b.sha256::text, 'UTF8') IN d.payload_bytes) > 0))
             AND NOT EXISTS (SELECT 1 FROM suppressed_mails s WHERE s.raw_sha256 = b.sha256)
             AND NOT EXISTS (
               SELECT 1 FROM suppressed_mails s
                WHERE s.message->'attachments' @> jsonb_build_array(jsonb_build_object('sha256', b.sha256::text)))
           RETURNING b.sha256`,
    );
    return deleted.map((r) => r.sha256);
  }

  /** Marks blobs found referenced, so the collector never looks at them again. */
  async markReferenced(shas: readonly string[]): Promise<void> {
    await execute(this.db, sql`UPDATE blobs SET referenced = true WHERE sha256 = ANY(${shas}::bpchar[])`);
  }
}
