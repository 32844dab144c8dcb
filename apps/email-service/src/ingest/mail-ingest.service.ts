import { createHash } from 'node:crypto';
import { Inject, Injectable, OnApplicationShutdown } from '@nestjs/common';
import {
  AttachmentRef,
  describeZodError,
  INBOUND_MESSAGE_VERSION,
  inboundJobId,
  InboundMessage,
  InboundMessageInput,
  JobName,
  QueueName,
} from '@oq/contracts';
import { BlobStore, CONFIG, LOGGER, MetricsService, QueueService, REDIS } from '@oq/platform';
import { Redis } from 'ioredis';
import { Counter } from 'prom-client';
import { Logger } from 'pino';
import { Config } from '../config';
import { EmailInbox, InboxDirectory } from '../inboxes/inbox-directory.service';
import { ParsedMail, TEXT_LIMIT, quickHeaders } from '../parsing/parse-mail';
import { legacyMailExternalId, mailContentHash, mailExternalId } from './mail-identity';
import { ownMessageIds, suppressionOf } from './queue-noise';
import { ParseTimeoutError, ParserPool } from '../parsing/parser-pool';

/** One mail as fetched from IMAP. */
export interface FetchedMail {
  uid: number;
  uidValidity: number;
  folder: string;
  internalDate: Date;
  size: number;
  /** The raw source; absent for mails over the size limit, whose source went straight to the blob store. */
  source?: Buffer;
  /** Over the size limit: the header block and the stored raw source. */
  oversized?: { headers: Buffer; rawSha256: string; rawSize: number };
}

/**
 * What became of a fetched mail. Every mail gets exactly one: imported, raw_kept (a notice with
 * the raw source, by reason), suppressed (out of the agent queue, by reason), own_address (our
 * own mail coming back) — and, decided at enqueue, duplicate (the same content already seen).
 */
export type IngestResult = 'imported' | 'raw_kept' | 'suppressed' | 'own_address' | 'duplicate';

export type IngestOutcome =
  | { kind: 'enqueue'; jobId: string; data: InboundMessageInput; result: IngestResult; reason: string }
  | { kind: 'skip'; reason: string; result: IngestResult };

/**
 * How long the first UID of each mail's content is remembered, to name it when the same mail
 * is fetched again (UIDVALIDITY resync, a copy in a second folder). Only the account depends on
 * it: ticket-service's UNIQUE(inbox_id, external_id) keeps a re-fetch a no-op at any age.
 */
const SEEN_TTL_SECONDS = 60 * 60 * 24 * 45;

const MAX_ATTACHMENTS = 100;
const UNKNOWN_SENDER = 'unknown-sender@invalid';

/**
 * Turns a fetched mail into an InboundMessage: parse (worker pool), blobs
 * first, then the job. Every mail yields a message or a logged skip — a mail
 * the parser cannot take becomes a message saying so with the raw source attached.
 */
@Injectable()
export class MailIngestService implements OnApplicationShutdown {
  readonly pool: ParserPool;
  private readonly mails: Counter<string>;
  private readonly isOurs: (messageId: string) => boolean;

  constructor(
    @Inject(CONFIG) private readonly config: Config,
    @Inject(LOGGER) private readonly logger: Logger,
    private readonly blobs: BlobStore,
    private readonly queues: QueueService,
    private readonly directory: InboxDirectory,
    @Inject(REDIS) private readonly redis: Redis,
    metrics: MetricsService,
  ) {
    this.mails = metrics.counter(
      'oq_email_mails_total',
      'Fetched mails by result: imported, raw_kept (a notice with the raw source, by reason), suppressed (kept out of the agent queue, by reason), own_address, duplicate (content already fetched under another UID)',
      ['result', 'reason'],
    );
    this.isOurs = ownMessageIds(config.EMAIL_THREADING_SECRET);
    this.pool = new ParserPool(
      config.EMAIL_PARSER_THREADS,
      config.EMAIL_PARSE_TIMEOUT_MS,
      { attachmentUrlBase: config.EMAIL_ATTACHMENT_URL_BASE, blobDir: config.BLOB_DIR },
      {
        youngGenerationMb: config.EMAIL_PARSER_YOUNG_MB,
        spareAfterMs: config.EMAIL_PARSER_SPARE_AFTER_MS,
        timeoutPerMbMs: config.EMAIL_PARSE_TIMEOUT_PER_MB_MS,
      },
    );
  }

