import { Inject, Injectable } from '@nestjs/common';
import { JobName, OutboundMessage, QueueName, checkPlatformRules, deliveryReportJobId } from '@oq/contracts';
import { CONFIG, JobHandler, LOGGER, QueueService, REDIS } from '@oq/platform';
import { OutboundGate, deliveryRetryReporter, isFinalAttempt } from '@oq/platform/outbound';
import { DelayedError, Job, UnrecoverableError } from 'bullmq';
import { Redis } from 'ioredis';
import { Logger } from 'pino';
import { Config } from '../config';
import { SocialInboxes } from '../inboxes/social-inboxes.service';
import { ProviderError } from '../providers/provider-error';
import { PartProgress, SocialSender } from './social-sender';

/** A provider refusal that no retry can fix; UnrecoverableError so BullMQ and the gate stop at once. */
class PermanentSendError extends UnrecoverableError {
  constructor(readonly providerError: ProviderError) {
    super(providerError.message);
  }
}

/**
 * Worker on `outbound.social`. Per reply: platform rules first (a refusal is a
 * failed DeliveryReport with the reason, nothing sent); then the shared gate
 * (per-inbox token bucket, provider 429 → that inbox pauses for Retry-After,
 * replies of one conversation in order), then the provider call. 5xx and network
 * errors retry with the job's exponential backoff; a permanent refusal or the
 * last attempt ends in a failed DeliveryReport carrying the provider's code and
 * message. Success → a `sent` DeliveryReport with the provider's message id.
 */
@Injectable()
export class OutboundWorker {
  private readonly gate: OutboundGate;

  constructor(
    private readonly inboxes: SocialInboxes,
    private readonly sender: SocialSender,
    private readonly queues: QueueService,
    @Inject(REDIS) private readonly redis: Redis,
    @Inject(CONFIG) private readonly config: Config,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {
    this.gate = new OutboundGate(redis, config.QUEUE_PREFIX, {}, deliveryRetryReporter(queues));
  }

  @JobHandler(JobName.OutboundMessage)
  async deliver(msg: OutboundMessage, job: Job): Promise<{ providerMessageId?: string; rejected?: string }> {
    const inbox = await this.inboxes.get(msg.inboxId);
    if (!inbox || !inbox.enabled || inbox.channel !== msg.channel) {
      const reason = !inbox
        ? `inbox ${msg.inboxId} is unknown`
        : !inbox.enabled
          ? `inbox ${inbox.name} is disabled`
          : `inbox ${inbox.name} is a ${inbox.channel} inbox, not ${msg.channel}`;
      if (inbox || isFinalAttempt(job)) {
        await this.report(msg, job, { status: 'failed', errorCode: 'inbox_unavailable', reason });
        throw new UnrecoverableError(reason);
      }
      throw new Error(reason);
    }

    const violation = checkPlatformRules(msg, new Date());
    if (violation) {
      this.logger.info({ messageId: msg.messageId, code: violation.code }, 'reply refused by platform rules');
      await this.report(msg, job, { status: 'failed', errorCode: violation.code, reason: violation.reason });
      return { rejected: violation.code };
    }

    // When the provider call began: the platform stamps the message during that call, and a Messenger
    // watermark ("read up to T") is compared with this moment, so it must not be later than the platform's.
    let handedOverAt = new Date();
    try {
      const providerMessageId = await this.gate.run(
        job,
        {
          inboxId: inbox.id,
          messageId: msg.messageId,
          conversationKey: `${inbox.id}|${msg.to.kind}|${msg.to.value}`,
          createdAt: msg.createdAt,
          rate: {
            perSecond: inbox.settings.rateLimitPerSecond ?? this.config.SOCIAL_RATE_PER_SECOND,
            burst: inbox.settings.rateLimitBurst ?? this.config.SOCIAL_RATE_BURST,
          },
        },
        async () => {
          handedOverAt = new Date();
          try {
            return await this.sender.send(msg, inbox, this.progress(job));
          } catch (err) {
            if (err instanceof ProviderError && !err.transient) throw new PermanentSendError(err);
            throw err;
          }
        },
      );
      await this.report(msg, job, { status: 'sent', providerMessageId }, handedOverAt);
      await this.redis.del(this.progressKey(job));
      return { providerMessageId };
    } catch (err) {
      if (err instanceof DelayedError) throw err;
      if (err instanceof PermanentSendError) {
        const p = err.providerError;
        await this.report(msg, job, { status: 'failed', errorCode: p.code, reason: p.providerMessage });
      } else if (isFinalAttempt(job)) {
        const p = err instanceof ProviderError ? err : undefined;
        await this.report(msg, job, {
          status: 'failed',
          errorCode: p?.code ?? 'send_failed',
          reason: `gave up after ${job.attemptsMade + 1} attempts: ${p?.providerMessage ?? (err as Error).message}`,
        });
      }
      throw err;
    }
  }

  private async report(
    msg: OutboundMessage,
    job: Job,
    r: { status: 'sent' | 'failed'; providerMessageId?: string; errorCode?: string; reason?: string },
    at = new Date(),
  ) {
    const occurredAt = at.toISOString();
    await this.queues.add(
      QueueName.Delivery,
      JobName.DeliveryReport,
      { v: 1, inboxId: msg.inboxId, messageId: msg.messageId, occurredAt, ...r },
      {
        jobId: deliveryReportJobId({
          kind: 'attempt',
          inboxId: msg.inboxId,
          messageId: msg.messageId,
          attempt: msg.attempt,
          status: r.status,
        }),
      },
    );
  }

  private progressKey(job: Job): string {
    return `${this.config.QUEUE_PREFIX}:outbound:parts:${job.id}`;
  }

  private progress(job: Job): PartProgress {
    const key = this.progressKey(job);
    return {
      get: (i) => this.redis.hget(key, String(i)),
      set: async (i, id) => {
        await this.redis
          .multi()
          .hset(key, String(i), id)
          .pexpire(key, 7 * 24 * 3600_000)
          .exec();
      },
    };
  }
}
