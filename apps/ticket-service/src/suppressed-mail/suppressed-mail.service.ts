import { ConflictException, Inject, Injectable, NotFoundException } from '@nestjs/common';
import { AttachmentRef, InboundMessage, InvalidPayloadError, JobName, parseJob } from '@oq/contracts';
import {
  SuppressedMailListRow,
  SuppressedMailRepository,
  SuppressedMailRow,
  SuppressedMailWithMessage,
  Viewer,
} from '@oq/database';
import { BlobStore, LOGGER } from '@oq/platform';
import { Readable } from 'node:stream';
import { Logger } from 'pino';
import { DataSource } from 'typeorm';
import { InboundConsumer, InboundRejectedError, isRetryableIngestError } from '../inbound/inbound.consumer';
import { writeTicketAudit } from '../tickets/ticket-audit';
import { badCursor } from '../tickets/tickets.service';
import { decodeCursor, encodeCursor } from '../tickets/ticket.view';
import { SuppressedMailListQuery } from './suppressed-mail.dto';

/** How much of the mail's text the detail view shows. */
export const TEXT_PREVIEW_CHARS = 10_000;
const RELEASE_ATTEMPTS = 3;
const item = (r: SuppressedMailRow) => ({
  id: r.id,
  inboxId: r.inbox_id,
  reason: r.reason,
  detail: r.detail,
  sender: { address: r.sender_address, name: r.sender_name },
  subject: r.subject,
  receivedAt: r.received_at,
  imapUid: r.imap_uid === null ? null : Number(r.imap_uid),
  releasedAt: r.released_at,
  releasedTicketId: r.released_ticket_id,
});

export interface ReleaseResult {
  ticketId: string;
  messageId: string;
}

/**
 * The admin side of suppressed mail (the ingest side is SuppressedMailStore): list, look at, download
 * the raw source of, release, and delete mail email-service kept out of the agent queue.
 * Deleted mail is gone for every route (404) but its row stays (soft delete).
 */
