import { BaseConfigSchema, ChannelServiceConfig } from '@oq/platform';
import { z } from 'zod';

const bool = z.enum(['true', 'false', '1', '0']).transform((v) => v === 'true' || v === '1');

export const ConfigSchema = BaseConfigSchema.extend({
  ...ChannelServiceConfig,
  /** email-service's HTTP port (health, metrics, internal API). */
  EMAIL_SERVICE_PORT: z.coerce.number().int().min(0).max(65535).default(3002),
  /** Signs generated Message-IDs (same secret as ticket-service) when a job carries none. */
  EMAIL_THREADING_SECRET: z.string().min(24).optional(),
  /** Run the IMAP side (leases, IDLE); a replica may be dedicated to sending. */
  EMAIL_IMAP_ENABLED: bool.default(true),
  /**
   * Mails above this raw size are not parsed: a message says so and the raw source is kept.
   *
   * Raw, because that is what is fetched and held; the default leaves room for base64's 4/3
   * and line breaks, so a mail carrying a 25 MB attachment (the common mailers' own limit,
   * ≈ 34 MB encoded) is imported whole.
   */
  EMAIL_MAX_MESSAGE_BYTES: z.coerce
    .number()
    .int()
    .positive()
    .default(40 * 1024 * 1024),
  /** Parse time limit every mail gets, plus EMAIL_PARSE_TIMEOUT_PER_MB_MS per MB of raw mail. */
  EMAIL_PARSE_TIMEOUT_MS: z.coerce.number().int().positive().default(2000),
  /** Parse time added per MB of raw mail to EMAIL_PARSE_TIMEOUT_MS (a 27 MB mail: 2 s + 27 × 150 ms). */
  EMAIL_PARSE_TIMEOUT_PER_MB_MS: z.coerce.number().int().min(0).default(150),
  /**
   * Most parser worker threads.
   *
   * Each is a V8 isolate of its own (~35 MB resident before it parses anything) and one parses
   * faster than an import can enqueue, so more threads buy isolation from a slow mail, not speed:
   * two keep one pathological mail from stalling the rest.
   */
  EMAIL_PARSER_THREADS: z.coerce.number().int().min(1).max(16).default(2),
  /**
   * One parser thread runs; another starts only when a parse has taken this long while mails
   * wait behind it (typical mails parse in about a millisecond), and ends after 30 s idle.
   * 0 starts all EMAIL_PARSER_THREADS at boot.
   */
  EMAIL_PARSER_SPARE_AFTER_MS: z.coerce.number().int().min(0).max(60_000).default(250),
  /**
   * Young-generation (nursery) limit of each parser thread.
   *
   * V8 otherwise grows it to 32 MB per isolate under the import's allocation rate; parse garbage
   * dies young, so a small nursery costs a few more cheap scavenges and saves ~24 MB of RSS per
   * thread. The old generation is deliberately not capped: a parse that hits an old-generation cap
   * with one large allocation (a 25 MB body) takes the whole process down, not just its thread.
   */
  EMAIL_PARSER_YOUNG_MB: z.coerce.number().int().min(2).max(64).default(8),
  /** One IMAP connection per mailbox across replicas: lease TTL; renewed every third of it. */
  EMAIL_LEASE_TTL_MS: z.coerce.number().int().min(1000).default(10_000),
  /** Safety net besides IDLE: a full check for new UIDs this often. */
  EMAIL_POLL_FALLBACK_MS: z.coerce.number().int().min(1000).default(600_000),
  /** IDLE is re-issued before servers drop it (RFC 2177: 29 min; many servers far less). */
  EMAIL_IDLE_RESTART_MS: z.coerce.number().int().min(1000).default(240_000),
  /** UIDs whose size and date are fetched per round trip during a backlog import. */
  EMAIL_FETCH_BATCH: z.coerce.number().int().min(1).max(2000).default(200),
  /**
   * Raw bytes per source fetch; about twice this is buffered per mailbox. A single larger mail goes alone.
   *
   * Everything a fetch brings in (sources, then their parse results) stays in memory until its
   * mails are enqueued, and the next fetch is already in flight meanwhile: by bytes, not by count,
   * because 200 mails may be 3 MB or 5 GB.
   */
  EMAIL_FETCH_BATCH_BYTES: z.coerce
    .number()
    .int()
    .min(64 * 1024)
    .default(4 * 1024 * 1024),
  /** Concurrent jobs of the outbound email queue (SMTP sends) per replica. */
  EMAIL_OUTBOUND_CONCURRENCY: z.coerce.number().int().min(1).max(500).default(50),
  /** Where ticket-service serves attachments; the sha256 is appended (cid: images point here). */
  EMAIL_ATTACHMENT_URL_BASE: z.string().default('/v1/attachments/'),
});
export type Config = z.infer<typeof ConfigSchema> & { SERVICE_NAME: string };
