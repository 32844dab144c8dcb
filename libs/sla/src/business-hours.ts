import { BusinessCalendar, ScheduleError } from './schedule';

/** Business hours as a customer sees them at one instant. */
export interface Opening {
  /** The instant is business time (BusinessCalendar.isBusinessInstant). */
  open: boolean;
  /** When closed: the first business instant after it (epoch ms); null when open, or none within three years. */
  nextOpenAt: number | null;
}

/** Is `ms` within the calendar's business hours, and if not, when do they next begin? */
export function openingAt(calendar: BusinessCalendar, ms: number): Opening {
  if (calendar.isBusinessInstant(ms)) return { open: true, nextOpenAt: null };
  try {
    for (const [start] of calendar.spans(ms)) return { open: false, nextOpenAt: start };
  } catch (err) {
    // spans() gives up after three years without business time (a schedule of holidays only).
    if (!(err instanceof ScheduleError)) throw err;
  }
  return { open: false, nextOpenAt: null };
}
