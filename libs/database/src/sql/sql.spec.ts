import { DataSource } from 'typeorm';
import { createDataSource } from '../data-source';
import { createTestDatabase, TestDatabase } from '../testing/test-env';
import { execute, inlined, maybeOne, one, rows, run, runScript } from './db';
import { sql } from './sql';

describe('sql tag', () => {
  it('numbers placeholders itself, across nested fragments', () => {
    const visible = sql`(t.team_id = ANY(${['a', 'b']}::uuid[]) OR t.assignee_id = ${'me'})`;
    const q = sql`SELECT id FROM tickets t WHERE t.status = ${'open'} AND ${visible} LIMIT ${10}`;
    expect(q.text).toBe(
      'SELECT id FROM tickets t WHERE t.status = $1 AND (t.team_id = ANY($2::uuid[]) OR t.assignee_id = $3) LIMIT $4',
    );
    expect(q.params).toEqual(['open', ['a', 'b'], 'me', 10]);
  });

  it('joins fragments, keeps raw text out of the parameters, and gives TRUE for no conditions', () => {
    const cols = sql.join([sql.raw('id'), sql.raw('status')]);
    const where = sql.and([sql`a = ${1}`, sql`b = ${2}`, sql`c = ${3}`]);
    const q = sql`SELECT ${cols} FROM t WHERE ${where}${sql.empty}`;
    expect(q.text).toBe('SELECT id, status FROM t WHERE (a = $1 AND b = $2 AND c = $3)');
    expect(q.params).toEqual([1, 2, 3]);
    expect(sql.and([]).text).toBe('TRUE');
    expect(sql.join([]).text).toBe('');
  });

  it('a fragment reused twice binds its values twice, in order', () => {
    const f = sql`x = ${'v'}`;
    const q = sql`${f} OR ${f} OR y = ${2}`;
    expect(q.text).toBe('x = $1 OR x = $2 OR y = $3');
    expect(q.params).toEqual(['v', 'v', 2]);
  });

  it('inlines only scalar values, escaped', () => {
    expect(inlined(sql`SELECT ${"it's"}, ${3}, ${null}, ${true}`)).toBe(`SELECT 'it''s', 3, NULL, TRUE`);
    expect(() => inlined(sql`SELECT ${['a']}`)).toThrow(/cannot inline a object parameter \(\$1\)/);
  });
});

describe('statements against Postgres', () => {
  let db: TestDatabase;
  let ds: DataSource;

  beforeAll(async () => {
    db = await createTestDatabase();
    ds = createDataSource({ url: db.url, poolSize: 2 });
    await ds.initialize();
    await ds.query('CREATE TABLE t_sql (id int PRIMARY KEY, v text)');
  });
  afterAll(async () => {
    await ds?.destroy();
    await db?.drop();
  });

  it('gives rows and row counts for SELECT, INSERT, UPDATE and DELETE alike', async () => {
    expect(await execute(ds, sql`INSERT INTO t_sql VALUES (${1}, ${'a'}), (${2}, ${'b'})`)).toBe(2);
    expect(await rows<{ id: number }>(ds, sql`SELECT id FROM t_sql ORDER BY id`)).toEqual([{ id: 1 }, { id: 2 }]);
    const updated = await run<{ id: number }>(ds, sql`UPDATE t_sql SET v = ${'z'} RETURNING id`);
    expect(updated.rowCount).toBe(2);
    expect(updated.rows.map((r) => r.id).sort()).toEqual([1, 2]);
    expect(await maybeOne(ds, sql`SELECT id FROM t_sql WHERE id = ${99}`)).toBeUndefined();
    await expect(one(ds, sql`SELECT id FROM t_sql`)).rejects.toThrow(/expected one row, got 2/);
    expect(await execute(ds, sql`DELETE FROM t_sql WHERE id = ${2}`)).toBe(1);
  });

  it('runs named statements as prepared ones on the transaction connection, errors keeping the code', async () => {
    const q = (id: number) => sql`SELECT v FROM t_sql WHERE id = ${id}`.named('oq_test_sql_by_id');
    await ds.transaction(async (tx) => {
      await execute(tx, sql`INSERT INTO t_sql VALUES (${3}, ${'in-tx'})`);
      // The named statement sees the uncommitted row: it ran on the transaction's connection.
      expect(await one<{ v: string }>(tx, q(3))).toEqual({ v: 'in-tx' });
      expect(await one<{ v: string }>(tx, q(1))).toEqual({ v: 'z' });
      const prepared = await rows<{ name: string }>(tx, sql`SELECT name FROM pg_prepared_statements`);
      expect(prepared.map((p) => p.name)).toContain('oq_test_sql_by_id');
    });
    await expect(
      execute(ds, sql`INSERT INTO t_sql VALUES (${1}, ${'dup'})`.named('oq_test_sql_ins')),
    ).rejects.toMatchObject({ name: 'QueryFailedError', driverError: expect.objectContaining({ code: '23505' }) });
    expect(() => sql`SELECT 2`.named('oq_test_sql_by_id')).not.toThrow();
    await expect(rows(ds, sql`SELECT 2`.named('oq_test_sql_by_id'))).rejects.toThrow(
      /used for two different statements/,
    );
  });

  it('runs several statements in one round trip', async () => {
    await ds.transaction(async (tx) => {
      const results = await runScript(tx, `SAVEPOINT s1; ${inlined(sql`SELECT v FROM t_sql WHERE id = ${1}`)}`);
      expect(results).toEqual([[], [{ v: 'z' }]]);
    });
  });
});
