import { DateTime, IANAZone } from 'luxon';

/**
 * A business-hours schedule: an IANA time zone, weekly wall-clock intervals and
 * holidays. An instant is business time iff its local wall-clock time falls in
 * one of the intervals and its local calendar date is not a holiday.
 *
 * - `day` is the ISO weekday the interval starts on (1 = Monday … 7 = Sunday).
 * - `end <= start` is an overnight shift: Fri 22:00–06:00 covers Fri 22:00–24:00
 *   and Sat 00:00–06:00. `end` may be "24:00".
 * - A holiday removes its whole local date, including the after-midnight tail of
 *   an overnight shift that started the evening before (it is still "that date").
 * - Across DST the definition stays wall-clock: a spring-forward gap inside an
 *   interval simply does not exist (that day is one hour shorter), and on a
 *   fall-back day the repeated hour counts twice if it is inside an interval.
 */
export interface WeeklyInterval {
  day: number;
  start: string;
  end: string;
}

export interface Holiday {
  /** Local date YYYY-MM-DD. */
  date: string;
  /** Repeat every year on the same month and day. */
  yearly?: boolean;
  name?: string;
}

export interface Schedule {
  timezone: string;
  weekly: WeeklyInterval[];
  holidays: Holiday[];
}

export class ScheduleError extends Error {}

const MINUTE = 60_000;
const DAY_MIN = 1440;
/** Give up searching for business time after this many local days (a schedule made only of holidays). */
const MAX_DAYS = 3 * 366;

function parseHm(s: string, allow24: boolean): number {
  const m = /^(\d{2}):(\d{2})$/.exec(s);
  if (!m) throw new ScheduleError(`time "${s}" must be HH:mm`);
  const h = Number(m[1]);
  const min = Number(m[2]);
  if (min > 59 || h > 24 || (h === 24 && (min !== 0 || !allow24)))
    throw new ScheduleError(`time "${s}" is out of range`);
  return h * 60 + min;
}

interface Piece {
  /** Minutes of the local day, [from, to). */
  from: number;
  to: number;
}

/** A schedule prepared for fast arithmetic: validated, pieces per weekday, holiday lookup. */
export class BusinessCalendar {
  readonly zone: IANAZone;
  /** pieces[weekday 1..7]: wall-clock minute ranges on that local weekday. */
  private readonly pieces: Piece[][] = [[], [], [], [], [], [], [], []];
  private readonly fixedHolidays = new Set<string>();
  private readonly yearlyHolidays = new Set<string>();

  constructor(readonly schedule: Schedule) {
    const zone = IANAZone.create(schedule.timezone);
    if (!zone.isValid) throw new ScheduleError(`unknown time zone "${schedule.timezone}"`);
    this.zone = zone;
    if (!schedule.weekly.length) throw new ScheduleError('a schedule needs at least one weekly interval');
    for (const iv of schedule.weekly) {
      if (!Number.isInteger(iv.day) || iv.day < 1 || iv.day > 7)
        throw new ScheduleError(`day ${iv.day} must be an ISO weekday 1..7`);
      const s = parseHm(iv.start, false);
      const e = parseHm(iv.end, true);
      if (s === e) throw new ScheduleError(`interval ${iv.start}-${iv.end} is empty (use 00:00-24:00 for a full day)`);
      if (e > s) this.pieces[iv.day].push({ from: s, to: e });
      else {
        this.pieces[iv.day].push({ from: s, to: DAY_MIN });
        if (e > 0) this.pieces[(iv.day % 7) + 1].push({ from: 0, to: e });
      }
    }
    for (const h of schedule.holidays) {
      const d = DateTime.fromISO(h.date, { zone: 'UTC' });
      if (!/^\d{4}-\d{2}-\d{2}$/.test(h.date) || !d.isValid)
        throw new ScheduleError(`holiday "${h.date}" must be a date YYYY-MM-DD`);
      if (h.yearly) this.yearlyHolidays.add(h.date.slice(5));
      else this.fixedHolidays.add(h.date);
    }
  }

  isHoliday(localDate: string): boolean {
    return this.fixedHolidays.has(localDate) || this.yearlyHolidays.has(localDate.slice(5));
  }

  /** Is the instant business time? (The definition; the arithmetic below must agree with it.) */
  isBusinessInstant(ms: number): boolean {
    const local = DateTime.fromMillis(ms, { zone: this.zone });
    if (this.isHoliday(local.toISODate()!)) return false;
    const minute = local.hour * 60 + local.minute + local.second / 60 + local.millisecond / MINUTE;
    return this.pieces[local.weekday].some((p) => minute >= p.from && minute < p.to);
  }

  /**
   * Business spans [start, end) in epoch ms of one local day, sorted and merged.
   * The day is cut where the UTC offset changes, so wall-clock minutes map to
   * instants linearly within each part.
   */
  private daySpans(day: DateTime): [number, number][] {
    if (this.isHoliday(day.toISODate()!)) return [];
    const pieces = this.pieces[day.weekday];
    if (!pieces.length) return [];
    const u0 = day.toMillis();
    const u1 = day.plus({ days: 1 }).startOf('day').toMillis();
    const parts: [number, number][] = [];
    let cursor = u0;
    while (cursor < u1) {
      const next = this.nextOffsetChange(cursor, u1);
      parts.push([cursor, next]);
      cursor = next;
    }
    const out: [number, number][] = [];
    for (const [a, b] of parts) {
      const la = DateTime.fromMillis(a, { zone: this.zone });
      // Wall-clock ms since local midnight at `a` (a day starting at 01:00 after a midnight gap starts at 3.6e6).
      const w0 = ((la.hour * 60 + la.minute) * 60 + la.second) * 1000 + la.millisecond;
      const w1 = w0 + (b - a);
      for (const p of pieces) {
        const lo = Math.max(p.from * MINUTE, w0);
        const hi = Math.min(p.to * MINUTE, w1);
        if (hi > lo) out.push([a + (lo - w0), a + (hi - w0)]);
      }
    }
    out.sort((x, y) => x[0] - y[0]);
    const merged: [number, number][] = [];
    for (const s of out) {
      const last = merged[merged.length - 1];
      if (last && s[0] <= last[1]) last[1] = Math.max(last[1], s[1]);
      else merged.push([s[0], s[1]]);
    }
    return merged;
  }

