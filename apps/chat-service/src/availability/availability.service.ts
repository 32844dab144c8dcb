import { Injectable } from '@nestjs/common';
import { AgentRepository } from '@oq/database';
import { BusinessCalendar, openingAt } from '@oq/sla';
import { DateTime } from 'luxon';
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

  constructor(private readonly agents: AgentRepository) {}

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
    const online = this.agents.anyOnlineInTeam(teamId).catch(() => false);
    this.presence.set(teamId, { at: Date.now(), online });
    return online;
  }
}

/**
 * Whether `now` is within the inbox's business hours and, if not, when they next begin: libs/sla's
 * rule (BusinessCalendar), the one SLA schedules use — overnight shifts, holidays in the schedule's zone.
 */
export function businessHours(inbox: ChatInbox, now: DateTime): { open: boolean; nextOpenAt: string | null } {
  const schedule = inbox.settings.businessHours;
  if (!schedule) return { open: true, nextOpenAt: null };
  // The settings schema (ValidSchedule) accepted it, so the calendar builds.
  const { open, nextOpenAt } = openingAt(new BusinessCalendar(schedule), now.toMillis());
  return { open, nextOpenAt: nextOpenAt === null ? null : new Date(nextOpenAt).toISOString() };
}
