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
import { LOGGER, QueueService } from '@oq/platform';
import { Logger } from 'pino';
import { DataSource, EntityManager } from 'typeorm';

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

interface Row {
  id: string;
  queue: string;
  job_name: string;
  job_id: string | null;
  payload: unknown;
  payload_bytes: Buffer | null;
  reason: string;
  created_at: Date;
  replayed_at: Date | null;
  replay_count: number;
  /** created_at with full microsecond precision (a JS Date would truncate the cursor). */
  cursor_at: string;
}

const view = (r: Row): DeadLetterView => {
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
    private readonly queues: QueueService,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {}

  /** Records inside the caller's transaction when given one, so it commits with the decision. */
  async record(input: DeadLetterInput, manager: EntityManager = this.ds.manager): Promise<string> {
    return (await this.insert(input, null, manager))!;
  }

  /**
   * Records once per `sourceKey` (a retried dead-letter job finds the row it wrote before its
   * completion was lost) and returns the letter's id either way.
   */
  async recordOnce(sourceKey: string, input: DeadLetterInput): Promise<string> {
    const id = await this.insert(input, sourceKey, this.ds.manager);
    if (id) return id;
    const [row] = await this.ds.query('SELECT id FROM dead_letters WHERE source_key = $1', [sourceKey]);
    return row.id as string;
  }

  private async insert(input: DeadLetterInput, sourceKey: string | null, manager: EntityManager) {
    const bytes = Buffer.isBuffer(input.payload) ? input.payload : Buffer.from(payloadText(input.payload), 'utf8');
    // Bytes, not jsonb: the payload may hold exactly what jsonb refuses. The reason names the
    // payload's faults, so it is made storable too (a reason is ours to word, not customer data).
    const rows: { id: string }[] = await manager.query(
      `INSERT INTO dead_letters (queue, job_name, job_id, payload_bytes, reason, source_key)
       VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (source_key) DO NOTHING RETURNING id`,
      [
        toStorableText(String(input.queue)),
        toStorableText(String(input.jobName)),
        input.jobId == null ? null : toStorableText(input.jobId),
        bytes,
        toStorableText(input.reason).slice(0, 4000),
        sourceKey,
      ],
    );
    if (!rows.length) return null;
    this.logger.warn(
      { deadLetterId: rows[0].id, queue: input.queue, jobId: input.jobId, reason: input.reason },
      'job dead-lettered',
    );
    return rows[0].id;
  }

  /** Newest first; `cursor` is the `nextCursor` of the previous page. */
  async list(opts: { limit?: number; cursor?: string; includeReplayed?: boolean } = {}): Promise<{
    items: DeadLetterView[];
    nextCursor: string | null;
  }> {
    const limit = Math.min(Math.max(opts.limit ?? 50, 1), 200);
    const params: unknown[] = [limit + 1];
    const where: string[] = [];
    if (!opts.includeReplayed) where.push('replayed_at IS NULL');
    if (opts.cursor) {
      const [at, id] = decodeCursor(opts.cursor);
      params.push(at, id);
      where.push('(created_at, id) < ($2::timestamptz, $3::uuid)');
    }
    const rows: Row[] = await this.ds.query(
      `SELECT *, created_at::text AS cursor_at FROM dead_letters ${where.length ? `WHERE ${where.join(' AND ')}` : ''}
       ORDER BY created_at DESC, id DESC LIMIT $1`,
      params,
    );
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

  private async row(id: string): Promise<Row> {
    if (!/^[0-9a-f-]{36}$/i.test(id)) throw new DeadLetterNotFoundError(id);
    const rows: Row[] = await this.ds.query('SELECT * FROM dead_letters WHERE id = $1', [id]);
    if (!rows.length) throw new DeadLetterNotFoundError(id);
    return rows[0];
  }

  /**
   * Puts the payload back on its queue under a new job id and marks the row
   * replayed. The row stays locked until Redis accepted the job; a crash before
   * the commit replays again under the same id, which BullMQ ignores.
   */
  async replay(id: string): Promise<{ id: string; jobId: string; queue: string }> {
    if (!/^[0-9a-f-]{36}$/i.test(id)) throw new DeadLetterNotFoundError(id);
    return this.ds.transaction(async (manager) => {
      const rows: Row[] = await manager.query('SELECT * FROM dead_letters WHERE id = $1 FOR UPDATE', [id]);
      if (!rows.length) throw new DeadLetterNotFoundError(id);
      const row = rows[0];
      if (!Object.values(QueueName).includes(row.queue as QueueName) || !isJobName(row.job_name))
        throw new Error(`dead letter ${id} names an unknown queue/job (${row.queue}/${row.job_name})`);
      const jobId = `dl-${row.id}-${row.replay_count + 1}`;
      const shown = row.payload_bytes ? showPayload(row.payload_bytes) : { payload: row.payload };
      if (shown.payloadNote) throw new DeadLetterNotReplayableError(id, shown.payloadNote.split(':')[0]);
      // Unvalidated on purpose: a payload still invalid simply comes back here with its reason.
      await this.queues
        .queue(row.queue as QueueName)
        .add(row.job_name, shown.payload, jobOptions(row.job_name as JobName, { jobId }));
      await manager.query(
        'UPDATE dead_letters SET replayed_at = now(), replay_count = replay_count + 1 WHERE id = $1',
        [id],
      );
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
