import { SlaMetricName, Target } from './policy';
import { TimeMeasure } from './schedule';

/**
 * One SLA clock instance as a pure state machine. Every transition returns the
 * new state plus the trail events to append; nothing is ever rewritten.
 *
 * Elapsed time is measured in the clock's own measure (calendar or business);
 * pausing accumulates paused time in that measure and moves the due time by it.
 * A breach is never back-dated: it is recorded at the moment it is observed
 * (≥ due), so a re-target that pulls the due time into the past breaches "now".
 */
export type ClockStateName = 'active' | 'paused' | 'fulfilled' | 'breached' | 'cancelled';
export type ClockEventKind = 'activate' | 'pause' | 'resume' | 'fulfil' | 'warn' | 'breach' | 'retarget' | 'cancel';

export interface Clock {
  metric: SlaMetricName;
  policyId: string | null;
  state: ClockStateName;
  businessTime: boolean;
  targetSeconds: number;
  warningPercent: number | null;
  startedAt: number;
  dueAt: number | null;
  warnAt: number | null;
  warnedAt: number | null;
  pausedAt: number | null;
  /** Paused time so far, in the clock's measure, whole seconds. */
  pausedSeconds: number;
  fulfilledAt: number | null;
  breachedAt: number | null;
}

export interface ClockEvent {
  kind: ClockEventKind;
  at: number;
  /** Active business time since start (null without a schedule). */
  businessSeconds: number | null;
  /** Active calendar time since start (paused periods excluded only for calendar clocks). */
  calendarSeconds: number;
  data: Record<string, unknown>;
}

export interface Measures {
  /** The measure the target is in. */
  clock: TimeMeasure;
  /** Business time of the policy's schedule, when it has one, for the trail. */
  business: TimeMeasure | null;
}

export interface Transition {
  clock: Clock;
  events: ClockEvent[];
}

const S = 1000;

function secs(ms: number): number {
  return Math.round(ms / S);
}

function event(
  c: Clock,
  m: Measures,
  kind: ClockEventKind,
  at: number,
  data: Record<string, unknown> = {},
): ClockEvent {
  const pausedCalendar = c.businessTime ? 0 : c.pausedSeconds;
  const pausedBusiness = c.businessTime ? c.pausedSeconds : 0;
  const end = c.pausedAt !== null && kind !== 'resume' ? Math.min(at, c.pausedAt) : at;
  return {
    kind,
    at,
    businessSeconds: m.business ? Math.max(0, secs(m.business.elapsedMs(c.startedAt, end)) - pausedBusiness) : null,
    calendarSeconds: Math.max(0, secs(end - c.startedAt) - pausedCalendar),
    data,
  };
}

/** Due and warning instants for a running clock from its target and paused time. */
function schedule(c: Clock, m: Measures): Pick<Clock, 'dueAt' | 'warnAt'> {
  const dueAt = m.clock.addMs(c.startedAt, (c.targetSeconds + c.pausedSeconds) * S);
  const warnAt =
    c.warningPercent === null
      ? null
      : m.clock.addMs(c.startedAt, (Math.floor((c.targetSeconds * c.warningPercent) / 100) + c.pausedSeconds) * S);
  return { dueAt, warnAt };
}

export function isRunning(c: Clock): boolean {
  return c.state === 'active' || c.state === 'paused';
}

/** Not yet answered/solved: running, or breached and still waiting for its fulfilment. */
export function isOpen(c: Clock): boolean {
  return isRunning(c) || (c.state === 'breached' && c.fulfilledAt === null);
}

export function activate(
  p: {
    metric: SlaMetricName;
    policyId: string | null;
    target: Target;
    warningPercent: number | null;
    startedAt: number;
    now: number;
    paused?: boolean;
  },
  m: Measures,
): Transition {
  // Clocks start at the source time, capped at ingest time: a late import never hides a breach, nor starts in the future.
  const startedAt = Math.min(p.startedAt, p.now);
  const base: Clock = {
    metric: p.metric,
    policyId: p.policyId,
    state: 'active',
    businessTime: p.target.businessTime,
    targetSeconds: p.target.seconds,
    warningPercent: p.warningPercent,
    startedAt,
    dueAt: null,
    warnAt: null,
    warnedAt: null,
    pausedAt: null,
    pausedSeconds: 0,
    fulfilledAt: null,
    breachedAt: null,
  };
  const clock = { ...base, ...schedule(base, m) };
  const events = [event(clock, m, 'activate', startedAt, { targetSeconds: clock.targetSeconds, dueAt: clock.dueAt })];
  if (!p.paused) return { clock, events };
  const paused = pause(clock, p.now, m);
  return { clock: paused.clock, events: [...events, ...paused.events] };
}

