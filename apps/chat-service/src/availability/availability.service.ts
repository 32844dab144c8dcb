import { Injectable } from '@nestjs/common';
import { DateTime } from 'luxon';
import { DataSource } from 'typeorm';
import { ChatInbox } from '../inboxes/chat-inbox';

export interface Availability {
  agentsOnline: boolean;
  /** null when the inbox has no business hours configured (always open). */
  withinBusinessHours: boolean;
  nextOpenAt: string | null;
  expectedReplyMinutes: number | null;
  greeting: string | null;
}

const PRESENCE_TTL_MS = 5000;

/**
 * What a customer learns on connect. Agents' presence is read from Postgres
 * (ticket-service's agents table) and cached a few seconds per team, so a burst
 * of thousands of connects costs one query per team, not one per socket.
 */
@Injectable()
export class AvailabilityService {
  private readonly presence = new Map<string, { at: number; online: Promise<boolean> }>();

  constructor(private readonly ds: DataSource) {}

  async of(inbox: ChatInbox, now = DateTime.utc()): Promise<Availability> {
    const hours = businessHours(inbox, now);
    return {
      agentsOnline: await this.agentsOnline(inbox.defaultTeamId),
      withinBusinessHours: hours.open,
      nextOpenAt: hours.nextOpenAt,
      expectedReplyMinutes: inbox.settings.expectedReplyMinutes ?? null,
      greeting: inbox.settings.greeting ?? null,
    };
  }

  private agentsOnline(teamId: string): Promise<boolean> {
    const cached = this.presence.get(teamId);
    if (cached && Date.now() - cached.at < PRESENCE_TTL_MS) return cached.online;
    const online = this.ds
      .query(
        `SELECT EXISTS (
           SELECT 1 FROM agents a JOIN agent_teams at ON at.agent_id = a.id
           WHERE at.team_id = $1 AND a.active AND a.presence = 'online') AS online`,
        [teamId],
      )
      .then((rows: { online: boolean }[]) => rows[0]?.online === true)
      .catch(() => false);
    this.presence.set(teamId, { at: Date.now(), online });
    return online;
  }
}

/** Whether `now` falls in the inbox's weekly hours (in its time zone), and when it next opens. */
export function businessHours(inbox: ChatInbox, now: DateTime): { open: boolean; nextOpenAt: string | null } {
  const bh = inbox.settings.businessHours;
  if (!bh) return { open: true, nextOpenAt: null };
  const local = now.setZone(bh.timezone);
  if (!local.isValid) return { open: true, nextOpenAt: null };
  const holidays = new Set(bh.holidays);
  const at = (day: DateTime, hhmm: string) => {
    const [h, m] = hhmm.split(':').map(Number);
    return day.startOf('day').plus({ hours: h, minutes: m });
  };
  // Look at today and the next 13 days: the first interval that contains or follows `now`.
  for (let d = 0; d < 14; d++) {
    const day = local.plus({ days: d });
    if (holidays.has(day.toISODate()!)) continue;
    const intervals = bh.weekly.filter((w) => w.day === day.weekday).sort((a, b) => a.open.localeCompare(b.open));
    for (const w of intervals) {
      const open = at(day, w.open);
      const close = at(day, w.close);
      if (d === 0 && local >= open && local < close) return { open: true, nextOpenAt: null };
      if (open > local) return { open: false, nextOpenAt: open.toUTC().toISO() };
    }
  }
  return { open: false, nextOpenAt: null };
}
