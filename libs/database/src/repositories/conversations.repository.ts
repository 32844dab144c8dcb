import { Inject, Injectable } from '@nestjs/common';
import type { Channel } from '@oq/contracts';
import { DataSource } from 'typeorm';
import { Db, execute, maybeOne, rows } from '../sql/db';
import { sql } from '../sql/sql';
import { Viewer, visibleIdentities } from './visibility';

/** A customer identity a reply may go to, with an inbox it converses on (if any). */
export interface ReplyIdentityRow {
  id: string;
  kind: string;
  value: string;
  inbox_id: string | null;
}

export interface SendingInboxRow {
  id: string;
  channel: Channel;
  address: string;
}

/** Where an agent's typing indicator goes: a chat conversation of the ticket. */
export interface ChatRecipientRow {
  inbox_id: string;
  kind: 'app_user' | 'visitor';
  value: string;
  /** The typing agent's name, as the customer sees it. */
  name: string;
}

/** The ticket a chat conversation is bound to, with what decides who sees it. */
export interface ConversationTicketRow {
  id: string;
  team_id: string;
  assignee_id: string | null;
}

/**
 * Which ticket an (inbox, identity) conversation is bound to, and which inbox and identity a
 * message to the customer goes out on (inboxes are InboxRepository's table; these reads choose
 * the sending side of a conversation).
 * Tables: conversations.
 */
@Injectable()
export class ConversationRepository {
  constructor(@Inject(DataSource) private readonly db: Db) {}

  /** The same repository on a transaction's manager. */
  with(db: Db): ConversationRepository {
    return new ConversationRepository(db);
  }

  /** Binds the (inbox, identity) conversation to the ticket: the customer's next message lands there. */
  async bindToTicket(inboxId: string, identityId: string, ticketId: string): Promise<void> {
    await execute(
      this.db,
      sql`INSERT INTO conversations (inbox_id, identity_id, ticket_id) VALUES (${inboxId}, ${identityId}, ${ticketId})
       ON CONFLICT (inbox_id, identity_id) DO UPDATE SET ticket_id = EXCLUDED.ticket_id, updated_at = now()`,
    );
  }

  /** A merge moves the source's conversations to the target. */
  async moveToTicket(sourceId: string, targetId: string): Promise<void> {
    await execute(
      this.db,
      sql`UPDATE conversations SET ticket_id = ${targetId}, updated_at = now() WHERE ticket_id = ${sourceId}`,
    );
  }

  /** When the customer last wrote on the pair (Meta's 24-hour window); undefined without a conversation. */
  async lastInboundAt(inboxId: string, identityId: string): Promise<Date | null | undefined> {
    const row = await maybeOne<{ last_inbound_at: Date | null }>(
      this.db,
      sql`SELECT last_inbound_at FROM conversations WHERE inbox_id = ${inboxId} AND identity_id = ${identityId}`,
    );
    return row && row.last_inbound_at;
  }

  /**
   * The contact's identities of `kinds` that `viewer` may see, each with the inboxes it converses
   * on, best first: the one bound to this ticket, then one on an enabled inbox of the channel,
   * then the most recent conversation, then the oldest identity. Only visible identities (the
   * one visibility rule): replying on another team's WhatsApp id would hand it over, since a
   * sent reply puts the identity on this ticket.
   */
  replyIdentities(
    viewer: Viewer,
    to: { contactId: string; kinds: string[]; channel: string; ticketId: string },
  ): Promise<ReplyIdentityRow[]> {
    return rows<ReplyIdentityRow>(
      this.db,
      sql`SELECT ci.id, ci.kind, ci.value, cv.inbox_id
         FROM contact_identities ci
         LEFT JOIN conversations cv ON cv.identity_id = ci.id
         LEFT JOIN inboxes i ON i.id = cv.inbox_id AND i.enabled AND i.channel = ${to.channel}
        WHERE ci.contact_id = ${to.contactId} AND ci.kind = ANY(${to.kinds}::text[]) AND ${visibleIdentities(viewer, 'ci')}
        ORDER BY (cv.ticket_id = ${to.ticketId}) DESC NULLS LAST, (i.id IS NOT NULL) DESC, cv.updated_at DESC NULLS LAST, ci.created_at`,
    );
  }

