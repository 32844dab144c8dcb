import fc from 'fast-check';
import { DateTime, IANAZone } from 'luxon';
import { BusinessCalendar, Schedule, ScheduleError } from './schedule';

const MIN = 60_000;
const H = 60 * MIN;

/**
 * The brute-force reference: walks minute by minute, converting each instant to
 * local wall-clock time independently of BusinessCalendar's span logic.
 */
// Offsets per quarter hour: every zone tested changes offset on a quarter-hour boundary.
const offsets = new Map<string, number>();
function offsetMinutes(zone: string, t: number): number {
  const key = `${zone}|${Math.floor(t / (15 * MIN))}`;
  let o = offsets.get(key);
  if (o === undefined) offsets.set(key, (o = IANAZone.create(zone).offset(t)));
  return o;
}

function referenceIsBusiness(s: Schedule, t: number): boolean {
  const toMin = (hm: string) => Number(hm.slice(0, 2)) * 60 + Number(hm.slice(3, 5));
  // Local wall clock = UTC fields of (t + offset); cheaper than a DateTime per minute.
  const l = new Date(t + offsetMinutes(s.timezone, t) * MIN);
  const date = l.toISOString().slice(0, 10);
  if (s.holidays.some((h) => (h.yearly ? h.date.slice(5) === date.slice(5) : h.date === date))) return false;
  const m = l.getUTCHours() * 60 + l.getUTCMinutes();
  const weekday = l.getUTCDay() === 0 ? 7 : l.getUTCDay();
  const prevDay = weekday === 1 ? 7 : weekday - 1;
  return s.weekly.some((iv) => {
    const a = toMin(iv.start);
    const b = toMin(iv.end);
    if (b > a) return iv.day === weekday && m >= a && m < b;
    return (iv.day === weekday && m >= a) || (iv.day === prevDay && m < b);
  });
}

function referenceBusinessMinutes(s: Schedule, from: number, to: number): number {
  let n = 0;
  for (let t = from; t < to; t += MIN) if (referenceIsBusiness(s, t)) n++;
  return n;
}

const ZONES = [
  'Europe/Berlin',
  'America/New_York',
  'Asia/Ho_Chi_Minh',
  'Australia/Lord_Howe', // 30-minute DST shift
  'America/Santiago', // DST at midnight
  'Asia/Kolkata',
  'UTC',
];
// Instants near DST transitions of 2026 so the property hits them often.
const DST_EDGES = [
  '2026-03-29T00:30:00Z', // Europe spring forward
  '2026-10-25T00:30:00Z', // Europe fall back
  '2026-03-08T06:30:00Z', // US spring forward
  '2026-11-01T05:30:00Z', // US fall back
  '2026-04-04T14:00:00Z', // Lord Howe fall back (02:00 → 01:30)
  '2026-10-03T15:00:00Z', // Lord Howe spring forward
  '2026-04-05T02:00:00Z', // Santiago
  '2026-09-06T03:00:00Z',
].map((s) => Date.parse(s));

const hm = fc
  .tuple(fc.integer({ min: 0, max: 23 }), fc.constantFrom(0, 15, 30, 45, 7))
  .map(([h, m]) => `${String(h).padStart(2, '0')}:${String(m).padStart(2, '0')}`);
const interval = fc
  .record({ day: fc.integer({ min: 1, max: 7 }), start: hm, end: fc.oneof(hm, fc.constant('24:00')) })
  .filter((iv) => iv.start !== iv.end && !(iv.start === '00:00' && iv.end === '24:00' && false));
const schedule: fc.Arbitrary<Schedule> = fc.record({
  timezone: fc.constantFrom(...ZONES),
  weekly: fc.array(interval, { minLength: 1, maxLength: 6 }),
  holidays: fc.array(
    fc.record({
      date: fc.integer({ min: 0, max: 20 }).map((d) =>
        DateTime.fromISO('2026-03-20')
          .plus({ days: d * 3 })
          .toISODate()!,
      ),
      yearly: fc.boolean(),
    }),
    { maxLength: 4 },
  ),
});
const start = fc.oneof(
  fc.constantFrom(...DST_EDGES).chain((e) => fc.integer({ min: -48 * 60, max: 24 * 60 }).map((m) => e + m * MIN)),
  fc.integer({ min: 0, max: 365 * 24 * 60 }).map((m) => Date.parse('2026-01-01T00:00:00Z') + m * MIN),
);

