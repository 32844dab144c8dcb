import { Inject, Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { Db, execute, maybeOne, rows } from '../sql/db';
import { sql } from '../sql/sql';

/** A claimed key: the request it was claimed for and, once it finished, its response. */
export interface IdempotencyKeyRow {
  method: string;
  path: string;
  body_hash: string;
  /** null while the first request is still in progress. */
  status_code: number | null;
  response: unknown;
}

export interface IdempotencyClaim {
  agentId: string;
  key: string;
  method: string;
  path: string;
  bodyHash: string;
}

/**
 * Stored responses of requests sent with an Idempotency-Key.
 * Tables: idempotency_keys.
 */
@Injectable()
export class IdempotencyRepository {
  constructor(@Inject(DataSource) private readonly db: Db) {}

  /** The same repository on a transaction's manager. */
  with(db: Db): IdempotencyRepository {
    return new IdempotencyRepository(db);
  }

  /** Deletes keys older than `keep` (a Postgres interval; indexed on created_at). */
  async sweepExpired(keep: string): Promise<void> {
    await execute(this.db, sql`DELETE FROM idempotency_keys WHERE created_at < now() - ${keep}::interval`);
  }

  /**
   * Claims the agent's key for this request: a new key, or one whose first request never
   * finished and was claimed longer than `abandonedAfter` (an interval) ago. False when the
   * key is taken: read it with `find`.
   */
  async claim(c: IdempotencyClaim, abandonedAfter: string): Promise<boolean> {
    const claimed = await rows<{ key: string }>(
      this.db,
      sql`INSERT INTO idempotency_keys (agent_id, key, method, path, body_hash)
          VALUES (${c.agentId}, ${c.key}, ${c.method}, ${c.path}, ${c.bodyHash})
          ON CONFLICT (agent_id, key) DO UPDATE SET method = EXCLUDED.method, path = EXCLUDED.path,
                 body_hash = EXCLUDED.body_hash, created_at = now()
            WHERE idempotency_keys.status_code IS NULL AND idempotency_keys.created_at < now() - ${abandonedAfter}::interval
          RETURNING key`,
    );
    return claimed.length > 0;
  }

  find(agentId: string, key: string): Promise<IdempotencyKeyRow | undefined> {
    return maybeOne<IdempotencyKeyRow>(
      this.db,
      sql`SELECT method, path, body_hash, status_code, response FROM idempotency_keys
           WHERE agent_id = ${agentId} AND key = ${key}`,
    );
  }

  /** The first request finished: its response is what retries get replayed (`response` null: no body). */
  async storeResponse(agentId: string, key: string, statusCode: number, response: unknown): Promise<void> {
    await execute(
      this.db,
      sql`UPDATE idempotency_keys SET status_code = ${statusCode},
                 response = ${response === undefined ? null : JSON.stringify(response)}::jsonb
           WHERE agent_id = ${agentId} AND key = ${key}`,
    );
  }

  /** The request failed: the key is free for a corrected retry. */
  async release(agentId: string, key: string): Promise<void> {
    await execute(this.db, sql`DELETE FROM idempotency_keys WHERE agent_id = ${agentId} AND key = ${key}`);
  }
}