  /** The inbox an agent chose to send from, if it exists and is enabled. */
  enabledInbox(inboxId: string): Promise<SendingInboxRow | undefined> {
    return maybeOne<SendingInboxRow>(
      this.db,
      sql`SELECT id, channel, address FROM inboxes WHERE id = ${inboxId} AND enabled`,
    );
  }

  /** The channel's enabled inbox to send from: the first of `preferred` that is one, else the oldest. */
  preferredInbox(channel: string, preferred: string[]): Promise<SendingInboxRow | undefined> {
    return maybeOne<SendingInboxRow>(
      this.db,
      sql`SELECT id, channel, address FROM inboxes WHERE channel = ${channel} AND enabled
          ORDER BY array_position(${preferred}::uuid[], id) NULLS LAST, created_at LIMIT 1`,
    );
  }

  /**
   * The enabled email inbox an automatic mail about a ticket goes out from: `inboxId` (the
   * ticket's own) if it is one, else one of the ticket's team, else the oldest.
   */
  async automaticEmailInbox(inboxId: string | null, teamId: string): Promise<string | undefined> {
    const row = await maybeOne<{ id: string }>(
      this.db,
      sql`SELECT id FROM inboxes WHERE channel = 'email' AND enabled
        ORDER BY (id = ${inboxId}) DESC, (default_team_id = ${teamId}) DESC, created_at LIMIT 1`,
    );
    return row?.id;
  }

  /** The enabled email inbox of the team (else the oldest) a notice to a chat customer goes out from. */
  async teamEmailInbox(teamId: string): Promise<string | undefined> {
    const row = await maybeOne<{ id: string }>(
      this.db,
      sql`SELECT id FROM inboxes WHERE channel = 'email' AND enabled
       ORDER BY (default_team_id = ${teamId}) DESC, created_at LIMIT 1`,
    );
    return row?.id;
  }

  /** The ticket's chat conversations, as the customer sockets of agent `agentId`'s typing indicator. */
  chatRecipients(ticketId: string, agentId: string): Promise<ChatRecipientRow[]> {
    return rows<ChatRecipientRow>(
      this.db,
      sql`SELECT c.inbox_id, ci.kind, ci.value, a.name
       FROM conversations c
       JOIN inboxes i ON i.id = c.inbox_id AND i.channel = 'chat'
       JOIN contact_identities ci ON ci.id = c.identity_id
       JOIN agents a ON a.id = ${agentId}
       WHERE c.ticket_id = ${ticketId}`,
    );
  }

  /**
   * The ticket the customer identity (kind, value) converses about on the inbox.
   * conversations (inbox_id, identity_id) is unique; contact_identities (kind, value) too.
   */
  ticketOf(inboxId: string, kind: string, value: string): Promise<ConversationTicketRow | undefined> {
    return maybeOne<ConversationTicketRow>(
      this.db,
      sql`SELECT t.id, t.team_id, t.assignee_id
           FROM contact_identities i
           JOIN conversations c ON c.identity_id = i.id AND c.inbox_id = ${inboxId}
           JOIN tickets t ON t.id = c.ticket_id
          WHERE i.kind = ${kind} AND i.value = ${value}`,
    );
  }

  /**
   * An agent's first realtime socket makes them online (they are offered chat conversations); an
   * explicit "away" is left alone. (agents is AgentRepository's table; presence as the sockets
   * drive it is the realtime gateway's, kept here with the conversations it routes.)
   */
  async markAgentOnline(agentId: string): Promise<void> {
    await execute(
      this.db,
      sql`UPDATE agents SET presence = 'online', presence_at = now() WHERE id = ${agentId} AND presence = 'offline'`,
    );
  }

  /** The agent's last realtime socket went away: offline. */
  async markAgentOffline(agentId: string): Promise<void> {
    await execute(
      this.db,
      sql`UPDATE agents SET presence = 'offline', presence_at = now() WHERE id = ${agentId} AND presence <> 'offline'`,
    );
  }
}
