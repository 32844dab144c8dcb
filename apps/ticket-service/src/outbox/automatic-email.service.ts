import { randomUUID } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import { JobName, QueueName, generateEmailMessageId, outboundJobId } from '@oq/contracts';
import { Db, MessageRepository } from '@oq/database';
import { CONFIG } from '@oq/platform';
import { OutboxEntry, OutboxService } from './outbox.service';

/** What mints our Message-IDs: the HMAC secret that threads replies back, and the domain after the `@`. */
export interface EmailThreadingConfig {
  EMAIL_THREADING_SECRET: string;
  EMAIL_MESSAGE_ID_DOMAIN: string;
}

/** The `email` part of an outbound.email job. */
export interface EmailEnvelope {
  /** Signed for the ticket (libs/contracts email-threading.ts), so an answer threads back onto it. */
  messageId: string;
  inReplyTo?: string;
  references: string[];
}

/** The job schema's bound on References. */
const MAX_REFERENCES = 200;

/**
 * The email part of every outbound.email job we write — agent replies and the system's own
 * mail alike: the stored message's signed Message-ID and the thread it answers. When References
 * grows long, RFC 5322 suggests keeping the first and the most recent ids.
 */
export function emailEnvelope(
  config: EmailThreadingConfig,
  message: { ticketId: string; id: string },
  thread: { inReplyTo?: string | null; references?: readonly string[] } = {},
): EmailEnvelope {
  const ids = thread.references ?? [];
  return {
    messageId: generateEmailMessageId(
      message.ticketId,
      message.id,
      config.EMAIL_THREADING_SECRET,
      config.EMAIL_MESSAGE_ID_DOMAIN,
    ),
    inReplyTo: thread.inReplyTo ?? undefined,
    references: ids.length > MAX_REFERENCES ? [ids[0], ...ids.slice(1 - MAX_REFERENCES)] : [...ids],
  };
}

export interface AutomaticEmail {
  ticket: { id: string; number: number; teamId: string; assigneeId: string | null };
  inboxId: string;
  /**
   * The recipient's email identity: the mail is part of the customer's thread, an outbound
   * message to that identity. Null for a bare address with no contact behind it (a supervisor):
   * staff mail about the ticket, an internal system message the address is recorded on
   * (metadata.to), kept out of the customer's thread.
   */
  toIdentityId: string | null;
  toAddress: string;
  subject: string;
  text: string;
  /** Bracketed Message-IDs of the thread this mail answers, if any. */
  inReplyTo?: string | null;
  references?: string[];
  metadata: Record<string, unknown>;
}

/**
 * Mail the system writes on its own (acknowledgements, offline-chat notices, escalation mail to a
 * supervisor): stored on the ticket as automatic mail (Auto-Submitted, no agent, no SLA effect)
 * with a signed Message-ID, plus its outbound.email job — and, for mail to the customer, its
 * message.created event — for the caller's transaction to write to the outbox.
 */
@Injectable()
export class AutomaticEmailService {
  constructor(
    private readonly messages: MessageRepository,
    private readonly outbox: OutboxService,
    @Inject(CONFIG) private readonly config: EmailThreadingConfig,
  ) {}

  async store(m: Db, mail: AutomaticEmail): Promise<{ messageId: string; outbox: OutboxEntry[] }> {
    const id = randomUUID();
    const email = emailEnvelope(
      this.config,
      { ticketId: mail.ticket.id, id },
      { inReplyTo: mail.inReplyTo, references: mail.references },
    );
    const createdAt = await this.insert(m, id, mail, email.messageId);
    const job = this.outbox.job(
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
        email,
        automatic: true,
        createdAt: createdAt.toISOString(),
      },
      { jobId: outboundJobId(id, 0) },
    );
    // Agents' sockets hear of the customer's thread growing; staff mail has never been announced
    // (the escalation's audit row and command result name it).
    if (mail.toIdentityId === null) return { messageId: id, outbox: [job] };
    const ref = { id: mail.ticket.id, teamId: mail.ticket.teamId, assigneeId: mail.ticket.assigneeId };
    const created = this.outbox.ticketEvent('message.created', ref, {
      messageId: id,
      direction: 'outbound',
      kind: 'message',
      channel: 'email',
      automatic: true,
    });
    return { messageId: id, outbox: [created, job] };
  }

  /** Stores the message; returns when it was written (the job's createdAt). */
  private async insert(m: Db, id: string, mail: AutomaticEmail, emailMessageId: string): Promise<Date> {
    const messages = this.messages.with(m);
    const row = {
      id,
      ticketId: mail.ticket.id,
      inboxId: mail.inboxId,
      subject: mail.subject,
      text: mail.text,
      emailMessageId,
    };
    if (mail.toIdentityId === null) {
      const sourceTime = new Date();
      await messages.insertSupervisorEmail({ ...row, metadata: { to: mail.toAddress, ...mail.metadata }, sourceTime });
      return sourceTime;
    }
    const inserted = await messages.insertAutomaticEmail({
      ...row,
      toIdentityId: mail.toIdentityId,
      metadata: mail.metadata,
    });
    return new Date(inserted.created_at);
  }
}
