import { Inject, Injectable } from '@nestjs/common';
import type { AttachmentRef } from '@oq/contracts';
import { DataSource } from 'typeorm';
import { Db, execute, maybeOne, one, rows } from '../sql/db';
import { sql } from '../sql/sql';
import { Viewer, visibleTickets } from './visibility';

/** The columns every message read selects (apps' ticket.view.ts turns them into the API shape). */
const MESSAGE_COLUMNS = sql.raw(`m.id, m.ticket_id, m.inbox_id, m.channel, m.direction, m.kind, m.author_agent_id,
  m.author_contact_id, m.to_identity_id, m.external_id, m.revision, m.subject, m.text, m.html, m.attachments,
  m.metadata, m.email_message_id, m.auto_submitted, m.delivery_status, m.delivery_reason, m.delivery_error_code,
  m.source_time, m.created_at, m.updated_at, m.sender_name, m.sender_address, m.sender_header`);

/**
 * A messages row as MESSAGE_COLUMNS reads it (snake_case, as the API views expect).
 * A type rather than an interface so it passes where a plain record is expected.
 */
export type MessageRow = {
  id: string;
  ticket_id: string;
  inbox_id: string | null;
  channel: string | null;
  direction: 'inbound' | 'outbound' | 'internal';
  kind: 'message' | 'note' | 'call_log' | 'system';
  author_agent_id: string | null;
  author_contact_id: string | null;
  to_identity_id: string | null;
  external_id: string | null;
  revision: number;
  subject: string | null;
  text: string;
  html: string | null;
  attachments: AttachmentRef[];
  metadata: Record<string, unknown>;
  email_message_id: string | null;
  auto_submitted: boolean;
  delivery_status: string | null;
  delivery_reason: string | null;
  delivery_error_code: string | null;
  source_time: Date;
  created_at: Date;
  updated_at: Date;
  sender_name: string | null;
  sender_address: string | null;
  sender_header: string | null;
};

/** The customer's side of a ticket an agent opens by hand: their message, or a call the agent logs. */
export interface NewLoggedMessage {
  ticketId: string;
  inboxId: string | null;
  channel: string;
  direction: 'inbound' | 'outbound';
  kind: 'message' | 'call_log';
  authorContactId: string;
  subject: string | null;
  text: string;
  metadata: Record<string, unknown>;
  sourceTime: Date | string;
  senderName: string | null;
  senderAddress: string | null;
}

export interface NewNote {
  ticketId: string;
  authorAgentId: string;
  text: string;
  html: string | null;
  attachments: AttachmentRef[];
}

/** An agent's reply, queued for its channel service. */
export interface NewReply {
  id: string;
  ticketId: string;
  inboxId: string;
  channel: string;
  authorAgentId: string;
  toIdentityId: string;
  subject: string | null;
  text: string;
  html: string | null;
  attachments: AttachmentRef[];
  metadata: Record<string, unknown>;
  emailMessageId: string | null;
  sourceTime: Date;
}

/** An escalation's mail to a supervisor: an internal system message that is still delivered. */
export interface NewSupervisorEmail {
  id: string;
  ticketId: string;
  inboxId: string;
  subject: string;
  text: string;
  metadata: Record<string, unknown>;
  emailMessageId: string;
  sourceTime: Date;
}

/** Mail the system sends on its own (acknowledgements, offline-chat notices). */
export interface NewAutomaticEmail {
  id: string;
  ticketId: string;
  inboxId: string;
  toIdentityId: string;
  subject: string;
  text: string;
  emailMessageId: string;
  metadata: Record<string, unknown>;
}

export interface UploadRow {
  /** char(64): pg pads it, callers trim. */
  sha256: string;
  /** bigint: a string from pg. */
  size: string;
  content_type: string;
  /** The viewer uploaded these bytes. */
  mine: boolean;
}

/** An attachment as a message of a visible ticket references it (its ref's own size and type). */
export interface SeenAttachmentRow {
  sha256: string;
  size: string;
  content_type: string;
}

export interface ChatHistoryRow {
  id: string;
  ticket_id: string;
  direction: 'inbound' | 'outbound';
  text: string;
  attachments: AttachmentRef[] | null;
  external_id: string | null;
  delivery_status: string | null;
  created_at: Date;
}

