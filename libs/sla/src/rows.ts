import { Clock, ClockStateName, Measures } from './clock';
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
