import { BusinessCalendar } from '@oq/sla';
import { ChatInboxSettings, checkInboxConfig } from './inbox-settings';

/** #17: a chat inbox's businessHours is a libs/sla schedule; the old chat shape is read for one release. */
const hours = (businessHours: unknown) => ChatInboxSettings.parse({ businessHours }).businessHours;
const problems = (businessHours: unknown) => {
  const check = checkInboxConfig({ channel: 'chat', settings: { businessHours }, secrets: {} });
  return check.ok ? [] : check.problems.map((p) => `${p.path}: ${p.message}`);
};

describe('chat inbox businessHours', () => {
  const schedule = {
    timezone: 'Asia/Jakarta',
    weekly: [
      { day: 1, start: '08:00', end: '20:00' },
      { day: 5, start: '22:00', end: '06:00' },
      { day: 6, start: '00:00', end: '24:00' },
    ],
    holidays: [{ date: '2026-08-17', yearly: true, name: 'Independence Day' }, { date: '2026-12-25' }],
  };

  it('is a libs/sla schedule: overnight shifts, yearly holidays, defaults as in the SLA schedules', () => {
    expect(hours(schedule)).toEqual({
      ...schedule,
      holidays: [
        { date: '2026-08-17', yearly: true, name: 'Independence Day' },
        { date: '2026-12-25', yearly: false },
      ],
    });
    expect(hours({ timezone: 'UTC', weekly: [{ day: 1, start: '09:00', end: '17:00' }] })).toEqual({
      timezone: 'UTC',
      weekly: [{ day: 1, start: '09:00', end: '17:00' }],
      holidays: [],
    });
    expect(() => new BusinessCalendar(hours(schedule)!)).not.toThrow();
    expect(ChatInboxSettings.parse({}).businessHours).toBeUndefined();
  });

  it('reads the old shape as the same hours: open/close → start/end, dates → single-date holidays', () => {
    const old = {
      timezone: 'Europe/Berlin',
      weekly: [
        { day: 1, open: '09:00', close: '12:00' },
        { day: 1, open: '13:00', close: '17:00' },
        { day: 7, open: '00:00', close: '24:00' },
      ],
      holidays: ['2026-12-24', '2026-12-25'],
    };
    const same = {
      timezone: 'Europe/Berlin',
      weekly: [
        { day: 1, start: '09:00', end: '12:00' },
        { day: 1, start: '13:00', end: '17:00' },
        { day: 7, start: '00:00', end: '24:00' },
      ],
      holidays: [{ date: '2026-12-24' }, { date: '2026-12-25' }],
    };
    expect(hours(old)).toEqual(hours(same));
    expect(hours({ timezone: 'UTC', weekly: [{ day: 2, open: '08:00', close: '09:30' }] })).toEqual({
      timezone: 'UTC',
      weekly: [{ day: 2, start: '08:00', end: '09:30' }],
      holidays: [],
    });
    // Only the old shape allowed no interval (never open): a schedule cannot say that, so no hours.
    expect(hours({ timezone: 'Europe/Berlin' })).toBeUndefined();
    expect(hours({ timezone: 'Europe/Berlin', weekly: [], holidays: [] })).toBeUndefined();
  });

  it('checks the old shape by its old rules, naming its fields', () => {
    expect(problems({ timezone: 'UTC', weekly: [{ day: 1, open: '22:00', close: '06:00' }] })).toEqual([
      'settings.businessHours.weekly.0.close: close must be later than open',
    ]);
    expect(problems({ timezone: 'Mars/Olympus_Mons', weekly: [] })).toEqual([
      'settings.businessHours.timezone: must be an IANA time zone such as Europe/Berlin',
    ]);
    expect(
      problems({ timezone: 'UTC', weekly: [{ day: 1, open: '9', close: '17:00' }], holidays: ['2026-02-30'] }),
    ).toEqual([
      'settings.businessHours.weekly.0.open: must be HH:MM',
      'settings.businessHours.weekly.0.close: close must be later than open',
      'settings.businessHours.holidays.0: Invalid ISO date',
    ]);
  });

  it('checks a schedule as BusinessCalendar does, each problem at its field, with the other settings', () => {
    expect(problems({ timezone: 'Mars/Olympus', weekly: [{ day: 1, start: '09:00', end: '17:00' }] })).toEqual([
      'settings.businessHours.timezone: must be an IANA time zone such as Europe/Berlin',
    ]);
    expect(problems({ timezone: 'UTC', weekly: [], holidays: [{ date: '2026-12-25' }] })).toEqual([
      'settings.businessHours.weekly: a schedule needs at least one weekly interval',
    ]);
    expect(problems({ timezone: 'UTC', weekly: [{ day: 8, start: '9:00', end: '17:00' }] })).toEqual([
      'settings.businessHours.weekly.0.day: Too big: expected number to be <=7',
      'settings.businessHours.weekly.0.start: time must be HH:mm',
    ]);
    const check = checkInboxConfig({
      channel: 'chat',
      settings: {
        allowedOrigins: ['app.example'],
        businessHours: { timezone: 'Mars/Olympus', weekly: [schedule.weekly[0]] },
      },
      secrets: {},
    });
    expect(check.ok ? [] : check.problems.map((p) => p.path)).toEqual([
      'settings.allowedOrigins.0',
      'settings.businessHours.timezone',
    ]);
  });
});