/**
 * Messages on tickets (agent, customer, system) and the originals kept beside ingested ones.
 * Tables: messages, message_originals.
 */
@Injectable()
export class MessageRepository {
  constructor(@Inject(DataSource) private readonly db: Db) {}

  /** The same repository on a transaction's manager. */
  with(db: Db): MessageRepository {
    return new MessageRepository(db);
  }

  // ── reads ────────────────────────────────────────────────────────────────

  /** The ticket's timeline: every message, note, call log and system entry in order. */
  timeline(ticketId: string): Promise<MessageRow[]> {
    return rows<MessageRow>(
      this.db,
      sql`SELECT ${MESSAGE_COLUMNS} FROM messages m WHERE m.ticket_id = ${ticketId} ORDER BY m.created_at, m.id`,
    );
  }

  byId(id: string): Promise<MessageRow | undefined> {
    return maybeOne<MessageRow>(this.db, sql`SELECT ${MESSAGE_COLUMNS} FROM messages m WHERE m.id = ${id}`);
  }

  /** Every Message-ID the ticket has seen or sent, oldest first (an email reply threads on them). */
  async emailMessageIds(ticketId: string): Promise<string[]> {
    const found = await rows<{ email_message_id: string }>(
      this.db,
      sql`SELECT email_message_id FROM messages WHERE ticket_id = ${ticketId} AND email_message_id IS NOT NULL ORDER BY created_at, id`,
    );
    return found.map((r) => r.email_message_id);
  }

  /** Whether the customer wrote on the ticket after `at`. */
  async inboundSince(ticketId: string, at: Date): Promise<boolean> {
    const found = await rows<{ one: number }>(
      this.db,
      sql`SELECT 1 AS one FROM messages WHERE ticket_id = ${ticketId} AND direction = 'inbound' AND created_at > ${at} LIMIT 1`,
    );
    return found.length > 0;
  }

  /**
   * A chat customer's conversation as the customer may see it: their messages and agents'
   * replies on this chat inbox, across all their tickets (and those of the contact they were
   * merged into), newest first. Internal notes, system entries and other channels' messages are
   * filtered here, so a bug in a caller can never leak them.
   * Keyset pagination over (created_at, id) of the customer's tickets' messages.
   */
  chatHistory(
    inboxId: string,
    identities: { kind: string; value: string }[],
    before: { at: string; id: string } | null,
    limit: number,
  ): Promise<ChatHistoryRow[]> {
    const kinds = identities.map((i) => i.kind);
    const values = identities.map((i) => i.value);
    return rows<ChatHistoryRow>(
      this.db,
      sql`WITH ident AS (
         SELECT ci.contact_id FROM contact_identities ci
         JOIN unnest(${kinds}::text[], ${values}::text[]) AS q(kind, value) ON q.kind = ci.kind AND q.value = ci.value
       ),
       people AS (
         SELECT contact_id AS id FROM ident
         UNION SELECT c.merged_into_id FROM contacts c JOIN ident ON ident.contact_id = c.id WHERE c.merged_into_id IS NOT NULL
       ),
       tix AS (SELECT t.id FROM tickets t WHERE t.requester_id IN (SELECT id FROM people))
       SELECT m.id, m.ticket_id, m.direction, m.text, m.attachments, m.external_id, m.delivery_status, m.created_at
       FROM messages m
       WHERE m.ticket_id IN (SELECT id FROM tix)
         AND m.inbox_id = ${inboxId}
         AND m.kind = 'message'
         AND m.direction IN ('inbound', 'outbound')
         AND (${before?.at ?? null}::timestamptz IS NULL OR (m.created_at, m.id) < (${before?.at ?? null}::timestamptz, ${before?.id ?? null}::uuid))
       ORDER BY m.created_at DESC, m.id DESC
       LIMIT ${limit}`,
    );
  }

  // ── attachments ──────────────────────────────────────────────────────────