describe('BusinessCalendar arithmetic (property-based against a minute-by-minute reference)', () => {
  it('businessMsBetween equals the brute-force count of business minutes', () => {
    fc.assert(
      fc.property(schedule, start, fc.integer({ min: 0, max: 4 * 24 * 60 }), (s, from, minutes) => {
        const cal = new BusinessCalendar(s);
        const to = from + minutes * MIN;
        expect(cal.businessMsBetween(from, to)).toBe(referenceBusinessMinutes(s, from, to) * MIN);
      }),
      { numRuns: 100 },
    );
  });

  it('addBusinessMs is the earliest instant that accumulates exactly the business time', () => {
    fc.assert(
      fc.property(schedule, start, fc.integer({ min: 1, max: 12 * 60 }), (s, from, minutes) => {
        const cal = new BusinessCalendar(s);
        const due = cal.addBusinessMs(from, minutes * MIN);
        // Sparse schedules put the due date months away; the minute walk would be too slow there.
        fc.pre(due - from <= 4 * 24 * H);
        expect(referenceBusinessMinutes(s, from, due)).toBe(minutes);
        // Earliest: one minute earlier is short of the target, and the last minute is business time.
        expect(referenceIsBusiness(s, due - MIN)).toBe(true);
      }),
      { numRuns: 60 },
    );
  });

  it('is additive: between(a,c) = between(a,b) + between(b,c)', () => {
    fc.assert(
      fc.property(
        schedule,
        start,
        fc.integer({ min: 0, max: 10 * 24 * 60 }),
        fc.integer({ min: 0, max: 10 * 24 * 60 }),
        (s, a, x, y) => {
          const cal = new BusinessCalendar(s);
          const b = a + x * MIN;
          const c = b + y * MIN;
          expect(cal.businessMsBetween(a, c)).toBe(cal.businessMsBetween(a, b) + cal.businessMsBetween(b, c));
        },
      ),
      { numRuns: 150 },
    );
  });
});

describe('BusinessCalendar edges', () => {
  const berlin: Schedule = {
    timezone: 'Europe/Berlin',
    weekly: [1, 2, 3, 4, 5].map((day) => ({ day, start: '09:00', end: '17:00' })),
    holidays: [{ date: '2026-12-25', yearly: true }, { date: '2026-12-24' }],
  };

  it('skips the weekend: Friday 16:00 + 2 h is Monday 10:00', () => {
    const cal = new BusinessCalendar(berlin);
    const fri = DateTime.fromISO('2026-11-27T16:00', { zone: 'Europe/Berlin' }).toMillis();
    expect(DateTime.fromMillis(cal.addBusinessMs(fri, 2 * H), { zone: 'Europe/Berlin' }).toISO()).toBe(
      '2026-11-30T10:00:00.000+01:00',
    );
  });

  it('skips single-date and yearly holidays', () => {
    const cal = new BusinessCalendar(berlin);
    const wed = DateTime.fromISO('2026-12-23T16:00', { zone: 'Europe/Berlin' }).toMillis();
    // 24th (single date) and 25th (yearly) are off; the 26th is a Saturday.
    expect(DateTime.fromMillis(cal.addBusinessMs(wed, 2 * H), { zone: 'Europe/Berlin' }).toISODate()).toBe(
      '2026-12-28',
    );
    const nextYear = DateTime.fromISO('2027-12-24T16:00', { zone: 'Europe/Berlin' }).toMillis();
    // 2027-12-24 is a Friday and not a holiday (single date was 2026); the 25th recurs but is a Saturday.
    expect(DateTime.fromMillis(cal.addBusinessMs(nextYear, 2 * H), { zone: 'Europe/Berlin' }).toISO()).toBe(
      '2027-12-27T10:00:00.000+01:00',
    );
  });

  it('an overnight shift crosses midnight and a spring-forward night is one hour shorter', () => {
    const cal = new BusinessCalendar({
      timezone: 'Europe/Berlin',
      weekly: [{ day: 6, start: '22:00', end: '06:00' }],
      holidays: [],
    });
    // Sat 2026-03-28 22:00 → Sun 06:00 local; clocks jump 02:00 → 03:00: 7 real hours.
    const a = DateTime.fromISO('2026-03-28T20:00', { zone: 'Europe/Berlin' }).toMillis();
    const b = DateTime.fromISO('2026-03-29T12:00', { zone: 'Europe/Berlin' }).toMillis();
    expect(cal.businessMsBetween(a, b)).toBe(7 * H);
    // Fall-back night (2026-10-24/25): the repeated hour counts twice → 9 real hours.
    const c = DateTime.fromISO('2026-10-24T20:00', { zone: 'Europe/Berlin' }).toMillis();
    const d = DateTime.fromISO('2026-10-25T12:00', { zone: 'Europe/Berlin' }).toMillis();
    expect(cal.businessMsBetween(c, d)).toBe(9 * H);
  });

  it('rejects invalid schedules with a reason', () => {
    expect(() => new BusinessCalendar({ timezone: 'Mars/Olympus', weekly: berlin.weekly, holidays: [] })).toThrow(
      /unknown time zone/,
    );
    expect(() => new BusinessCalendar({ timezone: 'UTC', weekly: [], holidays: [] })).toThrow(ScheduleError);
    expect(
      () => new BusinessCalendar({ timezone: 'UTC', weekly: [{ day: 8, start: '09:00', end: '10:00' }], holidays: [] }),
    ).toThrow(/ISO weekday/);
    expect(
      () => new BusinessCalendar({ timezone: 'UTC', weekly: [{ day: 1, start: '9:00', end: '10:00' }], holidays: [] }),
    ).toThrow(/HH:mm/);
  });
});
