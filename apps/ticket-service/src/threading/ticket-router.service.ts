import { Inject, Injectable } from '@nestjs/common';
import {
  IMMUTABLE_TICKET_STATUSES,
  InboundMessage,
  acceptsInbound,
  statusNotInSql,
  ticketIdFromEmailMessageId,
  ticketNumberFromSubject,
} from '@oq/contracts';
import { CONFIG } from '@oq/platform';
import { EntityManager } from 'typeorm';
import { Config } from '../config';

/** The ticket columns ingest needs, read `FOR UPDATE` so status decisions cannot race agents. */
export interface TicketRow {
  id: string;
  number: string;
  status: string;
  priority: string;
  team_id: string;
  assignee_id: string | null;
  requester_id: string;
  merged_into_id: string | null;
}

/**
 * What became of the ticket a call log named (`call.ticket`), kept in the message's
 * metadata so agents see why a call from a ticket did not land on it.
 */
export interface TicketRequest {
  id?: string;
  number?: number;
  outcome: 'used' | 'not_found' | 'other_contact' | 'closed';
}

export type Route = (
  { kind: 'existing'; ticket: TicketRow; via: string } | { kind: 'new'; followUpOfId?: string; via: string }
) & { ticketRequest?: TicketRequest };

const TICKET_COLUMNS =
  't.id, t.number, t.status, t.priority, t.team_id, t.assignee_id, t.requester_id, t.merged_into_id';
const MAX_MERGE_HOPS = 5;

/** Normalises a Message-ID to `<…>` as stored. */
export function bracketMessageId(id: string): string {
  const trimmed = id.trim();
  return trimmed.startsWith('<') ? trimmed : `<${trimmed}>`;
}

/**
 * Decides which ticket an inbound message lands on (ARCHITECTURE "Which ticket a
 * message lands on"): conversation binding for messaging channels, headers then
 * subject token for email, the ticket a call was placed from, else for calls the
 * contact's open ticket (routeCall). A closed
 * ticket is never written: the message opens a follow-up linked to it.
 */
@Injectable()
export class TicketRouterService {
  constructor(@Inject(CONFIG) private readonly config: Config) {}

  async route(
    manager: EntityManager,
    msg: InboundMessage,
    ctx: {
      inboxId: string;
      identityId: string;
      contactId: string;
      /** The sender's identity was created in this transaction (so no conversation names it yet). */
      identityCreated?: boolean;
    },
  ): Promise<Route> {
    if (msg.kind === 'call_log' || msg.channel === 'voice') {
      if (msg.call?.ticket) return this.routeNamedTicket(manager, msg.call.ticket, ctx.contactId, ctx.inboxId);
      return this.routeCall(manager, ctx.contactId, ctx.inboxId);
    }
    if (msg.channel === 'email') return this.routeEmail(manager, msg, ctx.contactId);
    if (ctx.identityCreated) return { kind: 'new', via: 'new_conversation' };
    return this.routeConversation(manager, ctx.inboxId, ctx.identityId);
  }

  private async routeConversation(manager: EntityManager, inboxId: string, identityId: string): Promise<Route> {
    const rows: TicketRow[] = await manager.query(
      `SELECT ${TICKET_COLUMNS} FROM conversations c JOIN tickets t ON t.id = c.ticket_id
       WHERE c.inbox_id = $1 AND c.identity_id = $2 FOR UPDATE OF t`,
      [inboxId, identityId],
    );
    if (!rows.length) return { kind: 'new', via: 'new_conversation' };
    return this.openOrFollowUp(manager, rows[0], 'conversation');
  }

