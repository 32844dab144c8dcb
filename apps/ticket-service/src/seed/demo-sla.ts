import { PolicyBody, ScheduleBody } from '../sla/sla.dto';

/**
 * The demo team's SLA, so a new install shows running clocks (`nextDueAt`) from the first ticket:
 * a Jakarta business-hours schedule and one policy with a target per priority — urgent and high
 * in calendar time (hacked accounts and failed transfers do not wait for Monday), normal and low
 * in business time. Validated by the same schemas the SLA admin API uses.
 */
export const DEMO_SCHEDULE_NAME = 'Jakarta business hours';
export const DEMO_POLICY_NAME = 'Payments support SLA';

const HOUR = 3600;

export function demoSchedule(): ScheduleBody {
  return ScheduleBody.parse({
    name: DEMO_SCHEDULE_NAME,
    timezone: 'Asia/Jakarta',
    weekly: [
      ...[1, 2, 3, 4, 5].map((day) => ({ day, start: '08:00', end: '20:00' })),
      { day: 6, start: '09:00', end: '15:00' },
    ],
    holidays: [
      { date: '2026-01-01', yearly: true, name: "New Year's Day" },
      { date: '2026-05-01', yearly: true, name: 'Labour Day' },
      { date: '2026-06-01', yearly: true, name: 'Pancasila Day' },
      { date: '2026-08-17', yearly: true, name: 'Independence Day' },
      { date: '2026-12-25', yearly: true, name: 'Christmas Day' },
    ],
  });
}

export function demoPolicy(teamId: string, scheduleId: string): PolicyBody {
  const calendar = (seconds: number) => ({ seconds, businessTime: false });
  const business = (seconds: number) => ({ seconds, businessTime: true });
  return PolicyBody.parse({
    name: DEMO_POLICY_NAME,
    conditions: { teamId: [teamId] },
    targets: {
      first_reply: {
        urgent: calendar(HOUR / 4),
        high: calendar(HOUR),
        normal: business(4 * HOUR),
        low: business(8 * HOUR),
      },
      next_reply: {
        urgent: calendar(HOUR / 2),
        high: calendar(2 * HOUR),
        normal: business(8 * HOUR),
        low: business(16 * HOUR),
      },
      resolution: {
        urgent: calendar(4 * HOUR),
        high: calendar(24 * HOUR),
        normal: business(36 * HOUR),
        low: business(60 * HOUR),
      },
    },
    scheduleId,
    warningPercent: 80,
  });
}
