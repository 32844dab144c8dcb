import { DataSource } from 'typeorm';
import { createDataSource, roundTrips } from './data-source';
import { execute, rows, runScript } from './sql/db';
import { sql } from './sql/sql';
import { createTestDatabase, TestDatabase } from './testing/test-env';

/** The round-trip count hot paths are judged by (bench:ingest's round_trips_per_msg). */
describe('roundTrips (real Postgres)', () => {
  let db: TestDatabase;
  let ds: DataSource;

  beforeAll(async () => {
    db = await createTestDatabase();
    ds = createDataSource({ url: db.url, poolSize: 2 });
    await ds.initialize();
  });
  afterAll(async () => {
    await ds?.destroy();
    await db?.drop();
  });

  it('counts one per statement in a transaction, plus BEGIN and COMMIT', async () => {
    const before = roundTrips(ds);
    await ds.transaction(async (tx) => {
      for (let i = 0; i < 5; i++) await execute(tx, sql`SELECT ${i}::int`);
      // Named (extended protocol, parse + bind + execute + sync) is still one.
      await execute(tx, sql`SELECT 1`.named('oq_test_round_trip'));
    });
    expect(roundTrips(ds) - before).toBe(6 + 2);
  });

  it('counts a multi-statement script as one', async () => {
    const before = roundTrips(ds);
    await runScript(ds, 'SELECT 1; SELECT 2; SELECT 3');
    expect(roundTrips(ds) - before).toBe(1);
  });

  it('runs every session in UTC with JIT off (OLTP statements; a compile cost 415 ms for 14 ms of work)', async () => {
    const [row] = await rows<{ tz: string; jit: string }>(
      ds,
      sql`SELECT current_setting('timezone') AS tz, current_setting('jit') AS jit`,
    );
    expect(row).toEqual({ tz: 'UTC', jit: 'off' });
  });

  it('keeps a count per DataSource', async () => {
    const other = createDataSource({ url: db.url, poolSize: 1 });
    await other.initialize();
    try {
      const mine = roundTrips(ds);
      await execute(other, sql`SELECT 1`);
      expect(roundTrips(ds)).toBe(mine);
      expect(roundTrips(other)).toBeGreaterThan(0);
    } finally {
      await other.destroy();
    }
  });
});
