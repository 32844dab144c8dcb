import { InboxConfig } from '@oq/contracts';
import { z } from 'zod';

const HHMM = z.string().regex(/^([01]\d|2[0-3]):[0-5]\d$|^24:00$/, 'must be HH:MM');

/** One opening interval on an ISO weekday (1 = Monday … 7 = Sunday). */
export const WeeklyHours = z.object({ day: z.number().int().min(1).max(7), open: HHMM, close: HHMM });

/**
 * The chat-specific part of an inbox's settings. Unknown keys are ignored so
 * other settings (set by admins through ticket-service) never break chat.
 */
export const ChatInboxSettings = z.object({
  /** Browser origins allowed to open a customer socket; empty = any (native apps send none). */
  allowedOrigins: z.array(z.string()).default([]),
  businessHours: z
    .object({
      timezone: z.string().min(1),
      weekly: z.array(WeeklyHours).default([]),
      /** ISO dates (yyyy-mm-dd, in the schedule's time zone) without business hours. */
      holidays: z.array(z.string()).default([]),
    })
    .optional(),
  /** Shown to the customer on connect ("we usually reply within …"). */
  expectedReplyMinutes: z.number().int().positive().optional(),
  greeting: z.string().max(500).optional(),
});
export type ChatInboxSettings = z.infer<typeof ChatInboxSettings>;

export interface ChatInbox {
  id: string;
  name: string;
  enabled: boolean;
  defaultTeamId: string;
  settings: ChatInboxSettings;
  /** The app backend's shared secret for user JWTs and user hashes; undefined = visitors only. */
  identitySecret?: string;
}

/** Secret names accepted for identity verification (the admin UI may use either). */
const SECRET_KEYS = ['identityVerificationSecret', 'identitySecret', 'hmacSecret'];

export function toChatInbox(config: InboxConfig): ChatInbox {
  const parsed = ChatInboxSettings.safeParse(config.settings ?? {});
  const settings = parsed.success ? parsed.data : ChatInboxSettings.parse({});
  const key = SECRET_KEYS.find((k) => typeof config.secrets?.[k] === 'string' && config.secrets[k].length > 0);
  return {
    id: config.id,
    name: config.name,
    enabled: config.enabled,
    defaultTeamId: config.defaultTeamId,
    settings,
    identitySecret: key ? config.secrets[key] : undefined,
  };
}
