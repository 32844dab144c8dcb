import { BaseConfigSchema } from '@oq/platform';
import { z } from 'zod';

export const ConfigSchema = BaseConfigSchema.extend({
  CHAT_SERVICE_PORT: z.coerce.number().int().min(0).max(65535).default(3005),
  /** ticket-service base URL for the internal API (inbox directory, chat history). */
  TICKET_SERVICE_URL: z.url().default('http://127.0.0.1:3000'),
  /** Full inbox refresh period (shared InboxDirectory); pub/sub announces changes in between. */
  INBOX_REFRESH_MS: z.coerce.number().int().min(100).default(60_000),
  CHAT_MAX_MESSAGE_CHARS: z.coerce.number().int().min(1).max(100_000).default(4000),
  /** Per socket: at most this many messages per window. */
  CHAT_SOCKET_MESSAGES_PER_WINDOW: z.coerce.number().int().min(1).default(20),
  /** Per client IP (all its sockets together): messages per window. */
  CHAT_IP_MESSAGES_PER_WINDOW: z.coerce.number().int().min(1).default(120),
  /** Per client IP: new connections and visitor tokens per window. */
  CHAT_IP_CONNECTS_PER_WINDOW: z.coerce.number().int().min(1).default(600),
  /** Behind a reverse proxy: take the client IP for per-IP limits from the last X-Forwarded-For hop. */
  CHAT_TRUST_PROXY: z.stringbool().default(false),
  CHAT_RATE_WINDOW_SECONDS: z.coerce.number().int().min(1).default(10),
  CHAT_MAX_ATTACHMENT_BYTES: z.coerce
    .number()
    .int()
    .min(1)
    .default(10 * 1024 * 1024),
  /** How long a customer client has to acknowledge a pushed reply before it counts as undelivered. */
  CHAT_DELIVERY_ACK_TIMEOUT_MS: z.coerce.number().int().min(100).default(5000),
  OUTBOUND_CHAT_CONCURRENCY: z.coerce.number().int().min(1).max(1000).default(100),
});
export type Config = z.infer<typeof ConfigSchema> & { SERVICE_NAME: string };
