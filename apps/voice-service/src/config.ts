import { PhoneRegion } from '@oq/contracts';
import { BaseConfigSchema, ChannelServiceConfig } from '@oq/platform';
import { z } from 'zod';

export const ConfigSchema = BaseConfigSchema.extend({
  ...ChannelServiceConfig,
  /** voice-service's HTTP port (Twilio callbacks, PBX records, health, metrics). */
  VOICE_SERVICE_PORT: z.coerce.number().int().min(0).max(65535).default(3004),
  /**
   * The public base URL the telephony provider calls (scheme, host, optional port and path prefix).
   * Twilio signs the URL it called; behind a proxy the URL we see differs, so it is configuration.
   */
  VOICE_PUBLIC_BASE_URL: z
    .url({ protocol: /^https?$/ })
    .default('http://localhost:3004')
    .transform((u) => u.replace(/\/+$/, '')),
  /** Region for numbers without a country code (ISO 3166 alpha-2); an inbox may override it in settings.defaultRegion. */
  VOICE_DEFAULT_REGION: z.string().toUpperCase().default('US').pipe(PhoneRegion),
  /** Recording downloads from this origin are authenticated with the inbox's Twilio credentials (never sent elsewhere). */
  TWILIO_API_BASE_URL: z.url({ protocol: /^https?$/ }).default('https://api.twilio.com'),
  /** Largest call recording downloaded. */
  VOICE_RECORDING_MAX_BYTES: z.coerce
    .number()
    .int()
    .min(1)
    .default(50 * 1024 * 1024),
  /** Time limit of one recording download. */
  VOICE_RECORDING_TIMEOUT_MS: z.coerce.number().int().min(100).default(10_000),
  /** Accepted clock skew / replay window for signed PBX call records. */
  VOICE_PBX_MAX_AGE_SECONDS: z.coerce.number().int().min(1).default(300),
  /** How often the sweep repairs calls whose log was committed but not yet enqueued (crash, Redis outage). */
  VOICE_SWEEP_INTERVAL_MS: z.coerce.number().int().min(50).default(5000),
});
export type Config = z.infer<typeof ConfigSchema> & { SERVICE_NAME: string };