  async onApplicationShutdown() {
    await this.pool.close();
  }

  /**
   * The InboundMessage for one fetched mail. A mail whose normalised form still breaks the
   * contract is imported as a notice with its raw source rather than failing the sync, which
   * would retry the same mail forever and hold up the whole mailbox behind it.
   */
  toInbound(inbox: EmailInbox, mail: FetchedMail): Promise<IngestOutcome> {
    return this.checked(inbox, mail);
  }

  private async checked(inbox: EmailInbox, mail: FetchedMail): Promise<IngestOutcome> {
    const outcome = await this.buildInbound(inbox, mail);
    if (outcome.kind !== 'enqueue' || !mail.source) return outcome;
    const check = InboundMessage.safeParse(outcome.data);
    if (check.success) return outcome;
    const reason = describeZodError(check.error);
    this.logger.error(
      { inboxId: inbox.id, uid: mail.uid, reason },
      'mail breaks the inbound contract; storing the raw source',
    );
    const raw = await this.blobs.put(mail.source);
    return this.fallback(inbox, outcome.data as never, { uid: mail.uid, folder: mail.folder }, mail.source, {
      ...raw,
      notice:
        'This email could not be imported as is and is kept unformatted. The original message is attached as original.eml.',
      reason: 'contract_violation',
    });
  }

