import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Chat: anonymous visitors chat-service issued tokens to (only the token's
 * sha256 is stored), and ticket-service's record of offline email notifications
 * for chat replies the customer never received (one per chat message, so
 * replicas and rescans never notify twice).
 */
export class Chat1764000007000 implements MigrationInterface {
  name = 'Chat1764000007000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE chat_visitors (
        id           uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        inbox_id     uuid NOT NULL REFERENCES inboxes(id),
        token_hash   text NOT NULL UNIQUE,
        -- Set when the visitor later signs in as a verified app user (their rooms join).
        app_user_id  text,
        created_at   timestamptz NOT NULL DEFAULT now(),
        last_seen_at timestamptz NOT NULL DEFAULT now()
      );
      CREATE INDEX chat_visitors_app_user_idx ON chat_visitors (inbox_id, app_user_id) WHERE app_user_id IS NOT NULL;

      CREATE TABLE chat_offline_notifications (
        chat_message_id         uuid PRIMARY KEY REFERENCES messages(id),
        notification_message_id uuid REFERENCES messages(id),
        -- 'sent' (an email was queued) or 'skipped' with the reason (no email identity, no email inbox).
        outcome                 text NOT NULL CHECK (outcome IN ('sent','skipped')),
        reason                  text,
        created_at              timestamptz NOT NULL DEFAULT now()
      );
      -- The offline-fallback scan: undelivered chat replies by the time they failed.
      CREATE INDEX messages_chat_undelivered_idx ON messages (updated_at)
        WHERE channel = 'chat' AND direction = 'outbound' AND delivery_status = 'failed';
    `);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`
      DROP INDEX messages_chat_undelivered_idx;
      DROP TABLE chat_offline_notifications, chat_visitors;
    `);
  }
}
