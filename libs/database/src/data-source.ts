import * as pg from 'pg';
import { DataSource } from 'typeorm';
import { ENTITIES } from './entities';
import { MIGRATIONS } from './migrations';
import { one, rows } from './sql/db';
import { sql } from './sql/sql';

export interface DatabaseOptions {
  url: string;
  poolSize?: number;
  applicationName?: string;
}

/**
 * One DataSource shape for every service, the migrate CLI and tests.
 * Migrations only: synchronize is off and migrations never run at boot.
 * `driver: pg` is passed explicitly because TypeORM cannot load pg by itself
 * under jest's module system.
 */
export function createDataSource(options: DatabaseOptions): DataSource {
  const counter = { n: 0 };
  const ds = new DataSource({
    type: 'postgres',
    driver: countingDriver(counter),
    url: options.url,
    applicationName: options.applicationName ?? 'onequeue',
    entities: ENTITIES,
    migrations: MIGRATIONS,
    migrationsTableName: 'migrations',
    migrationsTransactionMode: 'each',
    synchronize: false,
    migrationsRun: false,
    installExtensions: false,
    connectTimeoutMS: 5000,
    // Every session in UTC so timestamptz values and now() comparisons never depend on the host.
    // JIT off: it pays off for long analytic scans, not for our short OLTP statements — the ticket
    // view's participants query (estimated cost > jit_above_cost) spent 415 ms compiling for 14 ms
    // of execution, and under bench:ingest's load those compiles took the whole pool.
    extra: { max: options.poolSize ?? 5, options: '-c timezone=UTC -c jit=off', idleTimeoutMillis: 30000 },
  });
  roundTripCounters.set(ds, counter);
  return ds;
}

const roundTripCounters = new WeakMap<DataSource, { n: number }>();

/**
 * Round trips to Postgres since the DataSource was made: one per ReadyForQuery the server sent
 * after the connection was up — one per query, whether simple (a multi-statement script is one)
 * or extended (one Sync per query). Hot paths are judged by it (oq_db_round_trips_total).
 */
export function roundTrips(ds: DataSource): number {
  return roundTripCounters.get(ds)?.n ?? 0;
}

/**
 * pg with a Pool whose clients count their ReadyForQuery messages. The prototype chain keeps pg's
 * lazy getters (pg.native) unevaluated.
 */
function countingDriver(counter: { n: number }): typeof pg {
  class CountingPool extends pg.Pool {
    constructor(config?: pg.PoolConfig) {
      super(config);
      this.on('connect', (client) => {
        const con = (client as unknown as { connection: NodeJS.EventEmitter }).connection;
        con.on('readyForQuery', () => counter.n++);
      });
    }
  }
  return Object.create(pg, { Pool: { value: CountingPool } }) as typeof pg;
}

export class PendingMigrationsError extends Error {
  constructor(readonly pending: string[]) {
    super(`${pending.length} database migration(s) pending (${pending.join(', ')}): run \`npm run migrate\` first`);
    this.name = 'PendingMigrationsError';
  }
}

/** Names of migrations not yet applied to the connected database. */
export async function pendingMigrations(ds: DataSource): Promise<string[]> {
  const table = await one<{ t: string | null }>(ds, sql`SELECT to_regclass('public.migrations') AS t`);
  const applied = new Set<string>();
  if (table.t)
    for (const row of await rows<{ name: string }>(ds, sql`SELECT name FROM migrations`)) applied.add(row.name);
  return ds.migrations.map((m) => m.name ?? m.constructor.name).filter((n) => !applied.has(n));
}

export async function assertNoPendingMigrations(ds: DataSource): Promise<void> {
  const pending = await pendingMigrations(ds);
  if (pending.length) throw new PendingMigrationsError(pending);
}

/** Creates the database named in the URL when it does not exist (first start on a fresh machine). */
export async function ensureDatabaseExists(url: string): Promise<boolean> {
  const target = new URL(url);
  const name = decodeURIComponent(target.pathname.slice(1));
  const admin = new URL(url);
  admin.pathname = '/postgres';
  const client = new pg.Client({ connectionString: admin.toString() });
  await client.connect();
  try {
    const { rowCount } = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [name]);
    if (rowCount) return false;
    await client.query(`CREATE DATABASE ${pg.escapeIdentifier(name)}`);
    return true;
  } finally {
    await client.end();
  }
}