  /**
   * Records an agent's upload in the blobs index (BlobRepository's table; the upload exists to be
   * attached to a message, so its statement lives with messages' attachments). Same bytes, same
   * row: uploading twice is harmless, restarts the garbage collector's grace period and adds the
   * uploader (having the bytes is what lets them attach the hash).
   */
  async recordUpload(sha256: string, size: number, contentType: string, uploaderId: string): Promise<void> {
    await execute(
      this.db,
      sql`INSERT INTO blobs (sha256, size, content_type, uploaded_by) VALUES (${sha256}, ${size}, ${contentType}, ARRAY[${uploaderId}::uuid])
       ON CONFLICT (sha256) DO UPDATE SET uploaded_at = now(),
         uploaded_by = CASE WHEN ${uploaderId}::uuid = ANY(blobs.uploaded_by) THEN blobs.uploaded_by
                            ELSE blobs.uploaded_by || ${uploaderId}::uuid END`,
    );
  }

  /**
   * The blobs among `shas`, and whether `viewerId` uploaded each (the blobs index is
   * BlobRepository's table; this is the attaching side). FOR KEY SHARE holds the blob rows until
   * the message commits: the garbage collector skips locked rows, and one it locked first is
   * gone by the time this reads it.
   */
  lockUploads(shas: string[], viewerId: string): Promise<UploadRow[]> {
    return rows<UploadRow>(
      this.db,
      sql`SELECT sha256, size, content_type, ${viewerId}::uuid = ANY(uploaded_by) AS mine
         FROM blobs WHERE sha256 = ANY(${shas}::bpchar[]) FOR KEY SHARE`,
    );
  }

  /**
   * For each of `shas`, one reference to it by a message of a ticket `viewer` may see (an inbound
   * customer file has no blobs row, only such a message); hashes seen nowhere are left out.
   * One message per hash is enough; `<> '[]'` and `@>` let the partial GIN index find the candidates.
   */
  seenOnVisibleTickets(viewer: Viewer, shas: string[]): Promise<SeenAttachmentRow[]> {
    return rows<SeenAttachmentRow>(
      this.db,
      sql`SELECT w.sha256, s.size, s.content_type FROM unnest(${shas}::text[]) w(sha256)
           CROSS JOIN LATERAL (
             SELECT a.ref->>'size' AS size, a.ref->>'contentType' AS content_type
               FROM messages msg
               JOIN tickets t ON t.id = msg.ticket_id
              CROSS JOIN LATERAL jsonb_array_elements(msg.attachments) a(ref)
              WHERE msg.attachments <> '[]'::jsonb
                AND msg.attachments @> jsonb_build_array(jsonb_build_object('sha256', w.sha256))
                AND a.ref->>'sha256' = w.sha256
                AND ${visibleTickets(viewer, 't')}
              LIMIT 1) s`,
    );
  }

  /** The attachment `sha256` as a message of ticket `ticketId` references it, if `viewer` may see the ticket. */
  async attachmentOnVisibleTicket(
    viewer: Viewer,
    ticketId: string,
    sha256: string,
  ): Promise<AttachmentRef | undefined> {
    const row = await maybeOne<{ ref: AttachmentRef }>(
      this.db,
      sql`SELECT a.ref FROM tickets t
         JOIN messages m ON m.ticket_id = t.id AND m.attachments @> ${JSON.stringify([{ sha256 }])}::jsonb
         CROSS JOIN LATERAL jsonb_array_elements(m.attachments) a(ref)
        WHERE t.id = ${ticketId} AND a.ref->>'sha256' = ${sha256} AND ${visibleTickets(viewer, 't')}
        LIMIT 1`,
    );
    return row?.ref;
  }

  // ── writes ───────────────────────────────────────────────────────────────

  /** The customer's side of a ticket an agent opened, recorded by the agent. */
  async insertLogged(msg: NewLoggedMessage): Promise<string> {
    const { id } = await one<{ id: string }>(
      this.db,
      sql`INSERT INTO messages (ticket_id, inbox_id, channel, direction, kind, author_contact_id, subject, text, metadata,
                               source_time, sender_name, sender_address)
         VALUES (${msg.ticketId}, ${msg.inboxId}, ${msg.channel}, ${msg.direction}, ${msg.kind}, ${msg.authorContactId},
                 ${msg.subject}, ${msg.text}, ${JSON.stringify(msg.metadata)}::jsonb, ${msg.sourceTime},
                 ${msg.senderName}, ${msg.senderAddress}) RETURNING id`,
    );
    return id;
  }

