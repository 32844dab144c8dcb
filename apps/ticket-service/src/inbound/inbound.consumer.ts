import { Inject, Injectable } from '@nestjs/common';
import {
  IdentityRef,
  InboundMessage,
  InvalidPayloadError,
  JobName,
  QueueName,
  TextAltered,
  encodeOriginals,
  maskCardNumbers,
  parseJob,
} from '@oq/contracts';
import { CONFIG, JobHandler, LOGGER, MetricsService, isDatabaseUnreachable } from '@oq/platform';
import { Counter, Histogram } from 'prom-client';
import { Job } from 'bullmq';
import { Logger } from 'pino';
import { IngestBatchRepository, IngestRepository } from '@oq/database';
import { DataSource, EntityManager, QueryRunner } from 'typeorm';
import { normalizeIdentity } from '../contacts/contact-resolver.service';
import { Config } from '../config';
import { DeadLetterService } from '../dead-letters/dead-letter.service';
import { OutboxService } from '../outbox/outbox.service';
import {
  BatchWrites,
  InboundProcessor,
  InboxRow,
  IngestOutcome,
  senderLockId,
  senderLockKey,
} from './inbound.processor';
import { SET_SAVEPOINT, SetBasedIngest } from './set-based-ingest';

interface Pending {
  msg: InboundMessage;
  job: Job;
  key: string;
  /** The normalised sender (the lock key's identity, and what the lookup reads). */
  sender: IdentityRef;
  resolve: (o: IngestOutcome) => void;
  reject: (e: Error) => void;
  outcome?: IngestOutcome;
  error?: unknown;
}

/** Thrown so BullMQ retries the job later (a race another transaction won, a deadlock). */
export class RetryableIngestError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RetryableIngestError';
  }
}

/** The message names an inbox that cannot take it (unknown, disabled, another channel): a batch dead-letters it. */
export class InboundRejectedError extends Error {
  constructor(readonly reason: string) {
    super(reason);
    this.name = 'InboundRejectedError';
  }
}

// unique_violation, serialization_failure, deadlock_detected, lock_not_available: someone else won; try again.
const RETRYABLE_PG = new Set(['23505', '40001', '40P01', '55P03']);

/** Lost a race another transaction won (or a deadlock): the same work succeeds when tried again. */
export function isRetryableIngestError(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' && RETRYABLE_PG.has(code);
}

/** Why `inbox` cannot take `msg`, or null. */
function inboxProblem(inbox: InboxRow | undefined | null, msg: InboundMessage): string | null {
  if (!inbox) return `unknown inbox ${msg.inboxId}`;
  if (!inbox.enabled) return `inbox ${inbox.id} is disabled`;
  if (inbox.channel !== msg.channel)
    return `channel ${msg.channel} does not match inbox ${inbox.id} (${inbox.channel})`;
  return null;
}

/**
 * Consumes `inbound` in micro-batches: the jobs BullMQ hands us concurrently are
 * collected for up to INGEST_BATCH_WAIT_MS or INGEST_BATCH_SIZE jobs and written
 * in ONE transaction (one commit/fsync for many messages): validated first, then
 * written set-based (SetBasedIngest: one statement per table); what that path does
 * not take, or the whole batch when one of its statements fails, goes message by
 * message with a SAVEPOINT each, so a failing message rolls back alone. Each job
 * settles with its own outcome.
 */
@Injectable()
export class InboundConsumer {
  private pending: Pending[] = [];
  private timer?: NodeJS.Timeout;
  /** Sender lock keys of the batches running now, and how many run. */
  private readonly inFlight = new Set<string>();
  private running = 0;
  private readonly outcomes: Counter<string>;
  private readonly lag: Histogram<string>;
  private readonly batchSize: Histogram<string>;
  private readonly suppressed: Counter<string>;
  private readonly paths: Counter<string>;

