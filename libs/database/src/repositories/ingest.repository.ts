import { Inject, Injectable } from '@nestjs/common';
import { IMMUTABLE_TICKET_STATUSES, statusNotInSql } from '@oq/contracts';
import { DataSource } from 'typeorm';
import { Db, execute, inlined, maybeOne, one, rows, runScript } from '../sql/db';
import { Sql, sql } from '../sql/sql';
import { OutboxJob, OutboxRepository, outboxInsertSql } from './outbox.repository';

/** The inbox columns ingest checks a message against. */
export interface IngestInboxRow {
  id: string;
  channel: string;
  address: string;
  default_team_id: string;
  enabled: boolean;
}

/** Is this message known, and is its sender (with the identity it is linked to) known? */
export interface MessageLookup {
  message_id: string | null;
  ticket_id: string | null;
  revision: number | null;
  metadata: Record<string, unknown> | null;
  identity_id: string | null;
  contact_id: string | null;
  unnamed: boolean | null;
  linked_kind: string | null;
  linked_value: string | null;
  linked_contact_id: string | null;
}

/** A normalised sender identity (normalizeIdentity). */
export interface IngestSender {
  kind: string;
  value: string;
}

/** The ticket columns routing needs, read `FOR UPDATE` so status decisions cannot race agents. */
export interface RoutedTicketRow {
  id: string;
  /** bigint, as pg returns it. */
  number: string;
  status: string;
  priority: string;
  team_id: string;
  assignee_id: string | null;
  requester_id: string;
  merged_into_id: string | null;
}

/** routeCall's candidate: the ticket and which of its preferences picked it. */
export interface CallTicketRow extends RoutedTicketRow {
  call_back: boolean;
  inbox_team: boolean;
}

/** A ticket ingest just opened. */
export type IngestOpenedTicketRow = Omit<RoutedTicketRow, 'requester_id' | 'merged_into_id'>;

export interface IngestNewTicket {
  subject: string;
  priority: string;
  teamId: string;
  requesterId: string;
  channel: string;
  inboxId: string;
  followUpOfId: string | null;
  customerMessageCount: number;
  lastCustomerMessageAt: Date | null;
  tags: string[];
  /** The `created` audit row's changes. */
  audit: Record<string, unknown>;
}

export interface IngestNewMessage {
  ticketId: string;
  inboxId: string;
  channel: string;
  direction: 'inbound' | 'outbound';
  kind: string;
  authorContactId: string;
  externalId: string;
  revision: number;
  subject: string | null;
  text: string;
  html: string | null;
  attachments: unknown[];
  metadata: Record<string, unknown>;
  emailMessageId: string | null;
  autoSubmitted: boolean;
  sourceTime: Date;
  /** The sender's identity: the (inbox, identity) conversation is bound to the ticket. */
  senderIdentityId: string;
  /** The conversation's last inbound time (null for outbound call logs). */
  lastInboundAt: Date | null;
  /** The name and address this message came with (the contact's name may differ, and stays). */
  senderName: string | null;
  senderAddress: string;
  senderHeader: string | null;
}

/** Customer activity on an existing ticket, written in the message's statement. */
export interface TicketTouch {
  status: string;
  priority: string;
  /** The ticket reopens: solved_at is cleared. */
  reopen: boolean;
  /** A customer message that waits for an answer: counters and last customer message time move. */
  customer: boolean;
  bumpVersion: boolean;
}

export interface IngestMessageRevision {
  messageId: string;
  revision: number;
  text: string;
  html: string | null;
  attachments: unknown[];
  metadata: Record<string, unknown>;
  subject: string | null;
  /** Fills a name the message lacked; one it came with stays. */
  senderName: string | null;
}

export interface IngestLockedTicketRow {
  id: string;
  team_id: string;
  assignee_id: string | null;
  priority: string;
  status: string;
}

export interface BouncedMessageRow {
  id: string;
  delivery_status: string | null;
  ticket_id: string;
  team_id: string;
  assignee_id: string | null;
}

export interface IngestAuditRow {
  ticketId: string;
  actorType: 'customer' | 'system';
  action: string;
  changes: Record<string, unknown>;
}

