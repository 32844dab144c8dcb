import { Inject, Injectable } from '@nestjs/common';
import {
  deliveryReportJobId,
  AttachmentRef,
  InvalidPayloadError,
  JobName,
  QueueName,
  SocialRawEvent,
  buildJob,
  inboundJobId,
  maskCardNumbers,
} from '@oq/contracts';
import { BlobStore, BlobTooLargeError, CONFIG, JobHandler, LOGGER, QueueService, SafeFetchError } from '@oq/platform';
import { Job, UnrecoverableError } from 'bullmq';
import { Readable } from 'node:stream';
import { Logger } from 'pino';
import { Config } from '../config';
import { SocialInboxes } from '../inboxes/social-inboxes.service';
import { SocialInbox, isMetaInbox } from '../inboxes/social-inbox';
import { GraphClient } from '../providers/graph-client';
import { ProviderError } from '../providers/provider-error';
import { TelegramClient } from '../providers/telegram-client';
import { parseMessenger } from './messenger-parser';
import { MediaRef, ParsedEvents, ParsedMessage } from './parsed';
import { parseTelegram } from './telegram-parser';
import { parseWhatsApp } from './whatsapp-parser';

/**
 * Worker on `social.raw`: turns a verified webhook body into InboundMessages
 * (media downloaded into the blob store first, jobs carry blob refs),
 * DeliveryReports and DeliveryWatermarks. A retry redoes the whole body; the deterministic job ids make
 * that harmless. Media the provider no longer has (expired, deleted, too large)
 * does not lose the message: it arrives without that file and names it in metadata.
 */
