import { isIP } from 'node:net';
import { parseHostList } from '@oq/contracts';
import { z } from 'zod';
import { trustedProxies } from './trusted-proxies';

export * from './trusted-proxies';

/*
 * Every variable's doc comment is its description in README.md's configuration table
 * (scripts/config-table.ts; the first paragraph only, so rationale can follow a blank line).
 */

/** The parts of configuration every service shares. Service schemas extend it. */
export const BaseConfigSchema = z.object({
  /** `production` turns /docs off by default (DOCS_ENABLED); `test` is what the test suites set. */
  NODE_ENV: z.enum(['development', 'production', 'test']).default('development'),
  /** Least severe pino level logged (JSON lines on stdout); `silent` logs nothing. */
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  /** Postgres connection URL (`postgres://` or `postgresql://`); social-service does not use it. */
  DATABASE_URL: z.url({ protocol: /^postgres(ql)?$/ }).default('postgres://postgres@127.0.0.1:5432/onequeue'),
  /** Postgres connections per process (1–50). */
  DB_POOL_SIZE: z.coerce.number().int().min(1).max(50).default(5),
  /** Redis for queues, pub/sub, rate limits and caches (`redis://` or `rediss://` for TLS). */
  REDIS_URL: z.url({ protocol: /^rediss?$/ }).default('redis://127.0.0.1:6379'),
  /** Prefix of every BullMQ queue and Redis key: one Redis Cluster hash tag, so a cluster keeps them on one slot. */
  QUEUE_PREFIX: z
    .string()
    .regex(/^\{[A-Za-z0-9_-]+\}$/, 'must be one Redis Cluster hash tag such as {oq}')
    .default('{oq}'),
  /** Directory of the content-addressed blob store (attachments, media, mail sources), shared by the services. */
  BLOB_DIR: z.string().min(1).default('./var/blobs'),
  /**
   * Our own reverse proxies (comma-separated IPs, CIDRs or loopback/linklocal/uniquelocal) whose
   * X-Forwarded-For entries are believed. Empty (default): the TCP peer is the client; believing
   * any sender would let a client pick the address that login throttling, chat's per-address
   * limits and logs see.
   */
  TRUSTED_PROXIES: z
    .string()
    .optional()
    .superRefine((v, ctx) => {
      try {
        trustedProxies(v);
      } catch (err) {
        ctx.addIssue({
          code: 'custom',
          message: `must list IP addresses, CIDRs or loopback/linklocal/uniquelocal, comma-separated (${(err as Error).message})`,
        });
      }
    }),
  /**
   * Hosts that URLs named in payloads (call recordings, social media) may fetch even though they
   * resolve to internal addresses (loopback, private, link-local…), which safeFetch otherwise
   * refuses: comma-separated `host`, `host:port` or `*.domain`. For tests, local fakes and an
   * internal PBX; empty (default) lets no internal address through.
   */
  FETCH_ALLOW_HOSTS: z
    .string()
    .optional()
    .superRefine((v, ctx) => {
      try {
        parseHostList(v);
      } catch (err) {
        ctx.addIssue({ code: 'custom', message: (err as Error).message });
      }
    })
    .transform((v) =>
      (v ?? '')
        .split(',')
        .map((h) => h.trim())
        .filter(Boolean),
    ),
  /** Shared secret for service-to-service calls (internal API). */
  SERVICE_TOKEN: z.string().min(24, 'must be at least 24 characters'),
  /**
   * The address the HTTP server listens on. Loopback by default so a service started on a laptop or
   * a VM is not reachable from the network; containers (docker-compose) set 0.0.0.0.
   */
  BIND_HOST: z
    .string()
    .refine((h) => isIP(h) !== 0, 'must be an IP address such as 127.0.0.1, 0.0.0.0 or ::')
    .default('127.0.0.1'),
  /** When set, GET /metrics answers only `Authorization: Bearer <METRICS_TOKEN>` (401 otherwise). */
  METRICS_TOKEN: z.string().min(16, 'must be at least 16 characters').optional(),
  /** OpenAPI at /docs. Unset: served unless NODE_ENV=production (it maps every route for a scanner). */
  DOCS_ENABLED: z.stringbool().optional(),
  /**
   * Tests only (the test environment sets it): check every response against the service's own
   * OpenAPI document; a response that breaks it becomes a 500 naming the violation. Off: no cost.
   */
  OPENAPI_CONTRACT_CHECK: z.stringbool().optional(),
  /** Tests only: a directory the contract check appends its findings to (one run's jest hooks read it). */
  OPENAPI_CONTRACT_DIR: z.string().min(1).optional(),
  /**
   * How long a client may take to send a whole request, headers and body (Fastify turns Node's
   * 300 s default off): a slow-sent body otherwise holds its socket and buffer for ever. Generous
   * enough for a MAX_ATTACHMENT_BYTES upload on a slow uplink.
   */
  HTTP_REQUEST_TIMEOUT_MS: z.coerce.number().int().min(100).default(120_000),
});
export type BaseConfig = z.infer<typeof BaseConfigSchema>;

