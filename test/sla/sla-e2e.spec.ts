import { NestFastifyApplication } from '@nestjs/platform-fastify';
import { JobName, QueueName, slaTimerJobId, TicketEvent } from '@oq/contracts';
import { TEST_REDIS_URL, TestDatabase, testServiceEnv } from '@oq/database/testing/test-env';
import { createHttpApp, QueueService } from '@oq/platform';
import { Job, QueueEvents } from 'bullmq';
import { Redis } from 'ioredis';
import { AppModule as SlaWorker } from '../../apps/sla-worker/src/app.module';
import { TicketEventBus } from '../../apps/ticket-service/src/outbox/outbox.service';
import { ApiHarness } from '../../apps/ticket-service/src/tickets/api-test-harness';

/**
 * The whole SLA loop with both services: admin API → policy; agent API → ticket
 * (clocks in the ticket's transaction) → outbox relay → sla-worker arms a timer →
 * breach recorded → escalation command → ticket-service applies it once and agents
 * get realtime events. Real Postgres, Redis and timers of seconds.
 */
describe('SLA end to end', () => {
  const h = new ApiHarness();
  let worker: NestFastifyApplication;
  const events: TicketEvent[] = [];

  beforeAll(async () => {
    await h.start();
    // The harness's private database and queue prefix: the worker must share both.
    const internals = h as unknown as { db: TestDatabase; prefix: string };
    worker = await createHttpApp(SlaWorker, {
      title: 'sla-worker',
      env: testServiceEnv(internals.db, internals.prefix, { SLA_RECONCILE_MS: '2000' }),
    });
    await worker.listen({ port: 0, host: '127.0.0.1' });
    h.app.get(TicketEventBus).events$.subscribe((e) => events.push(e));
  }, 60_000);
  afterAll(async () => {
    await worker?.close();
    await h.stop();
  });

  async function until<T>(fn: () => Promise<T>, ok: (v: T) => boolean, ms = 10_000): Promise<T> {
    const deadline = Date.now() + ms;
    for (;;) {
      const v = await fn();
      if (ok(v)) return v;
      if (Date.now() > deadline) throw new Error(`condition not met in ${ms} ms: ${JSON.stringify(v)}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  it('admin API validates schedules and policies and is admin-only', async () => {
    expect((await h.call('alice', 'GET', '/v1/admin/sla/policies')).status).toBe(403);
    const bad = await h.call('admin', 'POST', '/v1/admin/sla/schedules', {
      name: 'Mars',
      timezone: 'Mars/Olympus',
      weekly: [{ day: 1, start: '09:00', end: '17:00' }],
    });
    expect(bad).toMatchObject({ status: 400, body: { message: expect.stringMatching(/unknown time zone/) } });
    const badTime = await h.call('admin', 'POST', '/v1/admin/sla/schedules', {
      name: 'x',
      timezone: 'UTC',
      weekly: [{ day: 1, start: '9am', end: '17:00' }],
    });
    expect(badTime.status).toBe(400);
    const sched = await h.call('admin', 'POST', '/v1/admin/sla/schedules', {
      name: 'Berlin office',
      timezone: 'Europe/Berlin',
      weekly: [1, 2, 3, 4, 5].map((day) => ({ day, start: '09:00', end: '17:00' })),
      holidays: [{ date: '2026-12-25', yearly: true }],
    });
    expect(sched.status).toBe(201);
    const noSchedule = await h.call('admin', 'POST', '/v1/admin/sla/policies', {
      name: 'Business',
      targets: { first_reply: { normal: { seconds: 3600, businessTime: true } } },
    });
    expect(noSchedule).toMatchObject({ status: 400, body: { message: expect.stringMatching(/no scheduleId/) } });
    const inUse = await h.call('admin', 'POST', '/v1/admin/sla/policies', {
      name: 'Office hours (inactive)',
      targets: { first_reply: { normal: { seconds: 3600, businessTime: true } } },
      scheduleId: sched.body.id,
      active: false,
    });
    expect(inUse.status).toBe(201);
    expect((await h.call('admin', 'DELETE', `/v1/admin/sla/schedules/${sched.body.id}`)).status).toBe(409);
  });

  it('breach → escalation applied once (priority raised, agents notified in realtime, supervisor emailed), trail on the ticket API', async () => {
    const policy = await h.call('admin', 'POST', '/v1/admin/sla/policies', {
      name: 'Email',
      position: 1,
      conditions: { channel: ['email'] },
      targets: {
        first_reply: { normal: { seconds: 2 }, high: { seconds: 2 }, urgent: { seconds: 60 } },
        resolution: { normal: { seconds: 3600 }, urgent: { seconds: 1800 } },
      },
      warningPercent: 50,
      escalation: {
        breach: [
          { kind: 'raise_priority', priority: 'urgent' },
          { kind: 'notify', message: 'First reply overdue' },
          { kind: 'email_supervisor', email: 'lead@wallet.example', message: 'First reply overdue' },
        ],
      },
    });
    expect(policy.status).toBe(201);
    const ticket = await h.createTicket('alice');
    const sla = await h.call('alice', 'GET', `/v1/tickets/${ticket.id}/sla`);
    expect(sla.status).toBe(200);
    expect(sla.body.clocks.map((c: { metric: string }) => c.metric).sort()).toEqual(['first_reply', 'resolution']);
    // Bob's team cannot see the ticket: 404, not 403.
    expect((await h.call('bob', 'GET', `/v1/tickets/${ticket.id}/sla`)).status).toBe(404);

    const [t] = await until(
      () => h.ds.query(`SELECT priority FROM tickets WHERE id = $1`, [ticket.id]),
      (r) => r[0].priority === 'urgent',
    );
    expect(t.priority).toBe('urgent');
    const trail = (await h.call('alice', 'GET', `/v1/tickets/${ticket.id}/sla`)).body;
    const fr = trail.clocks.find((c: { metric: string }) => c.metric === 'first_reply');
    expect(fr.state).toBe('breached');
    expect(fr.events.map((e: { kind: string }) => e.kind)).toEqual(['activate', 'warn', 'breach']);
    expect(new Date(fr.breachedAt).getTime() - new Date(fr.dueAt).getTime()).toBeLessThan(1000);
    // The raised priority re-targeted the resolution clock (a breached clock keeps its breach).
    const res = trail.clocks.find((c: { metric: string }) => c.metric === 'resolution');
    expect(res.events.map((e: { kind: string }) => e.kind)).toEqual(['activate', 'retarget']);

    await until(
      async () => events.filter((e) => e.ticketId === ticket.id).map((e) => e.type),
      (types) => types.includes('sla.breached') && types.includes('sla.warning'),
    );
    await until(
      async () => events.find((e) => e.ticketId === ticket.id && (e.data as { notification?: unknown }).notification),
      (e) => !!e,
    );
    const audit = await h.ds.query(
      `SELECT changes FROM ticket_audit WHERE ticket_id = $1 AND action = 'sla_escalation'`,
      [ticket.id],
    );
    expect(audit).toHaveLength(1);
    expect(audit[0].changes.actions.map((a: { kind: string }) => a.kind)).toEqual([
      'raise_priority',
      'notify',
      'email_supervisor',
    ]);
    const mail = await h.ds.query(
      `SELECT kind, direction, delivery_status, metadata FROM messages WHERE ticket_id = $1 AND kind = 'system'`,
      [ticket.id],
    );
    expect(mail).toMatchObject([
      { direction: 'internal', delivery_status: 'queued', metadata: { to: 'lead@wallet.example' } },
    ]);
    const outbound = await h.ds.query(`SELECT count(*)::int AS n FROM outbox WHERE queue = 'outbound.email'`);
    const queued = await h.app.get(QueueService).queue(QueueName.OutboundEmail).getJobCounts();
    expect(outbound[0].n + Object.values(queued).reduce((a, b) => a + b, 0)).toBeGreaterThanOrEqual(1);

    // The same command delivered again (a retry, a duplicate) changes nothing.
    const [{ result, command_id }] = await h.ds.query(
      `SELECT command_id, result FROM applied_ticket_commands WHERE ticket_id = $1`,
      [ticket.id],
    );
    expect(result).toHaveLength(3);
    await h.app.get(QueueService).add(
      QueueName.TicketCommands,
      JobName.TicketCommand,
      {
        v: 1,
        commandId: command_id,
        ticketId: ticket.id,
        reason: 'duplicate',
        actions: [{ kind: 'move_team', teamId: h.ids.teamB }],
        issuedAt: new Date().toISOString(),
      },
      { jobId: 'dup-1' },
    );
    // The duplicate's own outcome: applied_ticket_commands already names it, so it applies nothing.
    const dup = await until(
      () => h.app.get(QueueService).queue(QueueName.TicketCommands).getJob('dup-1'),
      (j) => !!j?.finishedOn,
    );
    expect({ returned: dup!.returnvalue, failed: dup!.failedReason }).toEqual({ returned: { applied: false } });
    const [after] = await h.ds.query(`SELECT team_id FROM tickets WHERE id = $1`, [ticket.id]);
    expect(after.team_id).toBe(h.ids.teamA);
    expect(
      await h.ds.query(`SELECT 1 FROM ticket_audit WHERE ticket_id = $1 AND action = 'sla_escalation'`, [ticket.id]),
    ).toHaveLength(1);
  }, 30_000);

  it('a public reply before the due time fulfils first_reply: its timers are disarmed, and one that fires records nothing', async () => {
    const ticket = await h.createTicket('alice');
    const note = await h.call('alice', 'POST', `/v1/tickets/${ticket.id}/messages`, { kind: 'note', text: 'checking' });
    expect(note.status).toBe(201);
    let fr = (await h.call('alice', 'GET', `/v1/tickets/${ticket.id}/sla`)).body.clocks.find(
      (c: { metric: string }) => c.metric === 'first_reply',
    );
    expect(fr.state).toBe('active'); // a note is not a reply
    const { dueAt } = fr;
    const reply = await h.call('alice', 'POST', `/v1/tickets/${ticket.id}/messages`, { text: 'We are on it' });
    expect(reply.status).toBe(201);
    const firstReply = async () =>
      (await h.call('alice', 'GET', `/v1/tickets/${ticket.id}/sla`)).body.clocks.find(
        (c: { metric: string }) => c.metric === 'first_reply',
      );
    // The clock moved in the reply's transaction.
    fr = await firstReply();
    expect(fr.state).toBe('fulfilled');

    // sla-worker re-arms from each sla.changed event. Once it has handled all of this ticket's (the
    // reply's names no running first_reply clock), the clock's timers are gone: removed by the re-arm,
    // or fired (one armed by a re-arm that read the clock before the reply) and removed on completion.
    const sla = h.app.get(QueueService).queue(QueueName.Sla);
    const slaEvents = h.app.get(QueueService).queue(QueueName.SlaEvents);
    const timerIds = (['warning', 'breach'] as const).map((stage) => slaTimerJobId(ticket.id, 'first_reply', stage));
    await until(
      async () => {
        const changes = (
          await slaEvents.getJobs(['waiting', 'active', 'delayed', 'prioritized', 'completed', 'failed'])
        ).filter(
          (j: Job) => j.name === JobName.TicketEvent && j.data.ticketId === ticket.id && j.data.type === 'sla.changed',
        );
        const armed = (await Promise.all(timerIds.map((id) => sla.getJob(id)))).filter(Boolean).length;
        return {
          replyHandled: changes.some(
            (j) => !j.data.data.clocks.some((c: { metric: string }) => c.metric === 'first_reply'),
          ),
          allHandled: changes.every((j) => j.finishedOn && !j.failedReason),
          armed,
        };
      },
      (s) => s.replyHandled && s.allHandled && s.armed === 0,
    );
    // A timer that fires after the reply anyway (one already running when the re-arm came cannot be
    // removed) finds the clock answered: its own completion says it recorded nothing.
    const connection = new Redis(TEST_REDIS_URL, { maxRetriesPerRequest: null });
    // Read from the start of the queue's event stream: the completion cannot be missed however soon it comes.
    const timerEvents = new QueueEvents(QueueName.Sla, {
      connection,
      prefix: h.app.get(QueueService).prefix,
      lastEventId: '0-0',
    });
    try {
      const lateId = `late-${ticket.id}`;
      const outcome = new Promise((resolve, reject) => {
        timerEvents.on('completed', (e) => e.jobId === lateId && resolve(e.returnvalue));
        timerEvents.on('failed', (e) => e.jobId === lateId && reject(new Error(e.failedReason)));
      });
      await h.app
        .get(QueueService)
        .add(
          QueueName.Sla,
          JobName.SlaTimer,
          { v: 1, ticketId: ticket.id, metric: 'first_reply', stage: 'breach', dueAt },
          { jobId: lateId },
        );
      expect(await outcome).toEqual({ warned: false, breached: false, notDueUntil: null });
    } finally {
      await timerEvents.close();
      connection.disconnect();
    }

    fr = await firstReply();
    expect(fr.state).toBe('fulfilled');
    // Activated, perhaps warned (50 % of 2 s may pass), then fulfilled — never breached.
    expect(fr.events.at(-1).kind).toBe('fulfil');
    expect(fr.events.some((e: { kind: string }) => e.kind === 'breach')).toBe(false);
    const [{ priority }] = await h.ds.query(`SELECT priority FROM tickets WHERE id = $1`, [ticket.id]);
    expect(priority).toBe('normal');
  }, 20_000);

  it('a priority change re-targets the running clock from its start: the breach follows the new target', async () => {
    const ticket = await h.createTicket('alice', { priority: 'urgent' });
    let fr = (await h.call('alice', 'GET', `/v1/tickets/${ticket.id}/sla`)).body.clocks.find(
      (c: { metric: string }) => c.metric === 'first_reply',
    );
    const started = new Date(fr.startedAt).getTime();
    expect(new Date(fr.dueAt).getTime() - started).toBe(60_000);
    const patch = await h.call('alice', 'PATCH', `/v1/tickets/${ticket.id}`, {
      version: ticket.version,
      priority: 'high',
    });
    expect(patch.status).toBe(200);
    fr = (await h.call('alice', 'GET', `/v1/tickets/${ticket.id}/sla`)).body.clocks.find(
      (c: { metric: string }) => c.metric === 'first_reply',
    );
    expect(new Date(fr.dueAt).getTime() - started).toBe(2000);
    await until(
      () => h.call('alice', 'GET', `/v1/tickets/${ticket.id}/sla`),
      (r) =>
        r.body.clocks.some(
          (c: { metric: string; state: string }) => c.metric === 'first_reply' && c.state === 'breached',
        ),
    );
  }, 20_000);
});
