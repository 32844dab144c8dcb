import { randomUUID } from 'node:crypto';
import { NestFastifyApplication } from '@nestjs/platform-fastify';
import { JobName, QueueName, slaTimerJobId } from '@oq/contracts';
import { createDataSource } from '@oq/database';
import {
  createTestDatabase,
  dropQueuePrefix,
  TestDatabase,
  testQueuePrefix,
  testServiceEnv,
  TEST_REDIS_URL,
} from '@oq/database/testing/test-env';
import { createHttpApp, QueueService } from '@oq/platform';
import { QueueEvents } from 'bullmq';
import { Redis } from 'ioredis';
import { DataSource } from 'typeorm';
import { AppModule as SlaWorker } from '../../apps/sla-worker/src/app.module';
import { ReconcilerService } from '../../apps/sla-worker/src/timers/reconciler.service';
import { RedisServerProcess } from '../support/redis-server';

/**
 * sla-worker against real Postgres and Redis with real timers of seconds. The
 * clocks are written the way ticket-service writes them (a ticket_sla row, then
 * an sla.changed event on the `sla` queue, as the outbox relay delivers it).
 */
describe('sla-worker timers', () => {
  let db: TestDatabase;
  let ds: DataSource;
  let teamId: string;
  let contactId: string;
  let policyId: string;
  const apps: NestFastifyApplication[] = [];
  const prefixes: string[] = [];
  let redisServer: RedisServerProcess | undefined;

  beforeAll(async () => {
    db = await createTestDatabase();
    ds = createDataSource({ url: db.url, poolSize: 4 });
    await ds.initialize();
    [{ id: teamId }] = await ds.query(`INSERT INTO teams (name) VALUES ('Payments') RETURNING id`);
    [{ id: contactId }] = await ds.query(`INSERT INTO contacts (name) VALUES ('Cust') RETURNING id`);
    [{ id: policyId }] = await ds.query(
      `INSERT INTO sla_policies (name, position, targets, warning_percent, escalation)
       VALUES ('Default', 1, '{}', 50, $1::jsonb) RETURNING id`,
      [
        JSON.stringify({
          breach: [
            { kind: 'raise_priority', priority: 'urgent' },
            { kind: 'notify', message: 'SLA breached' },
          ],
        }),
      ],
    );
  });

  afterAll(async () => {
    for (const app of apps) await app.close();
    await ds?.destroy();
    await db?.drop();
    for (const p of prefixes) await dropQueuePrefix(p);
    await redisServer?.destroy();
  });

  async function boot(prefix: string, extra: Record<string, string> = {}) {
    const app = await createHttpApp(SlaWorker, {
      title: 'sla-worker',
      env: testServiceEnv(db, prefix, { SLA_RECONCILE_MS: '1000', ...extra }),
    });
    await app.listen({ port: 0, host: '127.0.0.1' });
    apps.push(app);
    return app;
  }

  /** A ticket with one active clock due in `dueInMs` (warning halfway), announced to the worker. */
  async function clock(app: NestFastifyApplication, dueInMs: number, metric = 'first_reply', announce = true) {
    const [{ id: ticketId }] = await ds.query(
      `INSERT INTO tickets (team_id, requester_id, channel) VALUES ($1, $2, 'email') RETURNING id`,
      [teamId, contactId],
    );
    const now = Date.now();
    const [{ id }] = await ds.query(
      `INSERT INTO ticket_sla (ticket_id, metric, policy_id, state, target_seconds, started_at, due_at, warn_at)
       VALUES ($1, $2, $3, 'active', $4, $5, $6, $7) RETURNING id`,
      [
        ticketId,
        metric,
        policyId,
        Math.round(dueInMs / 1000),
        new Date(now),
        new Date(now + dueInMs),
        new Date(now + dueInMs / 2),
      ],
    );
    if (announce) await announceChange(app, ticketId);
    return { ticketId, slaId: id as string };
  }

  /** An sla.changed event as the relay fans it out (or, `legacy`, as the previous release relayed it to `sla`). */
  async function announceChange(app: NestFastifyApplication, ticketId: string, legacy = false) {
    await app.get(QueueService).add(legacy ? QueueName.Sla : QueueName.SlaEvents, JobName.TicketEvent, {
      v: 1,
      eventId: randomUUID(),
      type: 'sla.changed',
      ticketId,
      teamId,
      assigneeId: null,
      occurredAt: new Date().toISOString(),
      data: {},
    });
  }

  const trail = (slaId: string) =>
    ds
      .query(`SELECT kind FROM ticket_sla_events WHERE ticket_sla_id = $1 ORDER BY id`, [slaId])
      .then((r: { kind: string }[]) => r.map((e) => e.kind));

  async function until<T>(fn: () => Promise<T>, ok: (v: T) => boolean, ms = 20_000): Promise<T> {
    const deadline = Date.now() + ms;
    for (;;) {
      const v = await fn();
      if (ok(v)) return v;
      if (Date.now() > deadline) throw new Error(`condition not met in ${ms} ms: ${JSON.stringify(v)}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  it('arms short deterministic timers, warns then breaches on time, escalates through the outbox, counts in /metrics', async () => {
    const prefix = testQueuePrefix();
    prefixes.push(prefix);
    const app = await boot(prefix, { SLA_RECONCILE_MS: '60000' });
    const { ticketId, slaId } = await clock(app, 2000);
    const q = app.get(QueueService).queue(QueueName.Sla);
    const jobId = slaTimerJobId(ticketId, 'first_reply', 'breach');
    expect(jobId.length).toBeLessThanOrEqual(24);
    await until(
      () => q.getJob(jobId),
      (j) => !!j,
    );

    const [row] = await until(
      () => ds.query(`SELECT state, due_at, breached_at, warned_at FROM ticket_sla WHERE id = $1`, [slaId]),
      (r) => r[0].state === 'breached',
    );
    const late = row.breached_at.getTime() - row.due_at.getTime();
    expect(late).toBeGreaterThanOrEqual(0);
    expect(late).toBeLessThan(1000);
    expect(row.warned_at).not.toBeNull();
    expect(await trail(slaId)).toEqual(['warn', 'breach']);

    const outbox = await ds.query(
      `SELECT queue, job_name, job_id, payload FROM outbox WHERE payload->>'ticketId' = $1`,
      [ticketId],
    );
    expect(
      outbox
        .map((o: { payload: { type?: string } }) => o.payload.type)
        .filter(Boolean)
        .sort(),
    ).toEqual(['sla.breached', 'sla.warning']);
    const command = outbox.find((o: { queue: string }) => o.queue === QueueName.TicketCommands);
    expect(command).toMatchObject({
      job_id: `sla-${slaId}-breach`,
      payload: {
        commandId: `sla-${slaId}-breach`,
        actions: [{ kind: 'raise_priority', priority: 'urgent' }, { kind: 'notify' }],
      },
    });
    // The fired timer was removed on completion.
    await until(
      () => q.getJob(jobId),
      (j) => !j,
    );
    const metrics = await (await fetch(`${await app.getUrl()}/metrics`)).text();
    expect(metrics).toMatch(/oq_sla_breaches_total\{metric="first_reply"[^}]*\} 1/);
    expect(metrics).toMatch(/oq_sla_warnings_total\{metric="first_reply"[^}]*\} 1/);
  });

  /**
   * The sla queue's event stream under `prefix`, read from its start: a timer's own outcome (timers are
   * removed on completion, so their events are what is left of them) however early it came. Collected
   * from construction on, before the replay begins, so no event is missed by a wait that starts later.
   */
  function timerEvents(prefix: string) {
    const connection = new Redis(TEST_REDIS_URL, { maxRetriesPerRequest: null });
    const events = new QueueEvents(QueueName.Sla, { connection, prefix, lastEventId: '0-0' });
    const finished = new Map<string, unknown>();
    const delays: { jobId: string; until: number }[] = [];
    events.on('completed', (e) => finished.set(e.jobId, e.returnvalue));
    events.on('failed', (e) => finished.set(e.jobId, { failedReason: e.failedReason }));
    events.on('delayed', (e) => delays.push({ jobId: e.jobId, until: Number(e.delay) }));
    return {
      /** The job's result once it finished (its failure reason if it failed). */
      finished: async (jobId: string) =>
        (
          await until(
            async () => finished,
            (f) => f.has(jobId),
            10_000,
          )
        ).get(jobId),
      /** When the job was (re-)delayed to, the first time that `accept`s it. */
      delayed: async (jobId: string, accept: (until: number) => boolean) =>
        (await until(
          async () => delays.find((d) => d.jobId === jobId && accept(d.until)),
          (d) => !!d,
          10_000,
        ))!.until,
      close: async () => {
        await events.close();
        connection.disconnect();
      },
    };
  }

  it('re-arms from an sla.changed event the previous release left on the sla queue (one release of compatibility)', async () => {
    const prefix = testQueuePrefix();
    prefixes.push(prefix);
    // The reconciler would arm only clocks due within 1 s: the timer can come from the event alone.
    const app = await boot(prefix, { SLA_RECONCILE_MS: '60000', SLA_REARM_HORIZON_MS: '1000' });
    const { ticketId } = await clock(app, 60_000, 'first_reply', false);
    await announceChange(app, ticketId, true);
    const q = app.get(QueueService).queue(QueueName.Sla);
    await until(
      () => q.getJob(slaTimerJobId(ticketId, 'first_reply', 'breach')),
      (j) => !!j,
    );
  });

  it('a timer that fires after its ticket was answered records nothing; a moved due time re-delays the timer', async () => {
    const prefix = testQueuePrefix();
    prefixes.push(prefix);
    const app = await boot(prefix, { SLA_RECONCILE_MS: '60000' });
    const answered = await clock(app, 1500);
    const moved = await clock(app, 1500, 'resolution');
    const q = app.get(QueueService).queue(QueueName.Sla);
    const answeredTimers = (['warning', 'breach'] as const).map((stage) =>
      slaTimerJobId(answered.ticketId, 'first_reply', stage),
    );
    const movedTimer = slaTimerJobId(moved.ticketId, 'resolution', 'breach');
    await until(
      () => Promise.all([...answeredTimers, movedTimer].map((id) => q.getJob(id))),
      (jobs) => jobs.every(Boolean),
    );
    const events = timerEvents(prefix);
    try {
      // Answered without telling the worker (its timers stay armed); the other clock's due moves 3 s later, also unannounced.
      await ds.query(`UPDATE ticket_sla SET state = 'fulfilled', fulfilled_at = now() WHERE id = $1`, [answered.slaId]);
      const [[{ due_at: newDue }]] = await ds.query(
        `UPDATE ticket_sla SET due_at = due_at + interval '3 seconds', warn_at = NULL WHERE id = $1 RETURNING due_at`,
        [moved.slaId],
      );
      // The answered clock's timers fire on time and, by their own results, record nothing.
      expect(await Promise.all(answeredTimers.map(events.finished))).toEqual([
        { warned: false, breached: false, notDueUntil: null },
        { warned: false, breached: false, notDueUntil: null },
      ]);
      expect(await trail(answered.slaId)).toEqual([]);
      // The moved clock's timer fired at the old due time, found it not due and went back to wait for the new one.
      const redelayedTo = await events.delayed(movedTimer, (at) => at > newDue.getTime() - 1000);
      expect(Math.abs(redelayedTo - newDue.getTime())).toBeLessThan(50);
    } finally {
      await events.close();
    }
    expect((await ds.query(`SELECT state FROM ticket_sla WHERE id = $1`, [moved.slaId]))[0].state).toBe('active');
    expect(await trail(moved.slaId)).toEqual([]);
    const [row] = await until(
      () => ds.query(`SELECT state, due_at, breached_at FROM ticket_sla WHERE id = $1`, [moved.slaId]),
      (r) => r[0].state === 'breached',
    );
    expect(row.breached_at.getTime() - row.due_at.getTime()).toBeLessThan(1000);
    expect(await trail(answered.slaId)).toEqual([]);
  });

  it('after FLUSHALL of its Redis with armed timers, the reconciler still records every breach', async () => {
    redisServer = await RedisServerProcess.start();
    const prefix = testQueuePrefix();
    const app = await boot(prefix, { REDIS_URL: redisServer.url, SLA_REARM_HORIZON_MS: '60000' });
    const clocks = await Promise.all(Array.from({ length: 20 }, (_, i) => clock(app, 8000 + i * 50)));
    const q = app.get(QueueService).queue(QueueName.Sla);
    // Armed (20 clocks × warning + breach) well before the first is due.
    await until(
      () => q.getDelayedCount(),
      (n) => n >= 40,
      7000,
    );
    const redis = new Redis(redisServer.url);
    await redis.flushall();
    expect(await q.getDelayedCount()).toBe(0);
    // Also one clock whose event never reached the worker at all.
    const silent = await clock(app, 1500, 'resolution', false);
    const ids = [...clocks, silent].map((c) => c.slaId);
    const rows = await until(
      () => ds.query(`SELECT state FROM ticket_sla WHERE id = ANY($1::uuid[]) AND state = 'breached'`, [ids]),
      (r) => r.length === ids.length,
      25_000,
    );
    expect(rows).toHaveLength(21);
    // Each breach exactly once on the trail.
    const [{ n }] = await ds.query(
      `SELECT count(*)::int AS n FROM ticket_sla_events WHERE kind = 'breach' AND ticket_sla_id = ANY($1::uuid[])`,
      [ids],
    );
    expect(n).toBe(21);
    redis.disconnect();
  }, 60_000);

  it('two replicas record each breach and issue each escalation exactly once', async () => {
    const prefix = testQueuePrefix();
    prefixes.push(prefix);
    const a = await boot(prefix);
    const b = await boot(prefix);
    // Every reconcile run from here on (each replica ticks every second), to wait for the ones under way.
    const reconciles = [a, b].map((app) => jest.spyOn(app.get(ReconcilerService), 'runOnce'));
    const clocks = await Promise.all(Array.from({ length: 30 }, () => clock(a, 1500)));
    // Duplicate announcements and an explicit reconcile race the timers on both replicas.
    for (const c of clocks.slice(0, 10)) await announceChange(a, c.ticketId);
    const ids = clocks.map((c) => c.slaId);
    await until(
      () => ds.query(`SELECT 1 FROM ticket_sla WHERE id = ANY($1::uuid[]) AND state = 'breached'`, [ids]),
      (r) => r.length === ids.length,
      15_000,
    );
    // A duplicate could come of a timer (re-armed by the duplicate announcements) or a reconcile under
    // way. Wait until no timer or announcement of these tickets is left on the queue (timers are removed
    // when they finish) and every reconcile started so far has finished; then one more reconcile finds
    // nothing to do. Any duplicate would be on the trail by now.
    const tickets = new Set(clocks.map((c) => c.ticketId));
    const q = a.get(QueueService).queue(QueueName.Sla);
    await until(
      async () =>
        (await q.getJobs(['waiting', 'active', 'delayed', 'prioritized'])).filter((j) => tickets.has(j?.data?.ticketId))
          .length,
      (pending) => pending === 0,
    );
    await Promise.allSettled(reconciles.flatMap((spy) => spy.mock.results.map((r) => r.value)));
    expect(await a.get(ReconcilerService).runOnce()).toEqual({ fired: 0, rearmed: 0 });
    reconciles.forEach((spy) => spy.mockRestore());
    const [{ breaches }] = await ds.query(
      `SELECT count(*)::int AS breaches FROM ticket_sla_events WHERE kind = 'breach' AND ticket_sla_id = ANY($1::uuid[])`,
      [ids],
    );
    expect(breaches).toBe(30);
    const [{ commands, distinct }] = await ds.query(
      `SELECT count(*)::int AS commands, count(DISTINCT job_id)::int AS distinct FROM outbox
        WHERE queue = $1 AND payload->>'ticketId' = ANY($2::text[])`,
      [QueueName.TicketCommands, clocks.map((c) => c.ticketId)],
    );
    expect(commands).toBe(30);
    expect(distinct).toBe(30);
  }, 40_000);
});