  constructor(
    private readonly ds: DataSource,
    private readonly processor: InboundProcessor,
    private readonly deadLetters: DeadLetterService,
    private readonly outbox: OutboxService,
    private readonly ingest: IngestRepository,
    private readonly batches: IngestBatchRepository,
    private readonly setBased: SetBasedIngest,
    @Inject(CONFIG) private readonly config: Config,
    @Inject(LOGGER) private readonly logger: Logger,
    metrics: MetricsService,
  ) {
    this.outcomes = metrics.counter('oq_ingest_messages_total', 'Inbound messages by outcome', ['outcome']);
    this.lag = metrics.histogram(
      'oq_ingest_lag_seconds',
      'Channel receipt (receivedAt) to the message committed on its ticket',
      [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
    );
    this.batchSize = metrics.histogram(
      'oq_ingest_batch_size',
      'Messages per ingest transaction',
      [1, 5, 10, 25, 50, 100, 200, 500],
    );
    this.paths = metrics.counter(
      'oq_ingest_paths_total',
      'Inbound messages by the way their batch wrote them: set_based, or per_message',
      ['path'],
    );
    this.suppressed = metrics.counter(
      'oq_suppressed_mails_total',
      'Mails filed under suppressed mail instead of opening a ticket (once per mail), by reason',
      ['reason'],
    );
  }

  @JobHandler(JobName.InboundMessage, { raw: true })
  async handle(data: unknown, job: Job): Promise<IngestOutcome> {
    let msg: InboundMessage;
    try {
      msg = parseJob(JobName.InboundMessage, data);
    } catch (err) {
      if (!(err instanceof InvalidPayloadError)) throw err;
      // Invalid for good: park it with the reason, write nothing else, complete the job.
      await this.deadLetters.record({
        queue: QueueName.Inbound,
        jobName: JobName.InboundMessage,
        jobId: job.id,
        payload: data,
        reason: err.reason,
      });
      this.outcomes.inc({ outcome: 'dead_letter' });
      return { status: 'dead_letter', reason: err.reason };
    }
    return new Promise<IngestOutcome>((resolve, reject) => {
      const sender = normalizeIdentity(msg.sender);
      this.pending.push({ msg, job, key: senderLockKey(msg, sender), sender, resolve, reject });
      if (this.pending.length >= this.config.INGEST_BATCH_SIZE) this.flush();
      else this.timer ??= setTimeout(() => this.flush(), this.config.INGEST_BATCH_WAIT_MS);
    });
  }

  /**
   * Starts batches while connections allow. A message whose sender is in a batch
   * still running waits for the next one: it would only block on that batch's
   * advisory lock and hold its own connection idle meanwhile.
   */
  private flush(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    const max = Math.max(1, this.config.DB_POOL_SIZE - 1);
    while (this.running < max && this.pending.length) {
      const batch: Pending[] = [];
      const rest: Pending[] = [];
      for (const p of this.pending) {
        if (batch.length < this.config.INGEST_BATCH_SIZE && !this.inFlight.has(p.key)) batch.push(p);
        else rest.push(p);
      }
      if (!batch.length) return;
      this.pending = rest;
      const keys = new Set(batch.map((p) => p.key));
      for (const k of keys) this.inFlight.add(k);
      this.running++;
      void this.runBatch(batch).finally(() => {
        this.running--;
        for (const k of keys) this.inFlight.delete(k);
        // What queued up meanwhile has waited long enough: go now, whatever the batch size.
        if (this.pending.length) this.flush();
      });
    }
  }

  private async runBatch(batch: Pending[]): Promise<void> {
    // Key order keeps a sender's messages together and in arrival order (the sort is stable); the
    // locks themselves are taken in lock-id order by one statement.
    batch.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
    const started = Date.now();
    const qr = this.ds.createQueryRunner();
    try {
      await qr.startTransaction();
      const m = qr.manager;
      const batches = this.batches.with(m);
      // Every sender's lock (in lock-id order: no deadlock between batches), then the savepoint the
      // set-based writes roll back to if one of their statements fails.
      await batches.lockSendersAndSavepoint(
        batch.map((p) => senderLockId(p.key)),
        SET_SAVEPOINT,
      );
      // One lookup for the batch, after the locks. A key Postgres cannot take as text (a NUL) stays
      // out of it: that message goes the per-message way, where it fails alone.
      const keyed = batch.filter(
        (p) => ![p.msg.externalId, p.sender.kind, p.sender.value].some((v) => v.includes('\u0000')),
      );
      const lookups = await batches.lookup(
        keyed.map((p) => ({
          inboxId: p.msg.inboxId,
          externalId: p.msg.externalId,
          kind: p.sender.kind,
          value: p.sender.value,
        })),
      );
      const found = new Map(keyed.map((p, i) => [p, lookups[i]] as const));
      const inboxes = new Map<string, InboxRow>();
      for (const l of lookups) if (l.inbox) inboxes.set(l.inbox.id, l.inbox);
      for (const p of batch)
        if (!found.has(p) && !inboxes.has(p.msg.inboxId)) {
          const inbox = await this.ingest.with(m).findInbox(p.msg.inboxId);
          if (inbox) inboxes.set(inbox.id, inbox);
        }
      const writes: BatchWrites = { outbox: [], audit: [] };
      const rejected: { item: Pending; reason: string }[] = [];
      const accepted: Pending[] = [];
      for (const item of batch) {
        const problem = inboxProblem(inboxes.get(item.msg.inboxId), item.msg);
        if (problem) rejected.push({ item, reason: problem });
        else accepted.push(item);
      }
      const rest = this.config.INGEST_SET_BASED
        ? await this.setBased.ingest(
            m,
            accepted,
            accepted.map((p) => found.get(p)),
            writes,
          )
        : accepted;
      this.paths.inc({ path: 'set_based' }, accepted.length - rest.length);
      for (const item of rest) {
        this.paths.inc({ path: 'per_message' });
        try {
          item.outcome = await this.ingestOne(m, item, inboxes.get(item.msg.inboxId)!, writes);
        } catch (err) {
          item.error = err;
        }
      }
      // After the set-based writes: a rollback to their savepoint must not take a dead letter with it.
      for (const { item, reason } of rejected) {
        await this.deadLetters.record(
          {
            queue: QueueName.Inbound,
            jobName: JobName.InboundMessage,
            jobId: item.job.id,
            payload: item.job.data,
            reason,
          },
          m,
        );
        item.outcome = { status: 'dead_letter', reason };
      }
      await this.writeBatch(m, writes);
      await qr.commitTransaction();
    } catch (err) {
      if (qr.isTransactionActive) await qr.rollbackTransaction().catch(() => undefined);
      this.logger.warn({ err: (err as Error).message, jobs: batch.length }, 'inbound batch failed; jobs will retry');
      for (const item of batch) {
        item.outcome = undefined;
        item.error = err;
      }
    } finally {
      await qr.release().catch(() => undefined);
    }
    this.logger.debug({ jobs: batch.length, ms: Date.now() - started }, 'inbound batch');
    this.batchSize.observe(batch.length);
    const committed = Date.now();
    for (const item of batch)
      if (item.outcome) {
        this.outcomes.inc({ outcome: item.outcome.status });
        if (item.outcome.status === 'created')
          this.lag.observe(Math.max(0, (committed - Date.parse(item.msg.receivedAt)) / 1000));
        if (item.outcome.status === 'suppressed' && item.outcome.filed) {
          // Counted and told once, after the commit: a redelivered job finds the row and is not.
          this.suppressed.inc({ reason: item.outcome.reason });
          this.logger.info(
            {
              inboxId: item.msg.inboxId,
              externalId: item.msg.externalId,
              reason: item.outcome.reason,
              suppressedMailId: item.outcome.suppressedMailId,
            },
            'mail suppressed: filed under suppressed mail, no ticket',
          );
        }
      } else this.outcomes.inc({ outcome: 'error' });
    await Promise.all(batch.map((item) => this.settle(item)));
  }

  /**
   * One message inside the caller's transaction, exactly as a batch ingests each of its messages
   * (savepoint, the sender's advisory lock, the lookup, InboundProcessor, the originals, the
   * audit and outbox rows) — for a suppressed mail an admin releases. `qr` must be in a
   * transaction; an inbox that a batch would dead-letter the message for throws InboundRejectedError.
   */
  async ingestInTransaction(qr: QueryRunner, msg: InboundMessage): Promise<IngestOutcome> {
    const m = qr.manager;
    const inbox = await this.ingest.with(m).findInbox(msg.inboxId);
    const problem = inboxProblem(inbox, msg);
    if (problem || !inbox) throw new InboundRejectedError(problem ?? 'unknown inbox');
    const sender = normalizeIdentity(msg.sender);
    const writes: BatchWrites = { outbox: [], audit: [] };
    const outcome = await this.ingestOne(m, { msg, sender, key: senderLockKey(msg, sender) }, inbox, writes);
    await this.writeBatch(m, writes);
    return outcome;
  }

  /** One message under its own savepoint; its audit and outbox rows join `writes` only if it succeeded. */
  private async ingestOne(
    m: EntityManager,
    item: Pick<Pending, 'msg' | 'sender' | 'key'>,
    inbox: InboxRow,
    writes: BatchWrites,
  ): Promise<IngestOutcome> {
    const local: BatchWrites = { outbox: [], audit: [] };
    const repo = this.ingest.with(m);
    let outcome: IngestOutcome;
    try {
      // Savepoint, the sender's lock and the message/sender lookup in one round trip.
      const found = await repo.beginMessage(senderLockId(item.key), inbox.id, item.msg.externalId, item.sender);
      outcome = await this.processor.process(m, item.msg, inbox, local, found);
      if (outcome.status === 'created' || outcome.status === 'updated')
        await keepOriginals(repo, outcome.messageId, item.msg);
    } catch (err) {
      await repo.rollbackMessage();
      throw err;
    }
    writes.outbox.push(...local.outbox);
    writes.audit.push(...local.audit);
    return outcome;
  }

  /** The audit and outbox rows of the messages ingested in this transaction, written once for all. */
  private async writeBatch(m: EntityManager, writes: BatchWrites): Promise<void> {
    // One statement for the audit rows and the outbox jobs (chunked far below the 65k bind-parameter limit).
    const repo = this.ingest.with(m);
    await repo.insertAuditAndOutbox(writes.audit, writes.outbox.slice(0, 2000));
    for (let i = 2000; i < writes.outbox.length; i += 2000)
      await this.outbox.write(m, writes.outbox.slice(i, i + 2000));
  }

  private async settle(item: Pending): Promise<void> {
    if (item.outcome) return item.resolve(item.outcome);
    const err = item.error as { code?: string; message?: string } | undefined;
    const message = err?.message ?? String(err);
    const code = err?.code;
    // Postgres unreachable: rejected as is, and the queue module parks the job without spending an attempt.
    if (isDatabaseUnreachable(err)) return item.reject(err instanceof Error ? err : new Error(message));
    // The last attempt dead-letters whatever the error: a job BullMQ merely fails is neither stored nor parked.
    const final = item.job.attemptsMade + 1 >= (item.job.opts.attempts ?? 1);
    const retryable = isRetryableIngestError(err);
    if (retryable && !final) {
      this.logger.info({ jobId: item.job.id, code, err: message }, 'inbound message lost a race; retrying');
      return item.reject(new RetryableIngestError(`${code}: ${message}`));
    }
    // Data errors (class 22, 23) can never succeed — except the races above; other errors get their retries first.
    const permanent = !retryable && !!code && /^2[23]/.test(code);
    if (permanent || final) {
      try {
        await this.deadLetters.record({
          queue: QueueName.Inbound,
          jobName: JobName.InboundMessage,
          jobId: item.job.id,
          payload: item.job.data,
          reason: `processing failed${code ? ` (${code})` : ''}: ${message}`,
        });
        return item.resolve({ status: 'dead_letter', reason: message });
      } catch (dlErr) {
        return item.reject(dlErr as Error);
      }
    }
    this.logger.warn(
      { jobId: item.job.id, err: message, attempt: item.job.attemptsMade + 1 },
      'inbound message failed',
    );
    item.reject(err instanceof Error ? err : new Error(message));
  }
}

/**
 * A message whose text had to be made storable keeps what the customer really sent, as bytes
 * beside it (one extra statement, only for such messages). A later revision replaces it.
 */
async function keepOriginals(repo: IngestRepository, messageId: string, msg: InboundMessage): Promise<void> {
  const altered = msg.metadata.textAltered as TextAltered | undefined;
  if (!altered?.original) return;
  // The originals are customer text too: no card number is stored, whoever produced the message.
  const originals = Object.fromEntries(
    Object.entries(JSON.parse(altered.original) as Record<string, string>).map(([k, v]) => [k, maskCardNumbers(v)]),
  );
  await repo.keepOriginals(messageId, altered.fields, Buffer.from(encodeOriginals(originals), 'utf8'));
}
