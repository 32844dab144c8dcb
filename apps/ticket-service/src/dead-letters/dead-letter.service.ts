import { Inject, Injectable } from '@nestjs/common';
import {
  JobName,
  MAX_PAYLOAD_DEPTH,
  QueueName,
  isJobName,
  jsonDepth,
  jobOptions,
  payloadText,
  toStorableText,
} from '@oq/contracts';
import { Db, DeadLetterListRow, DeadLetterRepository, DeadLetterRow } from '@oq/database';
import { LOGGER, QueueService } from '@oq/platform';
import { Logger } from 'pino';
import { DataSource } from 'typeorm';

export interface DeadLetterInput {
  queue: QueueName | string;
  jobName: JobName | string;
  jobId?: string | null;
  /** A value, stored as its JSON text, or a Buffer: the exact bytes that arrived (a raw webhook body). */
  payload: unknown;
  reason: string;
}

export interface DeadLetterView {
  id: string;
  queue: string;
  jobName: string;
  jobId: string | null;
  /** The payload as JSON, or null when it is not valid JSON or nested too deep to show (see payloadNote). */
  payload: unknown;
  payloadNote?: string;
  reason: string;
  createdAt: string;
  replayedAt: string | null;
  replayCount: number;
}

export class DeadLetterNotFoundError extends Error {
  constructor(readonly id: string) {
    super(`dead letter ${id} not found`);
    this.name = 'DeadLetterNotFoundError';
  }
}

const view = (r: DeadLetterRow): DeadLetterView => {
  const shown = r.payload_bytes ? showPayload(r.payload_bytes) : { payload: r.payload };
  return {
    id: r.id,
    queue: r.queue,
    jobName: r.job_name,
    jobId: r.job_id,
    ...shown,
    reason: r.reason,
    createdAt: r.created_at.toISOString(),
    replayedAt: r.replayed_at?.toISOString() ?? null,
    replayCount: r.replay_count,
  };
};

function showPayload(bytes: Buffer): Pick<DeadLetterView, 'payload' | 'payloadNote'> {
  const text = bytes.toString('utf8');
  if (jsonDepth(text) > MAX_PAYLOAD_DEPTH)
    return { payload: null, payloadNote: `nested deeper than ${MAX_PAYLOAD_DEPTH} levels: download the payload` };
  try {
    return { payload: JSON.parse(text) };
  } catch {
    return { payload: null, payloadNote: 'not valid JSON: download the payload' };
  }
}

export class DeadLetterNotReplayableError extends Error {
  constructor(
    readonly id: string,
    readonly why: string,
  ) {
    super(`dead letter ${id} cannot be replayed: ${why}`);
    this.name = 'DeadLetterNotReplayableError';
  }
}

/**
 * Jobs that failed for good (invalid payload, unknown inbox, an error that kept
 * failing) with their reason. Admins list them and replay one once its cause is
 * fixed: the payload goes back on its queue under a new job id.
 */