  /**
   * A call that names no ticket lands on one of the contact's open tickets (open = not closed,
   * as everywhere in routing: a solved ticket reopens, a closed one is never written), preferring
   *   1. a ticket waiting for a call back — an open first/next-reply clock that a missed inbound
   *      call (missed, voicemail, busy) joined since it started; the soonest due first;
   *   2. a ticket of the receiving inbox's team (inboxes.default_team_id), so the team whose
   *      hotline rang sees the call even when another team opened a newer ticket for the number;
   *   3. the most recently updated one.
   * None → a new ticket (a call-back ticket when missed).
   */
  private async routeCall(manager: EntityManager, contactId: string, inboxId: string): Promise<Route> {
    const rows: (TicketRow & { call_back: boolean; inbox_team: boolean })[] = await manager.query(
      `SELECT ${TICKET_COLUMNS}, cb.due IS NOT NULL AS call_back,
              t.team_id = (SELECT i.default_team_id FROM inboxes i WHERE i.id = $2) AS inbox_team
         FROM tickets t
         LEFT JOIN LATERAL (
           SELECT min(coalesce(s.due_at, 'infinity')) AS due FROM ticket_sla s
            WHERE s.ticket_id = t.id AND s.metric IN ('first_reply', 'next_reply')
              AND (s.state IN ('active', 'paused') OR (s.state = 'breached' AND s.fulfilled_at IS NULL))
              AND EXISTS (SELECT 1 FROM messages m
                           WHERE m.ticket_id = t.id AND m.kind = 'call_log' AND m.direction = 'inbound'
                             AND m.metadata->'call'->>'disposition' IN ('missed', 'voicemail', 'busy')
                             AND m.source_time >= s.started_at)) cb ON TRUE
        WHERE t.requester_id = $1 AND ${statusNotInSql(IMMUTABLE_TICKET_STATUSES, 't.status')} AND t.merged_into_id IS NULL
        ORDER BY cb.due ASC NULLS LAST, inbox_team DESC, t.updated_at DESC
        LIMIT 1 FOR UPDATE OF t`,
      [contactId, inboxId],
    );
    if (!rows.length) return { kind: 'new', via: 'call' };
    const { call_back, inbox_team, ...ticket } = rows[0];
    const via = call_back ? 'call_back_ticket' : inbox_team ? 'inbox_team_ticket' : 'latest_open_ticket';
    return { kind: 'existing', ticket, via };
  }

  /**
   * A call placed from a ticket (click-to-call) is logged on that ticket — if it is
   * the same contact's (requester or participant: ids and numbers can be mistyped
   * or forged) and not closed. Otherwise the call routes like any other, with the reason.
   */
  private async routeNamedTicket(
    manager: EntityManager,
    named: { id?: string; number?: number },
    contactId: string,
    inboxId: string,
  ): Promise<Route> {
    const request = { id: named.id, number: named.number };
    const rows: TicketRow[] = await manager.query(
      `SELECT ${TICKET_COLUMNS} FROM tickets t
       WHERE ($1::uuid IS NULL OR t.id = $1::uuid) AND ($2::bigint IS NULL OR t.number = $2::bigint) FOR UPDATE`,
      [named.id ?? null, named.number ?? null],
    );
    const fallback = async (outcome: TicketRequest['outcome']): Promise<Route> => ({
      ...(await this.routeCall(manager, contactId, inboxId)),
      ticketRequest: { ...request, outcome },
    });
    if (!rows.length) return fallback('not_found');
    const ticket = await this.followMerges(manager, rows[0]);
    if (!(await this.isParticipant(manager, ticket, contactId))) return fallback('other_contact');
    if (!acceptsInbound(ticket.status))
      return {
        kind: 'new',
        followUpOfId: ticket.id,
        via: 'named_ticket_closed',
        ticketRequest: { ...request, outcome: 'closed' },
      };
    return { kind: 'existing', ticket, via: 'named_ticket', ticketRequest: { ...request, outcome: 'used' } };
  }

