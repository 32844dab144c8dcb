import { BaseConfigSchema, ChannelServiceConfig } from '@oq/platform';
import { z } from 'zod';

const Url = z.url({ protocol: /^https?$/ });

export const ConfigSchema = BaseConfigSchema.extend({
  ...ChannelServiceConfig,
  /** social-service's HTTP port (provider webhooks, health, metrics). */
  SOCIAL_SERVICE_PORT: z.coerce.number().int().min(0).max(65535).default(3003),
  /**
   * Meta Graph API endpoint (WhatsApp, Messenger, Instagram). Provider endpoints are configuration so
   * that tests point them at local servers speaking the same format.
   */
  META_GRAPH_BASE_URL: Url.default('https://graph.facebook.com'),
  /** Graph API version in the Meta URLs we call (WhatsApp, Messenger, Instagram). */
  META_GRAPH_VERSION: z
    .string()
    .regex(/^v\d+\.\d+$/, 'must look like v21.0')
    .default('v21.0'),
  /** Telegram Bot API endpoint (configuration, like Meta's, so tests point it at a local server). */
  TELEGRAM_API_BASE_URL: Url.default('https://api.telegram.org'),
  /** Largest media file downloaded from a provider. */
  SOCIAL_MEDIA_MAX_BYTES: z.coerce
    .number()
    .int()
    .positive()
    .default(100 * 1024 * 1024),
  /** Default per-inbox send rate (an inbox's settings.rateLimitPerSecond / rateLimitBurst override it). */
  SOCIAL_RATE_PER_SECOND: z.coerce.number().positive().default(20),
  /** Default per-inbox send burst (tokens) above SOCIAL_RATE_PER_SECOND; settings.rateLimitBurst overrides it. */
  SOCIAL_RATE_BURST: z.coerce.number().int().positive().default(40),
  /** Provider HTTP timeout per request. */
  SOCIAL_HTTP_TIMEOUT_MS: z.coerce.number().int().positive().default(15_000),
  /** Concurrent jobs of the social.raw queue (normalising received webhooks) per replica. */
  SOCIAL_RAW_CONCURRENCY: z.coerce.number().int().positive().default(20),
  /** Concurrent jobs of the outbound social queue (provider sends) per replica. */
  SOCIAL_OUTBOUND_CONCURRENCY: z.coerce.number().int().positive().default(20),
});
export type Config = z.infer<typeof ConfigSchema> & { SERVICE_NAME: string };
