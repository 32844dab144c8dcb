import { ChatInboxSettings } from '@oq/contracts';
import { DateTime } from 'luxon';
import { ChatInbox, toChatInbox } from '../inboxes/chat-inbox';
import { businessHours } from './availability.service';

const inbox = (settings: unknown): ChatInbox => ({
  id: '6f1c1c1e-8d1f-4c53-9a7e-2b7f4f0e9a10',
  name: 'chat',
  enabled: true,
  defaultTeamId: '6f1c1c1e-8d1f-4c53-9a7e-2b7f4f0e9a11',
  settings: ChatInboxSettings.parse(settings),
});
const at = (iso: string) => DateTime.fromISO(iso, { zone: 'utc' });

// Mon–Fri 09:00–17:00 in Berlin; 2026-12-25 is a holiday: as a libs/sla schedule, and in chat's old
// shape (#17: still read for one release) which must mean exactly the same.
const weekdays = [1, 2, 3, 4, 5];
describe.each([
  [
    'a libs/sla schedule',
    {
      timezone: 'Europe/Berlin',
      weekly: weekdays.map((day) => ({ day, start: '09:00', end: '17:00' })),
      holidays: [{ date: '2026-12-25' }],
    },
  ],
  [
    "chat's old shape",
    {
      timezone: 'Europe/Berlin',
      weekly: weekdays.map((day) => ({ day, open: '09:00', close: '17:00' })),
      holidays: ['2026-12-25'],
    },
  ],
])('business hours on connect, %s', (_, hours) => {
  const berlin = inbox({ businessHours: hours });

  it('is open inside the weekly hours in the inbox time zone, not in UTC', () => {
    // 08:30 UTC on a Wednesday is 09:30 in Berlin (CET, UTC+1).
    expect(businessHours(berlin, at('2026-11-25T08:30:00Z'))).toEqual({ open: true, nextOpenAt: null });
    // 16:30 UTC is 17:30 in Berlin: closed, next opening Thursday 09:00 Berlin = 08:00 UTC.
    expect(businessHours(berlin, at('2026-11-25T16:30:00Z'))).toEqual({
      open: false,
      nextOpenAt: '2026-11-26T08:00:00.000Z',
    });
  });

  it('skips weekends and holidays when naming the next opening', () => {
    // Saturday → Monday 09:00 Berlin.
    expect(businessHours(berlin, at('2026-11-28T12:00:00Z')).nextOpenAt).toBe('2026-11-30T08:00:00.000Z');
    // Christmas Day (Friday) is a holiday → Monday the 28th.
    expect(businessHours(berlin, at('2026-12-25T10:00:00Z'))).toEqual({
      open: false,
      nextOpenAt: '2026-12-28T08:00:00.000Z',
    });
  });
});

