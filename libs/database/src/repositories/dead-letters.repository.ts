import { Inject, Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { Db, execute, maybeOne, one, rows } from '../sql/db';
import { sql } from '../sql/sql';

/** A dead letter's fields, already made storable by the caller. */
export interface DeadLetterInsert {
  queue: string;
  jobName: string;
  jobId: string | null;
  /** The payload exactly as it arrived (or its JSON text as UTF-8). */
  payloadBytes: Buffer;
  reason: string;
  /** One letter per source job (a retried dead-letter job); null: no such key. */
  sourceKey: string | null;
}

export interface DeadLetterRow {
  id: string;
  queue: string;
  job_name: string;
  job_id: string | null;
  /** Rows from before payload_bytes keep their payload as jsonb. */
  payload: unknown;
  payload_bytes: Buffer | null;
  reason: string;
  created_at: Date;
  replayed_at: Date | null;
  replay_count: number;
}

export interface DeadLetterListRow extends DeadLetterRow {
  /** created_at with full microsecond precision (a JS Date would truncate the cursor). */
  cursor_at: string;
}

const COLUMNS = sql.raw(
  'id, queue, job_name, job_id, payload, payload_bytes, reason, created_at, replayed_at, replay_count',
);

/**
 * Jobs and messages that could not be processed, kept for an admin to inspect and replay.
 * Tables: dead_letters.
 */
@Injectable()
export class DeadLetterRepository {
  constructor(@Inject(DataSource) private readonly db: Db) {}

  /** The same repository on a transaction's manager. */
  with(db: Db): DeadLetterRepository {
    return new DeadLetterRepository(db);
  }

  /**
   * Stores a letter; undefined when one with the same `sourceKey` exists already. Bytes, not jsonb:
   * the payload may hold exactly what jsonb refuses. Runs inside ingest batches (per rejected message).
   */
  async insert(letter: DeadLetterInsert): Promise<string | undefined> {
    const row = await maybeOne<{ id: string }>(
      this.db,
      sql`INSERT INTO dead_letters (queue, job_name, job_id, payload_bytes, reason, source_key)
          VALUES (${letter.queue}, ${letter.jobName}, ${letter.jobId}, ${letter.payloadBytes}, ${letter.reason},
                  ${letter.sourceKey})
          ON CONFLICT (source_key) DO NOTHING RETURNING id`.named('oq_dead_letter_insert'),
    );
    return row?.id;
  }

  /** The id of the letter recorded for `sourceKey` (which the caller knows exists). */
  async idBySourceKey(sourceKey: string): Promise<string> {
    return (await one<{ id: string }>(this.db, sql`SELECT id FROM dead_letters WHERE source_key = ${sourceKey}`)).id;
  }

  /**
   * Newest first, `limit` rows, after the cursor (`created_at` as text with its microseconds, and id)
   * when given; replayed letters only when asked for (dead_letters_open_idx serves the default).
   */
  list(opts: {
    limit: number;
    includeReplayed: boolean;
    after?: { at: string; id: string };
  }): Promise<DeadLetterListRow[]> {
    const where = [
      ...(opts.includeReplayed ? [] : [sql`replayed_at IS NULL`]),
      ...(opts.after ? [sql`(created_at, id) < (${opts.after.at}::timestamptz, ${opts.after.id}::uuid)`] : []),
    ];
    return rows<DeadLetterListRow>(
      this.db,
      sql`SELECT ${COLUMNS}, created_at::text AS cursor_at FROM dead_letters
          ${where.length ? sql`WHERE ${sql.join(where, ' AND ')}` : sql.empty}
          ORDER BY created_at DESC, id DESC LIMIT ${opts.limit}`,
    );
  }

  find(id: string): Promise<DeadLetterRow | undefined> {
    return maybeOne<DeadLetterRow>(this.db, sql`SELECT ${COLUMNS} FROM dead_letters WHERE id = ${id}`);
  }

  /** The letter, locked until the caller's transaction ends (a replay holds it until Redis took the job). */
  lock(id: string): Promise<DeadLetterRow | undefined> {
    return maybeOne<DeadLetterRow>(this.db, sql`SELECT ${COLUMNS} FROM dead_letters WHERE id = ${id} FOR UPDATE`);
  }

  async markReplayed(id: string): Promise<void> {
    await execute(
      this.db,
      sql`UPDATE dead_letters SET replayed_at = now(), replay_count = replay_count + 1 WHERE id = ${id}`,
    );
  }
}