  /** First instant in (from, limit] where the offset differs from the one at `from` (limit if none). */
  private nextOffsetChange(from: number, limit: number): number {
    const off = this.zone.offset(from);
    if (this.zone.offset(limit - 1) === off) return limit;
    let lo = from; // offset(lo) === off
    let hi = limit - 1; // offset(hi) !== off
    while (hi - lo > 1) {
      const mid = Math.floor((lo + hi) / 2);
      if (this.zone.offset(mid) === off) lo = mid;
      else hi = mid;
    }
    return hi;
  }

  /** Business spans overlapping [from, ∞), clipped at `from`, in order. */
  *spans(from: number): Generator<[number, number]> {
    let day = DateTime.fromMillis(from, { zone: this.zone }).startOf('day');
    let emptyDays = 0;
    for (;;) {
      const spans = this.daySpans(day);
      let any = false;
      for (const [a, b] of spans) {
        if (b <= from) continue;
        any = true;
        yield [Math.max(a, from), b];
      }
      emptyDays = any ? 0 : emptyDays + 1;
      if (emptyDays > MAX_DAYS) throw new ScheduleError('schedule has no business time within three years');
      day = day.plus({ days: 1 }).startOf('day');
    }
  }

  /** Business milliseconds in [from, to). */
  businessMsBetween(from: number, to: number): number {
    if (to <= from) return 0;
    let total = 0;
    for (const [a, b] of this.spans(from)) {
      if (a >= to) break;
      total += Math.min(b, to) - a;
      if (b >= to) break;
    }
    return total;
  }

  /** The earliest instant t ≥ from with businessMsBetween(from, t) === ms. */
  addBusinessMs(from: number, ms: number): number {
    if (ms <= 0) return from;
    let left = ms;
    for (const [a, b] of this.spans(from)) {
      if (b - a >= left) return a + left;
      left -= b - a;
    }
    /* istanbul ignore next: spans() is infinite or throws */
    throw new ScheduleError('unreachable');
  }
}

/** How a clock measures time: wall time, or business time of a calendar. */
export interface TimeMeasure {
  elapsedMs(from: number, to: number): number;
  addMs(from: number, ms: number): number;
}

export const CALENDAR_TIME: TimeMeasure = {
  elapsedMs: (from, to) => Math.max(0, to - from),
  addMs: (from, ms) => from + Math.max(0, ms),
};

export function businessTime(calendar: BusinessCalendar): TimeMeasure {
  return {
    elapsedMs: (from, to) => calendar.businessMsBetween(from, to),
    addMs: (from, ms) => calendar.addBusinessMs(from, ms),
  };
}

/** Why a schedule cannot become a BusinessCalendar, at its field (`weekly.2.end`), never quoting the value. */
export interface ScheduleProblem {
  path: (string | number)[];
  message: string;
}

const hmProblem = (s: string, allow24: boolean): boolean => {
  try {
    parseHm(s, allow24);
    return false;
  } catch {
    return true;
  }
};

/**
 * What `new BusinessCalendar(s)` refuses, each at its field: empty for exactly the schedules it
 * accepts (schedule.spec.ts checks both agree). For schemas that name fields (schedule-schema.ts);
 * the constructor stays the definition.
 */
export function scheduleProblems(s: Schedule): ScheduleProblem[] {
  const problems: ScheduleProblem[] = [];
  if (!IANAZone.create(s.timezone).isValid)
    problems.push({ path: ['timezone'], message: 'must be an IANA time zone such as Europe/Berlin' });
  if (!s.weekly.length) problems.push({ path: ['weekly'], message: 'a schedule needs at least one weekly interval' });
  s.weekly.forEach((iv, i) => {
    if (!Number.isInteger(iv.day) || iv.day < 1 || iv.day > 7)
      problems.push({ path: ['weekly', i, 'day'], message: 'must be an ISO weekday 1..7' });
    const badStart = hmProblem(iv.start, false);
    const badEnd = hmProblem(iv.end, true);
    if (badStart) problems.push({ path: ['weekly', i, 'start'], message: 'must be HH:mm from 00:00 to 23:59' });
    if (badEnd) problems.push({ path: ['weekly', i, 'end'], message: 'must be HH:mm from 00:00 to 24:00' });
    if (!badStart && !badEnd && parseHm(iv.start, false) === parseHm(iv.end, true))
      problems.push({
        path: ['weekly', i, 'end'],
        message: 'must differ from start (end before start is an overnight shift; 00:00-24:00 is a full day)',
      });
  });
  s.holidays.forEach((h, i) => {
    if (!/^\d{4}-\d{2}-\d{2}$/.test(h.date) || !DateTime.fromISO(h.date, { zone: 'UTC' }).isValid)
      problems.push({ path: ['holidays', i, 'date'], message: 'must be a date YYYY-MM-DD' });
  });
  return problems;
}
