import { ValidSchedule } from '@oq/sla';
import { getCountries } from 'libphonenumber-js/max';
import { z } from 'zod';
import { Channel } from './common';
import { EmailAcknowledgementSettings } from './email-acknowledgement';
import { HostAllowList } from './host-patterns';

/**
 * What an inbox's `settings` and `secrets` (InboxConfig) must hold, per channel: the admin API
 * refuses a write that does not match (400 naming the field), and the shared InboxDirectory of the
 * channel services refuses to serve a stored inbox that does not (written before this schema, or
 * by hand in SQL) instead of falling back to defaults. Keys not named here are kept and ignored
 * (display fields such as `botUsername`); the named ones must be valid.
 */

const Port = z.coerce.number().int().min(1).max(65535);

// ---- email (email-service: IMAP ingest, SMTP replies; ticket-service: acknowledgements)

export const EmailInboxSettings = z.object({
  imapHost: z.string().min(1),
  imapPort: Port.default(993),
  /** Implicit TLS (993); false means plain or STARTTLS when offered. */
  imapSecure: z.boolean().default(true),
  imapUser: z.string().min(1),
  folder: z.string().min(1).default('INBOX'),
  /** What happens on the server after a mail became a ticket message. */
  afterImport: z
    .string()
    .regex(/^(leave|seen|move:.+)$/, 'must be leave, seen or move:<folder>')
    .default('leave'),
  smtpHost: z.string().min(1),
  smtpPort: Port.default(587),
  smtpSecure: z.boolean().default(false),
  smtpUser: z.string().min(1).optional(),
  /** From address of replies; the inbox address when absent. */
  fromAddress: z.email().optional(),
  fromName: z.string().max(200).optional(),
  /**
   * Other addresses that reach this mailbox (aliases, forwarding addresses, a group the
   * mailbox is in): like the inbox address and fromAddress they are ours, so they never
   * become CCs of a ticket and mail from them is not a customer's.
   */
  aliases: z.array(z.email()).max(100).default([]),
  /** Sends per second through this inbox's SMTP server, across all replicas (token bucket, burst 2×). */
  smtpRatePerSecond: z.coerce.number().positive().max(10_000).default(100),
  acknowledgement: EmailAcknowledgementSettings.optional(),
});
export type EmailInboxSettings = z.infer<typeof EmailInboxSettings>;

export const EmailInboxSecrets = z
  .object({
    imapPassword: z.string().optional(),
    /** OAuth2 access token: IMAP authenticates with XOAUTH2 instead of a password. */
    imapAccessToken: z.string().optional(),
    smtpPassword: z.string().optional(),
    smtpAccessToken: z.string().optional(),
  })
  .refine((s) => s.imapPassword || s.imapAccessToken, {
    message: 'imapPassword or imapAccessToken is required',
    path: ['imapPassword'],
  });
export type EmailInboxSecrets = z.infer<typeof EmailInboxSecrets>;

// ---- social (social-service: Meta webhooks and sends for whatsapp/messenger/instagram, Telegram)

/**
 * Shared by the four social channels. `mediaHosts`: when set, media (attachment URLs, the URL the
 * Graph API hands out for WhatsApp media, Telegram file downloads) is fetched only from these hosts,
 * every redirect checked too, even when another host is public.
 */
export const SocialInboxSettings = z.object({
  rateLimitPerSecond: z.coerce.number().positive().optional(),
  rateLimitBurst: z.coerce.number().int().positive().optional(),
  mediaHosts: HostAllowList.optional(),
  /**
   * Where this inbox's Graph / Bot API calls go instead of META_GRAPH_BASE_URL / TELEGRAM_API_BASE_URL.
   * Honoured only on inboxes flagged `demo` (seeded by demo mode, pointing at the local fake
   * providers): on any other inbox an admin could send its access token to a host of their choosing.
   */
  providerBaseUrl: z.url({ protocol: /^https?$/ }).optional(),
});
export type SocialInboxSettings = z.infer<typeof SocialInboxSettings>;

/** WhatsApp (address = phone-number id), Messenger (page id, page token), Instagram (IG account id). */
export const MetaInboxSecrets = z.object({
  appSecret: z.string().min(1),
  verifyToken: z.string().min(1),
  accessToken: z.string().min(1),
});
export type MetaInboxSecrets = z.infer<typeof MetaInboxSecrets>;