  private async buildInbound(inbox: EmailInbox, mail: FetchedMail): Promise<IngestOutcome> {
    const base = {
      v: INBOUND_MESSAGE_VERSION,
      inboxId: inbox.id,
      channel: 'email' as const,
      sourceTime: mail.internalDate.toISOString(),
      receivedAt: new Date().toISOString(),
    };
    const imap = { uid: mail.uid, uidValidity: mail.uidValidity, folder: mail.folder, size: mail.size };

    if (mail.oversized) {
      return this.fallback(inbox, base, imap, mail.oversized.headers, {
        sha256: mail.oversized.rawSha256,
        size: mail.oversized.rawSize,
        notice: `This email (${formatSize(mail.size)}) is larger than the ${formatSize(this.config.EMAIL_MAX_MESSAGE_BYTES)} limit and was not imported. The original message is attached as original.eml.`,
        reason: 'oversized',
      });
    }

    const source = mail.source!;
    let parsed: ParsedMail;
    try {
      parsed = await this.pool.parse(source);
    } catch (err) {
      const timedOut = err instanceof ParseTimeoutError;
      this.logger.warn(
        { inboxId: inbox.id, uid: mail.uid, err: (err as Error).message },
        'mail could not be parsed; storing the raw source',
      );
      const raw = await this.blobs.put(source);
      return this.fallback(inbox, base, imap, source, {
        ...raw,
        notice: timedOut
          ? 'This email could not be processed in time (it is unusually complex) and is shown unformatted. The original message is attached as original.eml.'
          : 'This email is malformed and could not be read. The original message is attached as original.eml.',
        reason: timedOut ? 'parse_timeout' : 'parse_failed',
      });
    }

    if (parsed.from && this.directory.isOwnAddress(parsed.from.address) && !parsed.bounce) {
      return { kind: 'skip', reason: `sent from our own address ${parsed.from.address}`, result: 'own_address' };
    }
    const suppression = suppressionOf(parsed, this.isOurs);

    const attachments: AttachmentRef[] = [];
    for (const a of parsed.attachments.slice(0, MAX_ATTACHMENTS)) {
      // The parser thread stored it already, unless it handed the bytes over.
      const stored = a.content
        ? await this.blobs.put(Buffer.from(a.content.buffer, a.content.byteOffset, a.content.byteLength))
        : { sha256: a.sha256, size: a.size };
      attachments.push({
        sha256: stored.sha256,
        size: stored.size,
        filename: a.filename,
        contentType: a.contentType,
        contentId: a.contentId?.slice(0, 255),
        inline: a.inline || undefined,
      });
    }
    const notices: string[] = [];
    if (parsed.senderHeader === 'none') {
      notices.push('This email names no sender address (no valid From, Sender or Reply-To): replies cannot reach it.');
    }
    if (parsed.attachments.length > MAX_ATTACHMENTS) {
      notices.push(`Only the first ${MAX_ATTACHMENTS} of ${parsed.attachments.length} attachments were imported.`);
    }
    if (parsed.truncated || parsed.attachments.length > MAX_ATTACHMENTS) {
      const raw = await this.blobs.put(source);
      attachments.splice(MAX_ATTACHMENTS - 1);
      attachments.push({ ...raw, filename: 'original.eml', contentType: 'message/rfc822' });
      if (parsed.truncated) notices.push('This email was too long to show in full; the original is attached.');
    }

    const rawSha256 = createHash('sha256').update(source).digest('hex');
    const externalId = mailExternalId(parsed.messageId, mailContentHash(source));
    const sender = parsed.from?.address ?? UNKNOWN_SENDER;
    const ccSeen = new Set([sender]);
    const cc = [...parsed.to, ...parsed.cc]
      .filter((a) => !this.directory.isOwnAddress(a.address) && !ccSeen.has(a.address) && ccSeen.add(a.address))
      .slice(0, 100)
      .map((a) => ({ kind: 'email' as const, value: a.address, displayName: a.name?.slice(0, 200) }));

    const bounce =
      parsed.bounce?.originalMessageId !== undefined
        ? {
            originalMessageId: parsed.bounce.originalMessageId,
            diagnostic: parsed.bounce.diagnostic || 'delivery failed (the report gave no diagnostic)',
          }
        : undefined;

    const data: InboundMessageInput = {
      ...base,
      externalId,
      revision: 0,
      sender: { kind: 'email', value: sender, displayName: parsed.from?.name?.slice(0, 200) },
      cc,
      subject: parsed.subject,
      text: withNotices(parsed.text, notices),
      html: parsed.html,
      attachments,
      email: {
        messageId: parsed.messageId,
        legacyExternalId: legacyMailExternalId(parsed.messageId, rawSha256),
        inReplyTo: parsed.inReplyTo.slice(0, 50),
        references: parsed.references,
        autoSubmitted: !!parsed.autoSubmittedReason,
        senderHeader: parsed.senderHeader,
        suppressed: suppression && { ...suppression, raw: await this.blobs.put(source) },
      },
      bounce: suppression ? undefined : bounce,
      metadata: {
        imap,
        ...(parsed.quoted ? { quoted: parsed.quoted } : {}),
        ...(parsed.signature ? { signature: parsed.signature } : {}),
        ...(parsed.quoted || parsed.signature ? { fullText: parsed.fullText } : {}),
        ...(parsed.autoSubmittedReason ? { autoSubmittedReason: parsed.autoSubmittedReason } : {}),
        ...(parsed.replyTo.length ? { replyTo: parsed.replyTo.map((a) => a.address) } : {}),
        ...(notices.length ? { notices } : {}),
        ...(parsed.warnings.length ? { mimeWarnings: parsed.warnings.slice(0, 20) } : {}),
      },
    };
    return {
      kind: 'enqueue',
      jobId: inboundJobId(inbox.id, externalId, 0),
      data,
      result: suppression ? 'suppressed' : 'imported',
      reason: suppression?.reason ?? '',
    };
  }

  private fallback(
    inbox: EmailInbox,
    base: {
      v: typeof INBOUND_MESSAGE_VERSION;
      inboxId: string;
      channel: 'email';
      sourceTime: string;
      receivedAt: string;
    },
    imap: Record<string, unknown>,
    headerSource: Buffer,
    raw: { sha256: string; size: number; notice: string; reason: string },
  ): IngestOutcome {
    const { v, inboxId, channel, sourceTime, receivedAt } = base;
    base = { v, inboxId, channel, sourceTime, receivedAt };
    const h = quickHeaders(headerSource);
    if (h.from && this.directory.isOwnAddress(h.from))
      return { kind: 'skip', reason: `sent from our own address ${h.from}`, result: 'own_address' };
    // Only the headers may be at hand (an oversized mail): the hash of the whole raw source stands in.
    const externalId = mailExternalId(h.messageId, raw.sha256);
    const data: InboundMessageInput = {
      ...base,
      externalId,
      revision: 0,
      sender: { kind: 'email', value: h.from ?? UNKNOWN_SENDER },
      subject: h.subject?.slice(0, 998),
      text: raw.notice,
      attachments: [{ sha256: raw.sha256, size: raw.size, filename: 'original.eml', contentType: 'message/rfc822' }],
      email: {
        messageId: h.messageId,
        legacyExternalId: legacyMailExternalId(h.messageId, raw.sha256),
        inReplyTo: [],
        references: [],
        autoSubmitted: false,
      },
      metadata: { imap, notice: raw.reason },
    };
    return {
      kind: 'enqueue',
      jobId: inboundJobId(inbox.id, externalId, 0),
      data,
      result: 'raw_kept',
      reason: raw.reason,
    };
  }

