import { randomUUID } from 'node:crypto';
import { JobName, QueueName, TicketEvent } from '@oq/contracts';
import { QueueService } from '@oq/platform';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { RedisServerProcess } from '../../../../test/support/redis-server';
import { until } from '../../../../test/support/until';
import { IngestTestKit } from '../inbound/ingest-test-kit';
import { OutboxService, TicketEventBus } from './outbox.service';

describe('outbox relay (real Postgres, throwaway Redis)', () => {
  let redis: RedisServerProcess;
  let kit: IngestTestKit;
  let client: Redis;
  let sla: Queue;

  beforeAll(async () => {
    redis = await RedisServerProcess.start();
    kit = await IngestTestKit.start({ REDIS_URL: redis.url });
    client = new Redis(redis.url, { maxRetriesPerRequest: null });
    sla = new Queue(QueueName.Sla, { connection: client, prefix: kit.prefix });
    // Redis is killed on purpose below; the reconnect errors are expected.
    client.on('error', () => undefined);
    sla.on('error', () => undefined);
    for (const q of kit.app.get(QueueService).all()) q.on('error', () => undefined);
  }, 30000);
  afterAll(async () => {
    await sla?.close();
    client?.disconnect();
    await kit?.app.close();
    await kit?.db.drop();
    await redis?.destroy();
  });

  const writeEvent = async () => {
    const outbox = kit.app.get(OutboxService);
    const ticket = { id: randomUUID(), teamId: null, assigneeId: null };
    await kit.ds.transaction((m) => outbox.write(m, [outbox.ticketEvent('ticket.updated', ticket, { n: 1 })]));
    const [row] = await kit.ds.query(`SELECT max(id) AS id FROM outbox`);
    return { ticket, rowId: row.id as string | null };
  };
  const jobOf = (ticketId: string) =>
    sla.getJobs(['waiting', 'delayed', 'completed']).then((jobs) => jobs.find((j) => j.data.ticketId === ticketId));

  it('moves committed rows to BullMQ within moments (LISTEN/NOTIFY) and publishes ticket events', async () => {
    const seen: TicketEvent[] = [];
    const sub = kit.app.get(TicketEventBus).events$.subscribe((e) => seen.push(e));
    const { ticket } = await writeEvent();
    // The job reaches Redis before the relay commits; the event is published only after the commit.
    const published = () => seen.some((e) => e.ticketId === ticket.id);
    await until(async () => !!(await jobOf(ticket.id)) && published(), 5000, 'job relayed and event published');
    const job = await jobOf(ticket.id);
    sub.unsubscribe();
    expect(job?.name).toBe(JobName.TicketEvent);
    expect(job?.id).toMatch(/^outbox-\d+$/);
    expect(await kit.count('outbox')).toBe(0);
    expect(seen.map((e) => e.ticketId)).toContain(ticket.id);
  });

  it('keeps rows while Redis is down and relays them once it is back, without duplicates', async () => {
    await redis.stop();
    const { ticket, rowId } = await writeEvent();
    // Woken by the commit, the relay claims the row (DELETE … RETURNING) and, in the same transaction,
    // waits for Redis to take the job: its transaction sits idle with the DELETE done but not committed.
    await until(
      async () =>
        (
          await kit.ds.query(
            `SELECT 1 FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()
                AND state = 'idle in transaction' AND query LIKE 'DELETE FROM outbox%'`,
          )
        ).length > 0,
      5000,
      "the relay's DELETE waiting for Redis",
    );
    // Redis never accepted the job: the DELETE has not committed, the row is still there.
    expect(await kit.count('outbox WHERE id = $1', [rowId])).toBe(1);

    await redis.start();
    await until(async () => (await kit.count('outbox')) === 0, 15000, 'outbox relayed');
    const jobs = (await sla.getJobs(['waiting', 'delayed', 'completed'])).filter((j) => j.data.ticketId === ticket.id);
    expect(jobs).toHaveLength(1);
    expect(jobs[0].id).toBe(`outbox-${rowId}`);
  }, 40000);
});
