import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Messenger/Instagram watermarks ("everything sent to this customer up to T is
 * read") name a conversation, not a message: ticket-service finds our messages on
 * (inbox, recipient identity) that can still move forward. Partial, so it holds
 * only outbound messages that are sent or delivered — read and failed ones leave it.
 */
export class DeliveryWatermarkIndex1764000009500 implements MigrationInterface {
  name = 'DeliveryWatermarkIndex1764000009500';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE INDEX messages_watermark_idx ON messages (inbox_id, to_identity_id, created_at)
        WHERE direction = 'outbound' AND delivery_status IN ('sent','delivered');
    `);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP INDEX messages_watermark_idx`);
  }
}