  /**
   * Enqueues a batch (the deterministic job ids make a re-fetch after a crash a no-op), then
   * accounts for every mail: one metric label and one log line naming its mailbox UID. Whether
   * a mail's content was fetched before under another UID is read after the jobs are added, so
   * remembering it can never cost a mail.
   */
  async enqueue(inbox: EmailInbox, mails: FetchedMail[], outcomes: IngestOutcome[]): Promise<number> {
    const items = outcomes.flatMap((o) => (o.kind === 'enqueue' ? [{ data: o.data, jobId: o.jobId }] : []));
    if (items.length) await this.queues.addBulk(QueueName.Inbound, JobName.InboundMessage, items);
    const firstSeen = await this.firstSeen(inbox, mails, outcomes);
    outcomes.forEach((o, i) => {
      const mail = mails[i];
      const location = { uid: mail.uid, folder: mail.folder, uidValidity: mail.uidValidity };
      const email = o.kind === 'enqueue' ? o.data.email : undefined;
      const ids = { externalId: o.kind === 'enqueue' ? o.data.externalId : undefined, messageId: email?.messageId };
      const earlier = firstSeen[i];
      if (earlier) {
        this.mails.inc({ result: 'duplicate', reason: '' });
        this.logger.info(
          { inboxId: inbox.id, ...location, ...ids, firstSeen: earlier, result: 'duplicate' },
          'mail is a copy of one already imported',
        );
        return;
      }
      this.mails.inc({ result: o.result, reason: o.kind === 'enqueue' ? o.reason : '' });
      this.logger.info(
        { inboxId: inbox.id, ...location, ...ids, result: o.result, reason: o.reason || undefined },
        MAIL_LOG[o.result],
      );
    });
    return items.length;
  }

  /** Per outcome, where its content was first fetched if that was another UID or folder, else undefined. */
  private async firstSeen(inbox: EmailInbox, mails: FetchedMail[], outcomes: IngestOutcome[]) {
    const found: (string | undefined)[] = outcomes.map(() => undefined);
    const pipeline = this.redis.pipeline();
    const asked: number[] = [];
    outcomes.forEach((o, i) => {
      if (o.kind !== 'enqueue') return;
      const key = `oq:mail-seen:${inbox.id}:${createHash('sha256').update(o.data.externalId).digest('base64url')}`;
      pipeline.set(key, seenAt(mails[i]), 'EX', SEEN_TTL_SECONDS, 'NX', 'GET');
      asked.push(i);
    });
    if (!asked.length) return found;
    const replies = await pipeline.exec();
    asked.forEach((i, n) => {
      const [err, previous] = replies?.[n] ?? [];
      if (!err && typeof previous === 'string' && previous !== seenAt(mails[i])) found[i] = previous;
    });
    return found;
  }
}

const MAIL_LOG: Record<IngestResult, string> = {
  imported: 'mail imported',
  raw_kept: 'mail kept as raw source',
  suppressed: 'mail suppressed: kept out of the agent queue',
  own_address: 'mail from our own address not ingested',
  duplicate: 'mail is a copy of one already imported',
};

/** Where a mail was fetched: a re-fetch of the same UID (after a crash) is not a duplicate. */
function seenAt(mail: FetchedMail): string {
  return `${mail.folder}/${mail.uidValidity}/${mail.uid}`;
}

function formatSize(bytes: number): string {
  return bytes >= 1024 * 1024 ? `${(bytes / 1024 / 1024).toFixed(1)} MB` : `${Math.ceil(bytes / 1024)} KB`;
}

/** Appends the notices, cutting the body so the result still fits the contract's text limit. */
function withNotices(text: string, notices: string[]): string {
  if (!notices.length) return text;
  const suffix = `\n\n[${notices.join(' ')}]`;
  return text.slice(0, TEXT_LIMIT - suffix.length) + suffix;
}