export function pause(c: Clock, at: number, m: Measures): Transition {
  if (c.state !== 'active') return { clock: c, events: [] };
  const clock: Clock = { ...c, state: 'paused', pausedAt: at, dueAt: null, warnAt: null };
  return { clock, events: [event(clock, m, 'pause', at)] };
}

export function resume(c: Clock, at: number, m: Measures): Transition {
  if (c.state !== 'paused' || c.pausedAt === null) return { clock: c, events: [] };
  const pausedMs = m.clock.elapsedMs(c.pausedAt, at);
  const next: Clock = { ...c, state: 'active', pausedAt: null, pausedSeconds: c.pausedSeconds + secs(pausedMs) };
  const clock = { ...next, ...schedule(next, m) };
  return {
    clock,
    events: [event(clock, m, 'resume', at, { pausedSeconds: secs(pausedMs), dueAt: clock.dueAt })],
  };
}

export function fulfil(c: Clock, at: number, m: Measures): Transition {
  if (!isOpen(c)) return { clock: c, events: [] };
  const e = event(c, m, 'fulfil', at, { breached: c.breachedAt !== null });
  // A breached clock keeps its state 'breached' and gains a fulfilment time.
  const clock: Clock = {
    ...c,
    state: c.state === 'breached' ? 'breached' : 'fulfilled',
    fulfilledAt: at,
    pausedAt: null,
  };
  return { clock, events: [e] };
}

export function cancel(c: Clock, at: number, m: Measures, reason: string): Transition {
  if (!isRunning(c)) return { clock: c, events: [] };
  const e = event(c, m, 'cancel', at, { reason });
  return { clock: { ...c, state: 'cancelled', pausedAt: null }, events: [e] };
}

/** New target and/or warning threshold for a running clock; start and paused time are kept. */
export function retarget(
  c: Clock,
  p: { target: Target; warningPercent: number | null; policyId: string | null },
  at: number,
  m: Measures,
): Transition {
  if (!isRunning(c)) return { clock: c, events: [] };
  if (
    c.targetSeconds === p.target.seconds &&
    c.businessTime === p.target.businessTime &&
    c.warningPercent === p.warningPercent &&
    c.policyId === p.policyId
  )
    return { clock: c, events: [] };
  // Switching measure (calendar ↔ business) cannot convert paused time exactly; keep it as seconds.
  const next: Clock = {
    ...c,
    targetSeconds: p.target.seconds,
    businessTime: p.target.businessTime,
    warningPercent: p.warningPercent,
    policyId: p.policyId,
    // A warning already given stays given.
  };
  const clock = c.state === 'active' ? { ...next, ...schedule(next, m) } : next;
  return {
    clock,
    events: [
      event(clock, m, 'retarget', at, {
        fromSeconds: c.targetSeconds,
        toSeconds: clock.targetSeconds,
        policyId: p.policyId,
        dueAt: clock.dueAt,
      }),
    ],
  };
}

/** Records a warning and/or breach that is due at `now`; nothing when not yet due. */
export function check(c: Clock, now: number, m: Measures): Transition {
  if (c.state !== 'active') return { clock: c, events: [] };
  let clock = c;
  const events: ClockEvent[] = [];
  if (clock.warnAt !== null && clock.warnedAt === null && clock.warnAt <= now) {
    clock = { ...clock, warnedAt: now };
    events.push(event(clock, m, 'warn', now, { warnAt: clock.warnAt }));
  }
  if (clock.dueAt !== null && clock.dueAt <= now) {
    clock = { ...clock, state: 'breached', breachedAt: now };
    events.push(event(clock, m, 'breach', now, { dueAt: clock.dueAt, lateMs: now - (clock.dueAt as number) }));
  }
  return { clock, events };
}
