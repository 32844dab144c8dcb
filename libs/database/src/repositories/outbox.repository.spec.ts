import { DataSource } from 'typeorm';
import { createDataSource } from '../data-source';
import { rows } from '../sql/db';
import { sql } from '../sql/sql';
import { createTestDatabase, TestDatabase } from '../testing/test-env';
import { OutboxRepository } from './outbox.repository';

/**
 * The relay specs cover the happy path; here: many rows keep their order and exact payloads in one
 * statement, rows the relay cannot deliver become dead letters, and the lag gauge's reading.
 */
describe('OutboxRepository', () => {
  let db: TestDatabase;
  let ds: DataSource;
  let repo: OutboxRepository;

  beforeAll(async () => {
    db = await createTestDatabase();
    ds = createDataSource({ url: db.url, poolSize: 3 });
    await ds.initialize();
    repo = new OutboxRepository(ds);
  });

  afterAll(async () => {
    await ds?.destroy();
    await db?.drop();
  });

  it('writes jobs in order with their ids, delays and payloads as given, and claims them', async () => {
    expect(await repo.lagSeconds()).toBe(0);
    const tricky = { text: 'quote " backslash \\ brace } comma , NULL ü 😀', nested: { a: [1, null, 'x'] } };
    const jobs = Array.from({ length: 300 }, (_, i) => ({
      queue: i % 2 ? 'sla' : 'ticket-commands',
      jobName: 'ticket.event',
      payload: { i, ...tricky },
      ...(i % 3 ? { jobId: `job-${i}` } : {}),
      ...(i % 5 === 0 ? { delayMs: i * 10 } : {}),
    }));
    await ds.transaction((m) => repo.with(m).insertMany(jobs));
    await repo.insertMany([]);
    expect(await repo.lagSeconds()).toBeGreaterThanOrEqual(0);

    const claimed = await ds.transaction((m) => repo.with(m).claim(1000));
    claimed.sort((a, b) => Number(a.id) - Number(b.id));
    expect(claimed.map((r) => (r.payload as { i: number }).i)).toEqual(jobs.map((_, i) => i));
    expect(claimed[0]).toMatchObject({ queue: 'ticket-commands', job_name: 'ticket.event', job_id: null, delay_ms: 0 });
    expect(claimed[5]).toMatchObject({ job_id: 'job-5', delay_ms: 50 });
    expect(claimed[7].payload).toEqual({ i: 7, ...tricky });
    expect(await rows(ds, sql`SELECT 1 FROM outbox`)).toEqual([]);
  });

  it('parks undeliverable rows as dead letters with their payload bytes', async () => {
    await repo.deadLetter([{ queue: 'nope', jobName: 'nope.job', jobId: 'outbox-1', payloadText: '{"a":"\\u00e9"}' }]);
    expect(
      await rows(
        ds,
        sql`SELECT queue, job_name, job_id, convert_from(payload_bytes, 'UTF8') AS p, reason FROM dead_letters`,
      ),
    ).toEqual([
      {
        queue: 'nope',
        job_name: 'nope.job',
        job_id: 'outbox-1',
        p: '{"a":"\\u00e9"}',
        reason: 'outbox row names an unknown queue or job',
      },
    ]);
  });
});