/**
 * What the channel services (email, social, voice, chat) share: how they reach ticket-service's
 * internal API and re-read its inbox directory. A shape, merged into their schemas with
 * `BaseConfigSchema.extend({ ...ChannelServiceConfig, … })`.
 */
export const ChannelServiceConfig = {
  /** ticket-service base URL (http or https) for the internal API: inbox directory, chat history. */
  TICKET_SERVICE_URL: z.url({ protocol: /^https?$/ }).default('http://127.0.0.1:3000'),
  /**
   * Full re-read period of the inbox directory (the shared InboxDirectory), 1000 or more:
   * inbox-changed pub/sub applies changes in between, so this is a safety net, not the way changes arrive.
   */
  INBOX_REFRESH_MS: z.coerce.number().int().min(1000).default(60_000),
};
export type ChannelServiceConfig = z.infer<z.ZodObject<typeof ChannelServiceConfig>>;

/**
 * A variable that was renamed or removed. Setting it fails the boot (with every other problem)
 * instead of being silently ignored, naming what to set instead.
 */
export interface RetiredVariable {
  name: string;
  /** The variable that took over, when there is one. */
  replacedBy?: string;
  /** What to do, as the operator reads it. */
  fix: string;
}

/** Every renamed or removed variable, for all services: add an entry when a variable goes. */
export const RETIRED_VARIABLES: readonly RetiredVariable[] = [
  {
    name: 'CHAT_TRUST_PROXY',
    replacedBy: 'TRUSTED_PROXIES',
    fix:
      'list your reverse proxies there (IPs, CIDRs or loopback/linklocal/uniquelocal, e.g. TRUSTED_PROXIES=10.0.0.0/8); ' +
      'chat-service then believes X-Forwarded-For only from them, as every service does, and takes the right-most entry that is not one of them. Remove CHAT_TRUST_PROXY',
  },
];

function retiredProblem(v: RetiredVariable): string {
  const instead = v.replacedBy ? `; use ${v.replacedBy} instead` : '';
  return `${v.name} is no longer supported${instead}: ${v.fix}`;
}

export class ConfigError extends Error {
  constructor(
    readonly service: string,
    readonly problems: string[],
  ) {
    super(`${service}: invalid configuration\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

/** Validates the environment once at boot; names every missing or malformed variable. */
export function loadConfig<S extends z.ZodType>(
  service: string,
  schema: S,
  env: NodeJS.ProcessEnv = process.env,
): z.infer<S> {
  const source: Record<string, string | undefined> = {};
  // Empty strings count as unset, as a shell `FOO=` usually means "not configured".
  for (const [k, v] of Object.entries(env)) if (v !== '') source[k] = v;
  const problems = RETIRED_VARIABLES.filter((v) => source[v.name] !== undefined).map(retiredProblem);
  const result = schema.safeParse(source);
  if (!result.success)
    problems.push(
      ...result.error.issues.map((i) => {
        const name = i.path.join('.') || '(environment)';
        const missing = i.code === 'invalid_type' && source[name] === undefined;
        return missing ? `${name} is required but not set` : `${name}: ${i.message}`;
      }),
    );
  if (!result.success || problems.length) throw new ConfigError(service, problems);
  return result.data;
}

export const CONFIG = Symbol('CONFIG');

/** What every service receives: its validated variables plus its own name. */
export type PlatformConfig = BaseConfig & { SERVICE_NAME: string };
