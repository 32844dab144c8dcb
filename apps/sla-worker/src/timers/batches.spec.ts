import { randomUUID } from 'node:crypto';
import { NestFastifyApplication } from '@nestjs/platform-fastify';
import { QueueName, slaTimerJobId } from '@oq/contracts';
import { roundTrips } from '@oq/database';
import {
  createTestDatabase,
  dropQueuePrefix,
  TestDatabase,
  testQueuePrefix,
  testServiceEnv,
} from '@oq/database/testing/test-env';
import { createHttpApp, QueueService } from '@oq/platform';
import { DataSource } from 'typeorm';
import { AppModule } from '../app.module';
import { ReconcilerService } from './reconciler.service';
import { SlaFiringService } from './sla-firing.service';
import { SlaTimersService } from './sla-timers.service';

/**
 * Firings and re-arms that arrive side by side share their statements (one transaction for the
 * firings, one read and two Redis round trips for the re-arms), with the same outcome per
 * clock as one at a time — against real Postgres and Redis, in the booted worker.
 */
describe('sla-worker batches', () => {
  let db: TestDatabase;
  let app: NestFastifyApplication;
  let ds: DataSource;
  const prefix = testQueuePrefix();
  let teamId: string;
  let contactId: string;
  let policyId: string;

  beforeAll(async () => {
    db = await createTestDatabase();
    // No reconciler pass during the spec: it would fire the overdue clocks itself.
    app = await createHttpApp(AppModule, {
      title: 'sla-worker',
      env: testServiceEnv(db, prefix, { SLA_RECONCILE_MS: '600000' }),
    });
    await app.listen({ port: 0, host: '127.0.0.1' });
    ds = app.get(DataSource);
    // Nor its boot turn, which may still be under way: stopped (and waited for) before any clock exists.
    await app.get(ReconcilerService).beforeApplicationShutdown();
    [{ id: teamId }] = await ds.query(`INSERT INTO teams (name) VALUES ('Payments') RETURNING id`);
    [{ id: contactId }] = await ds.query(`INSERT INTO contacts (name) VALUES ('Cust') RETURNING id`);
    [{ id: policyId }] = await ds.query(
      `INSERT INTO sla_policies (name, position, targets, escalation) VALUES ('Default', 1, '{}', $1::jsonb) RETURNING id`,
      [JSON.stringify({ breach: [{ kind: 'notify', message: 'SLA breached' }] })],
    );
  });
  afterAll(async () => {
    await app?.close();
    await db?.drop();
    await dropQueuePrefix(prefix);
  });

  /** `n` tickets with one active clock each, warning and due at these offsets from now (ms). */
  async function clocks(
    n: number,
    metric: string,
    warnIn: number,
    dueIn: number,
  ): Promise<{ id: string; ticket_id: string }[]> {
    return ds.query(
      `WITH t AS (INSERT INTO tickets (team_id, requester_id, channel) SELECT $1, $2, 'email' FROM generate_series(1, $3) RETURNING id)
       INSERT INTO ticket_sla (ticket_id, metric, policy_id, state, target_seconds, started_at, due_at, warn_at)
       SELECT id, $4, $5, 'active', 60, now() - interval '1 hour', now() + make_interval(secs => $7::double precision / 1000),
              now() + make_interval(secs => $6::double precision / 1000) FROM t
       RETURNING id, ticket_id`,
      [teamId, contactId, n, metric, policyId, warnIn, dueIn],
    );
  }

  it('fires clocks arriving together in one transaction, each as firing it alone would', async () => {
    const overdue = await clocks(30, 'first_reply', -120_000, -60_000);
    const [notDue] = await clocks(1, 'first_reply', 3_600_000, 7_200_000);
    const firing = app.get(SlaFiringService);
    const trips = roundTrips(ds);
    const results = await Promise.all([
      ...overdue.map((c) => firing.fire(c.ticket_id, 'first_reply')),
      // A duplicate timer of the first five, and a clock not due yet.
      ...overdue.slice(0, 5).map((c) => firing.fire(c.ticket_id, 'first_reply')),
      firing.fire(notDue.ticket_id, 'first_reply'),
    ]);
    const spent = roundTrips(ds) - trips;

    expect(results.slice(0, 30)).toEqual(overdue.map(() => ({ warned: true, breached: true, notDueUntil: null })));
    expect(results.slice(30, 35)).toEqual(
      overdue.slice(0, 5).map(() => ({ warned: false, breached: false, notDueUntil: null })),
    );
    const [notDueRow] = await ds.query(`SELECT due_at, warn_at FROM ticket_sla WHERE id = $1`, [notDue.id]);
    expect(results[35]).toEqual({ warned: false, breached: false, notDueUntil: notDueRow.warn_at.getTime() });

    for (const c of overdue) {
      const trail = await ds.query(`SELECT kind FROM ticket_sla_events WHERE ticket_sla_id = $1 ORDER BY id`, [c.id]);
      expect(trail.map((e: { kind: string }) => e.kind)).toEqual(['warn', 'breach']);
      const jobs = await ds.query(
        `SELECT job_name, job_id, payload->>'type' AS type FROM outbox WHERE payload->>'ticketId' = $1 ORDER BY id`,
        [c.ticket_id],
      );
      expect(jobs).toEqual([
        { job_name: 'ticket-event', job_id: null, type: 'sla.warning' },
        { job_name: 'ticket-event', job_id: null, type: 'sla.breached' },
        { job_name: 'ticket-command', job_id: `sla-${c.id}-breach`, type: null },
      ]);
    }
    const [state] = await ds.query(
      `SELECT count(*) FILTER (WHERE state = 'breached')::int AS breached, count(*) FILTER (WHERE warned_at IS NOT NULL)::int AS warned
         FROM ticket_sla WHERE id = ANY($1::uuid[])`,
      [overdue.map((c) => c.id)],
    );
    expect(state).toEqual({ breached: 30, warned: 30 });
    // One at a time is six round trips per clock (180 here); together a few batches of six.
    expect(spent).toBeLessThan(60);
  });

  it('re-arms tickets arriving together from one read, removing and adding their timers', async () => {
    const running = await clocks(20, 'resolution', 3_600_000, 7_200_000);
    const timers = app.get(SlaTimersService);
    const q = app.get(QueueService).queue(QueueName.Sla);
    const noClocks = randomUUID();
    const armed = await Promise.all([
      ...running.map((c) => timers.rearmTicket(c.ticket_id)),
      timers.rearmTicket(noClocks),
    ]);
    expect(armed).toEqual([...running.map(() => 2), 0]);

    // Moved later: a second round replaces every timer with the new instants.
    await ds.query(
      `UPDATE ticket_sla SET due_at = due_at + interval '1 hour', warn_at = warn_at + interval '1 hour' WHERE id = ANY($1::uuid[])`,
      [running.map((c) => c.id)],
    );
    const trips = roundTrips(ds);
    expect(await Promise.all(running.map((c) => timers.rearmTicket(c.ticket_id)))).toEqual(running.map(() => 2));
    expect(roundTrips(ds) - trips).toBeLessThan(running.length / 2);
    for (const c of running) {
      const [row] = await ds.query(`SELECT due_at, warn_at FROM ticket_sla WHERE id = $1`, [c.id]);
      for (const [stage, at] of [
        ['breach', row.due_at],
        ['warning', row.warn_at],
      ] as const) {
        const job = await q.getJob(slaTimerJobId(c.ticket_id, 'resolution', stage));
        expect(job?.data).toMatchObject({
          ticketId: c.ticket_id,
          metric: 'resolution',
          stage,
          dueAt: at.toISOString(),
        });
        expect(await job?.getState()).toBe('delayed');
        // Delayed until its instant (give or take the time the spec took since).
        expect(Math.abs(job!.timestamp + job!.delay - at.getTime())).toBeLessThan(5_000);
      }
    }
    expect(await q.getDelayedCount()).toBe(running.length * 2);
  });
});
