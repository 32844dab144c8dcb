import { EntityManager } from 'typeorm';

/** One audit row per change, written in the transaction of the change. */
export async function writeTicketAudit(
  manager: EntityManager,
  ticketId: string,
  agentId: string | null,
  action: string,
  changes: Record<string, unknown> = {},
): Promise<void> {
  await manager.query(
    `INSERT INTO ticket_audit (ticket_id, actor_type, actor_agent_id, action, changes) VALUES ($1, $2, $3, $4, $5::jsonb)`,
    [ticketId, agentId ? 'agent' : 'system', agentId, action, JSON.stringify(changes)],
  );
}