@Injectable()
export class SuppressedMailService {
  constructor(
    @Inject(DataSource) private readonly ds: DataSource,
    private readonly mails: SuppressedMailRepository,
    private readonly blobs: BlobStore,
    private readonly inbound: InboundConsumer,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {}

  /** Newest first; `cursor` is the `nextCursor` of the previous page. */
  async list(query: SuppressedMailListQuery) {
    let after: { at: string; id: string } | undefined;
    if (query.cursor) {
      const c = decodeCursor(query.cursor, 2);
      if (!c || !/^[0-9a-f-]{36}$/i.test(c[1])) throw badCursor();
      after = { at: c[0], id: c[1] };
    }
    let rows: SuppressedMailListRow[];
    try {
      rows = await this.mails.list({
        released: query.released,
        inboxId: query.inboxId,
        reason: query.reason,
        after,
        limit: query.limit + 1,
      });
    } catch (err) {
      // A cursor whose time Postgres cannot read is as malformed as one that does not decode.
      if (query.cursor && (err as { code?: string }).code?.startsWith('22')) throw badCursor();
      throw err;
    }
    const page = rows.slice(0, query.limit);
    const last = page[page.length - 1];
    return {
      items: page.map(item),
      nextCursor: rows.length > query.limit && last ? encodeCursor([last.cursor_at, last.id]) : null,
    };
  }

  /** The item with the mail's text (a preview) and attachments, from the stored payload. */
  async get(id: string) {
    const r = await this.rowWithMessage(id);
    const msg = r.message;
    const text = msg.text ?? '';
    return {
      ...item(r),
      externalId: r.external_id,
      senderHeader: msg.email?.senderHeader ?? null,
      raw: { sha256: r.raw_sha256.trim(), size: Number(r.raw_size) },
      text: text.slice(0, TEXT_PREVIEW_CHARS),
      textTruncated: text.length > TEXT_PREVIEW_CHARS,
      attachments: (msg.attachments ?? []).map((a: AttachmentRef) => ({
        sha256: a.sha256,
        size: a.size,
        filename: a.filename,
        contentType: a.contentType,
        inline: a.inline ?? false,
      })),
      createdAt: r.created_at,
      releasedBy: r.released_by,
      releasedMessageId: r.released_message_id,
    };
  }

  /** The raw source exactly as email-service stored it. */
  async raw(id: string): Promise<{ size: number; stream: Readable }> {
    const r = await this.row(id);
    const sha256 = r.raw_sha256.trim();
    if (!(await this.blobs.exists(sha256))) {
      this.logger.error(
        { suppressedMailId: id, sha256 },
        'raw source of a suppressed mail is missing from the blob store',
      );
      throw new NotFoundException('raw source not found');
    }
    return { size: Number(r.raw_size), stream: this.blobs.read(sha256) };
  }

  /** An attachment the stored payload names. */
  async attachment(id: string, sha256: string): Promise<{ ref: AttachmentRef; stream: Readable }> {
    const r = await this.rowWithMessage(id);
    const ref = (r.message.attachments ?? []).find((a: AttachmentRef) => a.sha256 === sha256);
    if (!ref || !(await this.blobs.exists(sha256))) throw new NotFoundException('attachment not found');
    return { ref, stream: this.blobs.read(sha256) };
  }

  /**
   * Runs the stored message, without its suppression, through ingest exactly as the consumer
   * would have (InboundConsumer.ingestInTransaction): contact, threading, ticket, SLA and outbox
   * as for any mail. The row is locked for the whole release and marked in the same transaction,
   * so a second release — concurrent or later — returns the first one's ticket and message; a
   * crash before the commit leaves nothing behind. A mail that reached a ticket meanwhile
   * (redelivered unsuppressed) is that message: ingest answers it as a duplicate.
   */
  async release(id: string, admin: Viewer): Promise<ReleaseResult> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.releaseOnce(id, admin);
      } catch (err) {
        // Lost a race with a batch ingesting the same sender or message: the retry sees its commit.
        if (attempt < RELEASE_ATTEMPTS && isRetryableIngestError(err)) continue;
        throw err;
      }
    }
  }

  private async releaseOnce(id: string, admin: Viewer): Promise<ReleaseResult> {
    const qr = this.ds.createQueryRunner();
    await qr.connect();
    try {
      await qr.startTransaction();
      const m = qr.manager;
      const mails = this.mails.with(m);
      const r = await mails.lockForRelease(id);
      if (!r) throw new NotFoundException(`suppressed mail ${id} not found`);
      if (r.released_at) {
        await qr.commitTransaction();
        return { ticketId: r.released_ticket_id!, messageId: r.released_message_id! };
      }
      let stored: InboundMessage;
      try {
        stored = parseJob(JobName.InboundMessage, r.message);
      } catch (err) {
        if (err instanceof InvalidPayloadError)
          throw new ConflictException({ statusCode: 409, message: `stored mail is invalid: ${err.reason}` });
        throw err;
      }
      let outcome;
      try {
        outcome = await this.inbound.ingestInTransaction(qr, released(stored, r, admin));
      } catch (err) {
        if (err instanceof InboundRejectedError)
          throw new ConflictException({ statusCode: 409, message: `cannot release: ${err.reason}`, reason: 'inbox' });
        throw err;
      }
      if (outcome.status !== 'created' && outcome.status !== 'updated' && outcome.status !== 'duplicate')
        throw new ConflictException({ statusCode: 409, message: `cannot release: ingest answered ${outcome.status}` });
      const { ticketId, messageId } = outcome;
      await mails.markReleased(id, admin.id, ticketId, messageId);
      await writeTicketAudit(m, ticketId, admin.id, 'suppressed_mail_released', {
        suppressedMailId: id,
        reason: r.reason,
        detail: r.detail,
        messageId,
      });
      await qr.commitTransaction();
      this.logger.info(
        { suppressedMailId: id, inboxId: r.inbox_id, externalId: r.external_id, ticketId, messageId, by: admin.id },
        'suppressed mail released',
      );
      return { ticketId, messageId };
    } catch (err) {
      if (qr.isTransactionActive) await qr.rollbackTransaction().catch(() => undefined);
      throw err;
    } finally {
      await qr.release().catch(() => undefined);
    }
  }

  /** Soft delete: gone for every route, the row (and so the raw source) is kept. Deleting again is a no-op. */
  async remove(id: string): Promise<void> {
    if (!(await this.mails.softDelete(id))) throw new NotFoundException(`suppressed mail ${id} not found`);
  }

  private async row(id: string): Promise<SuppressedMailRow> {
    const r = await this.mails.find(id);
    if (!r) throw new NotFoundException(`suppressed mail ${id} not found`);
    return r;
  }

  private async rowWithMessage(id: string): Promise<SuppressedMailWithMessage> {
    const r = await this.mails.findWithMessage(id);
    if (!r) throw new NotFoundException(`suppressed mail ${id} not found`);
    return r;
  }
}

/** The stored message as it would have been had it not been suppressed, saying who let it in. */
function released(msg: InboundMessage, r: SuppressedMailRow, admin: Viewer): InboundMessage {
  const email = msg.email && { ...msg.email };
  if (email) delete email.suppressed;
  return {
    ...msg,
    email,
    metadata: {
      ...msg.metadata,
      releasedFromSuppression: { suppressedMailId: r.id, reason: r.reason, detail: r.detail, releasedBy: admin.id },
    },
  };
}
