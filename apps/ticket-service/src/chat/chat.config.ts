import { z } from 'zod';

/**
 * Chat settings of ticket-service, read from the same environment the platform
 * validated (kept here so the chat feature owns its knobs).
 */
export const ChatConfigSchema = z.object({
  /** How long after a chat reply could not be delivered the customer gets an email about it. */
  CHAT_OFFLINE_EMAIL_DELAY_SECONDS: z.coerce.number().int().min(0).default(300),
  /** How often the offline-fallback scan runs. */
  CHAT_OFFLINE_SCAN_MS: z.coerce.number().int().min(50).default(5000),
  EMAIL_THREADING_SECRET: z.string().min(24),
  EMAIL_MESSAGE_ID_DOMAIN: z.string().min(1).default('onequeue.local'),
});
export type ChatConfig = z.infer<typeof ChatConfigSchema>;
export const CHAT_CONFIG = Symbol('CHAT_CONFIG');
