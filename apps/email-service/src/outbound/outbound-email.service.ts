import { Inject, Injectable } from '@nestjs/common';
import {
  DeliveryReport,
  JobName,
  OutboundMessage,
  QueueName,
  deliveryReportJobId,
  generateEmailMessageId,
} from '@oq/contracts';
import { BlobStore, CONFIG, JobHandler, LOGGER, MetricsService, QueueService, REDIS } from '@oq/platform';
import { OutboundGate, deliveryRetryReporter, isFinalAttempt } from '@oq/platform/outbound';
import { Job, UnrecoverableError } from 'bullmq';
import { Redis } from 'ioredis';
import { Logger } from 'pino';
import { Counter, Histogram } from 'prom-client';
import { Config } from '../config';
import { EmailInbox, InboxDirectory } from '../inboxes/inbox-directory.service';
import { SmtpTransports } from './smtp-transports';

interface SmtpError extends Error {
  code?: string;
  responseCode?: number;
  response?: string;
}

/**
 * Sends agent replies (outbound.email) over the inbox's SMTP server. 4xx and
 * network errors are retried with exponential backoff; a 5xx fails at once.
 * Either way ticket-service gets a DeliveryReport. A retried job keeps its
 * Message-ID, so a reply that reached the server before a timeout is
 * recognisable as the same mail by the recipient's client.
 */
@Injectable()
export class OutboundEmailService {
  private readonly gate: OutboundGate;
  private readonly sends: Counter<string>;
  private readonly sendTime: Histogram<string>;

  constructor(
    @Inject(CONFIG) private readonly config: Config,
    @Inject(LOGGER) private readonly logger: Logger,
    @Inject(REDIS) redis: Redis,
    private readonly queues: QueueService,
    private readonly directory: InboxDirectory,
    private readonly transports: SmtpTransports,
    private readonly blobs: BlobStore,
    metrics: MetricsService,
  ) {
    this.gate = new OutboundGate(redis, config.QUEUE_PREFIX, {}, deliveryRetryReporter(queues));
    this.sends = metrics.counter(
      'oq_email_smtp_sends_total',
      'SMTP transactions by result: sent, retry (4xx or network error, retried later) or failed (5xx, last attempt, or not sendable)',
      ['result', 'automatic'],
    );
    this.sendTime = metrics.histogram(
      'oq_email_smtp_send_seconds',
      'One SMTP transaction (pooled connection), accepted or refused',
      [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    );
  }

  @JobHandler(JobName.OutboundMessage)
  async send(msg: OutboundMessage, job: Job): Promise<{ messageId: string }> {
    const jobId = String(job.id);
    const inbox = await this.directory.get(msg.inboxId);
    if (!inbox) return this.fail(msg, jobId, `inbox ${msg.inboxId} is not a configured email inbox`, 'unknown_inbox');
    if (msg.to.kind !== 'email') {
      return this.fail(msg, jobId, `recipient is a ${msg.to.kind} identity, not email`, 'bad_recipient');
    }
    const target = inbox;
    // Replies of one ticket leave in the order they were written; the inbox's SMTP rate is shared by all replicas.
    return this.gate.run(
      job,
      {
        inboxId: target.id,
        messageId: msg.messageId,
        conversationKey: msg.ticketId,
        createdAt: msg.createdAt,
        rate: { perSecond: target.settings.smtpRatePerSecond, burst: target.settings.smtpRatePerSecond * 2 },
      },
      () => this.deliver(msg, job, target),
    );
  }

  private async deliver(msg: OutboundMessage, job: Job, inbox: EmailInbox): Promise<{ messageId: string }> {
    const jobId = String(job.id);
    const fromAddress = inbox.settings.fromAddress ?? inbox.address;
    const messageId = msg.email?.messageId ?? this.generatedMessageId(msg, fromAddress);
    const references = msg.email?.references ?? [];
    const headers: Record<string, string> = {};
    if (msg.automatic) headers['Auto-Submitted'] = 'auto-replied';

    let response: string | undefined;
    const automatic = String(msg.automatic);
    const stopTimer = this.sendTime.startTimer();
    try {
      const info = await this.transports.get(inbox).sendMail({
        from: inbox.settings.fromName ? { name: inbox.settings.fromName, address: fromAddress } : fromAddress,
        to: msg.to.value,
        cc: msg.cc.filter((c) => c.kind === 'email').map((c) => c.value),
        subject: msg.subject ?? `[#${msg.ticketNumber}]`,
        messageId,
        inReplyTo: msg.email?.inReplyTo,
        references: references.length ? references : undefined,
        text: msg.text,
        html: msg.html,
        headers,
        // Streams from the blob store: attachments never sit in memory whole.
        attachments: msg.attachments.map((a) => ({
          filename: a.filename,
          contentType: a.contentType,
          content: this.blobs.read(a.sha256),
          cid: a.contentId,
        })),
      });
      response = info.response;
      stopTimer();
    } catch (err) {
      stopTimer();
      const e = err as SmtpError;
      const reason = (e.response ?? e.message ?? String(err)).slice(0, 1900);
      const permanent = typeof e.responseCode === 'number' && e.responseCode >= 500;
      const lastAttempt = isFinalAttempt(job);
      this.logger.warn(
        { messageId: msg.messageId, jobId, code: e.code, responseCode: e.responseCode, permanent, lastAttempt },
        'email send failed',
      );
      if (permanent || lastAttempt) {
        return this.fail(msg, jobId, `SMTP: ${reason}`, e.responseCode ? String(e.responseCode) : e.code);
      }
      this.sends.inc({ result: 'retry', automatic });
      throw err;
    }
    this.sends.inc({ result: 'sent', automatic });
    await this.report(msg, jobId, { status: 'sent', providerMessageId: messageId });
    this.logger.info({ messageId: msg.messageId, jobId, response }, 'email sent');
    return { messageId };
  }

  private generatedMessageId(msg: OutboundMessage, fromAddress: string): string {
    const domain = fromAddress.split('@')[1] ?? 'localhost';
    if (!this.config.EMAIL_THREADING_SECRET) return `<${msg.messageId}@${domain}>`;
    return generateEmailMessageId(msg.ticketId, msg.messageId, this.config.EMAIL_THREADING_SECRET, domain);
  }

  /** Reports the failure and ends the job for good (the gate then lets the ticket's next reply go). */
  private async fail(msg: OutboundMessage, jobId: string, reason: string, errorCode?: string): Promise<never> {
    this.sends.inc({ result: 'failed', automatic: String(msg.automatic) });
    await this.report(msg, jobId, { status: 'failed', reason, errorCode });
    throw new UnrecoverableError(reason);
  }

  private async report(
    msg: OutboundMessage,
    jobId: string,
    r: { status: 'sent' | 'failed'; providerMessageId?: string; reason?: string; errorCode?: string },
  ) {
    const data: DeliveryReport = {
      v: 1,
      inboxId: msg.inboxId,
      messageId: msg.messageId,
      providerMessageId: r.providerMessageId,
      status: r.status,
      reason: r.reason,
      errorCode: r.errorCode?.slice(0, 100),
      occurredAt: new Date().toISOString(),
    };
    // One report per job outcome: a redelivered job does not report twice.
    const key = {
      kind: 'attempt',
      inboxId: msg.inboxId,
      messageId: msg.messageId,
      attempt: msg.attempt,
      status: r.status,
    } as const;
    await this.queues.add(QueueName.Delivery, JobName.DeliveryReport, data, { jobId: deliveryReportJobId(key) });
  }
}