describe('business hours on connect', () => {
  it('is always open without configured hours, and refuses malformed settings instead of reading defaults', () => {
    expect(businessHours(inbox({}), at('2026-11-28T03:00:00Z')).open).toBe(true);
    const config = {
      id: '6f1c1c1e-8d1f-4c53-9a7e-2b7f4f0e9a10',
      name: 'chat',
      channel: 'chat' as const,
      address: 'app',
      defaultTeamId: '6f1c1c1e-8d1f-4c53-9a7e-2b7f4f0e9a11',
      enabled: true,
      settings: { businessHours: { timezone: 'UTC', weekly: [{ day: 1, open: '09:00', close: '17:00' }] } },
      secrets: { identityVerificationSecret: 's3cret' },
    };
    expect(toChatInbox(config)).toMatchObject({ identitySecret: 's3cret', settings: { allowedOrigins: [] } });
    const broken = {
      ...config,
      settings: { businessHours: { timezone: 'UTC', weekly: [{ day: 8, open: '9', close: 'x' }] } },
    };
    expect(() => toChatInbox(broken)).toThrow(
      /settings\.businessHours\.weekly\.0\.day: .*; settings\.businessHours\.weekly\.0\.open: must be HH:MM/,
    );
    const brokenSchedule = {
      ...config,
      settings: { businessHours: { timezone: 'UTC', weekly: [{ day: 1, start: '24:00', end: '24:00' }] } },
    };
    expect(() => toChatInbox(brokenSchedule)).toThrow(/settings\.businessHours\.weekly\.0\.start: must be HH:mm/);
  });

  it('an overnight shift is open across midnight, into the next weekday', () => {
    // Friday 22:00 – Saturday 06:00 in Jakarta (UTC+7, no DST).
    const nights = inbox({
      businessHours: { timezone: 'Asia/Jakarta', weekly: [{ day: 5, start: '22:00', end: '06:00' }] },
    });
    // Friday 21:00 Jakarta: opens at 22:00 (15:00 UTC).
    expect(businessHours(nights, at('2026-11-27T14:00:00Z'))).toEqual({
      open: false,
      nextOpenAt: '2026-11-27T15:00:00.000Z',
    });
    // Friday 23:30 and Saturday 05:59 Jakarta: open.
    expect(businessHours(nights, at('2026-11-27T16:30:00Z'))).toEqual({ open: true, nextOpenAt: null });
    expect(businessHours(nights, at('2026-11-27T22:59:00Z'))).toEqual({ open: true, nextOpenAt: null });
    // Saturday 06:00 Jakarta: closed until next Friday 22:00.
    expect(businessHours(nights, at('2026-11-27T23:00:00Z'))).toEqual({
      open: false,
      nextOpenAt: '2026-12-04T15:00:00.000Z',
    });
  });

  it("a holiday closes its whole date in the schedule's zone, the tail of an overnight shift included", () => {
    // Los Angeles (UTC−8 in December), Mon–Fri 09:00–17:00, Christmas Day a yearly holiday.
    const la = inbox({
      businessHours: {
        timezone: 'America/Los_Angeles',
        weekly: weekdays.map((day) => ({ day, start: '09:00', end: '17:00' })),
        holidays: [{ date: '2020-12-25', yearly: true }],
      },
    });
    // Thursday 24th 16:30 in LA is already the 25th in UTC: still open.
    expect(businessHours(la, at('2026-12-25T00:30:00Z'))).toEqual({ open: true, nextOpenAt: null });
    // Friday 25th 10:00 in LA: closed, next Monday 09:00 PST.
    expect(businessHours(la, at('2026-12-25T18:00:00Z'))).toEqual({
      open: false,
      nextOpenAt: '2026-12-28T17:00:00.000Z',
    });

    // Friday 22:00 – Saturday 06:00 Jakarta with Saturday 2026-11-28 a holiday: Friday's evening stays
    // open, the hours after midnight (on the holiday's date) do not.
    const nights = inbox({
      businessHours: {
        timezone: 'Asia/Jakarta',
        weekly: [{ day: 5, start: '22:00', end: '06:00' }],
        holidays: [{ date: '2026-11-28' }],
      },
    });
    expect(businessHours(nights, at('2026-11-27T16:00:00Z')).open).toBe(true); // Fri 23:00
    expect(businessHours(nights, at('2026-11-27T18:00:00Z'))).toEqual({
      open: false, // Sat 01:00, the holiday
      nextOpenAt: '2026-12-04T15:00:00.000Z',
    });
  });

  it('keeps wall-clock hours on a DST day', () => {
    // Sunday 2026-03-29 Berlin springs forward at 02:00: 09:00 that day is 07:00 UTC (CEST).
    const sundays = inbox({
      businessHours: { timezone: 'Europe/Berlin', weekly: [{ day: 7, start: '09:00', end: '17:00' }] },
    });
    expect(businessHours(sundays, at('2026-03-29T06:30:00Z'))).toEqual({
      open: false,
      nextOpenAt: '2026-03-29T07:00:00.000Z',
    });
    expect(businessHours(sundays, at('2026-03-29T14:59:00Z')).open).toBe(true); // 16:59 CEST
    expect(businessHours(sundays, at('2026-03-29T15:00:00Z')).open).toBe(false);
  });
});