/** Telegram (address = bot id). */
export const TelegramInboxSecrets = z.object({
  botToken: z.string().regex(/^\d+:[A-Za-z0-9_-]+$/, 'must be a bot token such as 123456:ABC-DEF'),
  webhookSecret: z.string().regex(/^[A-Za-z0-9_-]{1,256}$/, 'must be 1–256 characters of A-Z a-z 0-9 _ -'),
});
export type TelegramInboxSecrets = z.infer<typeof TelegramInboxSecrets>;

// ---- voice (voice-service: Twilio callbacks, signed PBX records)

const COUNTRIES = new Set<string>(getCountries());

/** A region libphonenumber reads numbers without a country code in (ISO 3166 alpha-2, upper case). */
export const PhoneRegion = z
  .string()
  .refine((r) => COUNTRIES.has(r), 'must be an ISO 3166 alpha-2 country code known to libphonenumber');

export const VoiceInboxSettings = z.object({
  /** Overrides VOICE_DEFAULT_REGION for numbers without a country code. */
  defaultRegion: PhoneRegion.optional(),
  /** When set, recordings are fetched only from these hosts, checked on every redirect too. */
  recordingHosts: HostAllowList.optional(),
});
export type VoiceInboxSettings = z.infer<typeof VoiceInboxSettings>;

export const VoiceInboxSecrets = z
  .object({
    /** Twilio: the account's credentials sign callbacks (authToken) and fetch recordings (both). */
    accountSid: z
      .string()
      .regex(/^AC[A-Za-z0-9]{32}$/, 'must be a Twilio Account SID (AC and 32 characters)')
      .optional(),
    authToken: z.string().min(1).optional(),
    /** PBX: HMAC-SHA256 key of signed call records. */
    signingSecret: z.string().min(1).optional(),
  })
  .refine((s) => s.authToken || s.signingSecret, {
    message: 'authToken (Twilio) or signingSecret (PBX) is required',
    path: ['authToken'],
  });
export type VoiceInboxSecrets = z.infer<typeof VoiceInboxSecrets>;

// ---- chat (chat-service: customer sockets and the widget)

// #17: until one release after 1764000015000-ChatBusinessHours, `businessHours` may still arrive in
// chat's old shape — `{ timezone, weekly: [{ day, open, close }], holidays: ['yyyy-mm-dd'] }`, same-day
// intervals only — from a ticket-service that predates it (a rolling deploy) or an admin client. It is
// checked as before and converted to the libs/sla schedule it always meant. In the release after, remove
// everything Legacy* here and the preprocess below (and the conversion in ticket-service's inboxes.service.ts
// checkChannelConfig): the migration rewrote stored rows and the admin API stores only the new shape.
const HHMM = z.string().regex(/^([01]\d|2[0-3]):[0-5]\d$|^24:00$/, 'must be HH:MM');

const LegacyWeeklyHours = z
  .object({ day: z.number().int().min(1).max(7), open: HHMM, close: HHMM })
  .refine((w) => w.close > w.open, { message: 'close must be later than open', path: ['close'] });

const LegacyTimeZone = z.string().refine((tz) => {
  try {
    new Intl.DateTimeFormat('en', { timeZone: tz });
    return true;
  } catch {
    return false;
  }
}, 'must be an IANA time zone such as Europe/Berlin');

const LegacyChatHours = z.object({
  timezone: LegacyTimeZone,
  weekly: z.array(LegacyWeeklyHours).default([]),
  holidays: z.array(z.iso.date()).default([]),
});

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Old shape: an interval with open/close, a holiday as a string, or no interval at all (only it allowed none). */
function isLegacyChatHours(v: unknown): boolean {
  if (!isRecord(v)) return false;
  const weekly = v.weekly === undefined ? [] : v.weekly;
  const holidays = v.holidays === undefined ? [] : v.holidays;
  if (!Array.isArray(weekly) || !Array.isArray(holidays)) return false;
  if (weekly.some((w) => isRecord(w) && ('open' in w || 'close' in w))) return true;
  if (holidays.some((h) => typeof h === 'string')) return true;
  return weekly.length === 0 && holidays.length === 0;
}