/** What an acknowledgement mail needs (acknowledgement.hook.ts). */
export interface AcknowledgementCandidateRow {
  settings: unknown;
  number: string;
  subject: string;
  team_id: string;
  assignee_id: string | null;
  email_message_id: string | null;
  unreadable: boolean;
  sender: string;
  /** count(*) as pg returns a bigint. */
  recent: string;
}

/** The columns of RoutedTicketRow, of `tickets t` (shared with the set-based batch). */
export const ROUTED_TICKET_COLUMNS = sql.raw(
  't.id, t.number, t.status, t.priority, t.team_id, t.assignee_id, t.requester_id, t.merged_into_id',
);

/** Routing never writes a closed ticket: the constant `t.status NOT IN (…)` of the immutable statuses. */
export const OPEN_TICKET = sql.raw(statusNotInSql(IMMUTABLE_TICKET_STATUSES, 't.status'));

/**
 * The contact's open ticket a call that names no ticket lands on, locked (preferences in
 * TicketRouterService.routeCall); `contactId` and `inboxId` are expressions, so the set-based batch
 * runs the same query per call in a LATERAL join.
 */
export function callTicketSelect(contactId: Sql, inboxId: Sql): Sql {
  return sql`SELECT ${ROUTED_TICKET_COLUMNS}, cb.due IS NOT NULL AS call_back,
              t.team_id = (SELECT i.default_team_id FROM inboxes i WHERE i.id = ${inboxId}) AS inbox_team
         FROM tickets t
         LEFT JOIN LATERAL (
           SELECT min(coalesce(s.due_at, 'infinity')) AS due FROM ticket_sla s
            WHERE s.ticket_id = t.id AND s.metric IN ('first_reply', 'next_reply')
              AND (s.state IN ('active', 'paused') OR (s.state = 'breached' AND s.fulfilled_at IS NULL))
              AND EXISTS (SELECT 1 FROM messages m
                           WHERE m.ticket_id = t.id AND m.kind = 'call_log' AND m.direction = 'inbound'
                             AND m.metadata->'call'->>'disposition' IN ('missed', 'voicemail', 'busy')
                             AND m.source_time >= s.started_at)) cb ON TRUE
        WHERE t.requester_id = ${contactId} AND ${OPEN_TICKET} AND t.merged_into_id IS NULL
        ORDER BY cb.due ASC NULLS LAST, inbox_team DESC, t.updated_at DESC
        LIMIT 1 FOR UPDATE OF t`;
}

function auditInsert(audit: IngestAuditRow[]): Sql {
  return sql`INSERT INTO ticket_audit (ticket_id, actor_type, action, changes)
     SELECT * FROM unnest(${audit.map((a) => a.ticketId)}::uuid[], ${audit.map((a) => a.actorType)}::text[],
                          ${audit.map((a) => a.action)}::text[], ${audit.map((a) => JSON.stringify(a.changes))}::jsonb[])`;
}

function lookupStatement(inboxId: string, externalId: string, sender: IngestSender): Sql {
  return sql`SELECT m.id AS message_id, m.ticket_id, m.revision, m.metadata,
       i.id AS identity_id, i.contact_id, (coalesce(btrim(c.name), '') = '') AS unnamed,
       li.kind AS linked_kind, li.value AS linked_value, li.contact_id AS linked_contact_id
FROM (SELECT 1) AS one
LEFT JOIN messages m ON m.inbox_id = ${inboxId} AND m.external_id = ${externalId}
LEFT JOIN contact_identities i ON i.kind = ${sender.kind} AND i.value = ${sender.value}
LEFT JOIN contacts c ON c.id = i.contact_id
LEFT JOIN contact_identities li ON li.id = i.linked_identity_id`;
}

/**
 * The ingest batch's statements: one message's ticket, message, conversation, audit and originals inside the batch's transaction. Hot path: hand-written, named prepared statements.
 * Tables: tickets, messages, conversations, ticket_participants, ticket_audit, message_originals (writes of the ingest batch).
 *
 * Also the reads ingest roots in the message it is placing: the batch's inboxes, the sender lookup
 * (contact_identities, contacts), the ticket router's reads, and the acknowledgement hook's read —
 * they run per message in the same transaction, so they live with the writes.
 */
@Injectable()
export class IngestRepository {
  constructor(@Inject(DataSource) private readonly db: Db) {}

  /** The same repository on a transaction's manager. */
  with(db: Db): IngestRepository {
    return new IngestRepository(db);
  }

