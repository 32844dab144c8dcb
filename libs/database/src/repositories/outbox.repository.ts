import { Inject, Injectable } from '@nestjs/common';
import type { Client } from 'pg';
import { DataSource } from 'typeorm';
import { Db, execute, one, rows } from '../sql/db';
import { Sql, sql } from '../sql/sql';

/** A job to write into the outbox (ticket-service's OutboxEntry and sla-worker's entries have this shape). */
export interface OutboxJob {
  queue: string;
  jobName: string;
  payload: unknown;
  /** BullMQ's job id; null/absent: the relay uses `outbox-<row id>`. */
  jobId?: string | null;
  delayMs?: number;
}

/** An outbox row as the relay claims it. */
export interface OutboxRow {
  /** bigserial, as text. */
  id: string;
  queue: string;
  job_name: string;
  job_id: string | null;
  payload: unknown;
  delay_ms: number;
}

/** A claimed row the relay cannot deliver (its queue or job is unknown to this build). */
export interface UndeliverableOutboxRow {
  queue: string;
  jobName: string;
  jobId: string;
  /** The payload's JSON text. */
  payloadText: string;
}

/** The channel the outbox table's statement-level trigger (outbox_notify) notifies at commit. */
const CHANNEL = 'outbox';

/**
 * Subscribes a dedicated connection to the outbox trigger's notifications (the relay's wake-up).
 * The connection must be the caller's own: LISTEN lasts as long as the session.
 */
export async function listenForOutbox(client: Client): Promise<void> {
  await client.query(`LISTEN ${CHANNEL}`);
}

/** The outbox insert as a value: bench:ingest's set-based ceiling runs the same text. */
export function outboxInsertSql(jobs: readonly OutboxJob[]): Sql {
  return sql`INSERT INTO outbox (queue, job_name, job_id, payload, delay_ms)
      SELECT queue, job_name, job_id, payload, delay_ms
        FROM unnest(${jobs.map((j) => j.queue)}::text[], ${jobs.map((j) => j.jobName)}::text[],
                    ${jobs.map((j) => j.jobId ?? null)}::text[], ${jobs.map((j) => JSON.stringify(j.payload))}::jsonb[],
                    ${jobs.map((j) => j.delayMs ?? 0)}::int[])
             WITH ORDINALITY AS j(queue, job_name, job_id, payload, delay_ms, n)
       ORDER BY n`.named('oq_outbox_insert');
}

/**
 * The transactional outbox: events written with the change, relayed after commit.
 * Tables: outbox.
 */
@Injectable()
export class OutboxRepository {
  constructor(@Inject(DataSource) private readonly db: Db) {}

  /** The same repository on a transaction's manager. */
  with(db: Db): OutboxRepository {
    return new OutboxRepository(db);
  }

  /**
   * Writes jobs in the caller's transaction, in the order given (the relay hands them to BullMQ by id).
   * One INSERT: the statement-level trigger sends one pg_notify per commit. Arrays rather than a
   * VALUES list so the text is the same whatever the count — ingest writes it per batch and, as a
   * prepared statement, Postgres plans it once per connection.
   */
  async insertMany(jobs: readonly OutboxJob[]): Promise<void> {
    if (!jobs.length) return;
    await execute(this.db, outboxInsertSql(jobs));
  }

  /**
   * Claims up to `limit` rows by deleting them in the caller's transaction; committing it is the
   * acknowledgement (commit only once Redis accepted the jobs: a crash before re-sends them).
   * `FOR UPDATE SKIP LOCKED` lets several relays claim side by side. The order of the returned rows
   * is not the id order: sort them.
   */
  claim(limit: number): Promise<OutboxRow[]> {
    return rows<OutboxRow>(
      this.db,
      sql`DELETE FROM outbox WHERE id = ANY(ARRAY(
            SELECT id FROM outbox ORDER BY id LIMIT ${limit} FOR UPDATE SKIP LOCKED
          )) RETURNING id, queue, job_name, job_id, payload, delay_ms`,
      // Unnamed on purpose: the table swings between empty and thousands of rows, and a generic plan
      // made while it was small seq-scans it later (bench:ingest saw 1,019 seq scans instead of 159).
      // `= ANY(ARRAY(…))` for the same reason: the claimed ids are an InitPlan run once, then one index
      // scan. As `IN (subquery)`, statistics taken while the table was empty (what autovacuum sees most
      // of the time) planned a nested loop re-running the LIMIT subquery per row: 38 s for 29,000 rows,
      // and the relay fell behind for good (bench:ingest after an ANALYZE).
    );
  }

  /**
   * Parks claimed rows naming a queue or job this build does not know as dead letters, in the
   * claiming transaction (a row nobody can deliver would otherwise block the relay forever).
   * Written here rather than through DeadLetterRepository: it is the relay's own statement, one
   * round trip for the whole claim, and dead_letters' other writers take their payload as bytes.
   */
  async deadLetter(undeliverable: readonly UndeliverableOutboxRow[]): Promise<void> {
    if (!undeliverable.length) return;
    await execute(
      this.db,
      sql`INSERT INTO dead_letters (queue, job_name, job_id, payload_bytes, reason)
          SELECT q, n, j, convert_to(p, 'UTF8'), 'outbox row names an unknown queue or job'
            FROM unnest(${undeliverable.map((r) => r.queue)}::text[], ${undeliverable.map((r) => r.jobName)}::text[],
                        ${undeliverable.map((r) => r.jobId)}::text[], ${undeliverable.map((r) => r.payloadText)}::text[])
                 AS t(q, n, j, p)`,
    );
  }

  /** Age of the oldest row not yet relayed, in seconds (0 when empty): the relay's lag. */
  async lagSeconds(): Promise<number> {
    const row = await one<{ s: string | number }>(
      this.db,
      sql`SELECT COALESCE(EXTRACT(EPOCH FROM now() - min(created_at)), 0) AS s FROM outbox`,
    );
    return Number(row.s);
  }
}
