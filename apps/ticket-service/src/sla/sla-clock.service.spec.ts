import { createDataSource } from '@oq/database';
import { createTestDatabase, TestDatabase } from '@oq/database/testing/test-env';
import { DataSource } from 'typeorm';
import { OutboxService } from '../outbox/outbox.service';
import { SlaClockService } from './sla-clock.service';

/** The clock service against a real Postgres: every rule lands in ticket_sla, its trail, next_due_at and the outbox. */
describe('SlaClockService', () => {
  let db: TestDatabase;
  let ds: DataSource;
  const sla = new SlaClockService(new OutboxService());
  let teamId: string;
  let contactId: string;
  let policyId: string;
  const S = 1000;
  const t0 = new Date('2026-11-25T10:00:00Z');
  const at = (s: number) => new Date(t0.getTime() + s * S);

  beforeAll(async () => {
    db = await createTestDatabase();
    ds = createDataSource({ url: db.url, poolSize: 3 });
    await ds.initialize();
    [{ id: teamId }] = await ds.query(`INSERT INTO teams (name) VALUES ('Payments') RETURNING id`);
    [{ id: contactId }] = await ds.query(`INSERT INTO contacts (name) VALUES ('Cust') RETURNING id`);
    [{ id: policyId }] = await ds.query(
      `INSERT INTO sla_policies (name, position, conditions, targets, warning_percent) VALUES ('Default', 10, '{}', $1::jsonb, 50) RETURNING id`,
      [
        JSON.stringify({
          first_reply: { normal: { seconds: 3600 }, urgent: { seconds: 600 } },
          next_reply: { normal: { seconds: 7200 }, urgent: { seconds: 1200 } },
          resolution: { normal: { seconds: 86400 }, urgent: { seconds: 14400 } },
        }),
      ],
    );
  });
  afterAll(async () => {
    await ds?.destroy();
    await db?.drop();
  });

  async function ticket(fields: Record<string, unknown> = {}): Promise<string> {
    const f = { priority: 'normal', channel: 'email', status: 'new', tags: [], ...fields };
    const [{ id }] = await ds.query(
      `INSERT INTO tickets (team_id, requester_id, channel, priority, status, tags) VALUES ($1, $2, $3, $4, $5, $6) RETURNING id`,
      [teamId, contactId, f.channel, f.priority, f.status, f.tags],
    );
    return id;
  }
  const tx = <T>(fn: (m: import('typeorm').EntityManager) => Promise<T>) => ds.transaction(fn);
  const clocks = (id: string) =>
    ds.query(
      `SELECT metric, state, policy_id, started_at, due_at, warn_at, paused_seconds, fulfilled_at, target_seconds
         FROM ticket_sla WHERE ticket_id = $1 ORDER BY created_at`,
      [id],
    );
  const trail = (id: string) =>
    ds.query(
      `SELECT s.metric, e.kind, e.calendar_seconds, e.data FROM ticket_sla_events e JOIN ticket_sla s ON s.id = e.ticket_sla_id
        WHERE s.ticket_id = $1 ORDER BY e.id`,
      [id],
    );

  it('first_reply starts at the source time capped at ingest and only a public reply fulfils it', async () => {
    const id = await ticket();
    await tx((m) => sla.onTicketCreated(m, id, at(0), at(0)));
    // The customer's device clock is 5 minutes ahead: capped at ingest time.
    await tx((m) => sla.onCustomerMessage(m, id, at(300), at(0)));
    let [res, fr] = await clocks(id);
    expect(res).toMatchObject({ metric: 'resolution', state: 'active', due_at: at(86400) });
    expect(fr).toMatchObject({ metric: 'first_reply', state: 'active', started_at: at(0), due_at: at(3600) });
    expect(fr.warn_at).toEqual(at(1800));
    const [{ next_due_at }] = await ds.query(`SELECT next_due_at FROM tickets WHERE id = $1`, [id]);
    expect(next_due_at).toEqual(at(3600));

    // A second customer message before any reply changes nothing.
    await tx((m) => sla.onCustomerMessage(m, id, at(60), at(60)));
    expect(await clocks(id)).toHaveLength(2);

    await tx((m) => sla.onAgentPublicReply(m, id, at(900)));
    [res, fr] = await clocks(id);
    expect(fr).toMatchObject({ state: 'fulfilled', fulfilled_at: at(900) });
    expect((await trail(id)).find((e: { kind: string }) => e.kind === 'fulfil')).toMatchObject({
      metric: 'first_reply',
      calendar_seconds: 900,
    });
    const events = await ds.query(`SELECT payload FROM outbox WHERE payload->>'ticketId' = $1 ORDER BY id`, [id]);
    expect(events.length).toBeGreaterThanOrEqual(3);
    expect(events.at(-1).payload).toMatchObject({ type: 'sla.changed', data: { clocks: [{ metric: 'resolution' }] } });
  });

  it('next_reply starts at the oldest unanswered message after a reply and is not restarted by later ones', async () => {
    const id = await ticket();
    await tx((m) => sla.onCustomerMessage(m, id, at(0), at(0)));
    await tx((m) => sla.onAgentPublicReply(m, id, at(100)));
    await tx((m) => sla.onCustomerMessage(m, id, at(200), at(200)));
    await tx((m) => sla.onCustomerMessage(m, id, at(500), at(500)));
    const next = (await clocks(id)).filter((c: { metric: string }) => c.metric === 'next_reply');
    expect(next).toHaveLength(1);
    expect(next[0]).toMatchObject({ state: 'active', started_at: at(200), due_at: at(200 + 7200) });
    await tx((m) => sla.onAgentPublicReply(m, id, at(800)));
    await tx((m) => sla.onCustomerMessage(m, id, at(900), at(900)));
    const all = (await clocks(id)).filter((c: { metric: string }) => c.metric === 'next_reply');
    expect(all.map((c: { state: string }) => c.state)).toEqual(['fulfilled', 'active']);
    expect(all[1].started_at).toEqual(at(900));
  });

  it('a missed call starts the call-back clock; a logged outbound call fulfils it', async () => {
    const id = await ticket({ channel: 'voice' });
    const change = {
      ticketId: id,
      ticketCreated: true,
      sourceTime: new Date(Date.now() - 120 * S),
      direction: 'inbound' as const,
      awaitsReply: true,
      missedCall: true,
      statusFrom: null,
      statusTo: 'new',
    };
    const entries = await tx((m) => sla.onIngest(m, change));
    expect(entries).toHaveLength(1);
    const [res, fr] = await clocks(id);
    expect(res.metric).toBe('resolution');
    expect(fr).toMatchObject({ metric: 'first_reply', started_at: change.sourceTime });
    await tx((m) =>
      sla.onIngest(m, {
        ...change,
        ticketCreated: false,
        direction: 'outbound',
        missedCall: false,
        awaitsReply: false,
      }),
    );
    expect((await clocks(id))[1].state).toBe('fulfilled');
  });

  it('resolution pauses in pending/on_hold (due moves by the pause), is fulfilled when solved, restarts on reopen', async () => {
    const id = await ticket({ status: 'open' });
    await tx((m) => sla.onTicketCreated(m, id, at(0), at(0)));
    await tx((m) => sla.onStatusChange(m, id, 'open', 'pending', at(1000)));
    let [res] = await clocks(id);
    expect(res).toMatchObject({ state: 'paused', due_at: null });
    await ds.query(`UPDATE tickets SET status = 'open' WHERE id = $1`, [id]);
    await tx((m) => sla.onStatusChange(m, id, 'pending', 'open', at(4000)));
    [res] = await clocks(id);
    expect(res).toMatchObject({ state: 'active', paused_seconds: 3000, due_at: at(86400 + 3000) });
    await ds.query(`UPDATE tickets SET status = 'solved' WHERE id = $1`, [id]);
    await tx((m) => sla.onStatusChange(m, id, 'open', 'solved', at(5000)));
    [res] = await clocks(id);
    expect(res).toMatchObject({ state: 'fulfilled', fulfilled_at: at(5000) });
    expect((await trail(id)).map((e: { kind: string }) => e.kind)).toEqual(['activate', 'pause', 'resume', 'fulfil']);
    const [{ next_due_at }] = await ds.query(`SELECT next_due_at FROM tickets WHERE id = $1`, [id]);
    expect(next_due_at).toBeNull();

    await ds.query(`UPDATE tickets SET status = 'open' WHERE id = $1`, [id]);
    await tx((m) => sla.onStatusChange(m, id, 'solved', 'open', at(6000)));
    const all = await clocks(id);
    expect(all.map((c: { state: string }) => c.state)).toEqual(['fulfilled', 'active']);
    expect(all[1].started_at).toEqual(at(6000));
  });

  it('a priority change re-targets running clocks from their original start', async () => {
    const id = await ticket();
    await tx((m) => sla.onCustomerMessage(m, id, at(0), at(0)));
    await ds.query(`UPDATE tickets SET priority = 'urgent' WHERE id = $1`, [id]);
    await tx((m) => sla.onPriorityChange(m, id, at(120)));
    const [res, fr] = await clocks(id);
    expect(fr).toMatchObject({ started_at: at(0), due_at: at(600), target_seconds: 600 });
    expect(res).toMatchObject({ due_at: at(14400) });
    const retargets = (await trail(id)).filter((e: { kind: string }) => e.kind === 'retarget');
    expect(retargets).toHaveLength(2);
    expect(retargets[0].data).toMatchObject({ fromSeconds: expect.any(Number), toSeconds: expect.any(Number) });
  });

  it('onIngestBatch leaves the clocks, trail, next_due_at and final sla.changed that onIngest leaves message by message', async () => {
    const started = Date.now();
    const src = (s: number) => new Date(started - 3600 * S + s * S);
    // Three tickets per form: one the batch opens, one already answered once, one solved that a message reopens.
    async function scenario() {
      const fresh = await ticket();
      const answered = await ticket({ status: 'open' });
      await tx((m) => sla.onCustomerMessage(m, answered, src(0), src(0)));
      await tx((m) => sla.onAgentPublicReply(m, answered, src(10)));
      const solved = await ticket({ status: 'open' });
      await tx((m) => sla.onTicketCreated(m, solved, src(0), src(0)));
      await ds.query(`UPDATE tickets SET status = 'solved' WHERE id = $1`, [solved]);
      await tx((m) => sla.onStatusChange(m, solved, 'open', 'solved', src(20)));
      // Ingest has already written the ticket's new status when hooks run.
      await ds.query(`UPDATE tickets SET status = 'open' WHERE id = $1`, [solved]);
      // Running clocks re-targeted at the next event (an update of existing rows).
      const raised = await ticket({ status: 'open' });
      await tx((m) => sla.onCustomerMessage(m, raised, src(0), src(0)));
      await ds.query(`UPDATE tickets SET priority = 'urgent' WHERE id = $1`, [raised]);
      const base = { direction: 'inbound' as const, awaitsReply: true, missedCall: false, ticketCreated: false };
      const msg = (ticketId: string, s: number, statusFrom: string | null, statusTo: string, created = false) => ({
        ...base,
        ticketId,
        sourceTime: src(s),
        statusFrom,
        statusTo,
        ticketCreated: created,
      });
      return {
        ids: [fresh, answered, solved, raised],
        changes: [
          msg(raised, 90, 'open', 'open'),
          msg(fresh, 100, null, 'new', true),
          msg(answered, 110, 'open', 'open'),
          msg(fresh, 120, 'new', 'new'),
          msg(solved, 130, 'solved', 'open'),
          msg(answered, 140, 'open', 'open'),
          msg(fresh, 150, 'new', 'new'),
        ],
      };
    }
    // Times the rules take from "now" (a reopened resolution) differ between the two runs: compared as "now".
    const t = (d: Date | null) => (d === null ? null : d.getTime() >= started ? 'now' : d.toISOString());
    type Row = Record<string, unknown> & { started_at: Date; due_at: Date | null; fulfilled_at: Date | null };
    const norm = (rows: Row[]) =>
      rows.map((r) => ({
        metric: r.metric,
        state: r.state,
        target: r.target_seconds,
        paused: r.paused_seconds,
        started: t(r.started_at),
        due: r.due_at && t(r.started_at) === 'now' ? 'later' : t(r.due_at),
        fulfilled: t(r.fulfilled_at),
      }));
    const kinds = (rows: { metric: string; kind: string }[]) => rows.map((r) => `${r.metric}:${r.kind}`);
    const nextDue = async (id: string) =>
      (await ds.query(`SELECT next_due_at FROM tickets WHERE id = $1`, [id]))[0].next_due_at;
    type Event = { payload: { ticketId: string; data: { clocks: { metric: string; state: string }[] } } };

    const one = await scenario();
    const perMessage: Event[] = [];
    await tx(async (m) => {
      for (const c of one.changes) perMessage.push(...((await sla.onIngest(m, c)) as Event[]));
    });
    const many = await scenario();
    const batch = (await tx((m) => sla.onIngestBatch(m, many.changes))) as Event[];

    for (let i = 0; i < one.ids.length; i++) {
      const [a, b] = [one.ids[i], many.ids[i]];
      expect(norm(await clocks(b))).toEqual(norm(await clocks(a)));
      expect(kinds(await trail(b))).toEqual(kinds(await trail(a)));
      expect(t(await nextDue(b))).toEqual(t(await nextDue(a)));
      // One sla.changed per ticket, with what the last per-message event of that ticket said.
      const mine = batch.filter((e) => e.payload.ticketId === b);
      expect(mine).toHaveLength(1);
      const last = perMessage.filter((e) => e.payload.ticketId === a).at(-1)!;
      expect(mine[0].payload.data.clocks.map((c) => `${c.metric}:${c.state}`)).toEqual(
        last.payload.data.clocks.map((c) => `${c.metric}:${c.state}`),
      );
    }
    // The scenario moved something on each ticket (so the comparison above compared something).
    expect(kinds(await trail(many.ids[0]))).toEqual(['resolution:activate', 'first_reply:activate']);
    expect(kinds(await trail(many.ids[1]))).toContain('next_reply:activate');
    expect(norm(await clocks(many.ids[2])).map((c) => `${c.metric}:${c.state}`)).toEqual([
      'resolution:fulfilled',
      'resolution:active',
      'first_reply:active',
    ]);
    expect(kinds(await trail(many.ids[3]))).toContain('first_reply:retarget');
    expect((await clocks(many.ids[3]))[1]).toMatchObject({ metric: 'first_reply', target_seconds: 600 });
  });

  it('a policy edit applies at the next event; a business-time policy computes due in business hours', async () => {
    const id = await ticket({ tags: ['vip'] });
    await tx((m) => sla.onCustomerMessage(m, id, at(0), at(0)));
    const [{ id: scheduleId }] = await ds.query(
      `INSERT INTO sla_schedules (name, timezone, weekly) VALUES ('Berlin office', 'Europe/Berlin', $1::jsonb) RETURNING id`,
      [JSON.stringify([1, 2, 3, 4, 5].map((day) => ({ day, start: '09:00', end: '17:00' })))],
    );
    await ds.query(
      `INSERT INTO sla_policies (name, position, conditions, targets, schedule_id) VALUES ('VIP', 1, $1::jsonb, $2::jsonb, $3)`,
      [
        JSON.stringify({ tagsAny: ['vip'] }),
        JSON.stringify({ first_reply: { normal: { seconds: 8 * 3600, businessTime: true } } }),
        scheduleId,
      ],
    );
    sla.invalidatePolicies(); // what the admin API does after an edit
    // Nothing moves until the ticket's next event.
    expect((await clocks(id))[1].due_at).toEqual(at(3600));
    await tx((m) => sla.onCustomerMessage(m, id, at(60), at(60)));
    const [res, fr] = await clocks(id);
    // 2026-11-25T10:00Z = 11:00 Berlin (Wed): 6 business hours today, 2 more Thursday → Thu 11:00 Berlin = 10:00Z.
    expect(fr.due_at).toEqual(new Date('2026-11-26T10:00:00Z'));
    // The VIP policy has no resolution target: that clock is cancelled.
    expect(res.state).toBe('cancelled');
    expect(fr.policy_id).not.toBe(policyId);
  });
});
