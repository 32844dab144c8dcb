import { Inject, Injectable, Module, OnModuleInit } from '@nestjs/common';
import { EmailAcknowledgementSettings, renderAcknowledgement } from '@oq/contracts';
import { IngestRepository } from '@oq/database';
import { LOGGER } from '@oq/platform';
import { Logger } from 'pino';
import { EntityManager } from 'typeorm';
import { InboundModule } from '../inbound/inbound.module';
import { IngestChange, IngestHooks } from '../inbound/ingest-hooks';
import { AutomaticEmailService } from '../outbox/automatic-email.service';
import { OutboxEntry } from '../outbox/outbox.service';

/** email-service's placeholder sender for mail without a usable From: nobody to answer. */
const UNKNOWN_SENDER = 'unknown-sender@invalid';

/**
 * The optional acknowledgement mail of an email inbox (settings.acknowledgement):
 * when a customer's mail opens a new ticket, an automatic reply with the ticket
 * number is recorded on the ticket and queued for email-service — in the
 * ingested message's own transaction (an IngestHook), so it exists exactly when
 * the ticket does and a redelivered job cannot send it twice.
 *
 * Never for auto-replies or bounces (awaitsReply is false for them), nor for mail
 * the parser could not read (its loop-safety headers were never checked). The
 * per-sender limit counts the acknowledgements already on the sender's tickets in
 * SQL rather than in Redis: the count and the new row commit or roll back
 * together, and the ingest's advisory lock on (inbox, sender) makes check-then-
 * insert race-free across batches and replicas — a Redis counter would be
 * charged for acknowledgements whose transaction later rolled back.
 *
 * The acknowledgement is outbound but automatic: no agent author, no reply
 * counters, no SLA fulfilment, the ticket stays new.
 */
@Injectable()
export class AcknowledgementHook implements OnModuleInit {
  constructor(
    private readonly hooks: IngestHooks,
    private readonly automaticEmail: AutomaticEmailService,
    private readonly ingest: IngestRepository,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {}

  onModuleInit() {
    this.hooks.register(
      (manager, change) => this.onIngest(manager, change),
      (manager, changes) => this.onIngestBatch(manager, changes),
    );
  }

  /**
   * The set-based batch's form: one read for the batch's inboxes, then the mails of inboxes that
   * acknowledge one by one in batch order — each one's sender limit counts the ones before it.
   */
  async onIngestBatch(m: EntityManager, changes: IngestChange[]): Promise<OutboxEntry[]> {
    const candidates = changes.filter(opensMailTicket);
    if (!candidates.length) return [];
    const on = await this.ingest.with(m).acknowledgingInboxes([...new Set(candidates.map((c) => c.inboxId))]);
    const out: OutboxEntry[] = [];
    for (const c of candidates) if (on.has(c.inboxId)) out.push(...(await this.onIngest(m, c)));
    return out;
  }

  async onIngest(m: EntityManager, c: IngestChange): Promise<OutboxEntry[]> {
    if (!opensMailTicket(c)) return [];
    // One round trip, and only for inboxes that have acknowledgements switched on.
    const row = await this.ingest.with(m).acknowledgementCandidate(c);
    if (!row) return [];
    const parsed = EmailAcknowledgementSettings.safeParse(row.settings);
    const log = { inboxId: c.inboxId, ticketId: c.ticketId, messageId: c.messageId };
    if (!parsed.success) {
      this.logger.warn(
        { ...log, problems: parsed.error.issues.map((i) => i.message) },
        'invalid acknowledgement settings',
      );
      return [];
    }
    const settings = parsed.data;
    if (row.unreadable || row.sender === UNKNOWN_SENDER) return [];
    if (Number(row.recent) >= settings.maxPerSenderPerHour) {
      this.logger.info(
        { ...log, limit: settings.maxPerSenderPerHour },
        'acknowledgement skipped: sender limit reached',
      );
      return [];
    }

    const { subject, text } = renderAcknowledgement(settings, { number: Number(row.number), subject: row.subject });
    // Threaded like an agent reply: In-Reply-To / References name the customer's mail.
    const references = row.email_message_id ? [row.email_message_id] : [];
    const { outbox } = await this.automaticEmail.store(m, {
      ticket: { id: c.ticketId, number: Number(row.number), teamId: row.team_id, assigneeId: row.assignee_id },
      inboxId: c.inboxId,
      toIdentityId: c.senderIdentityId,
      toAddress: row.sender,
      subject,
      text,
      inReplyTo: row.email_message_id,
      references,
      metadata: { acknowledgementOf: c.messageId, inReplyTo: row.email_message_id, references, cc: [] },
    });
    return outbox;
  }
}

/** A customer's mail (not an auto-reply or bounce) that opened a ticket: what may be acknowledged. */
function opensMailTicket(c: IngestChange): boolean {
  return c.channel === 'email' && c.ticketCreated && c.awaitsReply && c.kind === 'message';
}

/** Acknowledgement mails; joins ingest through InboundModule's hook registry. */
@Module({
  imports: [InboundModule],
  providers: [AcknowledgementHook],
})
export class AcknowledgementsModule {}
