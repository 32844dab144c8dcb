import { Clock, ClockEvent, ClockStateName, Measures } from './clock';
import { SlaMetricName } from './policy';
import { BusinessCalendar, businessTime, CALENDAR_TIME, Schedule } from './schedule';

/**
 * The shape of a `ticket_sla` row as pg returns it, and its mapping to the pure
 * Clock. Shared by ticket-service (which moves clocks) and sla-worker (which
 * warns and breaches them) so both read a row the same way. Pure: no queries here.
 */
export interface ClockRow {
  id: string;
  ticket_id: string;
  metric: SlaMetricName;
  policy_id: string | null;
  state: ClockStateName;
  business_time: boolean;
  target_seconds: number;
  started_at: Date;
  due_at: Date | null;
  warn_at: Date | null;
  warned_at: Date | null;
  paused_at: Date | null;
  paused_seconds: number;
  fulfilled_at: Date | null;
  breached_at: Date | null;
  /** Not a column: the policy's warning percent, joined in by the reader. */
  warning_percent?: number | null;
}

const ms = (d: Date | null): number | null => (d ? d.getTime() : null);
const date = (n: number | null): Date | null => (n === null ? null : new Date(n));

export function clockFromRow(r: ClockRow): Clock {
  return {
    metric: r.metric,
    policyId: r.policy_id,
    state: r.state,
    businessTime: r.business_time,
    targetSeconds: r.target_seconds,
    warningPercent: r.warning_percent ?? null,
    startedAt: r.started_at.getTime(),
    dueAt: ms(r.due_at),
    warnAt: ms(r.warn_at),
    warnedAt: ms(r.warned_at),
    pausedAt: ms(r.paused_at),
    pausedSeconds: r.paused_seconds,
    fulfilledAt: ms(r.fulfilled_at),
    breachedAt: ms(r.breached_at),
  };
}

/** Column values of a clock, in the order of CLOCK_COLUMNS. */
export const CLOCK_COLUMNS = [
  'metric',
  'policy_id',
  'state',
  'business_time',
  'target_seconds',
  'started_at',
  'due_at',
  'warn_at',
  'warned_at',
  'paused_at',
  'paused_seconds',
  'fulfilled_at',
  'breached_at',
] as const;

export function clockValues(c: Clock): unknown[] {
  return [
    c.metric,
    c.policyId,
    c.state,
    c.businessTime,
    c.targetSeconds,
    new Date(c.startedAt),
    date(c.dueAt),
    date(c.warnAt),
    date(c.warnedAt),
    date(c.pausedAt),
    c.pausedSeconds,
    date(c.fulfilledAt),
    date(c.breachedAt),
  ];
}

/** How a clock of a policy with this schedule (or none) measures time. */
export function measuresFor(businessClock: boolean, schedule: Schedule | null): Measures {
  if (!schedule) return { clock: CALENDAR_TIME, business: null };
  const business = businessTime(calendarFor(schedule));
  return { clock: businessClock ? business : CALENDAR_TIME, business };
}

// Calendars are immutable per schedule content; building one validates and indexes it, so reuse them.
const calendars = new Map<string, BusinessCalendar>();
function calendarFor(s: Schedule): BusinessCalendar {
  const key = JSON.stringify([s.timezone, s.weekly, s.holidays]);
  let cal = calendars.get(key);
  if (!cal) {
    if (calendars.size > 500) calendars.clear();
    cal = new BusinessCalendar(s);
    calendars.set(key, cal);
  }
  return cal;
}

/** A parameterised statement (built here, run by the caller: this library does no I/O). */
export interface SqlStatement {
  sql: string;
  params: unknown[];
}

/** Appends trail events of one clock instance (the trail is insert-only). */
export function trailInsert(slaId: string, events: ClockEvent[]): SqlStatement {
  const params: unknown[] = [];
  const rows = events.map((e, i) => {
    params.push(slaId, e.kind, new Date(e.at), e.businessSeconds, e.calendarSeconds, JSON.stringify(e.data));
    const b = i * 6;
    return `($${b + 1}, $${b + 2}, $${b + 3}, $${b + 4}, $${b + 5}, $${b + 6}::jsonb)`;
  });
  return {
    sql: `INSERT INTO ticket_sla_events (ticket_sla_id, kind, at, business_seconds, calendar_seconds, data) VALUES ${rows.join(', ')}`,
    params,
  };
}

/** Writes a clock's state back to its row, bumping its version. */
export function clockUpdate(slaId: string, c: Clock): SqlStatement {
  const sets = CLOCK_COLUMNS.map((col, i) => `${col} = $${i + 2}`).join(', ');
  return {
    sql: `UPDATE ticket_sla SET ${sets}, version = version + 1, updated_at = now() WHERE id = $1`,
    params: [slaId, ...clockValues(c)],
  };
}
