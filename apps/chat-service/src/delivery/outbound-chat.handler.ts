import { Inject, Injectable } from '@nestjs/common';
import { deliveryReportJobId, JobName, OutboundMessage, QueueName } from '@oq/contracts';
import { JobHandler, LOGGER, MetricsService, QueueService } from '@oq/platform';
import { UnrecoverableError } from 'bullmq';
import { Logger } from 'pino';
import { Counter } from 'prom-client';
import { ChatGateway } from '../gateway/chat.gateway';
import { roomOf } from '../identity/customer';
import { AttachmentService } from '../uploads/attachment.service';

export const CUSTOMER_OFFLINE = 'customer offline';

/**
 * Agent replies on `outbound.chat`: pushed to the customer's room (the Redis
 * adapter reaches the replica that holds the socket). A client acknowledgement
 * makes it `delivered`; a connected socket that does not acknowledge makes it
 * `sent` (it reached the connection; nothing says the customer saw it); only no
 * socket anywhere makes it `failed` with reason 'customer offline' — ticket-service
 * then decides on an email notification, and the reply is in the history when the
 * customer comes back. Not retried: an offline customer is a result, not an error.
 */
@Injectable()
export class OutboundChatHandler {
  private readonly deliveries: Counter<'result'>;

  constructor(
    private readonly gateway: ChatGateway,
    private readonly queues: QueueService,
    private readonly attachments: AttachmentService,
    @Inject(LOGGER) private readonly logger: Logger,
    metrics: MetricsService,
  ) {
    this.deliveries = new Counter({
      name: 'oq_chat_deliveries_total',
      help: 'Agent replies pushed to customers, by result (delivered: acknowledged; sent: connected, no ack; offline)',
      labelNames: ['result'],
      registers: [metrics.registry],
    });
  }

  @JobHandler(JobName.OutboundMessage)
  async deliver(msg: OutboundMessage) {
    if (msg.channel !== 'chat' || (msg.to.kind !== 'app_user' && msg.to.kind !== 'visitor'))
      throw new UnrecoverableError(`outbound.chat got a ${msg.channel} message to a ${msg.to.kind} identity`);
    const room = roomOf(msg.inboxId, msg.to);
    if (msg.attachments.length)
      await Promise.all(msg.attachments.map((a) => this.attachments.grant([room], a.sha256, a.size)));
    const started = Date.now();
    const outcome = await this.gateway.push(room, msg.messageId, {
      id: msg.messageId,
      ticketId: msg.ticketId,
      direction: 'outbound',
      text: msg.text,
      attachments: msg.attachments,
      createdAt: msg.createdAt,
    });
    this.deliveries.inc({ result: outcome });
    this.logger.info(
      {
        messageId: msg.messageId,
        inboxId: msg.inboxId,
        outcome,
        ms: Date.now() - started,
        queuedMs: started - Date.parse(msg.createdAt),
      },
      'chat reply pushed',
    );
    const base = {
      v: 1 as const,
      inboxId: msg.inboxId,
      messageId: msg.messageId,
      occurredAt: new Date().toISOString(),
    };
    await this.queues.add(
      QueueName.Delivery,
      JobName.DeliveryReport,
      outcome === 'offline'
        ? { ...base, status: 'failed', reason: CUSTOMER_OFFLINE, errorCode: 'offline' }
        : { ...base, status: outcome },
      {
        jobId: deliveryReportJobId({
          kind: 'attempt',
          inboxId: msg.inboxId,
          messageId: msg.messageId,
          attempt: msg.attempt,
          status: outcome,
        }),
      },
    );
    const delivered = outcome === 'delivered';
    return { delivered, outcome };
  }
}
