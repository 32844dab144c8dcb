import { clockFromRow } from '@oq/sla';
import { DataSource, QueryFailedError } from 'typeorm';
import { createDataSource } from '../data-source';
import { one, rows } from '../sql/db';
import { sql } from '../sql/sql';
import { createTestDatabase, TestDatabase } from '../testing/test-env';
import { SlaPolicyInput, SlaRepository } from './sla.repository';

/**
 * The statements the SLA specs reach only partly: the admin CRUD of schedules and policies
 * (positions, conflicts, deactivation), the trail's order, and the reconciler's scans.
 */
describe('SlaRepository', () => {
  let db: TestDatabase;
  let ds: DataSource;
  let repo: SlaRepository;
  let ticketId: string;

  const policy = (over: Partial<SlaPolicyInput> = {}): SlaPolicyInput => ({
    name: 'p',
    conditions: {},
    targets: { first_reply: { normal: { seconds: 60, businessTime: false } } },
    scheduleId: null,
    warningPercent: 50,
    escalation: { breach: [{ kind: 'notify', message: 'late "quoted" \\ text' }] },
    active: true,
    ...over,
  });

  beforeAll(async () => {
    db = await createTestDatabase();
    ds = createDataSource({ url: db.url, poolSize: 3 });
    await ds.initialize();
    repo = new SlaRepository(ds);
    const team = await one<{ id: string }>(ds, sql`INSERT INTO teams (name) VALUES ('T') RETURNING id`);
    const contact = await one<{ id: string }>(ds, sql`INSERT INTO contacts (name) VALUES ('c') RETURNING id`);
    ticketId = (
      await one<{ id: string }>(
        ds,
        sql`INSERT INTO tickets (subject, team_id, requester_id, channel) VALUES ('s', ${team.id}, ${contact.id}, 'email')
            RETURNING id`,
      )
    ).id;
  });

  afterAll(async () => {
    await ds?.destroy();
    await db?.drop();
  });

  it('stores, lists, replaces and deletes schedules; a duplicate name is a unique violation', async () => {
    const s = await repo.insertSchedule({
      name: 'Office',
      timezone: 'Europe/Berlin',
      weekly: [{ day: 1, start: '09:00', end: '17:00' }],
      holidays: [{ date: '2026-12-25', yearly: true }],
    });
    expect(s).toMatchObject({ name: 'Office', weekly: [{ day: 1, start: '09:00', end: '17:00' }] });
    expect(s.createdAt).toBeInstanceOf(Date);
    const dup = await repo.insertSchedule({ ...s, name: 'Office' }).catch((e: unknown) => e);
    expect(dup).toBeInstanceOf(QueryFailedError);
    expect((dup as { code?: string }).code).toBe('23505');

    const replaced = await repo.updateSchedule(s.id, { ...s, name: 'Office 2', holidays: [] });
    expect(replaced).toMatchObject({ id: s.id, name: 'Office 2', holidays: [] });
    expect(await repo.updateSchedule('00000000-0000-0000-0000-000000000000', s)).toBeUndefined();
    expect((await repo.listSchedules()).map((x) => x.name)).toEqual(['Office 2']);

    const used = await ds.transaction((m) =>
      repo.with(m).insertPolicy(policy({ name: 'on schedule', scheduleId: s.id })),
    );
    expect(await repo.countPoliciesOnSchedule(s.id)).toBe(1);
    await repo.deletePolicy(used.id);
    expect(await repo.countPoliciesOnSchedule(s.id)).toBe(0);
    await repo.deleteSchedule(s.id);
    expect(await repo.findSchedule(s.id)).toBeUndefined();
  });

  it('places policies after the active ones, replaces them, deactivates and deletes them', async () => {
    const insert = (p: SlaPolicyInput) => ds.transaction((m) => repo.with(m).insertPolicy(p));
    const a = await insert(policy({ name: 'a' }));
    const b = await insert(policy({ name: 'b' }));
    const c = await insert(policy({ name: 'c', position: 10 }));
    expect([a.position, b.position, c.position]).toEqual([0, 1, 10]);
    expect(await repo.nextPolicyPosition()).toBe(11);
    expect(b).toMatchObject({ scheduleId: null, warningPercent: 50, active: true, escalation: policy().escalation });

    // Two active policies at one position: the partial unique index refuses.
    const clash = await repo.updatePolicy(b.id, policy({ name: 'b' }), 0).catch((e: unknown) => e);
    expect((clash as { code?: string }).code).toBe('23505');
    expect(await repo.policyPosition(b.id)).toBe(1);
    const moved = await repo.updatePolicy(b.id, policy({ name: 'b2', warningPercent: null }), 5);
    expect(moved).toMatchObject({ id: b.id, name: 'b2', position: 5, warningPercent: null });

    await repo.deactivatePolicy(a.id);
    expect((await repo.listPolicies()).map((p) => [p.name, p.active])).toEqual([
      ['b2', true],
      ['c', true],
      ['a', false],
    ]);
    expect(await repo.policyInUse(c.id)).toBe(false);
    await repo.insertClock(ticketId, {
      metric: 'first_reply',
      policyId: c.id,
      state: 'fulfilled',
      businessTime: false,
      targetSeconds: 60,
      warningPercent: null,
      startedAt: Date.now(),
      dueAt: null,
      warnAt: null,
      warnedAt: null,
      pausedAt: null,
      pausedSeconds: 0,
      fulfilledAt: Date.now(),
      breachedAt: null,
    });
    expect(await repo.policyInUse(c.id)).toBe(true);
    await repo.deletePolicy(b.id);
    expect(await repo.findPolicy(b.id)).toBeUndefined();
    expect((await repo.activePolicies()).map((p) => p.id)).toEqual([c.id]);
  });

  it('keeps the trail in the order written, and the reconciler scans find running clocks by due time', async () => {
    const now = Date.now();
    const id = await repo.insertClock(ticketId, {
      metric: 'resolution',
      policyId: null,
      state: 'active',
      businessTime: false,
      targetSeconds: 60,
      warningPercent: 50,
      startedAt: now - 120_000,
      dueAt: now - 60_000,
      warnAt: now - 90_000,
      warnedAt: null,
      pausedAt: null,
      pausedSeconds: 0,
      fulfilledAt: null,
      breachedAt: null,
    });
    const kinds = ['activate', 'pause', 'resume', 'retarget', 'warn'] as const;
    await repo.appendTrail(
      id,
      kinds.map((kind, i) => ({
        kind,
        at: now + i,
        businessSeconds: i % 2 ? null : i,
        calendarSeconds: i,
        data: { i },
      })),
    );
    await repo.appendTrail(id, []);
    const trail = await repo.trailOf([id]);
    expect(trail.map((e) => [e.kind, e.businessSeconds, e.calendarSeconds, e.data])).toEqual(
      kinds.map((kind, i) => [kind, i % 2 ? null : i, i, { i }]),
    );
    expect((await repo.clocksOfTicket(ticketId)).map((c) => c.metric)).toEqual(['first_reply', 'resolution']);

    expect(await repo.overdue(10)).toEqual([{ ticket_id: ticketId, metric: 'resolution' }]);
    const due = await repo.dueWithin(60, { dueAt: new Date(0), id: '00000000-0000-0000-0000-000000000000' }, 10);
    expect(due.map((r) => r.id)).toEqual([id]);
    expect(await repo.dueWithin(60, { dueAt: due[0].due_at!, id }, 10)).toEqual([]);

    await ds.transaction(async (m) => {
      const tx = repo.with(m);
      const locked = await tx.lockRunningClock(ticketId, 'resolution');
      expect(locked).toMatchObject({ id, warning_percent: null, escalation: null, timezone: null });
      await tx.updateClock(id, { ...clockFromRow(locked!), state: 'breached', breachedAt: now });
      await tx.refreshNextDue(ticketId);
    });
    const after = await rows<{ state: string; version: number }>(
      ds,
      sql`SELECT state, version FROM ticket_sla WHERE id = ${id}`,
    );
    expect(after).toEqual([{ state: 'breached', version: 2 }]);
    const ticket = await one<{ next_due_at: Date | null }>(
      ds,
      sql`SELECT next_due_at FROM tickets WHERE id = ${ticketId}`,
    );
    expect(ticket.next_due_at?.getTime()).toBe(now - 60_000);
    expect((await repo.latestClocks(ticketId)).map((c) => [c.metric, c.state]).sort()).toEqual([
      ['first_reply', 'fulfilled'],
      ['resolution', 'breached'],
    ]);
  });
});
