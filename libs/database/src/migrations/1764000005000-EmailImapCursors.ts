import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * email-service's only durable state: per mailbox the UIDVALIDITY it has seen and
 * the highest UID already enqueued, so a restart or a new lease holder resumes
 * exactly where the last one stopped and nothing is fetched twice.
 * No foreign key to inboxes: the row belongs to email-service, which learns of
 * inboxes through the internal API, and a stale cursor for a deleted inbox is harmless.
 */
export class EmailImapCursors1764000005000 implements MigrationInterface {
  name = 'EmailImapCursors1764000005000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE email_imap_cursors (
        inbox_id    uuid NOT NULL,
        folder      text NOT NULL,
        uidvalidity bigint NOT NULL,
        last_uid    bigint NOT NULL DEFAULT 0 CHECK (last_uid >= 0),
        updated_at  timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (inbox_id, folder)
      )`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query('DROP TABLE email_imap_cursors');
  }
}
