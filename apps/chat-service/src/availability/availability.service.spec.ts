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

describe('business hours on connect', () => {
  // Mon–Fri 09:00–17:00 in Berlin; 2026-12-25 is a holiday.
  const berlin = inbox({
    businessHours: {
      timezone: 'Europe/Berlin',
      weekly: [1, 2, 3, 4, 5].map((day) => ({ day, open: '09:00', close: '17:00' })),
      holidays: ['2026-12-25'],
    },
  });
  const at = (iso: string) => DateTime.fromISO(iso, { zone: 'utc' });

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
  });
});