@Injectable()
export class DeadLetterService {
  constructor(
    private readonly ds: DataSource,
    private readonly letters: DeadLetterRepository,
    private readonly queues: QueueService,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {}

  /** Records inside the caller's transaction when given one, so it commits with the decision. */
  async record(input: DeadLetterInput, manager?: Db): Promise<string> {
    return (await this.insert(input, null, manager ? this.letters.with(manager) : this.letters))!;
  }

  /**
   * Records once per `sourceKey` (a retried dead-letter job finds the row it wrote before its
   * completion was lost) and returns the letter's id either way.
   */
  async recordOnce(sourceKey: string, input: DeadLetterInput): Promise<string> {
    const id = await this.insert(input, sourceKey, this.letters);
    if (id) return id;
    return this.letters.idBySourceKey(sourceKey);
  }

  private async insert(input: DeadLetterInput, sourceKey: string | null, letters: DeadLetterRepository) {
    const bytes = Buffer.isBuffer(input.payload) ? input.payload : Buffer.from(payloadText(input.payload), 'utf8');
    // Bytes, not jsonb: the payload may hold exactly what jsonb refuses. The reason names the
    // payload's faults, so it is made storable too (a reason is ours to word, not customer data).
    const id = await letters.insert({
      queue: toStorableText(String(input.queue)),
      jobName: toStorableText(String(input.jobName)),
      jobId: input.jobId == null ? null : toStorableText(input.jobId),
      payloadBytes: bytes,
      reason: toStorableText(input.reason).slice(0, 4000),
      sourceKey,
    });
    if (!id) return null;
    this.logger.warn(
      { deadLetterId: id, queue: input.queue, jobId: input.jobId, reason: input.reason },
      'job dead-lettered',
    );
    return id;
  }

  /** Newest first; `cursor` is the `nextCursor` of the previous page. */
  async list(opts: { limit?: number; cursor?: string; includeReplayed?: boolean } = {}): Promise<{
    items: DeadLetterView[];
    nextCursor: string | null;
  }> {
    const limit = Math.min(Math.max(opts.limit ?? 50, 1), 200);
    let after: { at: string; id: string } | undefined;
    if (opts.cursor) {
      const [at, id] = decodeCursor(opts.cursor);
      after = { at, id };
    }
    const rows: DeadLetterListRow[] = await this.letters.list({
      limit: limit + 1,
      includeReplayed: !!opts.includeReplayed,
      after,
    });
    const page = rows.slice(0, limit);
    const last = page[page.length - 1];
    return {
      items: page.map(view),
      nextCursor: rows.length > limit && last ? encodeCursor(last.cursor_at, last.id) : null,
    };
  }

  async get(id: string): Promise<DeadLetterView> {
    return view(await this.row(id));
  }

  /** The payload exactly as kept (JSON text as UTF-8), for letters too deep or broken to show. */
  async payloadBytes(id: string): Promise<Buffer> {
    const r = await this.row(id);
    return r.payload_bytes ?? Buffer.from(JSON.stringify(r.payload), 'utf8');
  }

  private async row(id: string): Promise<DeadLetterRow> {
    if (!/^[0-9a-f-]{36}$/i.test(id)) throw new DeadLetterNotFoundError(id);
    const row = await this.letters.find(id);
    if (!row) throw new DeadLetterNotFoundError(id);
    return row;
  }

  /**
   * Puts the payload back on its queue under a new job id and marks the row
   * replayed. The row stays locked until Redis accepted the job; a crash before
   * the commit replays again under the same id, which BullMQ ignores.
   */
  async replay(id: string): Promise<{ id: string; jobId: string; queue: string }> {
    if (!/^[0-9a-f-]{36}$/i.test(id)) throw new DeadLetterNotFoundError(id);
    return this.ds.transaction(async (manager) => {
      const letters = this.letters.with(manager);
      const row = await letters.lock(id);
      if (!row) throw new DeadLetterNotFoundError(id);
      if (!Object.values(QueueName).includes(row.queue as QueueName) || !isJobName(row.job_name))
        throw new Error(`dead letter ${id} names an unknown queue/job (${row.queue}/${row.job_name})`);
      const jobId = `dl-${row.id}-${row.replay_count + 1}`;
      const shown = row.payload_bytes ? showPayload(row.payload_bytes) : { payload: row.payload };
      if (shown.payloadNote) throw new DeadLetterNotReplayableError(id, shown.payloadNote.split(':')[0]);
      // Unvalidated on purpose: a payload still invalid simply comes back here with its reason.
      await this.queues
        .queue(row.queue as QueueName)
        .add(row.job_name, shown.payload, jobOptions(row.job_name as JobName, { jobId }));
      await letters.markReplayed(id);
      this.logger.info({ deadLetterId: id, jobId, queue: row.queue }, 'dead letter replayed');
      return { id, jobId, queue: row.queue };
    });
  }
}

function encodeCursor(at: string, id: string): string {
  return Buffer.from(`${at}|${id}`).toString('base64url');
}

function decodeCursor(cursor: string): [string, string] {
  const [at, id] = Buffer.from(cursor, 'base64url').toString().split('|');
  if (!at || !/^[0-9:.+ T-]{10,40}$/.test(at) || !id || !/^[0-9a-f-]{36}$/i.test(id)) throw new InvalidCursorError();
  return [at, id];
}

export class InvalidCursorError extends Error {
  constructor() {
    super('invalid cursor');
    this.name = 'InvalidCursorError';
  }
}
