import { ChatInboxSecrets, ChatInboxSettings, InboxConfig, checkInboxConfig } from '@oq/contracts';

export interface ChatInbox {
  id: string;
  name: string;
  enabled: boolean;
  defaultTeamId: string;
  settings: ChatInboxSettings;
  /** The app backend's shared secret for user JWTs and user hashes; undefined = visitors only. */
  identitySecret?: string;
}

/** Secret names accepted for identity verification (the admin UI may use either), first wins. */
const SECRET_KEYS = [
  'identityVerificationSecret',
  'identitySecret',
  'hmacSecret',
] as const satisfies readonly (keyof ChatInboxSecrets)[];

/**
 * Chat's typed view of an inbox. Invalid settings throw (naming the fields) rather than fall back
 * to defaults, which would allow every origin; the shared directory serves only inboxes that pass.
 */
export function toChatInbox(config: InboxConfig): ChatInbox {
  const check = checkInboxConfig(config);
  if (!check.ok) throw new Error(`chat inbox ${config.id} is invalid: ${check.reason}`);
  if (check.value.channel !== 'chat') throw new Error(`inbox ${config.id} is a ${config.channel} inbox`);
  const { settings, secrets } = check.value;
  const key = SECRET_KEYS.find((k) => secrets[k]);
  return {
    id: config.id,
    name: config.name,
    enabled: config.enabled,
    defaultTeamId: config.defaultTeamId,
    settings,
    identitySecret: key ? secrets[key] : undefined,
  };
}
