import { Inject, Injectable } from '@nestjs/common';
import type { InboundMessage, SuppressionReason } from '@oq/contracts';
import { DataSource } from 'typeorm';
import { Db, execute, maybeOne, one, rows } from '../sql/db';
import { sql } from '../sql/sql';

/** A suppressed mail as ingest files it (`message`: the stored payload, masked by the caller). */
export interface SuppressedMailInsert {
  inboxId: string;
  externalId: string;
  reason: SuppressionReason;
  detail: string;
  senderAddress: string;
  senderName: string | null;
  subject: string | null;
  rawSha256: string;
  rawSize: number;
  message: InboundMessage;
  imapUid: number | null;
  receivedAt: string;
}

/** A suppressed_mails row without its payload (what the list shows). */
export interface SuppressedMailRow {
  id: string;
  inbox_id: string;
  external_id: string;
  reason: SuppressionReason;
  detail: string;
  sender_address: string;
  sender_name: string | null;
  subject: string | null;
  /** char(64): blank-padded as Postgres returns it. */
  raw_sha256: string;
  /** bigint, as text. */
  raw_size: string;
  /** bigint, as text. */
  imap_uid: string | null;
  received_at: Date;
  created_at: Date;
  released_at: Date | null;
  released_by: string | null;
  released_ticket_id: string | null;
  released_message_id: string | null;
}

export interface SuppressedMailListRow extends SuppressedMailRow {
  /** created_at with full microsecond precision (a JS Date would truncate the cursor). */
  cursor_at: string;
}

/** A row with its stored payload (the validated job as ingest masked it). */
export interface SuppressedMailWithMessage extends SuppressedMailRow {
  message: InboundMessage;
}

export interface SuppressedMailFilter {
  released: boolean;
  inboxId?: string;
  reason?: string;
  /** The cursor's (created_at text, id): rows strictly older. */
  after?: { at: string; id: string };
  limit: number;
}

const COLUMNS =
  sql.raw(`s.id, s.inbox_id, s.external_id, s.reason, s.detail, s.sender_address, s.sender_name, s.subject,
  s.raw_sha256, s.raw_size, s.imap_uid, s.received_at, s.created_at, s.released_at, s.released_by,
  s.released_ticket_id, s.released_message_id`);

/**
 * Mail kept out of the queue (auto-replies, loops, spam), filed for an admin.
 * Tables: suppressed_mails. Deleted mail is gone for every read here (soft delete: the row stays).
 */
@Injectable()
export class SuppressedMailRepository {
  constructor(@Inject(DataSource) private readonly db: Db) {}

  /** The same repository on a transaction's manager. */
  with(db: Db): SuppressedMailRepository {
    return new SuppressedMailRepository(db);
  }

  /**
   * Files the mail, in the ingest batch's savepoint; its id, or undefined when it was filed already.
   * `UNIQUE (inbox_id, external_id)` keeps it to one row however often the job arrives, and a row
   * once released is left as it is.
   */
  async file(m: SuppressedMailInsert): Promise<string | undefined> {
    const row = await maybeOne<{ id: string }>(
      this.db,
      sql`INSERT INTO suppressed_mails (inbox_id, external_id, reason, detail, sender_address, sender_name, subject,
            raw_sha256, raw_size, message, imap_uid, received_at)
          VALUES (${m.inboxId}, ${m.externalId}, ${m.reason}, ${m.detail}, ${m.senderAddress}, ${m.senderName},
                  ${m.subject}, ${m.rawSha256}, ${m.rawSize}, ${JSON.stringify(m.message)}::jsonb, ${m.imapUid},
                  ${m.receivedAt})
          ON CONFLICT (inbox_id, external_id) DO NOTHING RETURNING id`.named('oq_suppressed_insert'),
    );
    return row?.id;
  }

  /** The mail filed for (inbox, external id) — which the caller knows exists (a redelivered job). */
  findFiled(inboxId: string, externalId: string): Promise<{ id: string; reason: SuppressionReason }> {
    return one<{ id: string; reason: SuppressionReason }>(
      this.db,
      sql`SELECT id, reason FROM suppressed_mails WHERE inbox_id = ${inboxId} AND external_id = ${externalId}`.named(
        'oq_suppressed_find',
      ),
    );
  }

  /** Live mail, newest first (partial indexes of live rows: suppressed_mails_list_idx, _inbox_idx by inbox). */
  list(f: SuppressedMailFilter): Promise<SuppressedMailListRow[]> {
    const where = [
      sql`s.deleted_at IS NULL`,
      f.released ? sql`s.released_at IS NOT NULL` : sql`s.released_at IS NULL`,
      ...(f.inboxId ? [sql`s.inbox_id = ${f.inboxId}`] : []),
      ...(f.reason ? [sql`s.reason = ${f.reason}`] : []),
      ...(f.after ? [sql`(s.created_at, s.id) < (${f.after.at}::timestamptz, ${f.after.id}::uuid)`] : []),
    ];
    return rows<SuppressedMailListRow>(
      this.db,
      sql`SELECT ${COLUMNS}, s.created_at::text AS cursor_at FROM suppressed_mails s
           WHERE ${sql.join(where, ' AND ')} ORDER BY s.created_at DESC, s.id DESC LIMIT ${f.limit}`,
    );
  }

  find(id: string): Promise<SuppressedMailRow | undefined> {
    return maybeOne<SuppressedMailRow>(
      this.db,
      sql`SELECT ${COLUMNS} FROM suppressed_mails s WHERE s.id = ${id} AND s.deleted_at IS NULL`,
    );
  }

  findWithMessage(id: string): Promise<SuppressedMailWithMessage | undefined> {
    return maybeOne<SuppressedMailWithMessage>(
      this.db,
      sql`SELECT ${COLUMNS}, s.message FROM suppressed_mails s WHERE s.id = ${id} AND s.deleted_at IS NULL`,
    );
  }

  /**
   * The live mail with its payload, locked for the whole release (until the caller's transaction
   * ends), so a second release waits and then finds it released.
   */
  lockForRelease(id: string): Promise<SuppressedMailWithMessage | undefined> {
    return maybeOne<SuppressedMailWithMessage>(
      this.db,
      sql`SELECT ${COLUMNS}, s.message FROM suppressed_mails s WHERE s.id = ${id} AND s.deleted_at IS NULL FOR UPDATE`,
    );
  }

  async markReleased(id: string, by: string, ticketId: string, messageId: string): Promise<void> {
    await execute(
      this.db,
      sql`UPDATE suppressed_mails SET released_at = now(), released_by = ${by}, released_ticket_id = ${ticketId},
                 released_message_id = ${messageId} WHERE id = ${id}`,
    );
  }

  /** Soft delete (again: a no-op); false when there is no such row. */
  async softDelete(id: string): Promise<boolean> {
    const n = await execute(
      this.db,
      sql`UPDATE suppressed_mails SET deleted_at = coalesce(deleted_at, now()) WHERE id = ${id}`,
    );
    return n > 0;
  }
}
