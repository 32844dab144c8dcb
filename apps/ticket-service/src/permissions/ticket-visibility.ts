import { NotFoundException } from '@nestjs/common';
import { EntityManager } from 'typeorm';
import { AuthenticatedAgent } from '../auth/authenticated-agent';

/**
 * THE visibility rule of OneQueue — every path that shows a ticket or anything hanging
 * off one (tickets, messages, attachments, contacts, search, queue, socket rooms) uses
 * the helpers in this file and nothing else:
 *
 *   - an admin sees every ticket;
 *   - an agent sees a ticket when its team_id is one of the agent's teams OR the ticket is
 *     assigned to the agent (so a ticket moved to another team stays with its assignee);
 *   - an agent sees a contact when they can see at least one of its tickets (as requester
 *     or as a CC participant).
 *
 * What an agent may not see is answered 404, never 403, so ticket ids and numbers cannot
 * be probed. (An admin-only action on a ticket the caller CAN see is a 403.)
 * The agent's teams come from the database on every request (AgentAuthGuard), not from
 * the token, so a team change applies immediately.
 */

export interface SqlFragment {
  sql: string;
  params: unknown[];
}

const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * WHERE-fragment restricting `alias` (a tickets row) to what `agent` may see.
 * Placeholders are numbered from `paramOffset + 1`; append `params` to yours.
 * The team branch uses tickets_queue_team_idx, the assignee branch tickets_assignee_idx.
 */
export function visibleTicketsSql(agent: AuthenticatedAgent, alias = 't', paramOffset = 0): SqlFragment {
  if (agent.role === 'admin') return { sql: 'TRUE', params: [] };
  return {
    sql: `(${alias}.team_id = ANY($${paramOffset + 1}::uuid[]) OR ${alias}.assignee_id = $${paramOffset + 2}::uuid)`,
    params: [agent.teamIds, agent.id],
  };
}

/** WHERE-fragment restricting `alias` (a contacts row) to contacts with at least one visible ticket. */
export function visibleContactsSql(agent: AuthenticatedAgent, alias = 'c', paramOffset = 0): SqlFragment {
  if (agent.role === 'admin') return { sql: 'TRUE', params: [] };
  const t = visibleTicketsSql(agent, 'vt', paramOffset);
  return {
    sql: `(EXISTS (SELECT 1 FROM tickets vt WHERE vt.requester_id = ${alias}.id AND ${t.sql})
        OR EXISTS (SELECT 1 FROM ticket_participants vp JOIN tickets vt ON vt.id = vp.ticket_id
                    WHERE vp.contact_id = ${alias}.id AND ${t.sql}))`,
    params: t.params,
  };
}

/** The same rule for an in-memory ticket (socket fan-out, event filtering). */
export function canSeeTicket(
  agent: AuthenticatedAgent,
  ticket: { teamId: string | null; assigneeId: string | null },
): boolean {
  if (agent.role === 'admin') return true;
  return (
    (ticket.teamId !== null && agent.teamIds.includes(ticket.teamId)) ||
    (ticket.assigneeId !== null && ticket.assigneeId === agent.id)
  );
}

/** Throws 404 unless the ticket exists and `agent` may see it. Pass the transaction's manager when inside one. */
export function assertTicketVisible(
  manager: EntityManager,
  agent: AuthenticatedAgent,
  ticketId: string,
): Promise<void> {
  return assertRowVisible(manager, 'tickets t', visibleTicketsSql(agent, 't', 1), ticketId, 'ticket not found');
}

/** Throws 404 unless the contact exists and `agent` may see it. */
export function assertContactVisible(
  manager: EntityManager,
  agent: AuthenticatedAgent,
  contactId: string,
): Promise<void> {
  return assertRowVisible(manager, 'contacts c', visibleContactsSql(agent, 'c', 1), contactId, 'contact not found');
}

async function assertRowVisible(
  manager: EntityManager,
  from: string,
  visible: SqlFragment,
  id: string,
  notFound: string,
): Promise<void> {
  // A malformed id is simply "not found", not a Postgres cast error.
  if (!UUID_RE.test(id)) throw new NotFoundException(notFound);
  const alias = from.split(' ')[1];
  const rows = await manager.query(`SELECT 1 FROM ${from} WHERE ${alias}.id = $1 AND ${visible.sql}`, [
    id,
    ...visible.params,
  ]);
  if (!rows.length) throw new NotFoundException(notFound);
}
