import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Garbage collection of agent uploads that no message references. `uploaded_at` is the
 * last upload of the bytes (a re-upload restarts the grace period); `referenced` records
 * that a message was found pointing at the blob, which never becomes untrue (messages are
 * not deleted), so the collector does not look at it again. The partial GIN index answers
 * "does any message reference this sha256" without scanning the many messages that have
 * no attachments (and costs them nothing on insert).
 */
export class BlobGc1764000010000 implements MigrationInterface {
  name = 'BlobGc1764000010000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      ALTER TABLE blobs ADD COLUMN uploaded_at timestamptz NOT NULL DEFAULT now(),
                        ADD COLUMN referenced boolean NOT NULL DEFAULT false;
      UPDATE blobs SET uploaded_at = created_at;
      CREATE INDEX blobs_gc_idx ON blobs (uploaded_at, sha256) WHERE NOT referenced;
      CREATE INDEX messages_attachments_idx ON messages USING gin (attachments jsonb_path_ops)
        WHERE attachments <> '[]'::jsonb;
    `);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`
      DROP INDEX messages_attachments_idx;
      DROP INDEX blobs_gc_idx;
      ALTER TABLE blobs DROP COLUMN referenced, DROP COLUMN uploaded_at;
    `);
  }
}