  // ---- the batch -------------------------------------------------------------------------

  /** An inbox a message names (a released suppressed mail's; a batch reads its inboxes with the lookup). */
  findInbox(id: string): Promise<IngestInboxRow | undefined> {
    return maybeOne<IngestInboxRow>(
      this.db,
      sql`SELECT id, channel, address, default_team_id, enabled FROM inboxes WHERE id = ${id}`.named('oq_ingest_inbox'),
    );
  }

  /**
   * Opens the message's savepoint, takes the sender's advisory lock and reads the message/sender
   * lookup — in ONE simple-protocol round trip (which takes no bind parameters: the lock id is a
   * computed integer, the lookup's values escaped literals). Each statement of the script gets
   * its own snapshot, so the lookup sees what a transaction that held the sender's lock before us
   * committed. No RELEASE: a later ROLLBACK TO names the newest savepoint, and releasing costs a
   * round trip. Undefined when the lookup could not ride along (the caller then runs `lookup`).
   */
  async beginMessage(
    lockId: string,
    inboxId: string,
    externalId: string,
    sender: IngestSender,
  ): Promise<MessageLookup | undefined> {
    // A literal cannot carry NUL: the parameterised lookup then reports it as the data error it is.
    const literal = ![inboxId, externalId, sender.kind, sender.value].some((v) => v.includes('\u0000'));
    const lock = inlined(sql`SELECT pg_advisory_xact_lock(${BigInt(lockId)})`);
    const script = `SAVEPOINT inbound_msg; ${lock};${literal ? ` ${inlined(lookupStatement(inboxId, externalId, sender))}` : ''}`;
    const results = await runScript(this.db, script);
    return results[2]?.[0] as MessageLookup | undefined;
  }

  /** Undoes one message's statements (its savepoint from beginMessage); the batch goes on. */
  async rollbackMessage(): Promise<void> {
    await execute(this.db, sql`ROLLBACK TO SAVEPOINT inbound_msg`);
  }

  /** The lookup as a bind-parameter statement. `sender` must be normalised (normalizeIdentity). */
  lookup(inboxId: string, externalId: string, sender: IngestSender): Promise<MessageLookup> {
    return one<MessageLookup>(this.db, lookupStatement(inboxId, externalId, sender).named('oq_ingest_lookup'));
  }

  /** The audit rows of the messages ingested in this transaction, written once for all. */
  async insertAudit(audit: IngestAuditRow[]): Promise<void> {
    if (!audit.length) return;
    await execute(this.db, auditInsert(audit).named('oq_ingest_audit'));
  }

  /** The batch's audit rows and (up to a chunk of) its outbox jobs in one statement: one round trip. */
  async insertAuditAndOutbox(audit: IngestAuditRow[], jobs: readonly OutboxJob[]): Promise<void> {
    if (!audit.length) return new OutboxRepository(this.db).insertMany(jobs);
    if (!jobs.length) return this.insertAudit(audit);
    await execute(
      this.db,
      sql`WITH audit AS (${auditInsert(audit)}) ${outboxInsertSql(jobs)}`.named('oq_ingest_audit_outbox'),
    );
  }

  /** What the customer really sent, as bytes beside a message whose text had to be made storable. A later revision replaces it. */
  async keepOriginals(messageId: string, fields: string[], original: Buffer): Promise<void> {
    await execute(
      this.db,
      sql`INSERT INTO message_originals (message_id, fields, original) VALUES (${messageId}, ${fields}, ${original})
     ON CONFLICT (message_id) DO UPDATE SET fields = excluded.fields, original = excluded.original, created_at = now()`.named(
        'oq_ingest_originals',
      ),
    );
  }

  // ---- InboundProcessor ------------------------------------------------------------------

  /**
   * Mail imported before ids carried a content hash (a bare Message-ID, or the raw source's sha256):
   * a raw-source hash is the same mail for sure (`sourceTime` null); a bare Message-ID only with the
   * same IMAP INTERNALDATE. One indexed read, only for mail no current id matched.
   */
  findLegacyMail(
    inboxId: string,
    legacyId: string,
    sourceTime: Date | null,
  ): Promise<{ id: string; ticket_id: string } | undefined> {
    return maybeOne<{ id: string; ticket_id: string }>(
      this.db,
      sourceTime === null
        ? sql`SELECT id, ticket_id FROM messages WHERE inbox_id = ${inboxId} AND external_id = ${legacyId}`.named(
            'oq_ingest_legacy_mail_exact',
          )
        : sql`SELECT id, ticket_id FROM messages WHERE inbox_id = ${inboxId} AND external_id = ${legacyId} AND source_time = ${sourceTime}`.named(
            'oq_ingest_legacy_mail',
          ),
    );
  }

