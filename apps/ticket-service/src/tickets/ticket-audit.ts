import { Db, TicketRepository } from '@oq/database';

/** One audit row per change, written in the transaction of the change (pass its manager). */
export async function writeTicketAudit(
  db: Db,
  ticketId: string,
  agentId: string | null,
  action: string,
  changes: Record<string, unknown> = {},
): Promise<void> {
  await new TicketRepository(db).writeAudit(ticketId, agentId, action, changes);
}
