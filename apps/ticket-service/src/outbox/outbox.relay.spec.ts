import { randomUUID } from 'node:crypto';
import { JobName, QueueName, TicketEvent, buildJob, ticketEventJobId } from '@oq/contracts';
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
  let slaEvents: Queue;

  beforeAll(async () => {
    redis = await RedisServerProcess.start();
    kit = await IngestTestKit.start({ REDIS_URL: redis.url });
    client = new Redis(redis.url, { maxRetriesPerRequest: null });
    sla = new Queue(QueueName.Sla, { connection: client, prefix: kit.prefix });
    slaEvents = new Queue(QueueName.SlaEvents, { connection: client, prefix: kit.prefix });
    // Redis is killed on purpose below; the reconnect errors are expected.
    client.on('error', () => undefined);
    sla.on('error', () => undefined);
    slaEvents.on('error', () => undefined);
    for (const q of kit.app.get(QueueService).all()) q.on('error', () => undefined);
  }, 30000);
  afterAll(async () => {
    await sla?.close();
    await slaEvents?.close();
    client?.disconnect();
    await kit?.app.close();
    await kit?.db.drop();
    await redis?.destroy();
  });

  const writeEvent = async (type: TicketEvent['type'] = 'sla.changed') => {
    const outbox = kit.app.get(OutboxService);
    const ticket = { id: randomUUID(), teamId: null, assigneeId: null };
    const entry = outbox.ticketEvent(type, ticket, { n: 1 });
    await kit.ds.transaction((m) => outbox.write(m, [entry]));
    const [row] = await kit.ds.query(`SELECT max(id) AS id FROM outbox`);
    return { ticket, event: entry.payload as TicketEvent, rowId: row.id as string | null };
  };
  const jobsOf = (queue: Queue, ticketId: string) =>
    queue.getJobs(['waiting', 'delayed', 'completed']).then((jobs) => jobs.filter((j) => j.data.ticketId === ticketId));
  const published = () => {
    const seen: TicketEvent[] = [];
    const sub = kit.app.get(TicketEventBus).events$.subscribe((e) => seen.push(e));
    return { seen, stop: () => sub.unsubscribe() };
  };

  it('fans a committed event out to its subscribers within moments (LISTEN/NOTIFY) and publishes it', async () => {
    const bus = published();
    const { ticket, event } = await writeEvent('sla.changed');
    // The job reaches Redis before the relay commits; the event is published only after the commit.
    const isPublished = () => bus.seen.some((e) => e.ticketId === ticket.id);
    await until(
      async () => (await jobsOf(slaEvents, ticket.id)).length > 0 && isPublished(),
      5000,
      'job on the subscriber queue and event published',
    );
    bus.stop();
    const [job] = await jobsOf(slaEvents, ticket.id);
    expect(job.name).toBe(JobName.TicketEvent);
    expect(job.id).toBe(ticketEventJobId(event));
    expect(job.data).toEqual(event);
    expect(await kit.count('outbox')).toBe(0);
    // Not on the queue sla-worker's timers use: events have queues of their own.
    expect(await jobsOf(sla, ticket.id)).toHaveLength(0);
  });

  it('publishes an event nobody subscribes to without queueing it anywhere', async () => {
    const bus = published();
    const { ticket } = await writeEvent('ticket.updated');
    // Publication comes after every queue took its jobs, in the same relay pass: once it is seen,
    // a job for a subscriber would already be there.
    await until(() => bus.seen.some((e) => e.ticketId === ticket.id), 5000, 'event published');
    bus.stop();
    expect(await jobsOf(slaEvents, ticket.id)).toHaveLength(0);
    expect(await jobsOf(sla, ticket.id)).toHaveLength(0);
    expect(await kit.count('outbox')).toBe(0);
  });

  it.each(['sla', 'events'])(
    'fans out a row at the address %s (the previous release and this one write sla, the next writes events)',
    async (address) => {
      const bus = published();
      const ticketId = randomUUID();
      const payload = buildJob(JobName.TicketEvent, {
        v: 1,
        eventId: randomUUID(),
        type: 'sla.changed',
        ticketId,
        teamId: null,
        assigneeId: null,
        occurredAt: new Date().toISOString(),
        data: {},
      });
      await kit.ds.query(`INSERT INTO outbox (queue, job_name, payload) VALUES ($1, 'ticket-event', $2)`, [
        address,
        JSON.stringify(payload),
      ]);
      await until(async () => (await jobsOf(slaEvents, ticketId)).length > 0, 5000, 'fanned out to events.sla');
      await until(() => bus.seen.some((e) => e.ticketId === ticketId), 5000, 'event published');
      bus.stop();
      expect((await jobsOf(slaEvents, ticketId))[0].id).toBe(ticketEventJobId(payload));
      // Never onto the timers' queue (the previous release's relay puts `sla` rows there; its sla-worker reads them).
      expect(await jobsOf(sla, ticketId)).toHaveLength(0);
    },
  );

  it('keeps rows while Redis is down and relays them once it is back, without duplicates', async () => {
    await redis.stop();
    const { ticket, event, rowId } = await writeEvent();
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
    const jobs = await jobsOf(slaEvents, ticket.id);
    expect(jobs).toHaveLength(1);
    expect(jobs[0].id).toBe(ticketEventJobId(event));
  }, 40000);
});
