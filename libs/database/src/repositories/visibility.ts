import { Inject, Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { Db, maybeOne } from '../sql/db';
import { Sql, sql } from '../sql/sql';

/**
 * THE visibility rule of OneQueue — every path that shows a ticket or anything hanging
 * off one (tickets, messages, attachments, contacts, search, queue, socket rooms) uses
 * what this file exports and nothing else:
 *
 *   - an admin sees every ticket;
 *   - an agent sees a ticket when its team_id is one of the agent's teams OR the ticket is
 *     assigned to the agent (so a ticket moved to another team stays with its assignee);
 *   - an agent sees a contact (its name, its tickets they can see) when they can see at least
 *     one of its tickets (as requester or as a CC participant);
 *   - of that contact's identities (email, phone, WhatsApp id…) an agent sees ONLY those that
 *     appear on a ticket they can see (identityOnTicket) — plus an identity's linked one
 *     (a wa_id shows its phone number; a phone never shows the wa_id). Knowing a customer on
 *     one channel must not hand over their other channels: an agent who opens a ticket for a
 *     customer's phone sees that phone, not the WhatsApp id another team talks to them on.
 *
 * What an agent may not see is answered 404, never 403, so ticket ids and numbers cannot
 * be probed (apps/ticket-service permissions/ turns a `false` here into that 404).
 * The agent's teams come from the database on every request (AgentAuthGuard), not from
 * the token, so a team change applies immediately.
 */
export interface Viewer {
  id: string;
  role: 'admin' | 'agent';
  teamIds: string[];
}

const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Table aliases are constants of the calling statement; checked so a typo cannot become SQL. */
function alias(name: string): Sql {
  if (!/^[a-z_][a-z0-9_]*$/.test(name)) throw new Error(`bad table alias ${JSON.stringify(name)}`);
  return sql.raw(name);
}

/**
 * Restricts `t` (a tickets row) to what `viewer` may see. The team branch uses
 * tickets_queue_team_idx, the assignee branch tickets_assignee_idx.
 */
export function visibleTickets(viewer: Viewer, t = 't'): Sql {
  if (viewer.role === 'admin') return sql.raw('TRUE');
  const a = alias(t);
  return sql`(${a}.team_id = ANY(${viewer.teamIds}::uuid[]) OR ${a}.assignee_id = ${viewer.id}::uuid)`;
}

/** Restricts `c` (a contacts row) to contacts with at least one visible ticket. */
export function visibleContacts(viewer: Viewer, c = 'c'): Sql {
  if (viewer.role === 'admin') return sql.raw('TRUE');
  const a = alias(c);
  const t = visibleTickets(viewer, 'vt');
  return sql`(EXISTS (SELECT 1 FROM tickets vt WHERE vt.requester_id = ${a}.id AND ${t})
        OR EXISTS (SELECT 1 FROM ticket_participants vp JOIN tickets vt ON vt.id = vp.ticket_id
                    WHERE vp.contact_id = ${a}.id AND ${t}))`;
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
function identityOnTicket(sAlias: string, tAlias: string): Sql {
  const s = alias(sAlias);
  const t = alias(tAlias);
  return sql`(EXISTS (SELECT 1 FROM conversations vc WHERE vc.ticket_id = ${t}.id AND vc.identity_id = ${s}.id)
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
 * Restricts `ci` (a contact_identities row) to identities `viewer` may see: the identity,
 * or one linked to it, appears on a ticket of its contact that `viewer` can see.
 */
export function visibleIdentities(viewer: Viewer, ci = 'ci'): Sql {
  if (viewer.role === 'admin') return sql.raw('TRUE');
  const a = alias(ci);
  const t = visibleTickets(viewer, 'vt');
  return sql`EXISTS (
      SELECT 1 FROM contact_identities vs
        JOIN LATERAL (SELECT id FROM tickets WHERE requester_id = vs.contact_id
                      UNION SELECT ticket_id FROM ticket_participants WHERE contact_id = vs.contact_id) vx ON TRUE
        JOIN tickets vt ON vt.id = vx.id
       WHERE vs.contact_id = ${a}.contact_id AND (vs.id = ${a}.id OR vs.linked_identity_id = ${a}.id)
         AND ${t} AND ${identityOnTicket('vs', 'vt')})`;
}

/** The same rule for an in-memory ticket (socket fan-out, event filtering). */
export function canSeeTicket(viewer: Viewer, ticket: { teamId: string | null; assigneeId: string | null }): boolean {
  if (viewer.role === 'admin') return true;
  return (
    (ticket.teamId !== null && viewer.teamIds.includes(ticket.teamId)) ||
    (ticket.assigneeId !== null && ticket.assigneeId === viewer.id)
  );
}

/** Existence-and-visibility checks; a malformed id is simply not visible (no Postgres cast error). */
@Injectable()
export class VisibilityRepository {
  constructor(@Inject(DataSource) private readonly db: Db) {}

  with(db: Db): VisibilityRepository {
    return new VisibilityRepository(db);
  }

  async ticketVisible(viewer: Viewer, ticketId: string): Promise<boolean> {
    if (!UUID_RE.test(ticketId)) return false;
    const row = await maybeOne<{ one: number }>(
      this.db,
      sql`SELECT 1 AS one FROM tickets t WHERE t.id = ${ticketId} AND ${visibleTickets(viewer, 't')}`,
    );
    return row !== undefined;
  }

  async contactVisible(viewer: Viewer, contactId: string): Promise<boolean> {
    if (!UUID_RE.test(contactId)) return false;
    const row = await maybeOne<{ one: number }>(
      this.db,
      sql`SELECT 1 AS one FROM contacts c WHERE c.id = ${contactId} AND ${visibleContacts(viewer, 'c')}`,
    );
    return row !== undefined;
  }
}
