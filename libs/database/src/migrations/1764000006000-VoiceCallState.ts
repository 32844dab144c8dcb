import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * voice-service: one row per (inbox, call id) holding every distinct event of
 * the call and the state folded from them. Events arrive out of order and
 * repeated; the service folds them under this row's lock and records which
 * revision of the call log it owes ticket-service and which it has enqueued,
 * so a crash between commit and enqueue is repaired by a sweep.
 */
export class VoiceCallState1764000006000 implements MigrationInterface {
  name = 'VoiceCallState1764000006000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE voice_calls (
        inbox_id          uuid NOT NULL,
        call_id           text NOT NULL,
        provider          text NOT NULL CHECK (provider IN ('twilio', 'pbx')),
        -- Distinct normalised events (deduplicated by digest), card numbers already masked.
        events            jsonb NOT NULL DEFAULT '[]',
        -- The state folded from all events (plus the downloaded recording, if any).
        state             jsonb NOT NULL DEFAULT '{}',
        final             boolean NOT NULL DEFAULT false,
        -- Revision of the call log owed to ticket-service (null until the call is final) …
        target_revision   integer,
        -- … the hash of the content that revision carries (a change raises the revision) …
        content_hash      text,
        -- … and the highest revision enqueued on the inbound queue.
        emitted_revision  integer,
        -- When the sweep should look at this row again (pending emission or recording retry); null: nothing to do.
        next_work_at      timestamptz,
        created_at        timestamptz NOT NULL DEFAULT now(),
        updated_at        timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (inbox_id, call_id)
      );
      -- The sweep reads only rows with work pending.
      CREATE INDEX voice_calls_work_idx ON voice_calls (next_work_at) WHERE next_work_at IS NOT NULL;
    `);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query('DROP TABLE voice_calls');
  }
}