  private async isParticipant(manager: EntityManager, ticket: TicketRow, contactId: string): Promise<boolean> {
    const [{ participant }] = await manager.query(
      `SELECT ($2::uuid = $3::uuid OR EXISTS (
         SELECT 1 FROM ticket_participants WHERE ticket_id = $1 AND contact_id = $2)) AS participant`,
      [ticket.id, contactId, ticket.requester_id],
    );
    return participant;
  }

  private async routeEmail(manager: EntityManager, msg: InboundMessage, contactId: string): Promise<Route> {
    const found = await this.threadedTicketId(manager, msg);
    if (!found) return { kind: 'new', via: 'new_thread' };
    const rows: TicketRow[] = await manager.query(
      `SELECT ${TICKET_COLUMNS} FROM tickets t WHERE t.id = $1 FOR UPDATE`,
      [found.ticketId],
    );
    if (!rows.length) return { kind: 'new', via: 'new_thread' };
    const ticket = await this.followMerges(manager, rows[0]);
    // A mail that named no sender address is nobody's: every such mail shares the placeholder
    // contact, so being "its" participant proves nothing — it opens a linked ticket.
    if (msg.email?.senderHeader === 'none')
      return { kind: 'new', followUpOfId: ticket.id, via: `${found.via}_unknown_sender` };
    // Ticket numbers are guessable and Message-IDs leak: only the ticket's people may write into it.
    if (!(await this.isParticipant(manager, ticket, contactId)))
      return { kind: 'new', followUpOfId: ticket.id, via: `${found.via}_non_participant` };
    if (!acceptsInbound(ticket.status)) return { kind: 'new', followUpOfId: ticket.id, via: `${found.via}_closed` };
    return { kind: 'existing', ticket, via: found.via };
  }

  /** In-Reply-To/References (our HMAC-signed ids first, then ids we stored), then the `[#number]` token. */
  private async threadedTicketId(
    manager: EntityManager,
    msg: InboundMessage,
  ): Promise<{ ticketId: string; via: string } | null> {
    const ids = [...(msg.email?.inReplyTo ?? []), ...[...(msg.email?.references ?? [])].reverse()]
      .map(bracketMessageId)
      .filter((id, i, all) => all.indexOf(id) === i);
    for (const id of ids) {
      const ticketId = ticketIdFromEmailMessageId(id, this.config.EMAIL_THREADING_SECRET);
      if (ticketId) return { ticketId, via: 'signed_message_id' };
    }
    if (ids.length) {
      const rows: { ticket_id: string }[] = await manager.query(
        `SELECT ticket_id FROM messages WHERE email_message_id = ANY($1::text[]) ORDER BY created_at DESC LIMIT 1`,
        [ids],
      );
      if (rows.length) return { ticketId: rows[0].ticket_id, via: 'stored_message_id' };
    }
    const number = ticketNumberFromSubject(msg.subject);
    if (number !== null) {
      const rows: { id: string }[] = await manager.query('SELECT id FROM tickets WHERE number = $1', [number]);
      if (rows.length) return { ticketId: rows[0].id, via: 'subject_token' };
    }
    return null;
  }

  private async openOrFollowUp(manager: EntityManager, row: TicketRow, via: string): Promise<Route> {
    const ticket = await this.followMerges(manager, row);
    if (!acceptsInbound(ticket.status)) return { kind: 'new', followUpOfId: ticket.id, via: `${via}_closed` };
    return { kind: 'existing', ticket, via };
  }

  /** A merged ticket forwards to the ticket it was merged into. */
  private async followMerges(manager: EntityManager, ticket: TicketRow): Promise<TicketRow> {
    let current = ticket;
    for (let hop = 0; current.merged_into_id && hop < MAX_MERGE_HOPS; hop++) {
      const rows: TicketRow[] = await manager.query(
        `SELECT ${TICKET_COLUMNS} FROM tickets t WHERE t.id = $1 FOR UPDATE`,
        [current.merged_into_id],
      );
      if (!rows.length) break;
      current = rows[0];
    }
    return current;
  }
}
