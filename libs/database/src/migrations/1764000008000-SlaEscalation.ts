import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * SLA escalation: what a policy does on warning and breach (actions sent to
 * ticket-service as commands), and the ledger that makes applying a command
 * idempotent by its id (a redelivered or duplicated command changes nothing).
 */
export class SlaEscalation1764000008000 implements MigrationInterface {
  name = 'SlaEscalation1764000008000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      ALTER TABLE sla_policies ADD COLUMN escalation jsonb NOT NULL DEFAULT '{}';

      CREATE TABLE applied_ticket_commands (
        command_id text PRIMARY KEY,
        ticket_id  uuid NOT NULL REFERENCES tickets(id),
        result     jsonb NOT NULL DEFAULT '{}',
        applied_at timestamptz NOT NULL DEFAULT now()
      );

      -- The trail API and fulfilment look up a ticket's clocks newest first.
      CREATE INDEX ticket_sla_ticket_idx ON ticket_sla (ticket_id, created_at);
      -- Breached clocks still waiting for their reply/solve (fulfilment stamps them).
      CREATE INDEX ticket_sla_open_breached_idx ON ticket_sla (ticket_id) WHERE state = 'breached' AND fulfilled_at IS NULL;
    `);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`
      DROP INDEX ticket_sla_open_breached_idx;
      DROP INDEX ticket_sla_ticket_idx;
      DROP TABLE applied_ticket_commands;
      ALTER TABLE sla_policies DROP COLUMN escalation;
    `);
  }
}
