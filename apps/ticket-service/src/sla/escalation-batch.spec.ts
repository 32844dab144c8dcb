import { randomUUID } from 'node:crypto';
import { TicketCommand } from '@oq/contracts';
import {
  ConversationRepository,
  createDataSource,
  MessageRepository,
  roundTrips,
  TicketRepository,
} from '@oq/database';
import { createTestDatabase, TestDatabase } from '@oq/database/testing/test-env';
import pino from 'pino';
import { DataSource } from 'typeorm';
import { Config } from '../config';
import { AutomaticEmailService } from '../outbox/automatic-email.service';
import { OutboxService } from '../outbox/outbox.service';
import { EscalationConsumer } from './escalation.consumer';
import { SlaClockService } from './sla-clock.service';

const config = {
  EMAIL_THREADING_SECRET: 'escalation-batch-spec-secret-0123456789',
  EMAIL_MESSAGE_ID_DOMAIN: 'x.test',
} as Config;

/**
 * Commands that arrive together are applied in one transaction (EscalationConsumer's batches):
 * the same cases, once all at once and once one after the other on tickets of their own, must
 * leave the same tickets, results, audit rows, clocks, trails and outbox jobs — in far fewer
 * round trips.
 */
describe('EscalationConsumer batches', () => {
  let db: TestDatabase;
  let ds: DataSource;
  let consumer: EscalationConsumer;
  let sla: SlaClockService;
  let teamId: string;
  let contactId: string;
  let agentId: string;

  beforeAll(async () => {
    db = await createTestDatabase();
    ds = createDataSource({ url: db.url, poolSize: 4 });
    await ds.initialize();
    const outbox = new OutboxService();
    sla = new SlaClockService(outbox);
    consumer = new EscalationConsumer(
      ds,
      new TicketRepository(ds),
      new ConversationRepository(ds),
      outbox,
      sla,
      new AutomaticEmailService(new MessageRepository(ds), outbox, config),
      pino({ level: 'silent' }),
    );
    [{ id: teamId }] = await ds.query(`INSERT INTO teams (name) VALUES ('Payments') RETURNING id`);
    [{ id: contactId }] = await ds.query(`INSERT INTO contacts (name) VALUES ('Cust') RETURNING id`);
    [{ id: agentId }] = await ds.query(
      `INSERT INTO agents (email, name, password_hash, role, active) VALUES ('a@x.test', 'A', 'x', 'agent', true) RETURNING id`,
    );
    await ds.query(
      `INSERT INTO sla_policies (name, position, conditions, targets, warning_percent) VALUES ('Default', 1, '{}', $1::jsonb, 50)`,
      [
        JSON.stringify({
          first_reply: { normal: { seconds: 3600 }, high: { seconds: 1800 }, urgent: { seconds: 600 } },
          resolution: { normal: { seconds: 86400 }, high: { seconds: 28800 }, urgent: { seconds: 14400 } },
        }),
      ],
    );
  });
  afterAll(async () => {
    await ds?.destroy();
    await db?.drop();
  });

  /** A ticket with running first_reply and resolution clocks, as a customer's first message leaves it. */
  async function ticket(fields: { priority?: string; status?: string } = {}): Promise<string> {
    const [{ id }] = await ds.query(
      `INSERT INTO tickets (team_id, requester_id, channel, priority, status) VALUES ($1, $2, 'email', $3, $4) RETURNING id`,
      [teamId, contactId, fields.priority ?? 'normal', fields.status ?? 'new'],
    );
    const at = new Date(Date.now() - 60_000);
    await ds.transaction((m) => sla.onTicketCreated(m, id, at, at));
    await ds.transaction((m) => sla.onCustomerMessage(m, id, at, at));
    await ds.query(`DELETE FROM outbox WHERE payload->>'ticketId' = $1`, [id]);
    return id;
  }

  const command = (ticketId: string, actions: TicketCommand['actions'], commandId = randomUUID()): TicketCommand => ({
    v: 1,
    commandId,
    ticketId,
    reason: 'SLA first reply breached',
    actions,
    issuedAt: new Date().toISOString(),
  });

  /** The cases, on fresh tickets: commands in the order they arrive, and the tickets to compare. */
  async function cases(): Promise<{ commands: TicketCommand[]; tickets: string[] }> {
    const raise = await ticket();
    const already = await ticket({ priority: 'urgent' });
    const assign = await ticket();
    const badTeam = await ticket();
    const closed = await ticket({ status: 'closed' });
    const twice = await ticket();
    const redelivered = await ticket();
    const redeliveredId = randomUUID();
    const commands = [
      command(raise, [
        { kind: 'raise_priority', priority: 'urgent' },
        { kind: 'notify', message: 'SLA breached' },
      ]),
      command(already, [{ kind: 'raise_priority', priority: 'high' }]),
      command(assign, [{ kind: 'assign', agentId }]),
      command(badTeam, [{ kind: 'move_team', teamId: '00000000-0000-4000-8000-000000000000' }]),
      command(closed, [{ kind: 'raise_priority', priority: 'urgent' }]),
      command(randomUUID(), [{ kind: 'notify', message: 'no such ticket' }]),
      // Two commands for one ticket: the second sees what the first did.
      command(twice, [{ kind: 'raise_priority', priority: 'high' }]),
      command(twice, [{ kind: 'raise_priority', priority: 'urgent' }]),
      command(redelivered, [{ kind: 'raise_priority', priority: 'high' }], redeliveredId),
      command(redelivered, [{ kind: 'raise_priority', priority: 'high' }], redeliveredId),
    ];
    return { commands, tickets: [raise, already, assign, badTeam, closed, twice, redelivered] };
  }

  /** What a ticket's commands left behind, without ids and instants (which differ between the two runs). */
  async function leftBehind(ticketId: string) {
    const [t] = await ds.query(
      `SELECT status, priority, team_id, assignee_id, version, next_due_at IS NULL AS no_due FROM tickets WHERE id = $1`,
      [ticketId],
    );
    const results = (
      await ds.query(
        `SELECT result FROM applied_ticket_commands WHERE ticket_id = $1 ORDER BY applied_at, result::text`,
        [ticketId],
      )
    ).map((r: { result: unknown }) => r.result);
    const audit = (
      await ds.query(`SELECT actor_type, action, changes FROM ticket_audit WHERE ticket_id = $1 ORDER BY id`, [
        ticketId,
      ])
    ).map((a: { changes: { commandId?: string } }) => ({ ...a, changes: { ...a.changes, commandId: undefined } }));
    const clocks = await ds.query(
      `SELECT metric, state, target_seconds, due_at - started_at AS span FROM ticket_sla WHERE ticket_id = $1 ORDER BY created_at`,
      [ticketId],
    );
    const trail = await ds.query(
      `SELECT s.metric, e.kind FROM ticket_sla_events e JOIN ticket_sla s ON s.id = e.ticket_sla_id WHERE s.ticket_id = $1 ORDER BY e.id`,
      [ticketId],
    );
    const outbox = (
      await ds.query(`SELECT queue, job_name, payload FROM outbox WHERE payload->>'ticketId' = $1 ORDER BY id`, [
        ticketId,
      ])
    ).map((o: { queue: string; job_name: string; payload: { type?: string; data?: Record<string, unknown> } }) => ({
      queue: o.queue,
      job: o.job_name,
      type: o.payload.type,
      data: JSON.stringify(o.payload.data ?? {})
        .replace(/"commandId":"[^"]+"/g, '"commandId":"…"')
        .replace(/"(dueAt|warnAt)":"[^"]+"/g, '"$1":"…"'),
    }));
    return { ticket: t, results, audit, clocks, trail, outbox };
  }

  it('applies commands that arrive together as applying them one by one would', async () => {
    const one = await cases();
    const tripsOne = roundTrips(ds);
    const oneByOne: { applied: boolean }[] = [];
    for (const c of one.commands) oneByOne.push(await consumer.handle(c));
    const oneByOneTrips = roundTrips(ds) - tripsOne;

    const all = await cases();
    const tripsAll = roundTrips(ds);
    const together = await Promise.all(all.commands.map((c) => consumer.handle(c)));
    const togetherTrips = roundTrips(ds) - tripsAll;

    expect(together).toEqual(oneByOne);
    expect(together).toEqual([
      { applied: true },
      { applied: true },
      { applied: true },
      { applied: true },
      { applied: true },
      { applied: false },
      { applied: true },
      { applied: true },
      { applied: true },
      { applied: false },
    ]);
    for (let i = 0; i < one.tickets.length; i++)
      expect(await leftBehind(all.tickets[i])).toEqual(await leftBehind(one.tickets[i]));

    // What the cases must show at all (so the equality above compares something).
    const raised = await leftBehind(all.tickets[0]);
    expect(raised.ticket).toMatchObject({ priority: 'urgent', version: 2 });
    expect(raised.trail.map((e: { kind: string }) => e.kind)).toEqual(['activate', 'activate', 'retarget', 'retarget']);
    expect(raised.outbox.map((o: { type: string }) => o.type)).toEqual([
      'sla.changed',
      'ticket.updated',
      'ticket.updated',
    ]);
    expect((await leftBehind(all.tickets[2])).ticket).toMatchObject({ status: 'open', assignee_id: agentId });
    expect((await leftBehind(all.tickets[5])).results).toEqual([
      [{ kind: 'raise_priority', priority: 'high' }],
      [{ kind: 'raise_priority', priority: 'urgent' }],
    ]);

    // Ten commands one by one cost about ten round trips each; together a handful of batches.
    expect(togetherTrips).toBeLessThan(oneByOneTrips / 2);
  });
});