  /** A new ticket with its requester participant and `created` audit row, in one statement. */
  openTicket(t: IngestNewTicket): Promise<IngestOpenedTicketRow> {
    return one<IngestOpenedTicketRow>(
      this.db,
      sql`WITH t AS (
         INSERT INTO tickets (subject, priority, team_id, requester_id, channel, inbox_id, follow_up_of_id,
           customer_message_count, last_customer_message_at, tags)
         VALUES (${t.subject}, ${t.priority}, ${t.teamId}, ${t.requesterId}, ${t.channel}, ${t.inboxId}, ${t.followUpOfId},
           ${t.customerMessageCount}, ${t.lastCustomerMessageAt}, ${t.tags}::text[])
         RETURNING id, number, status, priority, team_id, assignee_id),
       requester AS (INSERT INTO ticket_participants (ticket_id, contact_id, role) SELECT id, ${t.requesterId}, 'requester' FROM t),
       audit AS (INSERT INTO ticket_audit (ticket_id, actor_type, action, changes)
                 SELECT id, 'customer', 'created', ${JSON.stringify(t.audit)}::jsonb FROM t)
       SELECT * FROM t`.named('oq_ingest_open_ticket'),
    );
  }

  /**
   * The message, its conversation binding and (on an existing ticket) the ticket's counters and
   * status in ONE statement (data-modifying CTEs). Returns the message id.
   */
  async insertMessage(m: IngestNewMessage, touch: TicketTouch | null): Promise<string> {
    const ticket = touch
      ? sql`, ticket AS (
         UPDATE tickets SET status = ${touch.status}, priority = ${touch.priority},
           solved_at = CASE WHEN ${touch.reopen} THEN NULL ELSE solved_at END,
           customer_message_count = customer_message_count + ${touch.customer ? 1 : 0},
           last_customer_message_at = CASE WHEN ${touch.customer} THEN GREATEST(last_customer_message_at, ${m.sourceTime})
                                           ELSE last_customer_message_at END,
           version = version + ${touch.bumpVersion ? 1 : 0}, updated_at = now()
         WHERE id = ${m.ticketId})`
      : sql.empty;
    const q = sql`WITH message AS (
         INSERT INTO messages (ticket_id, inbox_id, channel, direction, kind, author_contact_id, external_id, revision,
           subject, text, html, attachments, metadata, email_message_id, auto_submitted, source_time,
           sender_name, sender_address, sender_header)
         VALUES (${m.ticketId}, ${m.inboxId}, ${m.channel}, ${m.direction}, ${m.kind}, ${m.authorContactId}, ${m.externalId},
           ${m.revision}, ${m.subject}, ${m.text}, ${m.html}, ${JSON.stringify(m.attachments)}::jsonb,
           ${JSON.stringify(m.metadata)}::jsonb, ${m.emailMessageId}, ${m.autoSubmitted}, ${m.sourceTime},
           ${m.senderName}, ${m.senderAddress}, ${m.senderHeader})
         RETURNING id),
       binding AS (
         -- The pair now points at the ticket the customer last wrote to (replies default to it).
         INSERT INTO conversations (inbox_id, identity_id, ticket_id, last_inbound_at)
         VALUES (${m.inboxId}, ${m.senderIdentityId}, ${m.ticketId}, ${m.lastInboundAt})
         ON CONFLICT (inbox_id, identity_id) DO UPDATE
           SET ticket_id = excluded.ticket_id,
               last_inbound_at = GREATEST(conversations.last_inbound_at, excluded.last_inbound_at),
               updated_at = now())${ticket}
       SELECT id FROM message`;
    // One name per variant: the statement's text differs with and without the ticket CTE.
    const row = await one<{ id: string }>(this.db, q.named(touch ? 'oq_ingest_message_touch' : 'oq_ingest_message'));
    return row.id;
  }

