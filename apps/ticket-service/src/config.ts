import { BaseConfigSchema } from '@oq/platform';
import { z } from 'zod';

const secret = (what: string) => z.string().min(24, `${what} must be at least 24 characters`);

export const ConfigSchema = BaseConfigSchema.extend({
  /** ticket-service's HTTP port (agent API, realtime, internal API). */
  TICKET_SERVICE_PORT: z.coerce.number().int().min(0).max(65535).default(3000),
  /** HS256 key for agent access tokens. */
  JWT_SECRET: secret('JWT_SECRET'),
  /** Lifetime of an agent access token. */
  JWT_TTL_SECONDS: z.coerce
    .number()
    .int()
    .min(60)
    .default(8 * 3600),
  /** Keyring for channel secrets at rest: `id:base64(32 bytes)[,id:…]`; no default key on purpose. */
  SECRETS_KEYS: z.string().min(1),
  /** The SECRETS_KEYS id new secrets are encrypted with (older ids still decrypt; see `npm run secrets:reencrypt`). */
  SECRETS_ACTIVE_KEY: z.string().min(1),
  /** HMAC key proving our generated email Message-IDs (threading must not trust guessable ticket numbers). */
  EMAIL_THREADING_SECRET: secret('EMAIL_THREADING_SECRET'),
  /** The domain part of the Message-IDs we generate for outgoing mail. */
  EMAIL_MESSAGE_ID_DOMAIN: z.string().min(1).default('onequeue.local'),
  /** First start creates this admin; without a password one is generated and printed once. */
  ADMIN_EMAIL: z.email().default('admin@onequeue.local'),
  /** The first admin's password (8 characters or more); unset: generated and printed once. */
  ADMIN_PASSWORD: z.string().min(8).optional(),
  /**
   * Login attempts per email and client address (counted before the password is checked; a success
   * clears the count) before further attempts get 429 until LOGIN_LOCKOUT_SECONDS after the first one.
   */
  LOGIN_MAX_FAILURES: z.coerce.number().int().min(1).default(10),
  /** The same budget per client address across all accounts (password spraying), over the same window. */
  LOGIN_MAX_FAILURES_PER_ADDRESS: z.coerce.number().int().min(1).default(50),
  /** The window of both login budgets, from its first counted attempt: a refused address or email waits until it ends. */
  LOGIN_LOCKOUT_SECONDS: z.coerce.number().int().min(1).default(900),
  /** Logins hashing at once per process (scrypt takes 128 MiB each); beyond it a login gets 503 + Retry-After. */
  LOGIN_MAX_CONCURRENT_HASHES: z.coerce.number().int().min(1).max(64).default(2),
  /** Solved tickets close (become immutable) this many days after solving. */
  AUTO_CLOSE_DAYS: z.coerce.number().int().min(1).default(4),
  /** Seed one inbox per channel, a team and sample data on first start (npm start). */
  SEED_DEMO: z.stringbool().default(false),
  /**
   * Demo mode only: the key every demo inbox's secrets derive from (libs/contracts demo.ts), which
   * the local fake providers and `npm run demo:traffic` derive them from too. Unset: random secrets
   * no tool knows, and the demo inboxes talk to the real providers.
   */
  DEMO_KEY: secret('DEMO_KEY').optional(),
  /** Demo mode: the local fake Graph / Bot API the social demo inboxes send through (demo/fake-providers). */
  DEMO_PROVIDERS_URL: z.url({ protocol: /^https?$/ }).default('http://127.0.0.1:3009'),
  /** Demo mode: the local Dovecot (IMAP) and SMTP catcher the demo email inbox reads and sends through. */
  DEMO_MAIL_HOST: z.string().min(1).default('127.0.0.1'),
  /** Demo mode: the IMAP port of the local Dovecot on DEMO_MAIL_HOST. */
  DEMO_IMAP_PORT: z.coerce.number().int().min(1).max(65535).default(1143),
  /** Demo mode: the port of the local SMTP catcher on DEMO_MAIL_HOST. */
  DEMO_SMTP_PORT: z.coerce.number().int().min(1).max(65535).default(2525),
  /** Inbound micro-batch: at most this many jobs per transaction. */
  INGEST_BATCH_SIZE: z.coerce.number().int().min(1).max(500).default(50),
  /**
   * Inbound micro-batch: write what it can set-based (one statement per table). Off: every message
   * goes the per-message way — a switch to rule the set-based path out when diagnosing ingest.
   */
  INGEST_SET_BASED: z.stringbool().default(true),
  /** Inbound micro-batch: how long the first job of a batch waits for more before the batch is written. */
  INGEST_BATCH_WAIT_MS: z.coerce.number().int().min(0).max(1000).default(10),
  /**
   * Concurrent jobs of the inbound queue per replica (they are written in micro-batches). Enough to
   * fill a batch on every connection the consumer may use (INGEST_BATCH_SIZE × (DB_POOL_SIZE − 1) at the
   * defaults): bench:ingest at 200 → 500 drained 7 % faster with fuller batches (0.30 → 0.21 round
   * trips per message); latency at half load did not improve (the backlog moves from Redis into the process).
   */
  INGEST_CONCURRENCY: z.coerce.number().int().min(1).max(1000).default(500),
  /** Largest attachment an agent may upload. */
  MAX_ATTACHMENT_BYTES: z.coerce
    .number()
    .int()
    .min(1)
    .default(25 * 1024 * 1024),
  /** Agent uploads that no message references are deleted this long after their last upload. */
  BLOB_GC_GRACE_SECONDS: z.coerce
    .number()
    .int()
    .min(60)
    .default(24 * 3600),
  /** How often the unreferenced-upload collector runs. */
  BLOB_GC_INTERVAL_SECONDS: z.coerce.number().int().min(1).default(3600),
});
export type Config = z.infer<typeof ConfigSchema> & { SERVICE_NAME: string };
