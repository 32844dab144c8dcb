import { z } from 'zod';
import { scheduleProblems } from './schedule';

/**
 * A business-hours schedule as JSON (see Schedule in schedule.ts for what it means): the one shape of
 * SLA schedules (ticket-service's admin API, `ScheduleBody` in sla.dto.ts) and of a chat inbox's
 * `businessHours` (libs/contracts inbox-settings.ts).
 */
const Hm = z.string().regex(/^([01]\d|2[0-4]):[0-5]\d$/, 'time must be HH:mm');

/** An interval on the ISO weekday it starts on; `end` at or before `start` is an overnight shift. */
export const WeeklyIntervalShape = z.object({ day: z.number().int().min(1).max(7), start: Hm, end: Hm });

export const HolidayShape = z.object({
  date: z.string().regex(/^\d{4}-\d{2}-\d{2}$/, 'holiday date must be YYYY-MM-DD'),
  yearly: z.boolean().default(false),
  name: z.string().max(200).optional(),
});

/**
 * The structure only: the SLA admin API checks the rest by building a BusinessCalendar (its 400 quotes
 * the calendar's reason). Use ValidSchedule where every problem must name its field.
 */
export const ScheduleShape = z.object({
  timezone: z.string().min(1).max(100),
  weekly: z.array(WeeklyIntervalShape).min(1, 'a schedule needs at least one weekly interval').max(100),
  holidays: z.array(HolidayShape).max(1000).default([]),
});

/** ScheduleShape accepting exactly what `new BusinessCalendar` accepts, each problem at its field. */
export const ValidSchedule = ScheduleShape.superRefine(
  (s, ctx) => {
    for (const p of scheduleProblems(s)) ctx.addIssue({ code: 'custom', path: p.path, message: p.message });
  },
  // Only on a well-formed schedule: a malformed one already has its issues.
  { when: (payload) => payload.issues.length === 0 },
);
export type ValidSchedule = z.infer<typeof ValidSchedule>;
