import { Channel, Uuid } from '@oq/contracts';
import { ApiDateTime, ApiUuid } from '@oq/platform';
import { z } from 'zod';

// Settings are returned to agents and logged in diffs; anything credential-like belongs in secrets.
const SECRET_LOOKING = /(secret|token|password|passwd|private|credential)/i;
const Settings = z.record(z.string(), z.unknown()).refine((s) => !Object.keys(s).some((k) => SECRET_LOOKING.test(k)), {
  message: 'settings must not hold credentials (keys like *token*, *secret*, *password*): put them in secrets',
});
const SecretName = z.string().regex(/^[A-Za-z][A-Za-z0-9_]{0,63}$/, 'secret names are identifiers');

export const CreateInboxBody = z.object({
  channel: Channel,
  name: z.string().trim().min(1).max(200),
  address: z.string().trim().min(1).max(320),
  defaultTeamId: Uuid,
  enabled: z.boolean().default(true),
  settings: Settings.default({}),
  /** Write-only: encrypted at rest, never returned by the agent API (only the names are). */
  secrets: z.record(SecretName, z.string().min(1).max(8192)).default({}),
});
export type CreateInboxBody = z.infer<typeof CreateInboxBody>;

export const UpdateInboxBody = z
  .object({
    name: z.string().trim().min(1).max(200),
    address: z.string().trim().min(1).max(320),
    defaultTeamId: Uuid,
    enabled: z.boolean(),
    /** Replaces the settings object. */
    settings: Settings,
    /** Merged into the stored secrets: a string sets one, null removes it; unnamed ones stay. */
    secrets: z.record(SecretName, z.string().min(1).max(8192).nullable()),
  })
  .partial()
  .refine((b) => Object.keys(b).length > 0, { message: 'nothing to update' });
export type UpdateInboxBody = z.infer<typeof UpdateInboxBody>;

export const ListInboxesQuery = z.object({ channel: Channel.optional() });
export type ListInboxesQuery = z.infer<typeof ListInboxesQuery>;

export const InboxView = z
  .object({
    id: ApiUuid,
    channel: Channel,
    name: z.string(),
    address: z.string(),
    defaultTeamId: ApiUuid,
    enabled: z.boolean(),
    /** Seeded by demo mode; read-only. */
    demo: z.boolean(),
    /** The channel's settings (libs/contracts inbox-settings), as stored. */
    settings: z.record(z.string(), z.unknown()),
    /** Names only; values never leave the service except to channel services over the internal API. */
    secretNames: z.array(z.string()),
    createdAt: ApiDateTime,
    updatedAt: ApiDateTime,
  })
  .meta({ id: 'Inbox' });
export type InboxView = z.infer<typeof InboxView>;
