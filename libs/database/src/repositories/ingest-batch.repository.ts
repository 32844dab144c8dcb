import { Inject, Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { Db, execute, rows, runScript } from '../sql/db';
import { Sql, sql } from '../sql/sql';
import {
  IngestInboxRow,
  IngestNewMessage,
  IngestNewTicket,
  IngestOpenedTicketRow,
  MessageLookup,
  RoutedTicketRow,
} from './ingest.repository';

/** One message of the batch as the lookup reads it: the message, its sender and its inbox. */
export interface BatchLookupKey {
  inboxId: string;
  externalId: string;
  /** The sender, normalised (normalizeIdentity). */
  kind: string;
  value: string;
}

export interface BatchLookupRow extends MessageLookup {
  /** Null when the inbox does not exist. */
  inbox: IngestInboxRow | null;
}

export interface BatchNewSender {
  contactId: string;
  identityId: string;
  name: string | null;
  kind: string;
  value: string;
  verified: boolean;
  /** The identity this one stands for (a wa_id's phone), recorded as it is created. */
  linkedIdentityId: string | null;
  /** The contact is made with it; false when it joins a contact that exists or another row of the batch makes. */
  newContact: boolean;
}

export interface BatchConversationTicketRow extends RoutedTicketRow {
  inbox_id: string;
  identity_id: string;
}

/** IngestNewTicket with the row id made in Node; set-based tickets are never follow-ups and start untagged. */
export interface BatchNewTicket extends Omit<IngestNewTicket, 'followUpOfId' | 'tags'> {
  id: string;
}

/** IngestNewMessage with the row id made in Node; the conversation binding is written per pair (BatchConversation). */
export interface BatchNewMessage extends Omit<IngestNewMessage, 'senderIdentityId' | 'lastInboundAt'> {
  id: string;
}

/** One (inbox, identity) conversation's binding after the batch: the ticket its sender last wrote to. */
export interface BatchConversation {
  inboxId: string;
  identityId: string;
  ticketId: string;
  lastInboundAt: Date | null;
}

/** What the batch's customer messages did to one ticket, summed (TicketTouch for many messages). */
export interface BatchTicketTouch {
  id: string;
  status: string;
  priority: string;
  reopen: boolean;
  /** Customer messages that wait for an answer: the counter moves by this many. */
  customerMessages: number;
  lastCustomerMessageAt: Date | null;
  bumpVersion: boolean;
}

/**
 * The batch's statements as values: the repository runs them, and bench:ingest's set-based
 * ceiling runs the very same text with plain pg (what batching can reach on this disk).
 */
export const ingestBatchSql = {
  /** Every sender's advisory lock in lock-id order, then the savepoint: one simple-protocol script. */
  senderLocks(lockIds: string[], savepoint: string): string {
    // Inlined as an array literal: the ids are decimal integers we computed (checked, never input).
    for (const id of lockIds) if (!/^-?\d{1,20}$/.test(id)) throw new Error(`bad advisory lock id ${id}`);
    if (!/^[a-z_]+$/.test(savepoint)) throw new Error(`bad savepoint name ${savepoint}`);
    const ids = [...new Set(lockIds)].sort((a, b) => (BigInt(a) < BigInt(b) ? -1 : BigInt(a) > BigInt(b) ? 1 : 0));
    // The ordered subquery is scanned in order and the locks are taken row by row as it is.
    const lock = `SELECT count(pg_advisory_xact_lock(k)) FROM (SELECT k FROM unnest('{${ids.join(',')}}'::bigint[]) AS k ORDER BY k OFFSET 0) s`;
    return `${lock}; SAVEPOINT ${savepoint}`;
  },
  lookup: (keys: BatchLookupKey[]): Sql =>
    sql`SELECT q.ord, m.id AS message_id, m.ticket_id, m.revision, m.metadata,
            i.id AS identity_id, i.contact_id, (coalesce(btrim(c.name), '') = '') AS unnamed,
            li.kind AS linked_kind, li.value AS linked_value, li.contact_id AS linked_contact_id,
            CASE WHEN ib.id IS NULL THEN NULL ELSE json_build_object('id', ib.id, 'channel', ib.channel,
              'address', ib.address, 'default_team_id', ib.default_team_id, 'enabled', ib.enabled) END AS inbox
       FROM unnest(${keys.map((k) => k.inboxId)}::uuid[], ${keys.map((k) => k.externalId)}::text[],
                   ${keys.map((k) => k.kind)}::text[], ${keys.map((k) => k.value)}::text[])
            WITH ORDINALITY AS q(inbox_id, external_id, kind, value, ord)
       LEFT JOIN inboxes ib ON ib.id = q.inbox_id
       LEFT JOIN messages m ON m.inbox_id = q.inbox_id AND m.external_id = q.external_id
       LEFT JOIN contact_identities i ON i.kind = q.kind AND i.value = q.value
       LEFT JOIN contacts c ON c.id = i.contact_id
       LEFT JOIN contact_identities li ON li.id = i.linked_identity_id
      ORDER BY q.ord`.named('oq_ingest_batch_lookup'),
  createSenders: (s: BatchNewSender[]): Sql => {
    const made = s.filter((x) => x.newContact);
    // One statement: the identities' self-reference (linked_identity_id) is checked at its end.
    return sql`WITH c AS (INSERT INTO contacts (id, name)
                   SELECT * FROM unnest(${made.map((x) => x.contactId)}::uuid[], ${made.map((x) => x.name)}::text[]))
        INSERT INTO contact_identities (id, contact_id, kind, value, verified, linked_identity_id)
        SELECT * FROM unnest(${s.map((x) => x.identityId)}::uuid[], ${s.map((x) => x.contactId)}::uuid[],
                             ${s.map((x) => x.kind)}::text[], ${s.map((x) => x.value)}::text[],
                             ${s.map((x) => x.verified)}::bool[], ${s.map((x) => x.linkedIdentityId)}::uuid[])`.named(
      'oq_ingest_batch_senders',
    );
  },
  /** The identities that exist of `refs` (new senders' links), with their contacts. */
  identities: (refs: { kind: string; value: string }[]): Sql =>
    sql`SELECT i.kind, i.value, i.id, i.contact_id
          FROM unnest(${refs.map((r) => r.kind)}::text[], ${refs.map((r) => r.value)}::text[]) AS q(kind, value)
          JOIN contact_identities i ON i.kind = q.kind AND i.value = q.value`.named('oq_ingest_batch_identities'),
  nameUnnamed: (names: { contactId: string; name: string }[]): Sql =>
    sql`UPDATE contacts c SET name = x.name, updated_at = now()
          FROM unnest(${names.map((n) => n.contactId)}::uuid[], ${names.map((n) => n.name)}::text[]) AS x(id, name)
         WHERE c.id = x.id AND coalesce(btrim(c.name), '') = ''`.named('oq_ingest_batch_name_contacts'),
  conversationTickets: (pairs: { inboxId: string; identityId: string }[]): Sql =>
    sql`SELECT c.inbox_id, c.identity_id, t.id, t.number, t.status, t.priority, t.team_id, t.assignee_id,
            t.requester_id, t.merged_into_id
       FROM unnest(${pairs.map((p) => p.inboxId)}::uuid[], ${pairs.map((p) => p.identityId)}::uuid[]) AS q(inbox_id, identity_id)
       JOIN conversations c ON c.inbox_id = q.inbox_id AND c.identity_id = q.identity_id
       JOIN tickets t ON t.id = c.ticket_id
      ORDER BY t.id FOR UPDATE OF t`.named('oq_ingest_batch_conversation_tickets'),
  openTickets: (t: BatchNewTicket[]): Sql =>
    sql`WITH x AS (
          SELECT * FROM unnest(${t.map((r) => r.id)}::uuid[], ${t.map((r) => r.subject)}::text[],
            ${t.map((r) => r.priority)}::text[], ${t.map((r) => r.teamId)}::uuid[], ${t.map((r) => r.requesterId)}::uuid[],
            ${t.map((r) => r.channel)}::text[], ${t.map((r) => r.inboxId)}::uuid[],
            ${t.map((r) => r.customerMessageCount)}::int[], ${t.map((r) => r.lastCustomerMessageAt)}::timestamptz[],
            ${t.map((r) => JSON.stringify(r.audit))}::jsonb[])
            WITH ORDINALITY AS x(id, subject, priority, team_id, requester_id, channel, inbox_id, customers, last_at, audit, ord)),
        t AS (
          INSERT INTO tickets (id, subject, priority, team_id, requester_id, channel, inbox_id,
            customer_message_count, last_customer_message_at)
          SELECT id, subject, priority, team_id, requester_id, channel, inbox_id, customers, last_at FROM x ORDER BY ord
          RETURNING id, number, status, priority, team_id, assignee_id),
        p AS (INSERT INTO ticket_participants (ticket_id, contact_id, role) SELECT id, requester_id, 'requester' FROM x),
        a AS (INSERT INTO ticket_audit (ticket_id, actor_type, action, changes) SELECT id, 'customer', 'created', audit FROM x)
        SELECT * FROM t`.named('oq_ingest_batch_open_tickets'),
  insertMessages: (m: BatchNewMessage[]): Sql =>
    sql`INSERT INTO messages (id, ticket_id, inbox_id, channel, direction, kind, author_contact_id, external_id,
          revision, subject, text, html, attachments, metadata, email_message_id, auto_submitted, source_time,
          sender_name, sender_address, sender_header)
        SELECT * FROM unnest(${m.map((r) => r.id)}::uuid[], ${m.map((r) => r.ticketId)}::uuid[],
          ${m.map((r) => r.inboxId)}::uuid[], ${m.map((r) => r.channel)}::text[], ${m.map((r) => r.direction)}::text[],
          ${m.map((r) => r.kind)}::text[], ${m.map((r) => r.authorContactId)}::uuid[], ${m.map((r) => r.externalId)}::text[],
          ${m.map((r) => r.revision)}::int[], ${m.map((r) => r.subject)}::text[], ${m.map((r) => r.text)}::text[],
          ${m.map((r) => r.html)}::text[], ${m.map((r) => JSON.stringify(r.attachments))}::jsonb[],
          ${m.map((r) => JSON.stringify(r.metadata))}::jsonb[], ${m.map((r) => r.emailMessageId)}::text[],
          ${m.map((r) => r.autoSubmitted)}::bool[], ${m.map((r) => r.sourceTime)}::timestamptz[],
          ${m.map((r) => r.senderName)}::text[], ${m.map((r) => r.senderAddress)}::text[],
          ${m.map((r) => r.senderHeader)}::text[])`.named('oq_ingest_batch_messages'),
  bindConversations: (c: BatchConversation[]): Sql =>
    sql`INSERT INTO conversations (inbox_id, identity_id, ticket_id, last_inbound_at)
        SELECT * FROM unnest(${c.map((r) => r.inboxId)}::uuid[], ${c.map((r) => r.identityId)}::uuid[],
                             ${c.map((r) => r.ticketId)}::uuid[], ${c.map((r) => r.lastInboundAt)}::timestamptz[])
        ON CONFLICT (inbox_id, identity_id) DO UPDATE
          SET ticket_id = excluded.ticket_id,
              last_inbound_at = GREATEST(conversations.last_inbound_at, excluded.last_inbound_at),
              updated_at = now()`.named('oq_ingest_batch_conversations'),
  touchTickets: (t: BatchTicketTouch[]): Sql =>
    sql`UPDATE tickets t SET status = x.status, priority = x.priority,
          solved_at = CASE WHEN x.reopen THEN NULL ELSE t.solved_at END,
          customer_message_count = t.customer_message_count + x.customers,
          last_customer_message_at = CASE WHEN x.customers > 0 THEN GREATEST(t.last_customer_message_at, x.last_at)
                                          ELSE t.last_customer_message_at END,
          version = t.version + CASE WHEN x.bump THEN 1 ELSE 0 END, updated_at = now()
        FROM unnest(${t.map((r) => r.id)}::uuid[], ${t.map((r) => r.status)}::text[], ${t.map((r) => r.priority)}::text[],
                    ${t.map((r) => r.reopen)}::bool[], ${t.map((r) => r.customerMessages)}::int[],
                    ${t.map((r) => r.lastCustomerMessageAt)}::timestamptz[], ${t.map((r) => r.bumpVersion)}::bool[])
             AS x(id, status, priority, reopen, customers, last_at, bump)
       WHERE t.id = x.id`.named('oq_ingest_batch_touch_tickets'),
};

/**
 * The set-based ingest batch: the batch's messages written with one statement per table instead
 * of a round trip per message (InboundConsumer, set-based-ingest.ts). Hot path: hand-written SQL
 * over `unnest` arrays, named prepared statements; every row's id is made by the caller, so rows of
 * one table can be referred to by the next statement without reading them back.
 * Tables: contacts, contact_identities, tickets, ticket_participants, ticket_audit, messages, conversations.
 */
@Injectable()
export class IngestBatchRepository {
  constructor(@Inject(DataSource) private readonly db: Db) {}

  with(db: Db): IngestBatchRepository {
    return new IngestBatchRepository(db);
  }

  /**
   * Every sender's advisory lock, in lock-id order (so two batches can never wait on each other in a
   * cycle), then a savepoint the set-based writes can roll back to — one simple-protocol round trip.
   * The savepoint comes after the locks: rolling back to it must not release them.
   */
  async lockSendersAndSavepoint(lockIds: string[], savepoint: string): Promise<void> {
    await runScript(this.db, ingestBatchSql.senderLocks(lockIds, savepoint));
  }

  async rollbackTo(savepoint: string): Promise<void> {
    await execute(this.db, sql.raw(`ROLLBACK TO SAVEPOINT ${savepoint}`));
  }

  /**
   * The lookup of every message of the batch in one statement, in input order: is the message
   * known, is its sender known (with its link), and its inbox. Runs after the senders' locks, in its
   * own snapshot: it sees what the locks' previous holders committed.
   */
  async lookup(keys: BatchLookupKey[]): Promise<BatchLookupRow[]> {
    const found = await rows<MessageLookup & { ord: string; inbox: IngestInboxRow | null }>(
      this.db,
      ingestBatchSql.lookup(keys),
    );
    return found.map(({ ord: _ord, ...row }) => row);
  }

  /**
   * New senders' contacts and identities. No ON CONFLICT: the lookup read them as missing under their
   * senders' locks, so a conflict means a writer outside ingest, and the batch falls back per message.
   */
  async createSenders(s: BatchNewSender[]): Promise<void> {
    if (!s.length) return;
    await execute(this.db, ingestBatchSql.createSenders(s));
  }

  /** Which of `refs` exist as identities, and on which contact. */
  findIdentities(
    refs: { kind: string; value: string }[],
  ): Promise<{ kind: string; value: string; id: string; contact_id: string }[]> {
    if (!refs.length) return Promise.resolve([]);
    return rows(this.db, ingestBatchSql.identities(refs));
  }

  /** Contacts without a name take the first one a message of the batch came with. */
  async nameUnnamed(names: { contactId: string; name: string }[]): Promise<void> {
    if (!names.length) return;
    await execute(this.db, ingestBatchSql.nameUnnamed(names));
  }

  /** The tickets the (inbox, identity) conversations are bound to, locked in id order. */
  conversationTickets(pairs: { inboxId: string; identityId: string }[]): Promise<BatchConversationTicketRow[]> {
    if (!pairs.length) return Promise.resolve([]);
    return rows<BatchConversationTicketRow>(this.db, ingestBatchSql.conversationTickets(pairs));
  }

  /** New tickets with their requester participants and `created` audit rows, in one statement. */
  openTickets(t: BatchNewTicket[]): Promise<IngestOpenedTicketRow[]> {
    if (!t.length) return Promise.resolve([]);
    return rows<IngestOpenedTicketRow>(this.db, ingestBatchSql.openTickets(t));
  }

  /** The batch's messages, one statement. */
  async insertMessages(m: BatchNewMessage[]): Promise<void> {
    if (!m.length) return;
    await execute(this.db, ingestBatchSql.insertMessages(m));
  }

  /** Each conversation now points at the ticket its sender last wrote to (one row per pair: the caller dedupes). */
  async bindConversations(c: BatchConversation[]): Promise<void> {
    if (!c.length) return;
    await execute(this.db, ingestBatchSql.bindConversations(c));
  }

  /** Customer activity on the batch's tickets: counters, reopen, status — one row per ticket (the caller sums). */
  async touchTickets(t: BatchTicketTouch[]): Promise<void> {
    if (!t.length) return;
    await execute(this.db, ingestBatchSql.touchTickets(t));
  }
}
