import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Issue #12 (email fidelity).
 *
 * `suppressed_mails`: mail email-service kept out of the agent queue (backscatter of mail we never
 * sent, upstream-flagged spam). It opens no ticket and creates no contact; an admin reviews it and
 * may release it, which runs the stored payload (`message`, the validated job as ingest masked it)
 * through normal ingest. `UNIQUE (inbox_id, external_id)` makes a redelivered job land once.
 * `raw_sha256` is the mail's raw source in the blob store; it and the payload's attachments count as
 * referenced for the upload collector (rows are soft-deleted only, so the reference never ends —
 * like a message's). The list reads newest first through the partial index of live rows.
 *
 * `messages.sender_name / sender_address / sender_header`: the display name and address each
 * inbound message carried (and, for email, which header gave the address), so a message keeps the
 * name it came with whatever its contact is called. Nullable, no default, no CHECK: adding them
 * neither rewrites nor scans `messages` (the values are the contract's, checked by zod).
 */
export class SuppressedMail1764000013000 implements MigrationInterface {
  name = 'SuppressedMail1764000013000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE suppressed_mails (
        id                  uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        inbox_id            uuid NOT NULL REFERENCES inboxes (id),
        external_id         text NOT NULL,
        reason              text NOT NULL CHECK (reason IN ('backscatter', 'spam')),
        detail              text NOT NULL,
        sender_address      text NOT NULL,
        sender_name         text,
        subject             text,
        raw_sha256          char(64) NOT NULL,
        raw_size            bigint NOT NULL CHECK (raw_size >= 0),
        message             jsonb NOT NULL,
        imap_uid            bigint,
        received_at         timestamptz NOT NULL,
        created_at          timestamptz NOT NULL DEFAULT now(),
        released_at         timestamptz,
        released_by         uuid REFERENCES agents (id),
        released_ticket_id  uuid REFERENCES tickets (id),
        released_message_id uuid REFERENCES messages (id),
        deleted_at          timestamptz,
        UNIQUE (inbox_id, external_id),
        CONSTRAINT suppressed_mails_release_complete
          CHECK ((released_at IS NULL) = (released_ticket_id IS NULL) AND (released_at IS NULL) = (released_message_id IS NULL))
      );
      CREATE INDEX suppressed_mails_list_idx ON suppressed_mails (created_at DESC, id DESC) WHERE deleted_at IS NULL;
      CREATE INDEX suppressed_mails_inbox_idx ON suppressed_mails (inbox_id, created_at DESC, id DESC)
        WHERE deleted_at IS NULL;
      CREATE INDEX suppressed_mails_raw_idx ON suppressed_mails (raw_sha256);
      CREATE INDEX suppressed_mails_attachments_idx ON suppressed_mails
        USING gin ((message->'attachments') jsonb_path_ops);

      ALTER TABLE messages ADD COLUMN sender_name text,
                           ADD COLUMN sender_address text,
                           ADD COLUMN sender_header text;
    `);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`
      ALTER TABLE messages DROP COLUMN sender_header, DROP COLUMN sender_address, DROP COLUMN sender_name;
      DROP TABLE suppressed_mails;
    `);
  }
}