  /** Email To/CC people become the ticket's CC participants (kept if already there). */
  async addCcParticipants(ticketId: string, contactIds: string[]): Promise<void> {
    await execute(
      this.db,
      sql`INSERT INTO ticket_participants (ticket_id, contact_id, role)
         SELECT ${ticketId}, c, 'cc' FROM unnest(${contactIds}::uuid[]) AS c ON CONFLICT DO NOTHING`.named(
        'oq_ingest_cc_participants',
      ),
    );
  }

  /** A higher revision (edit, late recording, transcript) updates the stored message in place. */
  async reviseMessage(r: IngestMessageRevision): Promise<void> {
    await execute(
      this.db,
      sql`UPDATE messages SET revision = ${r.revision}, text = ${r.text}, html = ${r.html},
         attachments = ${JSON.stringify(r.attachments)}::jsonb, metadata = ${JSON.stringify(r.metadata)}::jsonb,
         subject = COALESCE(${r.subject}, subject), sender_name = COALESCE(sender_name, ${r.senderName}), updated_at = now()
       WHERE id = ${r.messageId}`.named('oq_ingest_revise_message'),
    );
  }

  /** A revised message's ticket, locked for the priority decision. */
  lockTicket(id: string): Promise<IngestLockedTicketRow> {
    return one<IngestLockedTicketRow>(
      this.db,
      sql`SELECT id, team_id, assignee_id, priority, status FROM tickets WHERE id = ${id} FOR UPDATE`.named(
        'oq_ingest_lock_ticket',
      ),
    );
  }

  /** A call that turned out missed: its ticket needs a call back. */
  async raisePriorityForMissedCall(ticketId: string): Promise<void> {
    await execute(
      this.db,
      sql`UPDATE tickets SET priority = 'high', version = version + 1, updated_at = now() WHERE id = ${ticketId}`.named(
        'oq_ingest_raise_priority',
      ),
    );
  }

  /** The newest outbound message a delivery-status report names by Message-ID, locked. */
  findBouncedMessage(emailMessageId: string): Promise<BouncedMessageRow | undefined> {
    return maybeOne<BouncedMessageRow>(
      this.db,
      sql`SELECT m.id, m.delivery_status, m.ticket_id, t.team_id, t.assignee_id
       FROM messages m JOIN tickets t ON t.id = m.ticket_id
       WHERE m.email_message_id = ${emailMessageId} AND m.direction = 'outbound'
       ORDER BY m.created_at DESC LIMIT 1 FOR UPDATE OF m`.named('oq_ingest_bounce_original'),
    );
  }

  /** The bounced message failed (the caller checked it may still move: not read, not failed). */
  async failBounced(messageId: string, diagnostic: string): Promise<void> {
    await execute(
      this.db,
      sql`UPDATE messages SET delivery_status = 'failed', delivery_reason = ${diagnostic}, delivery_error_code = 'bounce',
           updated_at = now() WHERE id = ${messageId}`.named('oq_ingest_bounce_fail'),
    );
  }

  // ---- TicketRouterService ---------------------------------------------------------------

  /** The ticket the (inbox, identity) conversation is bound to, locked. */
  conversationTicket(inboxId: string, identityId: string): Promise<RoutedTicketRow | undefined> {
    return maybeOne<RoutedTicketRow>(
      this.db,
      sql`SELECT ${ROUTED_TICKET_COLUMNS} FROM conversations c JOIN tickets t ON t.id = c.ticket_id
       WHERE c.inbox_id = ${inboxId} AND c.identity_id = ${identityId} FOR UPDATE OF t`.named(
        'oq_ingest_route_conversation',
      ),
    );
  }

  /**
   * The open ticket of the contact a call that names no ticket lands on, locked (preferences in
   * TicketRouterService.routeCall): open = not closed, as everywhere in routing.
   */
  callTicket(contactId: string, inboxId: string): Promise<CallTicketRow | undefined> {
    return maybeOne<CallTicketRow>(
      this.db,
      callTicketSelect(sql`${contactId}::uuid`, sql`${inboxId}::uuid`).named('oq_ingest_route_call'),
    );
  }

