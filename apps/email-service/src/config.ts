import { BaseConfigSchema } from '@oq/platform';
import { z } from 'zod';

const bool = z.enum(['true', 'false', '1', '0']).transform((v) => v === 'true' || v === '1');

export const ConfigSchema = BaseConfigSchema.extend({
  EMAIL_SERVICE_PORT: z.coerce.number().int().min(0).max(65535).default(3002),
  /** ticket-service base URL for the internal inbox API. */
  TICKET_SERVICE_URL: z.url().default('http://127.0.0.1:3000'),
  /** Signs generated Message-IDs (same secret as ticket-service) when a job carries none. */
  EMAIL_THREADING_SECRET: z.string().min(24).optional(),
  /** Run the IMAP side (leases, IDLE); a replica may be dedicated to sending. */
  EMAIL_IMAP_ENABLED: bool.default(true),
  /** Mails above this size are not parsed: a message says so and the raw source is kept. */
  EMAIL_MAX_MESSAGE_BYTES: z.coerce
    .number()
    .int()
    .positive()
    .default(25 * 1024 * 1024),
  EMAIL_PARSE_TIMEOUT_MS: z.coerce.number().int().positive().default(2000),
  EMAIL_PARSER_THREADS: z.coerce.number().int().min(1).max(16).default(2),
  /** One IMAP connection per mailbox across replicas: lease TTL; renewed every third of it. */
  EMAIL_LEASE_TTL_MS: z.coerce.number().int().min(1000).default(10_000),
  /** Safety net besides IDLE: a full check for new UIDs this often. */
  EMAIL_POLL_FALLBACK_MS: z.coerce.number().int().min(1000).default(600_000),
  /** IDLE is re-issued before servers drop it (RFC 2177: 29 min; many servers far less). */
  EMAIL_IDLE_RESTART_MS: z.coerce.number().int().min(1000).default(240_000),
  /** UIDs fetched per round trip during a backlog import. */
  EMAIL_FETCH_BATCH: z.coerce.number().int().min(1).max(2000).default(200),
  /** Full re-read of the inbox list (besides inbox-changed pub/sub), read by the shared InboxDirectory. */
  INBOX_REFRESH_MS: z.coerce.number().int().min(1000).default(60_000),
  EMAIL_OUTBOUND_CONCURRENCY: z.coerce.number().int().min(1).max(500).default(50),
  /** Where ticket-service serves attachments; the sha256 is appended (cid: images point here). */
  EMAIL_ATTACHMENT_URL_BASE: z.string().default('/v1/attachments/'),
});
export type Config = z.infer<typeof ConfigSchema> & { SERVICE_NAME: string };
