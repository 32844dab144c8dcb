import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Acknowledged means stored. Dead letters keep their payload as bytes (`payload_bytes`, the
 * JSON text as UTF-8), because the payloads that end up there are exactly the ones `jsonb`
 * may refuse (`\u0000`, lone surrogates) — the insert that parks a message must not fail on it.
 * Rows from before keep their `payload` jsonb. `source_key` makes a dead letter sent by a channel
 * service (a job that may be retried) land once. `message_originals` holds the exact original
 * strings of a message whose text had to be made storable (see libs/contracts storable-text.ts).
 */
export class HostileInput1764000011000 implements MigrationInterface {
  name = 'HostileInput1764000011000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      ALTER TABLE dead_letters ALTER COLUMN payload DROP NOT NULL,
                               ADD COLUMN payload_bytes bytea,
                               ADD COLUMN source_key text UNIQUE,
                               ADD CONSTRAINT dead_letters_payload_present CHECK (payload IS NOT NULL OR payload_bytes IS NOT NULL);
      CREATE TABLE message_originals (
        message_id uuid PRIMARY KEY REFERENCES messages (id) ON DELETE CASCADE,
        fields     text[] NOT NULL,
        original   bytea NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now()
      );
    `);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`
      DROP TABLE message_originals;
      UPDATE dead_letters SET payload = convert_from(payload_bytes, 'UTF8')::jsonb WHERE payload IS NULL;
      ALTER TABLE dead_letters DROP CONSTRAINT dead_letters_payload_present, DROP COLUMN payload_bytes,
                               DROP COLUMN source_key,
                               ALTER COLUMN payload SET NOT NULL;
    `);
  }
}
