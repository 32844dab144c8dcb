import { escapeLiteral } from 'pg';
import type { PoolClient, QueryResult as PgResult } from 'pg';
import { DataSource, EntityManager, QueryFailedError, QueryRunner } from 'typeorm';
import { Sql } from './sql';

/**
 * Where a statement runs: the DataSource (its own pooled connection) or a transaction's
 * EntityManager (the transaction's connection). Repositories take one and `with(tx)` rebinds them.
 */
export type Db = DataSource | EntityManager;

/** A statement's rows and how many rows it touched (UPDATE/DELETE/INSERT count, SELECT length). */
export interface Result<R> {
  rows: R[];
  rowCount: number;
}

/** Prepared statements kept per connection by pg; beyond this many names a statement runs unnamed. */
const MAX_NAMED = 256;
const namedTexts = new Map<string, string>();

function checkName(name: string, text: string): boolean {
  const seen = namedTexts.get(name);
  if (seen === undefined) {
    if (namedTexts.size >= MAX_NAMED) return false;
    namedTexts.set(name, text);
    return true;
  }
  // pg would silently run the first text under a reused name: refuse loudly instead.
  if (seen !== text) throw new Error(`prepared statement name "${name}" is used for two different statements`);
  return true;
}

async function onRunner<T>(db: Db, work: (qr: QueryRunner) => Promise<T>): Promise<T> {
  const own =
    db instanceof DataSource ? db.createQueryRunner() : db.queryRunner ? undefined : db.connection.createQueryRunner();
  const qr = own ?? (db as EntityManager).queryRunner!;
  try {
    return await work(qr);
  } finally {
    if (own) await own.release();
  }
}

/**
 * Runs one statement. A statement with a name (`sql…`.named(n)) runs as pg's named
 * prepared statement on the connection (query config `{ name, text, values }`): the hot
 * paths repeat a few statements thousands of times, and Postgres then skips parsing and
 * planning them. Errors are QueryFailedErrors carrying the driver's `code`, as TypeORM's.
 */
export async function run<R>(db: Db, q: Sql): Promise<Result<R>> {
  const text = q.text;
  const params = q.params;
  return onRunner(db, async (qr) => {
    if (q.name && checkName(q.name, text)) {
      const client = (await qr.connect()) as PoolClient;
      try {
        const raw: PgResult = await client.query({ name: q.name, text, values: params });
        return { rows: raw.rows as R[], rowCount: raw.rowCount ?? raw.rows.length };
      } catch (err) {
        throw new QueryFailedError(text, params, err as Error);
      }
    }
    const res = await qr.query(text, params, true);
    const rows = (res.records ?? []) as R[];
    return { rows, rowCount: res.affected ?? rows.length };
  });
}

/** The statement's rows. */
export async function rows<R>(db: Db, q: Sql): Promise<R[]> {
  return (await run<R>(db, q)).rows;
}

/** The first row, or undefined when there is none. */
export async function maybeOne<R>(db: Db, q: Sql): Promise<R | undefined> {
  return (await run<R>(db, q)).rows[0];
}

/** Exactly one row (an INSERT … RETURNING, an aggregate); anything else is a bug and throws. */
export async function one<R>(db: Db, q: Sql): Promise<R> {
  const { rows: found } = await run<R>(db, q);
  if (found.length !== 1) throw new Error(`expected one row, got ${found.length}: ${q.text.slice(0, 120)}`);
  return found[0];
}

/** How many rows the statement touched. */
export async function execute(db: Db, q: Sql): Promise<number> {
  return (await run<unknown>(db, q)).rowCount;
}

/**
 * The statement with its parameters written in as escaped literals, for `runScript`
 * (the simple protocol takes no bind parameters). Strings, numbers, booleans, bigints and
 * null only: anything else would need a cast the statement should spell out itself.
 */
export function inlined(q: Sql): string {
  const values = q.params;
  return q.text.replace(/\$(\d+)/g, (_, n: string) => {
    const v = values[Number(n) - 1];
    if (v === null || v === undefined) return 'NULL';
    if (typeof v === 'number' || typeof v === 'bigint') {
      if (typeof v === 'number' && !Number.isFinite(v)) throw new Error(`cannot inline ${v}`);
      return String(v);
    }
    if (typeof v === 'boolean') return v ? 'TRUE' : 'FALSE';
    if (typeof v === 'string') return escapeLiteral(v);
    throw new Error(`cannot inline a ${typeof v} parameter ($${n}): bind it in a separate statement`);
  });
}

/**
 * Several statements in one round trip (simple protocol; e.g. a savepoint, an advisory
 * lock and a lookup): one row list per statement. Build parameterised parts with `inlined`.
 */
export async function runScript(db: Db, script: string): Promise<unknown[][]> {
  return onRunner(db, async (qr) => {
    const client = (await qr.connect()) as PoolClient;
    try {
      const raw = (await client.query(script)) as unknown as PgResult | PgResult[];
      return (Array.isArray(raw) ? raw : [raw]).map((r) => r.rows as unknown[]);
    } catch (err) {
      throw new QueryFailedError(script, [], err as Error);
    }
  });
}

/** A round trip to the database (health checks). */
export async function ping(db: Db): Promise<void> {
  await run(db, Sql.of(['SELECT 1'], []));
}
