import { BaseConfigSchema, ChannelServiceConfig } from '@oq/platform';
import { z } from 'zod';

export const ConfigSchema = BaseConfigSchema.extend({
  ...ChannelServiceConfig,
  /** chat-service's HTTP and socket.io port. */
  CHAT_SERVICE_PORT: z.coerce.number().int().min(0).max(65535).default(3005),
  /** Longest customer message text, in characters. */
  CHAT_MAX_MESSAGE_CHARS: z.coerce.number().int().min(1).max(100_000).default(4000),
  /** Per socket: at most this many messages per window. */
  CHAT_SOCKET_MESSAGES_PER_WINDOW: z.coerce.number().int().min(1).default(20),
  /** Per client IP (all its sockets together): messages per window. */
  CHAT_IP_MESSAGES_PER_WINDOW: z.coerce.number().int().min(1).default(120),
  /** Per client IP: new connections and visitor tokens per window. */
  CHAT_IP_CONNECTS_PER_WINDOW: z.coerce.number().int().min(1).default(600),
  /** The window of the CHAT_*_PER_WINDOW limits; the per-IP ones see the client address TRUSTED_PROXIES yields. */
  CHAT_RATE_WINDOW_SECONDS: z.coerce.number().int().min(1).default(10),
  /** Largest file a customer may upload. */
  CHAT_MAX_ATTACHMENT_BYTES: z.coerce
    .number()
    .int()
    .min(1)
    .default(10 * 1024 * 1024),
  /** How long a customer client has to acknowledge a pushed reply before it counts as undelivered. */
  CHAT_DELIVERY_ACK_TIMEOUT_MS: z.coerce.number().int().min(100).default(5000),
  /** Concurrent jobs of the outbound chat queue per replica (pushing agent replies to sockets). */
  OUTBOUND_CHAT_CONCURRENCY: z.coerce.number().int().min(1).max(1000).default(100),
});
export type Config = z.infer<typeof ConfigSchema> & { SERVICE_NAME: string };
