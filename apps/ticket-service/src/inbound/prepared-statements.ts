import { createHash } from 'node:crypto';
import { PoolClient } from 'pg';
import { QueryFailedError, QueryRunner } from 'typeorm';

/** Beyond these, statements run unnamed: multi-row inserts vary in shape and would pile up on the server. */
const MAX_PARAMS = 32;
const MAX_STATEMENTS = 256;
const names = new Map<string, string>();

function statementName(sql: string, params: unknown[]): string | undefined {
  if (params.length > MAX_PARAMS) return undefined;
  let name = names.get(sql);
  if (!name && names.size < MAX_STATEMENTS) {
    name = `oq_ingest_${createHash('sha1').update(sql).digest('hex').slice(0, 20)}`;
    names.set(sql, name);
  }
  return name;
}

/**
 * Runs the query runner's parameterised queries as named (prepared) statements on
 * its connection: every ingested message repeats the same few statements, and
 * Postgres then skips parsing and planning them again (the larger part of its CPU
 * for these short statements). Results keep TypeORM's shape (UPDATE/DELETE give
 * [rows, count]) and errors stay QueryFailedErrors carrying the driver's code.
 */
export function usePreparedStatements(qr: QueryRunner, client: PoolClient): void {
  const plain = qr.query.bind(qr) as (sql: string, params?: unknown[], structured?: boolean) => Promise<unknown>;
  qr.query = (async (sql: string, params?: unknown[], structured?: boolean) => {
    const name = params?.length && !structured ? statementName(sql, params) : undefined;
    if (!name) return plain(sql, params, structured);
    try {
      const raw = await client.query({ name, text: sql, values: params });
      return raw.command === 'UPDATE' || raw.command === 'DELETE' ? [raw.rows, raw.rowCount] : raw.rows;
    } catch (err) {
      throw new QueryFailedError(sql, params, err as Error);
    }
  }) as QueryRunner['query'];
}
