import { DateTime } from 'luxon';
import { activate, check, Clock, fulfil, Measures, pause, resume, retarget } from './clock';
import { selectPolicy, TicketFacts } from './policy';
import { BusinessCalendar, businessTime, CALENDAR_TIME } from './schedule';

const S = 1000;
const calendar: Measures = { clock: CALENDAR_TIME, business: null };
const cal = new BusinessCalendar({
  timezone: 'Europe/Berlin',
  weekly: [1, 2, 3, 4, 5].map((day) => ({ day, start: '09:00', end: '17:00' })),
  holidays: [],
});
const business: Measures = { clock: businessTime(cal), business: businessTime(cal) };
const berlin = (iso: string) => DateTime.fromISO(iso, { zone: 'Europe/Berlin' }).toMillis();

function start(at: number, seconds: number, m: Measures, warningPercent: number | null = null): Clock {
  return activate(
    {
      metric: 'resolution',
      policyId: 'p',
      target: { seconds, businessTime: m.clock !== CALENDAR_TIME },
      warningPercent,
      startedAt: at,
      now: at,
    },
    m,
  ).clock;
}

describe('clock state machine (injected time)', () => {
  const t0 = Date.parse('2026-11-25T10:00:00Z');

  it('caps the start at ingest time and computes due and warning', () => {
    const r = activate(
      {
        metric: 'first_reply',
        policyId: 'p',
        target: { seconds: 600, businessTime: false },
        warningPercent: 80,
        startedAt: t0 + 60 * S, // source clock ahead of ours
        now: t0,
      },
      calendar,
    );
    expect(r.clock.startedAt).toBe(t0);
    expect(r.clock.dueAt).toBe(t0 + 600 * S);
    expect(r.clock.warnAt).toBe(t0 + 480 * S);
    expect(r.events.map((e) => e.kind)).toEqual(['activate']);
  });

  it('warns, then breaches at the moment it is observed (never back-dated)', () => {
    const c = start(t0, 100, calendar, 50);
    expect(check(c, t0 + 49 * S, calendar).events).toEqual([]);
    const w = check(c, t0 + 50 * S, calendar);
    expect(w.events.map((e) => e.kind)).toEqual(['warn']);
    const b = check(w.clock, t0 + 130 * S, calendar);
    expect(b.clock.state).toBe('breached');
    expect(b.clock.breachedAt).toBe(t0 + 130 * S);
    expect(b.events[0]).toMatchObject({ kind: 'breach', calendarSeconds: 130, data: { lateMs: 30 * S } });
    // Checking again records nothing twice.
    expect(check(b.clock, t0 + 200 * S, calendar).events).toEqual([]);
  });

  it('a pause moves the due time by the paused time; the trail carries durations', () => {
    let c = start(t0, 3600, calendar);
    const p = pause(c, t0 + 600 * S, calendar);
    expect(p.clock.dueAt).toBeNull();
    expect(p.events[0]).toMatchObject({ kind: 'pause', calendarSeconds: 600 });
    const r = resume(p.clock, t0 + 1800 * S, calendar);
    c = r.clock;
    expect(c.pausedSeconds).toBe(1200);
    expect(c.dueAt).toBe(t0 + (3600 + 1200) * S);
    const f = fulfil(c, t0 + 2400 * S, calendar);
    expect(f.clock.state).toBe('fulfilled');
    expect(f.events[0]).toMatchObject({ kind: 'fulfil', calendarSeconds: 1200 });
  });

  it('business clocks pause by business time only (a weekend pause moves nothing)', () => {
    const c = start(berlin('2026-11-27T16:00'), 2 * 3600, business);
    expect(c.dueAt).toBe(berlin('2026-11-30T10:00'));
    const p = pause(c, berlin('2026-11-27T18:00'), business);
    const r = resume(p.clock, berlin('2026-11-30T08:00'), business);
    expect(r.clock.pausedSeconds).toBe(0);
    expect(r.clock.dueAt).toBe(berlin('2026-11-30T10:00'));
    const p2 = pause(r.clock, berlin('2026-11-30T09:00'), business);
    const r2 = resume(p2.clock, berlin('2026-11-30T09:30'), business);
    expect(r2.clock.dueAt).toBe(berlin('2026-11-30T10:30'));
    expect(r2.events[0]).toMatchObject({ kind: 'resume', data: { pausedSeconds: 1800 } });
  });

  it('re-targets a running clock from its original start without resetting it', () => {
    const c = start(t0, 3600, calendar);
    const r = retarget(
      c,
      { target: { seconds: 600, businessTime: false }, warningPercent: null, policyId: 'p' },
      t0 + 900 * S,
      calendar,
    );
    expect(r.clock.startedAt).toBe(t0);
    expect(r.clock.dueAt).toBe(t0 + 600 * S);
    expect(r.events[0]).toMatchObject({ kind: 'retarget', data: { fromSeconds: 3600, toSeconds: 600 } });
    // The due time is now in the past: the breach is recorded when observed, not at t0+600.
    const b = check(r.clock, t0 + 901 * S, calendar);
    expect(b.clock.breachedAt).toBe(t0 + 901 * S);
    // The same target again is a no-op (no trail noise).
    expect(
      retarget(
        r.clock,
        { target: { seconds: 600, businessTime: false }, warningPercent: null, policyId: 'p' },
        t0,
        calendar,
      ).events,
    ).toEqual([]);
  });

  it('a breached clock is still fulfilled later, keeping its breach', () => {
    const c = check(start(t0, 60, calendar), t0 + 120 * S, calendar).clock;
    const f = fulfil(c, t0 + 180 * S, calendar);
    expect(f.clock).toMatchObject({ state: 'breached', fulfilledAt: t0 + 180 * S });
    expect(f.events[0].data).toEqual({ breached: true });
    expect(fulfil(f.clock, t0 + 200 * S, calendar).events).toEqual([]);
  });

  it('business and calendar durations are both on the trail', () => {
    const c = start(berlin('2026-11-27T16:00'), 4 * 3600, business);
    const f = fulfil(c, berlin('2026-11-30T10:00'), business);
    expect(f.events[0]).toMatchObject({ businessSeconds: 2 * 3600, calendarSeconds: (8 + 48 + 10) * 3600 });
  });
});

