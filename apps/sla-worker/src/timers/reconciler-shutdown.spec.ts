import { NestFastifyApplication } from '@nestjs/platform-fastify';
import { createDataSource } from '@oq/database';
import {
  createTestDatabase,
  dropQueuePrefix,
  TestDatabase,
  testQueuePrefix,
  testServiceEnv,
} from '@oq/database/testing/test-env';
import { createHttpApp } from '@oq/platform';
import { DataSource } from 'typeorm';
import { AppModule } from '../app.module';
import { SlaFiringService } from './sla-firing.service';

/**
 * sla-worker's reconciler at shutdown, against real Postgres and Redis: a pass firing a backlog
 * of overdue clocks (no timers armed, so the reconciler is the only one firing) ends after the
 * clock in hand — that one committed with its trail and outbox rows, the rest left for the next pass.
 */
describe('ReconcilerService shutdown', () => {
  const OVERDUE = 1000;
  let db: TestDatabase;
  let ds: DataSource;
  const prefix = testQueuePrefix();

  beforeAll(async () => {
    db = await createTestDatabase();
    ds = createDataSource({ url: db.url, poolSize: 2 });
    await ds.initialize();
  });
  afterAll(async () => {
    await ds?.destroy();
    await db?.drop();
    await dropQueuePrefix(prefix);
  });

  it('stops after the clock it is firing, not after the whole pass and not in the middle of one', async () => {
    const app: NestFastifyApplication = await createHttpApp(AppModule, {
      title: 'sla-worker',
      env: testServiceEnv(db, prefix, { SLA_RECONCILE_MS: '200' }),
    });
    await app.listen({ port: 0, host: '127.0.0.1' });

    // Counts the reconciler's fires as they start and end (it calls the service one clock at a time).
    const firing = app.get(SlaFiringService);
    const fire = firing.fire.bind(firing);
    let started = 0;
    let finished = 0;
    let reachedFive!: () => void;
    const five = new Promise<void>((r) => (reachedFive = r));
    jest.spyOn(firing, 'fire').mockImplementation(async (...args) => {
      started++;
      try {
        return await fire(...args);
      } finally {
        if (++finished === 5) reachedFive();
      }
    });

    const [{ id: teamId }] = await ds.query(`INSERT INTO teams (name) VALUES ('Payments') RETURNING id`);
    const [{ id: contactId }] = await ds.query(`INSERT INTO contacts (name) VALUES ('Cust') RETURNING id`);
    const [{ id: policyId }] = await ds.query(
      `INSERT INTO sla_policies (name, position, targets, escalation) VALUES ('Default', 1, '{}', $1::jsonb) RETURNING id`,
      [JSON.stringify({ breach: [{ kind: 'notify', message: 'SLA breached' }] })],
    );
    await ds.query(
      `WITH t AS (INSERT INTO tickets (team_id, requester_id, channel)
                  SELECT $1, $2, 'email' FROM generate_series(1, $3) RETURNING id)
       INSERT INTO ticket_sla (ticket_id, metric, policy_id, state, target_seconds, started_at, due_at)
       SELECT id, 'first_reply', $4, 'active', 60, now() - interval '2 minutes', now() - interval '1 minute' FROM t`,
      [teamId, contactId, OVERDUE, policyId],
    );

    await five;
    await app.close();
    const atClose = { started, finished };

    // The clock in hand finished before close() returned, and nothing started after it …
    expect(atClose.started).toBe(atClose.finished);
    // … and the pass stopped there instead of working through the backlog first.
    expect(atClose.finished).toBeLessThan(OVERDUE);
    // Every breach it recorded is whole: clock, trail event, sla.breached event and command.
    const [row] = await ds.query(
      `SELECT (SELECT count(*)::int FROM ticket_sla WHERE state = 'breached') AS breached,
              (SELECT count(*)::int FROM ticket_sla WHERE state = 'active') AS active,
              (SELECT count(*)::int FROM ticket_sla_events WHERE kind = 'breach') AS trail,
              (SELECT count(*)::int FROM outbox WHERE job_name = 'ticket-command') AS commands,
              (SELECT count(*)::int FROM outbox WHERE payload->>'type' = 'sla.breached') AS events`,
    );
    expect(row).toEqual({
      breached: atClose.finished,
      active: OVERDUE - atClose.finished,
      trail: atClose.finished,
      commands: atClose.finished,
      events: atClose.finished,
    });
  });
});
