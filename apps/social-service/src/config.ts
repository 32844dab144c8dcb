import { BaseConfigSchema } from '@oq/platform';
import { z } from 'zod';

const Url = z.url({ protocol: /^https?$/ });

export const ConfigSchema = BaseConfigSchema.extend({
  SOCIAL_SERVICE_PORT: z.coerce.number().int().min(0).max(65535).default(3003),
  /** ticket-service base URL for the internal inbox API. */
  TICKET_SERVICE_URL: Url.default('http://127.0.0.1:3000'),
  /** Provider endpoints are configuration so that tests point them at local servers speaking the same format. */
  META_GRAPH_BASE_URL: Url.default('https://graph.facebook.com'),
  META_GRAPH_VERSION: z
    .string()
    .regex(/^v\d+\.\d+$/, 'must look like v21.0')
    .default('v21.0'),
  TELEGRAM_API_BASE_URL: Url.default('https://api.telegram.org'),
  /** Full inbox refresh period; pub/sub announcements apply changes in between. */
  INBOX_REFRESH_MS: z.coerce.number().int().min(1000).default(60_000),
  /** Largest media file downloaded from a provider. */
  SOCIAL_MEDIA_MAX_BYTES: z.coerce
    .number()
    .int()
    .positive()
    .default(100 * 1024 * 1024),
  /** Default per-inbox send rate (an inbox's settings.rateLimitPerSecond / rateLimitBurst override it). */
  SOCIAL_RATE_PER_SECOND: z.coerce.number().positive().default(20),
  SOCIAL_RATE_BURST: z.coerce.number().int().positive().default(40),
  /** Provider HTTP timeout per request. */
  SOCIAL_HTTP_TIMEOUT_MS: z.coerce.number().int().positive().default(15_000),
  SOCIAL_RAW_CONCURRENCY: z.coerce.number().int().positive().default(20),
  SOCIAL_OUTBOUND_CONCURRENCY: z.coerce.number().int().positive().default(20),
});
export type Config = z.infer<typeof ConfigSchema> & { SERVICE_NAME: string };