describe('policy selection', () => {
  const ticket: TicketFacts = {
    priority: 'high',
    channel: 'whatsapp',
    inboxId: 'i1',
    teamId: 't1',
    tags: ['vip', 'refund'],
    categoryId: null,
    type: 'problem',
  };
  const p = (id: string, position: number, conditions = {}) => ({
    id,
    position,
    conditions,
    targets: {},
    scheduleId: null,
    warningPercent: null,
  });

  it('takes the first match by position', () => {
    const policies = [
      p('fallback', 9),
      p('vip-wa', 2, { channel: ['whatsapp'], tagsAny: ['vip'] }),
      p('email', 1, { channel: ['email'] }),
    ];
    expect(selectPolicy(policies, ticket)?.id).toBe('vip-wa');
    expect(selectPolicy(policies, { ...ticket, tags: [] })?.id).toBe('fallback');
  });

  it('matches every condition kind', () => {
    expect(
      selectPolicy([p('a', 1, { tagsAll: ['vip', 'refund'], type: ['problem'], teamId: ['t1'] })], ticket)?.id,
    ).toBe('a');
    expect(selectPolicy([p('a', 1, { tagsAll: ['vip', 'chargeback'] })], ticket)).toBeNull();
    expect(selectPolicy([p('a', 1, { categoryId: ['c1'] })], ticket)).toBeNull();
    expect(selectPolicy([p('a', 1, { priority: ['urgent'] })], ticket)).toBeNull();
    expect(selectPolicy([p('a', 1, { inboxId: ['i1'] })], ticket)?.id).toBe('a');
  });
});
