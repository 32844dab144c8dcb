import { Inject, Injectable, Module, OnModuleInit } from '@nestjs/common';
import { EmailAcknowledgementSettings, renderAcknowledgement } from '@oq/contracts';
import { LOGGER } from '@oq/platform';
import { Logger } from 'pino';
import { EntityManager } from 'typeorm';
import { InboundModule } from '../inbound/inbound.module';
import { IngestChange, IngestHooks } from '../inbound/ingest-hooks';
import { AutomaticEmailService } from '../outbox/automatic-email.service';
import { OutboxEntry } from '../outbox/outbox.service';

/** email-service's placeholder sender for mail without a usable From: nobody to answer. */
const UNKNOWN_SENDER = 'unknown-sender@invalid';

interface Candidate {
  settings: unknown;
  number: string;
  subject: string;
  team_id: string;
  assignee_id: string | null;
  email_message_id: string | null;
  unreadable: boolean;
  sender: string;
  recent: string;
}

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
    @Inject(LOGGER) private readonly logger: Logger,
  ) {}

  onModuleInit() {
    this.hooks.register((manager, change) => this.onIngest(manager, change));
  }

  async onIngest(m: EntityManager, c: IngestChange): Promise<OutboxEntry[]> {
    if (c.channel !== 'email' || !c.ticketCreated || !c.awaitsReply || c.kind !== 'message') return [];
    // One round trip, and only for inboxes that have acknowledgements switched on. Every
    // acknowledgement sits on a ticket of this requester created within the hour, so the
    // count walks tickets_requester_idx and messages_ticket_idx.
    const [row]: Candidate[] = await m.query(
      `SELECT i.settings->'acknowledgement' AS settings, t.number, t.subject, t.team_id, t.assignee_id,
              msg.email_message_id, (msg.metadata ? 'notice') AS unreadable, ci.value AS sender,
              (SELECT count(*) FROM tickets pt JOIN messages a ON a.ticket_id = pt.id
                WHERE pt.requester_id = $5 AND pt.updated_at > now() - interval '1 hour'
                  AND a.created_at > now() - interval '1 hour' AND a.to_identity_id = $4
                  AND a.inbox_id = $1 AND a.metadata ? 'acknowledgementOf') AS recent
         FROM inboxes i, tickets t, messages msg, contact_identities ci
        WHERE i.id = $1 AND t.id = $2 AND msg.id = $3 AND ci.id = $4
          AND i.settings->'acknowledgement'->>'enabled' = 'true'`,
      [c.inboxId, c.ticketId, c.messageId, c.senderIdentityId, c.senderContactId],
    );
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

/** Acknowledgement mails; joins ingest through InboundModule's hook registry. */
@Module({
  imports: [InboundModule],
  providers: [AcknowledgementHook],
})
export class AcknowledgementsModule {}
