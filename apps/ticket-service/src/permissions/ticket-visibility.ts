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
 *   - an agent sees a contact (its name, its tickets they can see) when they can see at least
 *     one of its tickets (as requester or as a CC participant);
 *   - of that contact's identities (email, phone, WhatsApp id…) an agent sees ONLY those that
 *     appear on a ticket they can see (identityOnTicketSql) — plus an identity's linked one
 *     (a wa_id shows its phone number; a phone never shows the wa_id). Knowing a customer on
 *     one channel must not hand over their other channels: an agent who opens a ticket for a
 *     customer's phone sees that phone, not the WhatsApp id another team talks to them on.
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

/**
 * When identity `s` (a contact_identities row) appears on ticket `t` (a tickets row):
 *   - a conversation (inbox, s) is bound to t;
 *   - a message of t was sent to s (`to_identity_id`: replies, acknowledgements);
 *   - an ingested message of t was authored via s: the message's author is s's contact and s
 *     converses on the message's inbox (messages keep no sender identity; ingest binds the
 *     sender's (inbox, identity) in the message's statement — a contact with two identities
 *     on one inbox shows both);
 *   - an ingested mail of t was copied to s (`metadata.cc`, emails compared lower-cased);
 *   - the agent who opened t named s as requester or CC (`metadata.namedIdentityIds` on the
 *     message they logged, written by TicketsService.create).
 * Every branch is reached through t (conversations_ticket_idx, messages_ticket_idx).
 */
function identityOnTicketSql(s: string, t: string): string {
  return `(EXISTS (SELECT 1 FROM conversations vc WHERE vc.ticket_id = ${t}.id AND vc.identity_id = ${s}.id)
    OR EXISTS (SELECT 1 FROM messages vm WHERE vm.ticket_id = ${t}.id AND (
         vm.to_identity_id = ${s}.id
      OR (vm.external_id IS NULL AND vm.metadata->'namedIdentityIds' ? ${s}.id::text)
      OR (vm.external_id IS NOT NULL AND vm.author_contact_id = ${s}.contact_id AND EXISTS (
            SELECT 1 FROM conversations vc WHERE vc.inbox_id = vm.inbox_id AND vc.identity_id = ${s}.id))
      OR (vm.external_id IS NOT NULL AND EXISTS (
            SELECT 1 FROM jsonb_array_elements(CASE WHEN jsonb_typeof(vm.metadata->'cc') = 'array'
                                                    THEN vm.metadata->'cc' ELSE '[]'::jsonb END) vcc
             WHERE vcc->>'kind' = ${s}.kind
               AND CASE WHEN ${s}.kind = 'email' THEN lower(vcc->>'value') ELSE vcc->>'value' END = ${s}.value)))))`;
}

/**
 * WHERE-fragment restricting `alias` (a contact_identities row) to identities `agent` may see:
 * the identity, or one linked to it, appears on a ticket of its contact that `agent` can see.
 */
export function visibleIdentitiesSql(agent: AuthenticatedAgent, alias = 'ci', paramOffset = 0): SqlFragment {
  if (agent.role === 'admin') return { sql: 'TRUE', params: [] };
  const t = visibleTicketsSql(agent, 'vt', paramOffset);
  return {
    sql: `EXISTS (
      SELECT 1 FROM contact_identities vs
        JOIN LATERAL (SELECT id FROM tickets WHERE requester_id = vs.contact_id
                      UNION SELECT ticket_id FROM ticket_participants WHERE contact_id = vs.contact_id) vx ON TRUE
        JOIN tickets vt ON vt.id = vx.id
       WHERE vs.contact_id = ${alias}.contact_id AND (vs.id = ${alias}.id OR vs.linked_identity_id = ${alias}.id)
         AND ${t.sql} AND ${identityOnTicketSql('vs', 'vt')})`,
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