@Injectable()
export class SocialRawWorker {
  constructor(
    private readonly inboxes: SocialInboxes,
    private readonly queues: QueueService,
    private readonly blobs: BlobStore,
    private readonly graph: GraphClient,
    private readonly telegram: TelegramClient,
    @Inject(CONFIG) private readonly config: Config,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {}

  @JobHandler(JobName.SocialRawEvent)
  async handle(event: SocialRawEvent, job: Job): Promise<{ messages: number; reports: number }> {
    const inbox = await this.inboxes.get(event.inboxId);
    // Retried with backoff: the inbox may be momentarily unknown while ticket-service restarts.
    if (!inbox) throw new Error(`inbox ${event.inboxId} is not known (yet)`);
    let parsed: ParsedEvents;
    try {
      parsed = this.parse(event, inbox);
    } catch (err) {
      // Parsing is pure: a body that breaks it breaks it on every retry. Dead-letter it now.
      throw new UnrecoverableError(`${event.provider} body not parseable: ${(err as Error).message}`);
    }
    if (parsed.ignored.length) this.logger.debug({ jobId: job.id, ignored: parsed.ignored }, 'webhook events ignored');

    const messages = [];
    for (const [i, m] of parsed.messages.entries()) {
      const data = await this.complete(m, inbox);
      try {
        messages.push(buildJob(JobName.InboundMessage, data));
      } catch (err) {
        if (!(err instanceof InvalidPayloadError)) throw err;
        // One malformed event (a field of the wrong type) does not hold back the others in the body. The
        // letter keeps the provider's whole event, which is what a replay after a fix parses again (the
        // messages that did go through are duplicates by then and change nothing).
        await this.queues.deadLetter(`${job.id}|message|${i}`, {
          queue: QueueName.SocialRaw,
          jobName: JobName.SocialRawEvent,
          jobId: job.id,
          reason: `${event.provider} event ${i} of inbox ${inbox.id} is not a valid message: ${err.reason}`,
          payload: event,
        });
        this.logger.warn({ jobId: job.id, inboxId: inbox.id, reason: err.reason }, 'webhook message dead-lettered');
      }
    }
    if (messages.length)
      await this.queues.addBulk(
        QueueName.Inbound,
        JobName.InboundMessage,
        messages.map((data) => ({ data, jobId: inboundJobId(data.inboxId, data.externalId, data.revision) })),
      );
    if (parsed.reports.length)
      await this.queues.addBulk(
        QueueName.Delivery,
        JobName.DeliveryReport,
        parsed.reports.map((r) => ({
          data: { v: 1 as const, ...r },
          jobId: deliveryReportJobId({
            kind: 'provider',
            inboxId: r.inboxId,
            providerMessageId: r.providerMessageId ?? r.messageId!,
            status: r.status,
            occurredAt: r.occurredAt,
          }),
        })),
      );
    if (parsed.watermarks.length)
      await this.queues.addBulk(
        QueueName.Delivery,
        JobName.DeliveryWatermark,
        parsed.watermarks.map((w) => ({
          data: { v: 1 as const, ...w },
          jobId: deliveryReportJobId({
            kind: 'watermark',
            inboxId: w.inboxId,
            to: `${w.to.kind}|${w.to.value}`,
            watermark: String(w.watermark),
            status: w.status,
            occurredAt: w.occurredAt,
          }),
        })),
      );
    return { messages: messages.length, reports: parsed.reports.length + parsed.watermarks.length };
  }

  private parse(event: SocialRawEvent, inbox: SocialInbox): ParsedEvents {
    if (event.provider === 'telegram' || !isMetaInbox(inbox))
      return parseTelegram(event.body, inbox.id, event.receivedAt);
    if (inbox.channel === 'whatsapp') return parseWhatsApp(event.body, inbox.id, inbox.address, event.receivedAt);
    return parseMessenger(event.body, inbox.id, inbox.channel, event.receivedAt);
  }

  private async complete(m: ParsedMessage, inbox: SocialInbox) {
    const { media, ...rest } = m;
    const attachments: AttachmentRef[] = [];
    const missingMedia: { filename: string; reason: string }[] = [];
    for (const ref of media) {
      try {
        attachments.push(await this.store(ref, inbox));
      } catch (err) {
        // A refused URL (internal address, not one of the inbox's mediaHosts, too large, too many
        // redirects) fails the same way on every retry: the message goes on without that file.
        const refused = err instanceof SafeFetchError && !err.transient;
        if ((err instanceof ProviderError && !err.transient) || refused || err instanceof BlobTooLargeError)
          missingMedia.push({ filename: ref.filename, reason: err.message });
        else throw err;
        // Never the URL (a signed CDN URL, a Telegram file URL with the bot token): host and code are enough.
        this.logger.warn(
          {
            inboxId: inbox.id,
            externalId: m.externalId,
            code: err instanceof SafeFetchError ? err.code : undefined,
            host: err instanceof SafeFetchError ? err.host : undefined,
            address: err instanceof SafeFetchError ? err.address : undefined,
            err: err.message,
          },
          'media not downloaded',
        );
      }
    }
    return {
      ...rest,
      // A hostile body may put a number where text belongs: let the contract refuse it, not the mask.
      text: typeof rest.text === 'string' ? maskCardNumbers(rest.text) : (rest.text ?? ''),
      attachments,
      metadata: missingMedia.length ? { ...rest.metadata, missingMedia } : rest.metadata,
    };
  }

  private async store(ref: MediaRef, inbox: SocialInbox): Promise<AttachmentRef> {
    let stream: Readable;
    let contentType = ref.mimeType;
    const mediaHosts = inbox.settings.mediaHosts;
    if (ref.source === 'whatsapp' && isMetaInbox(inbox)) {
      const media = await this.graph.downloadWhatsAppMedia(
        ref.mediaId,
        inbox.secrets.accessToken,
        mediaHosts,
        inbox.providerBase,
      );
      stream = media.stream;
      contentType = contentType ?? media.mimeType;
    } else if (ref.source === 'url') stream = await this.graph.download(ref.url, mediaHosts);
    else if (ref.source === 'telegram' && inbox.channel === 'telegram')
      stream = await this.telegram.downloadFile(inbox.secrets.botToken, ref.fileId, mediaHosts, inbox.providerBase);
    else throw new ProviderError('meta', false, 'media_source', `${ref.source} media on a ${inbox.channel} inbox`);
    const blob = await this.blobs.putStream(stream, this.config.SOCIAL_MEDIA_MAX_BYTES);
    return {
      sha256: blob.sha256,
      size: blob.size,
      filename: ref.filename,
      contentType: contentType ?? 'application/octet-stream',
    };
  }
}
