import fc from 'fast-check';
import { DateTime } from 'luxon';
import { openingAt } from './business-hours';
import { BusinessCalendar, Schedule, ScheduleError, scheduleProblems } from './schedule';
import { ScheduleShape, ValidSchedule } from './schedule-schema';

const MIN = 60_000;

const hm = fc
  .tuple(fc.integer({ min: 0, max: 23 }), fc.constantFrom(0, 15, 30, 45, 7))
  .map(([h, m]) => `${String(h).padStart(2, '0')}:${String(m).padStart(2, '0')}`);
const validSchedule: fc.Arbitrary<Schedule> = fc.record({
  timezone: fc.constantFrom('Europe/Berlin', 'America/New_York', 'Asia/Jakarta', 'Australia/Lord_Howe', 'UTC'),
  weekly: fc.array(
    fc
      .record({ day: fc.integer({ min: 1, max: 7 }), start: hm, end: fc.oneof(hm, fc.constant('24:00')) })
      .filter((iv) => iv.start !== iv.end),
    { minLength: 1, maxLength: 5 },
  ),
  holidays: fc.array(
    fc.record({
      date: fc.integer({ min: 0, max: 60 }).map((d) => DateTime.fromISO('2026-03-01').plus({ days: d }).toISODate()!),
      yearly: fc.boolean(),
    }),
    { maxLength: 6 },
  ),
});
const instant = fc.integer({ min: 0, max: 365 * 24 * 60 }).map((m) => Date.parse('2026-01-01T00:00:00Z') + m * MIN);

describe('openingAt: is it open now, and when does it open next', () => {
  it('agrees with the calendar: open is the definition, the next opening is the first business instant', () => {
    fc.assert(
      fc.property(validSchedule, instant, (s, now) => {
        const cal = new BusinessCalendar(s);
        const o = openingAt(cal, now);
        expect(o.open).toBe(cal.isBusinessInstant(now));
        if (o.open) return expect(o.nextOpenAt).toBeNull();
        expect(o.nextOpenAt).not.toBeNull();
        const next = o.nextOpenAt!;
        expect(next).toBeGreaterThan(now);
        expect(cal.isBusinessInstant(next)).toBe(true);
        // Nothing in between: not a single business millisecond, and the minute before is closed.
        expect(cal.businessMsBetween(now, next)).toBe(0);
        expect(cal.isBusinessInstant(next - 1)).toBe(false);
      }),
      { numRuns: 300 },
    );
  });

  it('names no opening when there is none within three years', () => {
    // Every date of the year a holiday (2028 is a leap year, so 02-29 too).
    const day = DateTime.fromISO('2028-01-01', { zone: 'UTC' });
    const holidays = Array.from({ length: 366 }, (_, i) => ({
      date: day.plus({ days: i }).toISODate()!,
      yearly: true,
    }));
    const cal = new BusinessCalendar({ timezone: 'UTC', weekly: [{ day: 1, start: '09:00', end: '17:00' }], holidays });
    expect(openingAt(cal, Date.parse('2026-06-01T10:00:00Z'))).toEqual({ open: false, nextOpenAt: null });
  });
});

describe('scheduleProblems and ValidSchedule: exactly what BusinessCalendar accepts, at the field', () => {
  // Valid and invalid values of every field, so both sides of the equivalence are hit often.
  const anyTime = fc.oneof(hm, fc.constantFrom('24:00', '24:30', '23:60', '9:00', '00:00', 'x'));
  const anySchedule: fc.Arbitrary<Schedule> = fc.record({
    timezone: fc.constantFrom('Europe/Berlin', 'UTC', 'Mars/Olympus', 'Etc/GMT+5', ''),
    weekly: fc.array(fc.record({ day: fc.integer({ min: 0, max: 8 }), start: anyTime, end: anyTime }), {
      maxLength: 4,
    }),
    holidays: fc.array(
      fc.record({
        date: fc.constantFrom('2026-12-25', '2026-02-29', '2028-02-29', '2026-13-01', '2026-1-1'),
        yearly: fc.boolean(),
      }),
      { maxLength: 3 },
    ),
  });

  it('has no problems exactly when the constructor succeeds', () => {
    fc.assert(
      fc.property(anySchedule, (s) => {
        let error: unknown = null;
        try {
          new BusinessCalendar(s);
        } catch (err) {
          error = err;
        }
        if (error !== null) expect(error).toBeInstanceOf(ScheduleError);
        expect(scheduleProblems(s).length === 0).toBe(error === null);
      }),
      { numRuns: 1000 },
    );
  });

  it('ValidSchedule parses exactly the well-formed schedules a calendar can be built from', () => {
    fc.assert(
      fc.property(anySchedule, (s) => {
        const parsed = ValidSchedule.safeParse(s);
        let builds = true;
        try {
          new BusinessCalendar(s);
        } catch {
          builds = false;
        }
        expect(parsed.success).toBe(builds && ScheduleShape.safeParse(s).success);
      }),
      { numRuns: 1000 },
    );
  });

  it('names the field and never the value', () => {
    const issues = (s: unknown) =>
      (ValidSchedule.safeParse(s).error?.issues ?? []).map((i) => `${i.path.join('.')}: ${i.message}`);
    expect(
      issues({
        timezone: 'Mars/Olympus',
        weekly: [
          { day: 1, start: '24:00', end: '24:30' },
          { day: 2, start: '09:00', end: '09:00' },
        ],
        holidays: [{ date: '2026-02-30' }],
      }),
    ).toEqual([
      'timezone: must be an IANA time zone such as Europe/Berlin',
      'weekly.0.start: must be HH:mm from 00:00 to 23:59',
      'weekly.0.end: must be HH:mm from 00:00 to 24:00',
      'weekly.1.end: must differ from start (end before start is an overnight shift; 00:00-24:00 is a full day)',
      'holidays.0.date: must be a date YYYY-MM-DD',
    ]);
    // Malformed first: the structure's own issues, the calendar's checks wait for a well-formed schedule.
    expect(issues({ timezone: 'Mars/Olympus', weekly: [] })).toEqual([
      'weekly: a schedule needs at least one weekly interval',
    ]);
    expect(
      ValidSchedule.parse({ timezone: 'Asia/Jakarta', weekly: [{ day: 5, start: '22:00', end: '06:00' }] }),
    ).toEqual({ timezone: 'Asia/Jakarta', weekly: [{ day: 5, start: '22:00', end: '06:00' }], holidays: [] });
  });
});
