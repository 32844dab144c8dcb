import { randomUUID } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import { JobName, QueueName, generateEmailMessageId, outboundJobId } from '@oq/contracts';
import { Db, MessageRepository } from '@oq/database';
import { CONFIG } from '@oq/platform';
import { OutboxEntry, OutboxService } from './outbox.service';

export interface AutomaticEmail {
  ticket: { id: string; number: number; teamId: string; assigneeId: string | null };
  inboxId: string;
  /** The recipient's email identity and address. */
  toIdentityId: string;
  toAddress: string;
  subject: string;
  text: string;
  /** Bracketed Message-IDs of the thread this mail answers, if any. */
  inReplyTo?: string | null;
  references?: string[];
  metadata: Record<string, unknown>;
}

/**
 * Mail the system sends on its own (acknowledgements, offline-chat notices): stored on the
 * ticket as an automatic outbound message (Auto-Submitted, no agent, no SLA effect) with a
 * signed Message-ID, plus its outbound.email job and message.created event for the caller's
 * transaction to write to the outbox.
 */
@Injectable()
export class AutomaticEmailService {
  constructor(
    private readonly messages: MessageRepository,
    private readonly outbox: OutboxService,
    @Inject(CONFIG) private readonly config: { EMAIL_THREADING_SECRET: string; EMAIL_MESSAGE_ID_DOMAIN: string },
  ) {}

  async store(m: Db, mail: AutomaticEmail): Promise<{ messageId: string; outbox: OutboxEntry[] }> {
    const id = randomUUID();
    const emailMessageId = generateEmailMessageId(
      mail.ticket.id,
      id,
      this.config.EMAIL_THREADING_SECRET,
      this.config.EMAIL_MESSAGE_ID_DOMAIN,
    );
    const inserted = await this.messages.with(m).insertAutomaticEmail({
      id,
      ticketId: mail.ticket.id,
      inboxId: mail.inboxId,
      toIdentityId: mail.toIdentityId,
      subject: mail.subject,
      text: mail.text,
      emailMessageId,
      metadata: mail.metadata,
    });
    const ref = { id: mail.ticket.id, teamId: mail.ticket.teamId, assigneeId: mail.ticket.assigneeId };
    return {
      messageId: id,
      outbox: [
        this.outbox.ticketEvent('message.created', ref, {
          messageId: id,
          direction: 'outbound',
          kind: 'message',
          channel: 'email',
          automatic: true,
        }),
        this.outbox.job(
          QueueName.OutboundEmail,
          JobName.OutboundMessage,
          {
            v: 1,
            messageId: id,
            ticketId: mail.ticket.id,
            ticketNumber: mail.ticket.number,
            inboxId: mail.inboxId,
            channel: 'email',
            attempt: 0,
            to: { kind: 'email', value: mail.toAddress },
            subject: mail.subject,
            text: mail.text,
            email: {
              messageId: emailMessageId,
              inReplyTo: mail.inReplyTo ?? undefined,
              references: mail.references ?? [],
            },
            automatic: true,
            createdAt: new Date(inserted.created_at).toISOString(),
          },
          { jobId: outboundJobId(id, 0) },
        ),
      ],
    };
  }
}