/**
 * The old shape checked as before, then as the schedule it meant: each interval's open/close become
 * start/end, each date a single-date holiday. Without any interval it was never open; a schedule cannot
 * say that, so it reads as no business hours (the migration does the same; the admin API refuses it).
 */
function fromLegacyChatHours(v: unknown, ctx: z.RefinementCtx): unknown {
  if (!isLegacyChatHours(v)) return v;
  const old = LegacyChatHours.safeParse(v);
  if (!old.success) {
    for (const issue of old.error.issues) ctx.addIssue({ code: 'custom', path: issue.path, message: issue.message });
    return v;
  }
  if (!old.data.weekly.length) return undefined;
  return {
    timezone: old.data.timezone,
    weekly: old.data.weekly.map((w) => ({ day: w.day, start: w.open, end: w.close })),
    holidays: old.data.holidays.map((date) => ({ date, yearly: false })),
  };
}

/** Exactly what a browser sends in Origin: scheme, host and port, no path or trailing slash. */
const Origin = z.string().refine((o) => {
  if (o === '*') return true;
  try {
    const url = new URL(o);
    return (url.protocol === 'https:' || url.protocol === 'http:') && url.origin === o;
  } catch {
    return false;
  }
}, 'must be an origin like https://app.example');

export const ChatInboxSettings = z.object({
  /** Browser origins allowed to open a customer socket; empty = any (native apps send none); `*` = any. */
  allowedOrigins: z.array(Origin).max(100).default([]),
  /**
   * When the inbox is staffed: a libs/sla schedule (time zone, weekly intervals with overnight shifts,
   * single-date and yearly holidays in that zone), the same rule and shape as SLA schedules. Absent = always open.
   */
  businessHours: z.preprocess(fromLegacyChatHours, ValidSchedule.optional()).optional(),
  /** Shown to the customer on connect ("we usually reply within …"). */
  expectedReplyMinutes: z.number().int().positive().optional(),
  greeting: z.string().max(500).optional(),
});
export type ChatInboxSettings = z.infer<typeof ChatInboxSettings>;

/** The app backend's shared secret for user JWTs and user hashes, under any of these names; none = visitors only. */
export const ChatInboxSecrets = z.object({
  identityVerificationSecret: z.string().min(1).optional(),
  identitySecret: z.string().min(1).optional(),
  hmacSecret: z.string().min(1).optional(),
});
export type ChatInboxSecrets = z.infer<typeof ChatInboxSecrets>;

// ---- the union

const channel = <C extends Channel, S extends z.ZodType, K extends z.ZodType>(name: C, settings: S, secrets: K) =>
  z.object({ channel: z.literal(name), settings, secrets });

export const InboxChannelConfig = z.discriminatedUnion('channel', [
  channel('email', EmailInboxSettings, EmailInboxSecrets),
  channel('whatsapp', SocialInboxSettings, MetaInboxSecrets),
  channel('messenger', SocialInboxSettings, MetaInboxSecrets),
  channel('instagram', SocialInboxSettings, MetaInboxSecrets),
  channel('telegram', SocialInboxSettings, TelegramInboxSecrets),
  channel('voice', VoiceInboxSettings, VoiceInboxSecrets),
  channel('chat', ChatInboxSettings, ChatInboxSecrets),
]);
export type InboxChannelConfig = z.infer<typeof InboxChannelConfig>;

/** One thing wrong with an inbox: `settings.allowedOrigins.0` and why — never the value, which may be a secret. */
export interface InboxConfigProblem {
  path: string;
  message: string;
}

export type InboxConfigCheck =
  { ok: true; value: InboxChannelConfig } | { ok: false; problems: InboxConfigProblem[]; reason: string };

/** Checks an inbox's settings and secrets against its channel's schema. */
export function checkInboxConfig(inbox: { channel: Channel; settings: unknown; secrets: unknown }): InboxConfigCheck {
  const parsed = InboxChannelConfig.safeParse({
    channel: inbox.channel,
    settings: inbox.settings ?? {},
    secrets: inbox.secrets ?? {},
  });
  if (parsed.success) return { ok: true, value: parsed.data };
  const problems = parsed.error.issues.map((i) => ({ path: i.path.join('.'), message: i.message }));
  return { ok: false, problems, reason: problems.map((p) => `${p.path}: ${p.message}`).join('; ') };
}
