import { Inject, Injectable } from '@nestjs/common';
import { InboundMessage, acceptsInbound, ticketIdFromEmailMessageId, ticketNumberFromSubject } from '@oq/contracts';
import { Db, IngestRepository, RoutedTicketRow } from '@oq/database';
import { CONFIG } from '@oq/platform';
import { Config } from '../config';

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
  { kind: 'existing'; ticket: RoutedTicketRow; via: string } | { kind: 'new'; followUpOfId?: string; via: string }
) & { ticketRequest?: TicketRequest };

const MAX_MERGE_HOPS = 5;

/** Normalises a Message-ID to `<…>` as stored. */
export function bracketMessageId(id: string): string {
  const trimmed = id.trim();
  return trimmed.startsWith('<') ? trimmed : `<${trimmed}>`;
}

/** The Message-IDs a mail answers, as routing tries them: In-Reply-To, then References newest first; bracketed, once each. */
export function threadIds(msg: InboundMessage): string[] {
  return [...(msg.email?.inReplyTo ?? []), ...[...(msg.email?.references ?? [])].reverse()]
    .map(bracketMessageId)
    .filter((id, i, all) => all.indexOf(id) === i);
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

  /** Routing runs in the caller's transaction (the ingest batch's): its statements run on `manager`. */
  async route(
    manager: Db,
    msg: InboundMessage,
    ctx: {
      inboxId: string;
      identityId: string;
      contactId: string;
      /** The sender's identity was created in this transaction (so no conversation names it yet). */
      identityCreated?: boolean;
    },
  ): Promise<Route> {
    // Bound to the caller's manager per call: the router holds no connection of its own.
    const repo = new IngestRepository(manager);
    if (msg.kind === 'call_log' || msg.channel === 'voice') {
      if (msg.call?.ticket) return this.routeNamedTicket(repo, msg.call.ticket, ctx.contactId, ctx.inboxId);
      return this.routeCall(repo, ctx.contactId, ctx.inboxId);
    }
    if (msg.channel === 'email') return this.routeEmail(repo, msg, ctx.contactId);
    if (ctx.identityCreated) return { kind: 'new', via: 'new_conversation' };
    return this.routeConversation(repo, ctx.inboxId, ctx.identityId);
  }

  private async routeConversation(repo: IngestRepository, inboxId: string, identityId: string): Promise<Route> {
    const row = await repo.conversationTicket(inboxId, identityId);
    if (!row) return { kind: 'new', via: 'new_conversation' };
    return this.openOrFollowUp(repo, row, 'conversation');
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
  private async routeCall(repo: IngestRepository, contactId: string, inboxId: string): Promise<Route> {
    const row = await repo.callTicket(contactId, inboxId);
    if (!row) return { kind: 'new', via: 'call' };
    const { call_back, inbox_team, ...ticket } = row;
    const via = call_back ? 'call_back_ticket' : inbox_team ? 'inbox_team_ticket' : 'latest_open_ticket';
    return { kind: 'existing', ticket, via };
  }

  /**
   * A call placed from a ticket (click-to-call) is logged on that ticket — if it is
   * the same contact's (requester or participant: ids and numbers can be mistyped
   * or forged) and not closed. Otherwise the call routes like any other, with the reason.
   */
  private async routeNamedTicket(
    repo: IngestRepository,
    named: { id?: string; number?: number },
    contactId: string,
    inboxId: string,
  ): Promise<Route> {
    const request = { id: named.id, number: named.number };
    const row = await repo.namedTicket(named.id ?? null, named.number ?? null);
    const fallback = async (outcome: TicketRequest['outcome']): Promise<Route> => ({
      ...(await this.routeCall(repo, contactId, inboxId)),
      ticketRequest: { ...request, outcome },
    });
    if (!row) return fallback('not_found');
    const ticket = await this.followMerges(repo, row);
    if (!(await this.isParticipant(repo, ticket, contactId))) return fallback('other_contact');
    if (!acceptsInbound(ticket.status))
      return {
        kind: 'new',
        followUpOfId: ticket.id,
        via: 'named_ticket_closed',
        ticketRequest: { ...request, outcome: 'closed' },
      };
    return { kind: 'existing', ticket, via: 'named_ticket', ticketRequest: { ...request, outcome: 'used' } };
  }

  private isParticipant(repo: IngestRepository, ticket: RoutedTicketRow, contactId: string): Promise<boolean> {
    return repo.isParticipant(ticket.id, ticket.requester_id, contactId);
  }

  private async routeEmail(repo: IngestRepository, msg: InboundMessage, contactId: string): Promise<Route> {
    const found = await this.threadedTicketId(repo, msg);
    if (!found) return { kind: 'new', via: 'new_thread' };
    const row = await repo.ticketForUpdate(found.ticketId);
    if (!row) return { kind: 'new', via: 'new_thread' };
    const ticket = await this.followMerges(repo, row);
    // A mail that named no sender address is nobody's: every such mail shares the placeholder
    // contact, so being "its" participant proves nothing — it opens a linked ticket.
    if (msg.email?.senderHeader === 'none')
      return { kind: 'new', followUpOfId: ticket.id, via: `${found.via}_unknown_sender` };
    // Ticket numbers are guessable and Message-IDs leak: only the ticket's people may write into it.
    if (!(await this.isParticipant(repo, ticket, contactId)))
      return { kind: 'new', followUpOfId: ticket.id, via: `${found.via}_non_participant` };
    if (!acceptsInbound(ticket.status)) return { kind: 'new', followUpOfId: ticket.id, via: `${found.via}_closed` };
    return { kind: 'existing', ticket, via: found.via };
  }

  /** In-Reply-To/References (our HMAC-signed ids first, then ids we stored), then the `[#number]` token. */
  private async threadedTicketId(
    repo: IngestRepository,
    msg: InboundMessage,
  ): Promise<{ ticketId: string; via: string } | null> {
    const ids = threadIds(msg);
    for (const id of ids) {
      const ticketId = ticketIdFromEmailMessageId(id, this.config.EMAIL_THREADING_SECRET);
      if (ticketId) return { ticketId, via: 'signed_message_id' };
    }
    if (ids.length) {
      const ticketId = await repo.ticketIdByEmailMessageIds(ids);
      if (ticketId) return { ticketId, via: 'stored_message_id' };
    }
    const number = ticketNumberFromSubject(msg.subject);
    if (number !== null) {
      const ticketId = await repo.ticketIdByNumber(number);
      if (ticketId) return { ticketId, via: 'subject_token' };
    }
    return null;
  }

  private async openOrFollowUp(repo: IngestRepository, row: RoutedTicketRow, via: string): Promise<Route> {
    const ticket = await this.followMerges(repo, row);
    if (!acceptsInbound(ticket.status)) return { kind: 'new', followUpOfId: ticket.id, via: `${via}_closed` };
    return { kind: 'existing', ticket, via };
  }

  /** A merged ticket forwards to the ticket it was merged into. */
  private async followMerges(repo: IngestRepository, ticket: RoutedTicketRow): Promise<RoutedTicketRow> {
    let current = ticket;
    for (let hop = 0; current.merged_into_id && hop < MAX_MERGE_HOPS; hop++) {
      const next = await repo.ticketForUpdate(current.merged_into_id);
      if (!next) break;
      current = next;
    }
    return current;
  }
}