  /** The ticket a call log names by id and/or number (either may be absent), locked. */
  namedTicket(id: string | null, number: number | null): Promise<RoutedTicketRow | undefined> {
    return maybeOne<RoutedTicketRow>(
      this.db,
      sql`SELECT ${ROUTED_TICKET_COLUMNS} FROM tickets t
       WHERE (${id}::uuid IS NULL OR t.id = ${id}::uuid) AND (${number}::bigint IS NULL OR t.number = ${number}::bigint) FOR UPDATE`.named(
        'oq_ingest_route_named_ticket',
      ),
    );
  }

  /** One ticket by id, locked (a threaded mail's ticket, a merge's target). */
  ticketForUpdate(id: string): Promise<RoutedTicketRow | undefined> {
    return maybeOne<RoutedTicketRow>(
      this.db,
      sql`SELECT ${ROUTED_TICKET_COLUMNS} FROM tickets t WHERE t.id = ${id} FOR UPDATE`.named('oq_ingest_route_ticket'),
    );
  }

  /** Is the contact the ticket's requester or one of its participants? */
  async isParticipant(ticketId: string, requesterId: string, contactId: string): Promise<boolean> {
    const row = await one<{ participant: boolean }>(
      this.db,
      sql`SELECT (${contactId}::uuid = ${requesterId}::uuid OR EXISTS (
         SELECT 1 FROM ticket_participants WHERE ticket_id = ${ticketId} AND contact_id = ${contactId})) AS participant`.named(
        'oq_ingest_route_participant',
      ),
    );
    return row.participant;
  }

  /** The ticket of the newest message stored with one of these Message-IDs. */
  async ticketIdByEmailMessageIds(ids: string[]): Promise<string | undefined> {
    const row = await maybeOne<{ ticket_id: string }>(
      this.db,
      sql`SELECT ticket_id FROM messages WHERE email_message_id = ANY(${ids}::text[]) ORDER BY created_at DESC LIMIT 1`.named(
        'oq_ingest_route_message_id',
      ),
    );
    return row?.ticket_id;
  }

  async ticketIdByNumber(number: number): Promise<string | undefined> {
    const row = await maybeOne<{ id: string }>(
      this.db,
      sql`SELECT id FROM tickets WHERE number = ${number}`.named('oq_ingest_route_ticket_number'),
    );
    return row?.id;
  }

  // ---- acknowledgement hook --------------------------------------------------------------

  /** Which of these inboxes have acknowledgements switched on (the set-based batch asks once). */
  async acknowledgingInboxes(inboxIds: string[]): Promise<Set<string>> {
    if (!inboxIds.length) return new Set();
    const found = await rows<{ id: string }>(
      this.db,
      sql`SELECT id FROM inboxes WHERE id = ANY(${inboxIds}::uuid[])
            AND settings->'acknowledgement'->>'enabled' = 'true'`.named('oq_ingest_ack_inboxes'),
    );
    return new Set(found.map((r) => r.id));
  }

  /**
   * What an acknowledgement of the message needs, or undefined unless its inbox has
   * acknowledgements switched on. One round trip. Every acknowledgement sits on a ticket of
   * this requester created within the hour, so the count walks tickets_requester_idx and
   * messages_ticket_idx.
   */
  acknowledgementCandidate(c: {
    inboxId: string;
    ticketId: string;
    messageId: string;
    senderIdentityId: string;
    senderContactId: string;
  }): Promise<AcknowledgementCandidateRow | undefined> {
    return maybeOne<AcknowledgementCandidateRow>(
      this.db,
      sql`SELECT i.settings->'acknowledgement' AS settings, t.number, t.subject, t.team_id, t.assignee_id,
              msg.email_message_id, (msg.metadata ? 'notice') AS unreadable, ci.value AS sender,
              (SELECT count(*) FROM tickets pt JOIN messages a ON a.ticket_id = pt.id
                WHERE pt.requester_id = ${c.senderContactId} AND pt.updated_at > now() - interval '1 hour'
                  AND a.created_at > now() - interval '1 hour' AND a.to_identity_id = ${c.senderIdentityId}
                  AND a.inbox_id = ${c.inboxId} AND a.metadata ? 'acknowledgementOf') AS recent
         FROM inboxes i, tickets t, messages msg, contact_identities ci
        WHERE i.id = ${c.inboxId} AND t.id = ${c.ticketId} AND msg.id = ${c.messageId} AND ci.id = ${c.senderIdentityId}
          AND i.settings->'acknowledgement'->>'enabled' = 'true'`.named('oq_ingest_ack_candidate'),
    );
  }
}