  /** An agent's internal note. */
  async insertNote(note: NewNote): Promise<string> {
    const { id } = await one<{ id: string }>(
      this.db,
      sql`INSERT INTO messages (ticket_id, direction, kind, author_agent_id, text, html, attachments)
       VALUES (${note.ticketId}, 'internal', 'note', ${note.authorAgentId}, ${note.text}, ${note.html},
               ${JSON.stringify(note.attachments)}::jsonb) RETURNING id`,
    );
    return id;
  }

  /** An agent's reply, queued: its delivery job goes to the outbox in the same transaction. */
  async insertReply(r: NewReply): Promise<void> {
    await execute(
      this.db,
      sql`INSERT INTO messages (id, ticket_id, inbox_id, channel, direction, kind, author_agent_id, to_identity_id, subject,
                             text, html, attachments, metadata, email_message_id, delivery_status, source_time)
       VALUES (${r.id}, ${r.ticketId}, ${r.inboxId}, ${r.channel}, 'outbound', 'message', ${r.authorAgentId},
               ${r.toIdentityId}, ${r.subject}, ${r.text}, ${r.html}, ${JSON.stringify(r.attachments)}::jsonb,
               ${JSON.stringify(r.metadata)}::jsonb, ${r.emailMessageId}, 'queued', ${r.sourceTime})`,
    );
  }

  /** The system's timeline entry on a ticket, written by an agent's action (a merge). */
  async insertSystemNotice(
    ticketId: string,
    agentId: string,
    text: string,
    metadata: Record<string, unknown>,
  ): Promise<void> {
    await execute(
      this.db,
      sql`INSERT INTO messages (ticket_id, direction, kind, author_agent_id, text, metadata)
         VALUES (${ticketId}, 'internal', 'system', ${agentId}, ${text}, ${JSON.stringify(metadata)}::jsonb)`,
    );
  }

  /** A merge moves every message of the source to the target; returns the moved ids. */
  async moveToTicket(sourceId: string, targetId: string): Promise<string[]> {
    const moved = await rows<{ id: string }>(
      this.db,
      sql`UPDATE messages SET ticket_id = ${targetId}, updated_at = now() WHERE ticket_id = ${sourceId} RETURNING id`,
    );
    return moved.map((r) => r.id);
  }

  /**
   * An escalation's mail to a supervisor: an internal system message of the ticket (so its
   * delivery status is visible and delivery reports find it), Auto-Submitted and queued.
   */
  async insertSupervisorEmail(e: NewSupervisorEmail): Promise<void> {
    await execute(
      this.db,
      sql`INSERT INTO messages (id, ticket_id, inbox_id, channel, direction, kind, subject, text, metadata,
                             email_message_id, auto_submitted, delivery_status, source_time)
       VALUES (${e.id}, ${e.ticketId}, ${e.inboxId}, 'email', 'internal', 'system', ${e.subject}, ${e.text},
               ${JSON.stringify(e.metadata)}::jsonb, ${e.emailMessageId}, true, 'queued', ${e.sourceTime})`,
    );
  }

  /**
   * An automatic outbound email (Auto-Submitted, no agent, no SLA effect), queued. Named: the
   * acknowledgement of a new email ticket runs it in the ingested message's transaction.
   */
  async insertAutomaticEmail(e: NewAutomaticEmail): Promise<{ created_at: Date }> {
    return one<{ created_at: Date }>(
      this.db,
      sql`INSERT INTO messages (id, ticket_id, inbox_id, channel, direction, kind, to_identity_id, subject, text,
                             email_message_id, auto_submitted, delivery_status, metadata)
       VALUES (${e.id}, ${e.ticketId}, ${e.inboxId}, 'email', 'outbound', 'message', ${e.toIdentityId}, ${e.subject},
               ${e.text}, ${e.emailMessageId}, true, 'queued', ${JSON.stringify(e.metadata)}::jsonb)
       RETURNING created_at`.named('oq_insert_automatic_email'),
    );
  }
}
