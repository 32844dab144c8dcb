import { z } from 'zod';
import { Channel, Uuid } from './common';

/**
 * The ticket-service internal API that channel services call with the
 * `x-service-token` header. Inboxes come with their secrets decrypted; channel
 * services keep them in memory only and never log them.
 *
 *   GET /internal/inboxes?channel=email      → InboxConfig[]
 *   GET /internal/inboxes/:id                → InboxConfig (404 when unknown)
 *
 * Changes are announced on the Redis pub/sub channel below (message: inbox id);
 * channel services also refresh everything every 60 s in case a message was missed.
 */
export const INBOX_CHANGED_CHANNEL = 'oq:inbox-changed';

export const InboxConfig = z.object({
  id: Uuid,
  name: z.string(),
  channel: Channel,
  address: z.string(),
  defaultTeamId: Uuid,
  enabled: z.boolean(),
  /**
   * Seeded by demo mode (never settable through the admin API): only such an inbox may point its
   * provider client somewhere else than the configured provider (settings.providerBaseUrl).
   */
  demo: z.boolean().optional(),
  settings: z.record(z.string(), z.unknown()),
  secrets: z.record(z.string(), z.string()),
});
export type InboxConfig = z.infer<typeof InboxConfig>;
