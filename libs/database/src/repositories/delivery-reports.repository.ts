import { Inject, Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { Db, execute, maybeOne, rows, run } from '../sql/db';
import { sql } from '../sql/sql';

export type DeliveryReportStatus = 'queued' | 'sent' | 'delivered' | 'read' | 'failed';

/** An outbound message a report moves, with its ticket's routing (for the message.delivery event). */
export interface DeliveryMessageRow {
  id: string;
  inbox_id: string;
  delivery_status: DeliveryReportStatus | null;
  provider_message_id: string | null;
  ticket_id: string;
  team_id: string;
  assignee_id: string | null;
}

/** A report that arrived before the send result told us the provider's id. */
export interface ParkedReportRow {
  /** bigserial, as pg returns it. */
  id: string;
  status: DeliveryReportStatus;
  reason: string | null;
  error_code: string | null;
  occurred_at: Date;
}

export interface ParkedReport {
  inboxId: string;
  providerMessageId: string;
  status: DeliveryReportStatus;
  reason: string | null;
  errorCode: string | null;
  occurredAt: string;
}

const MESSAGE_COLUMNS = sql.raw(
  'm.id, m.inbox_id, m.delivery_status, m.provider_message_id, m.ticket_id, t.team_id, t.assignee_id',
);

/** Which statuses a watermark may move forward from (the partial index messages_watermark_idx covers both lists). */
const WATERMARK_FROM = {
  delivered: sql`m.delivery_status = 'sent'`,
  read: sql`m.delivery_status IN ('sent','delivered')`,
};

/**
 * Provider delivery reports: a message's delivery status moves forward only, and reports that arrive before their message are parked.
 * Tables: parked_delivery_reports; messages' delivery status.
 */
@Injectable()
export class DeliveryReportRepository {
  constructor(@Inject(DataSource) private readonly db: Db) {}

  /** The same repository on a transaction's manager. */
  with(db: Db): DeliveryReportRepository {
    return new DeliveryReportRepository(db);
  }

  /**
   * The transaction's lock on (inbox, provider id): a report and the send result that records the
   * provider's id take it both, so a parked report can never slip between them.
   */
  async lockProviderMessage(inboxId: string, providerMessageId: string): Promise<void> {
    await run(
      this.db,
      sql`SELECT pg_advisory_xact_lock(hashtextextended(${`delivery|${inboxId}|${providerMessageId}`}, 0))`,
    );
  }

  /** The message by our id, locked. */
  findForUpdate(messageId: string): Promise<DeliveryMessageRow | undefined> {
    return maybeOne<DeliveryMessageRow>(
      this.db,
      sql`SELECT ${MESSAGE_COLUMNS} FROM messages m JOIN tickets t ON t.id = m.ticket_id WHERE m.id = ${messageId} FOR UPDATE OF m`,
    );
  }

  /** The message by the provider's id on an inbox, locked. */
  findByProviderIdForUpdate(inboxId: string, providerMessageId: string): Promise<DeliveryMessageRow | undefined> {
    return maybeOne<DeliveryMessageRow>(
      this.db,
      sql`SELECT ${MESSAGE_COLUMNS} FROM messages m JOIN tickets t ON t.id = m.ticket_id
       WHERE m.inbox_id = ${inboxId} AND m.provider_message_id = ${providerMessageId} FOR UPDATE OF m`,
    );
  }

  /** Records the provider's id the report told us (the caller checked the message had none). */
  async setProviderMessageId(messageId: string, providerMessageId: string): Promise<void> {
    await execute(this.db, sql`UPDATE messages SET provider_message_id = ${providerMessageId} WHERE id = ${messageId}`);
  }

  /** Removes and returns the reports parked for (inbox, provider id), in no particular order. */
  takeParked(inboxId: string, providerMessageId: string): Promise<ParkedReportRow[]> {
    return rows<ParkedReportRow>(
      this.db,
      sql`DELETE FROM parked_delivery_reports WHERE inbox_id = ${inboxId} AND provider_message_id = ${providerMessageId}
           RETURNING id, status, reason, error_code, occurred_at`,
    );
  }

  /** Keeps a report for a provider id no message carries yet. */
  async park(r: ParkedReport): Promise<void> {
    await execute(
      this.db,
      sql`INSERT INTO parked_delivery_reports (inbox_id, provider_message_id, status, reason, error_code, occurred_at)
         VALUES (${r.inboxId}, ${r.providerMessageId}, ${r.status}, ${r.reason}, ${r.errorCode}, ${r.occurredAt})`,
    );
  }

  /**
   * Moves the message's delivery status to `to` (the caller checked it moves forward), with the
   * reason and error code of a failure and the time of each status in `metadata.delivery`.
   */
  async moveStatus(
    messageId: string,
    to: DeliveryReportStatus,
    reason: string | null,
    errorCode: string | null,
    occurredAt: string,
  ): Promise<void> {
    await execute(
      this.db,
      sql`UPDATE messages SET delivery_status = ${to},
         delivery_reason = CASE WHEN ${to} = 'failed' THEN ${reason} ELSE delivery_reason END,
         delivery_error_code = CASE WHEN ${to} = 'failed' THEN ${errorCode} ELSE delivery_error_code END,
         metadata = metadata || jsonb_build_object('delivery',
           COALESCE(metadata->'delivery', '{}'::jsonb) || jsonb_build_object(${to}::text, ${occurredAt}::text)),
         updated_at = now()
       WHERE id = ${messageId}`,
    );
  }

  /**
   * Records a send that will be tried again on a message still queued (`metadata.retry`), only
   * forward: undefined when the message is no longer queued or already saw `attempts` tries.
   */
  recordRetry(
    messageId: string,
    retry: Record<string, unknown>,
    attempts: number,
  ): Promise<DeliveryMessageRow | undefined> {
    return maybeOne<DeliveryMessageRow>(
      this.db,
      sql`UPDATE messages m SET metadata = m.metadata || jsonb_build_object('retry', ${JSON.stringify(retry)}::jsonb), updated_at = now()
         FROM tickets t
        WHERE m.id = ${messageId} AND t.id = m.ticket_id AND m.delivery_status = 'queued'
          AND coalesce((m.metadata->'retry'->>'attempts')::int, 0) < ${attempts}
       RETURNING ${MESSAGE_COLUMNS}`,
    );
  }

  /**
   * Our outbound messages to (kind, value) on the inbox that the provider had by `watermark`
   * (handed over — the `sent` report's time — at or before it) and that `status` moves forward,
   * locked in a fixed order.
   */
  watermarkCandidates(w: {
    inboxId: string;
    to: { kind: string; value: string };
    status: 'delivered' | 'read';
    watermark: string;
  }): Promise<DeliveryMessageRow[]> {
    return rows<DeliveryMessageRow>(
      this.db,
      sql`SELECT ${MESSAGE_COLUMNS} FROM messages m JOIN tickets t ON t.id = m.ticket_id
        JOIN contact_identities ci ON ci.id = m.to_identity_id
       WHERE m.inbox_id = ${w.inboxId} AND ci.kind = ${w.to.kind} AND ci.value = ${w.to.value}
         AND m.direction = 'outbound' AND ${WATERMARK_FROM[w.status]}
         AND coalesce((m.metadata->'delivery'->>'sent')::timestamptz, m.created_at) <= ${w.watermark}
       ORDER BY m.created_at, m.id
       FOR UPDATE OF m`,
    );
  }
}
