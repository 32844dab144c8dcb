import { Inject, Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { Db, execute, rows, runScript } from '../sql/db';
import { Sql, sql } from '../sql/sql';
import {
  CallTicketRow,
  IngestInboxRow,
  IngestNewMessage,
  IngestNewTicket,
  IngestOpenedTicketRow,
  MessageLookup,
  RoutedTicketRow,
  ROUTED_TICKET_COLUMNS,
  callTicketSelect,
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

/** IngestNewTicket with the row id made in Node; set-based tickets start untagged. */
export interface BatchNewTicket extends Omit<IngestNewTicket, 'tags'> {
  id: string;
}

/** What routing needs to know about one new mail of the batch (TicketRouterService.routeEmail, as a set). */
export interface BatchEmailRouteKey {
  inboxId: string;
  /** The sender's contact: only the ticket's people may write into it. */
  contactId: string;
  /** The ticket our own HMAC-signed Message-ID in its headers names; it wins over everything else. */
  signedTicketId: string | null;
  /** In-Reply-To then References (newest first), bracketed: the newest stored message with one of them. */
  ids: string[];
  /** The subject's `[#number]` token, when neither kind of id matched. */
  number: number | null;
  /** The id the mail had before ids carried a content hash; `legacyTime` null: exact (a raw-source hash). */
  legacyId: string | null;
  legacyTime: Date | null;
}

/** One mail's route: an earlier import of it (legacy), else the ticket it threads to (locked) and how. */
export interface BatchEmailRouteRow {
  legacy: { id: string; ticket_id: string } | null;
  /** signed_message_id, stored_message_id or subject_token; with `ticket` null: a new thread. */
  via: string;
  ticket: RoutedTicketRow | null;
  /** The contact is the ticket's requester or one of its participants. */
  participant: boolean;
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

/** What the batch's routing read looks up (ingestBatchSql.routes). */
export interface BatchRouteKeys {
  links: { kind: string; value: string }[];
  conversations: { inboxId: string; identityId: string }[];
  mails: BatchEmailRouteKey[];
  calls: { contactId: string; inboxId: string }[];
}

/** What it found, per part in input order (mails and calls: one entry per key). */
export interface BatchRoutes {
  links: { kind: string; value: string; id: string; contact_id: string }[];
  conversations: BatchConversationTicketRow[];
  mails: BatchEmailRouteRow[];
  calls: (CallTicketRow | undefined)[];
}

/** Every row one set-based batch writes (ingestBatchSql.write). */
export interface BatchWrite {
  senders: BatchNewSender[];
  names: { contactId: string; name: string }[];
  tickets: BatchNewTicket[];
  messages: BatchNewMessage[];
  conversations: BatchConversation[];
  touches: BatchTicketTouch[];
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
  /** How many of the messages moved the status or the priority: the version moves by as many, as one by one. */
  versionBumps: number;
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
  /** The identities that exist of `refs` (new senders' links), with their contacts. */
  identities: (refs: { kind: string; value: string }[]): Sql =>
    sql`SELECT i.kind, i.value, i.id, i.contact_id
          FROM unnest(${refs.map((r) => r.kind)}::text[], ${refs.map((r) => r.value)}::text[]) AS q(kind, value)
          JOIN contact_identities i ON i.kind = q.kind AND i.value = q.value`,
  conversationTickets: (pairs: { inboxId: string; identityId: string }[]): Sql =>
    sql`SELECT c.inbox_id, c.identity_id, t.id, t.number, t.status, t.priority, t.team_id, t.assignee_id,
            t.requester_id, t.merged_into_id
       FROM unnest(${pairs.map((p) => p.inboxId)}::uuid[], ${pairs.map((p) => p.identityId)}::uuid[]) AS q(inbox_id, identity_id)
       JOIN conversations c ON c.inbox_id = q.inbox_id AND c.identity_id = q.identity_id
       JOIN tickets t ON t.id = c.ticket_id
      ORDER BY t.id FOR UPDATE OF t`,
  /**
   * Every new mail's route in one statement: an earlier import under its legacy id, else the ticket
   * its signed id, the newest stored message it names, or its subject token points at — locked in id
   * order — and whether its sender is one of that ticket's people. Rows in input order.
   */
  emailRoutes: (k: BatchEmailRouteKey[]): Sql => {
    const idOrds = k.flatMap((x, i) => x.ids.map(() => i + 1));
    return sql`WITH q AS (
          SELECT * FROM unnest(${k.map((x) => x.signedTicketId)}::uuid[], ${k.map((x) => x.number)}::bigint[],
            ${k.map((x) => x.contactId)}::uuid[], ${k.map((x) => x.inboxId)}::uuid[], ${k.map((x) => x.legacyId)}::text[],
            ${k.map((x) => x.legacyTime)}::timestamptz[])
            WITH ORDINALITY AS q(signed, number, contact_id, inbox_id, legacy_id, legacy_time, ord)),
        -- Per id the newest message carrying it: a LATERAL with LIMIT is planned per id on the
        -- email_message_id index, whatever the statistics say (a join was a seq scan of messages
        -- per batch while ANALYZE had not run).
        stored AS (
          SELECT DISTINCT ON (x.ord) x.ord, s.ticket_id
            FROM unnest(${idOrds}::int[], ${k.flatMap((x) => x.ids)}::text[]) AS x(ord, id)
            CROSS JOIN LATERAL (SELECT m.ticket_id, m.created_at FROM messages m
                                 WHERE m.email_message_id = x.id ORDER BY m.created_at DESC LIMIT 1) s
           ORDER BY x.ord, s.created_at DESC),
        pick AS (
          SELECT q.*, CASE WHEN q.signed IS NOT NULL THEN 'signed_message_id'
                           WHEN s.ticket_id IS NOT NULL THEN 'stored_message_id' ELSE 'subject_token' END AS via,
                 coalesce(q.signed, s.ticket_id, (SELECT n.id FROM tickets n WHERE n.number = q.number)) AS ticket_id
            FROM q LEFT JOIN stored s ON s.ord = q.ord),
        locked AS (SELECT ${ROUTED_TICKET_COLUMNS} FROM tickets t WHERE t.id IN (SELECT ticket_id FROM pick) ORDER BY t.id FOR UPDATE)
        SELECT p.ord, p.via, lg.id AS legacy_id, lg.ticket_id AS legacy_ticket_id,
               l.id, l.number, l.status, l.priority, l.team_id, l.assignee_id, l.requester_id, l.merged_into_id,
               (l.id IS NOT NULL AND (p.contact_id = l.requester_id OR EXISTS (
                 SELECT 1 FROM ticket_participants tp WHERE tp.ticket_id = l.id AND tp.contact_id = p.contact_id))) AS participant
          FROM pick p
          LEFT JOIN locked l ON l.id = p.ticket_id
          LEFT JOIN LATERAL (
            SELECT m.id, m.ticket_id FROM messages m
             WHERE p.legacy_id IS NOT NULL AND m.inbox_id = p.inbox_id AND m.external_id = p.legacy_id
               AND (p.legacy_time IS NULL OR m.source_time = p.legacy_time)
             LIMIT 1) lg ON TRUE
         ORDER BY p.ord`;
  },
  /** Per call, the contact's open ticket it lands on (IngestRepository.callTicket's very query), locked. */
  callTickets: (k: { contactId: string; inboxId: string }[]): Sql =>
    sql`SELECT q.ord, x.* FROM unnest(${k.map((x) => x.contactId)}::uuid[], ${k.map((x) => x.inboxId)}::uuid[])
            WITH ORDINALITY AS q(contact_id, inbox_id, ord)
          CROSS JOIN LATERAL (${callTicketSelect(sql.raw('q.contact_id'), sql.raw('q.inbox_id'))}) x
         ORDER BY q.ord`,
  /**
   * The batch's routing reads as ONE statement: each part (the new senders' links, the conversations'
   * tickets, the new mails' routes, the calls' tickets) is a CTE aggregated to a JSON array, in its
   * own order; the parts' row locks are taken as in their own statements. Parts with no keys are left
   * out; each variant is its own prepared statement.
   */
  routes: (r: BatchRouteKeys): Sql => {
    const parts: { name: string; bit: number; body: Sql; order: string }[] = [];
    if (r.links.length) parts.push({ name: 'links', bit: 1, body: ingestBatchSql.identities(r.links), order: '' });
    if (r.conversations.length)
      parts.push({
        name: 'conversations',
        bit: 2,
        body: ingestBatchSql.conversationTickets(r.conversations),
        order: '',
      });
    if (r.mails.length)
      parts.push({ name: 'mails', bit: 4, body: ingestBatchSql.emailRoutes(r.mails), order: 'ORDER BY ord' });
    if (r.calls.length)
      parts.push({ name: 'calls', bit: 8, body: ingestBatchSql.callTickets(r.calls), order: 'ORDER BY ord' });
    if (!parts.length) throw new Error('an ingest batch route read with nothing to read');
    const ctes = sql.join(
      parts.map((p) => sql`${sql.raw(p.name)} AS (${p.body})`),
      ',\n',
    );
    const columns = sql.join(
      parts.map((p) => sql.raw(`(SELECT coalesce(json_agg(x ${p.order}), '[]') FROM ${p.name} x) AS ${p.name}`)),
    );
    const variant = parts.reduce((v, p) => v | p.bit, 0);
    return sql`WITH ${ctes} SELECT ${columns}`.named(`oq_ingest_batch_routes_${variant}`);
  },
  /**
   * Everything the batch writes, as ONE statement of data-modifying CTEs (one round trip): new
   * senders' contacts and identities, names for unnamed contacts, new tickets with their requester
   * participant and `created` audit row, the messages, the conversation bindings and the existing
   * tickets' counters and status. Every row id is made in Node, so no part needs another's output;
   * the parts touch disjoint rows, and foreign keys are checked at the statement's end. Returns the
   * new tickets (number, status, …). Parts with no rows are left out; each variant is its own
   * prepared statement.
   */
  write: (w: BatchWrite): Sql => {
    const parts: Sql[] = [];
    let variant = 0;
    const part = (bit: number, cte: Sql) => {
      variant |= bit;
      parts.push(cte);
    };
    const made = w.senders.filter((x) => x.newContact);
    if (made.length)
      part(
        1,
        sql`new_contacts AS (INSERT INTO contacts (id, name)
              SELECT * FROM unnest(${made.map((x) => x.contactId)}::uuid[], ${made.map((x) => x.name)}::text[]))`,
      );
    if (w.senders.length)
      part(
        2,
        // The identities' self-reference (linked_identity_id) is checked at the statement's end too.
        sql`new_identities AS (INSERT INTO contact_identities (id, contact_id, kind, value, verified, linked_identity_id)
              SELECT * FROM unnest(${w.senders.map((x) => x.identityId)}::uuid[], ${w.senders.map((x) => x.contactId)}::uuid[],
                ${w.senders.map((x) => x.kind)}::text[], ${w.senders.map((x) => x.value)}::text[],
                ${w.senders.map((x) => x.verified)}::bool[], ${w.senders.map((x) => x.linkedIdentityId)}::uuid[]))`,
      );
    if (w.names.length)
      part(
        4,
        sql`named AS (UPDATE contacts c SET name = x.name, updated_at = now()
              FROM unnest(${w.names.map((n) => n.contactId)}::uuid[], ${w.names.map((n) => n.name)}::text[]) AS x(id, name)
             WHERE c.id = x.id AND coalesce(btrim(c.name), '') = '')`,
      );
    const t = w.tickets;
    if (t.length)
      part(
        8,
        sql`x AS (
              SELECT * FROM unnest(${t.map((r) => r.id)}::uuid[], ${t.map((r) => r.subject)}::text[],
                ${t.map((r) => r.priority)}::text[], ${t.map((r) => r.teamId)}::uuid[], ${t.map((r) => r.requesterId)}::uuid[],
                ${t.map((r) => r.channel)}::text[], ${t.map((r) => r.inboxId)}::uuid[], ${t.map((r) => r.followUpOfId)}::uuid[],
                ${t.map((r) => r.customerMessageCount)}::int[], ${t.map((r) => r.lastCustomerMessageAt)}::timestamptz[],
                ${t.map((r) => JSON.stringify(r.audit))}::jsonb[])
                WITH ORDINALITY AS x(id, subject, priority, team_id, requester_id, channel, inbox_id, follow_up_of_id,
                                     customers, last_at, audit, ord)),
            new_tickets AS (
              INSERT INTO tickets (id, subject, priority, team_id, requester_id, channel, inbox_id, follow_up_of_id,
                customer_message_count, last_customer_message_at)
              SELECT id, subject, priority, team_id, requester_id, channel, inbox_id, follow_up_of_id, customers, last_at
                FROM x ORDER BY ord
              RETURNING id, number, status, priority, team_id, assignee_id),
            requesters AS (INSERT INTO ticket_participants (ticket_id, contact_id, role) SELECT id, requester_id, 'requester' FROM x),
            created AS (INSERT INTO ticket_audit (ticket_id, actor_type, action, changes) SELECT id, 'customer', 'created', audit FROM x)`,
      );
    const m = w.messages;
    if (m.length)
      part(
        16,
        sql`new_messages AS (INSERT INTO messages (id, ticket_id, inbox_id, channel, direction, kind, author_contact_id,
              external_id, revision, subject, text, html, attachments, metadata, email_message_id, auto_submitted,
              source_time, sender_name, sender_address, sender_header)
            SELECT * FROM unnest(${m.map((r) => r.id)}::uuid[], ${m.map((r) => r.ticketId)}::uuid[],
              ${m.map((r) => r.inboxId)}::uuid[], ${m.map((r) => r.channel)}::text[], ${m.map((r) => r.direction)}::text[],
              ${m.map((r) => r.kind)}::text[], ${m.map((r) => r.authorContactId)}::uuid[], ${m.map((r) => r.externalId)}::text[],
              ${m.map((r) => r.revision)}::int[], ${m.map((r) => r.subject)}::text[], ${m.map((r) => r.text)}::text[],
              ${m.map((r) => r.html)}::text[], ${m.map((r) => JSON.stringify(r.attachments))}::jsonb[],
              ${m.map((r) => JSON.stringify(r.metadata))}::jsonb[], ${m.map((r) => r.emailMessageId)}::text[],
              ${m.map((r) => r.autoSubmitted)}::bool[], ${m.map((r) => r.sourceTime)}::timestamptz[],
              ${m.map((r) => r.senderName)}::text[], ${m.map((r) => r.senderAddress)}::text[],
              ${m.map((r) => r.senderHeader)}::text[]))`,
      );
    const c = w.conversations;
    if (c.length)
      part(
        32,
        sql`bindings AS (INSERT INTO conversations (inbox_id, identity_id, ticket_id, last_inbound_at)
            SELECT * FROM unnest(${c.map((r) => r.inboxId)}::uuid[], ${c.map((r) => r.identityId)}::uuid[],
                                 ${c.map((r) => r.ticketId)}::uuid[], ${c.map((r) => r.lastInboundAt)}::timestamptz[])
            ON CONFLICT (inbox_id, identity_id) DO UPDATE
              SET ticket_id = excluded.ticket_id,
                  last_inbound_at = GREATEST(conversations.last_inbound_at, excluded.last_inbound_at),
                  updated_at = now())`,
      );
    const u = w.touches;
    if (u.length)
      part(
        64,
        sql`touched AS (UPDATE tickets t SET status = x.status, priority = x.priority,
              solved_at = CASE WHEN x.reopen THEN NULL ELSE t.solved_at END,
              customer_message_count = t.customer_message_count + x.customers,
              last_customer_message_at = CASE WHEN x.customers > 0 THEN GREATEST(t.last_customer_message_at, x.last_at)
                                              ELSE t.last_customer_message_at END,
              version = t.version + x.bumps, updated_at = now()
            FROM unnest(${u.map((r) => r.id)}::uuid[], ${u.map((r) => r.status)}::text[], ${u.map((r) => r.priority)}::text[],
                        ${u.map((r) => r.reopen)}::bool[], ${u.map((r) => r.customerMessages)}::int[],
                        ${u.map((r) => r.lastCustomerMessageAt)}::timestamptz[], ${u.map((r) => r.versionBumps)}::int[])
                 AS x(id, status, priority, reopen, customers, last_at, bumps)
           WHERE t.id = x.id)`,
      );
    if (!parts.length) throw new Error('an ingest batch write with nothing to write');
    const result = t.length
      ? sql`SELECT * FROM new_tickets`
      : sql`SELECT NULL::uuid AS id, NULL::bigint AS number, NULL::text AS status, NULL::text AS priority,
                   NULL::uuid AS team_id, NULL::uuid AS assignee_id WHERE false`;
    return sql`WITH ${sql.join(parts, ',\n')} ${result}`.named(`oq_ingest_batch_write_${variant}`);
  },
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

  /** The batch's routing reads in one statement (ingestBatchSql.routes). */
  async route(r: BatchRouteKeys): Promise<BatchRoutes> {
    if (!r.links.length && !r.conversations.length && !r.mails.length && !r.calls.length)
      return { links: [], conversations: [], mails: [], calls: [] };
    type TicketJson = Omit<RoutedTicketRow, 'number'> & { number: number | string };
    type MailJson = Omit<TicketJson, 'id'> & {
      ord: number;
      id: string | null;
      via: string;
      legacy_id: string | null;
      legacy_ticket_id: string | null;
      participant: boolean;
    };
    type CallJson = TicketJson & { ord: number; call_back: boolean; inbox_team: boolean };
    const [found] = await rows<{
      links?: BatchRoutes['links'];
      conversations?: (TicketJson & { inbox_id: string; identity_id: string })[];
      mails?: MailJson[];
      calls?: CallJson[];
    }>(this.db, ingestBatchSql.routes(r));
    // JSON carries bigint as a number: back to the string pg gives for bigint, as elsewhere.
    const ticket = <T extends TicketJson>(t: T) => ({ ...t, number: String(t.number) });
    const calls = new Map((found.calls ?? []).map(({ ord, ...row }) => [Number(ord), ticket(row)] as const));
    return {
      links: found.links ?? [],
      conversations: (found.conversations ?? []).map(ticket),
      mails: (found.mails ?? []).map(({ ord: _ord, via, legacy_id, legacy_ticket_id, participant, id, ...t }) => ({
        legacy: legacy_id ? { id: legacy_id, ticket_id: legacy_ticket_id! } : null,
        via,
        participant,
        ticket: id ? ticket({ ...t, id }) : null,
      })),
      calls: r.calls.map((_, i) => calls.get(i + 1)),
    };
  }

  /**
   * The batch's rows in one statement (ingestBatchSql.write); returns the tickets it opened. New
   * senders are inserted without ON CONFLICT: the lookup read them as missing under their senders'
   * locks, so a conflict means a writer outside ingest, and the batch falls back per message.
   */
  write(w: BatchWrite): Promise<IngestOpenedTicketRow[]> {
    const empty = !w.senders.length && !w.names.length && !w.tickets.length && !w.messages.length;
    if (empty && !w.conversations.length && !w.touches.length) return Promise.resolve([]);
    return rows<IngestOpenedTicketRow>(this.db, ingestBatchSql.write(w));
  }
}
