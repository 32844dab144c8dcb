import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Keyset indexes for the unified queue and the contact search.
 *
 * The queue orders by next_due_at NULLS LAST, priority DESC, age, id. A keyset
 * cursor over mixed directions and NULLs cannot be one row comparison, so these
 * indexes key on (coalesce(next_due_at, 'infinity'), -priority_rank, created_at, id):
 * the same order, all ascending, without NULLs — `(key) > (cursor)` becomes one
 * index range scan and page N costs the same as page 1.
 */
export class QueueKeysetIndexes1764000003000 implements MigrationInterface {
  name = 'QueueKeysetIndexes1764000003000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE INDEX tickets_queue_key_idx
        ON tickets ((coalesce(next_due_at, 'infinity'::timestamptz)), (-priority_rank), created_at, id)
        WHERE status IN ('new','open','pending','on_hold');
      CREATE INDEX tickets_queue_team_key_idx
        ON tickets (team_id, (coalesce(next_due_at, 'infinity'::timestamptz)), (-priority_rank), created_at, id)
        WHERE status IN ('new','open','pending','on_hold');
      -- Agents' own work: "assigned to me" in the queue and the visibility rule's second half.
      CREATE INDEX tickets_queue_assignee_key_idx
        ON tickets (assignee_id, (coalesce(next_due_at, 'infinity'::timestamptz)), (-priority_rank), created_at, id)
        WHERE status IN ('new','open','pending','on_hold') AND assignee_id IS NOT NULL;
      -- Ticket list (GET /v1/tickets) newest-updated first.
      CREATE INDEX tickets_updated_idx ON tickets (updated_at DESC, id DESC);
      -- Contact search by name prefix (identity values already have a prefix index).
      CREATE INDEX contacts_name_prefix_idx ON contacts (lower(name) text_pattern_ops) WHERE merged_into_id IS NULL;
      -- Expiry sweep of idempotency keys.
      CREATE INDEX idempotency_keys_created_idx ON idempotency_keys (created_at);
    `);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`
      DROP INDEX tickets_queue_key_idx, tickets_queue_team_key_idx, tickets_queue_assignee_key_idx,
        tickets_updated_idx, contacts_name_prefix_idx, idempotency_keys_created_idx;
    `);
  }
}
