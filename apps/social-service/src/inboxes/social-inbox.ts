import {
  Channel,
  InboxConfig,
  MetaInboxSecrets,
  SocialInboxSettings,
  TelegramInboxSecrets,
  checkInboxConfig,
} from '@oq/contracts';

/**
 * What social-service needs from an inbox; the schemas (settings, and secrets per channel) are
 * libs/contracts inbox-settings, the ones the admin API checks writes with.
 *
 * - whatsapp:  address = phone-number id; secrets appSecret, verifyToken, accessToken
 * - messenger: address = page id;         secrets appSecret, verifyToken, accessToken (page token)
 * - instagram: address = IG account id;   secrets appSecret, verifyToken, accessToken
 * - telegram:  address = bot id;          secrets botToken, webhookSecret
 *
 * settings (all optional): rateLimitPerSecond, rateLimitBurst, and mediaHosts — when set, media is
 * fetched only from these hosts. Without it any public host is fetched; internal addresses never
 * are (see safeFetch and FETCH_ALLOW_HOSTS).
 */
export type MetaChannel = 'whatsapp' | 'messenger' | 'instagram';
export const META_CHANNELS: readonly Channel[] = ['whatsapp', 'messenger', 'instagram'];
export const SOCIAL_CHANNELS: readonly Channel[] = [...META_CHANNELS, 'telegram'];

interface Common {
  id: string;
  name: string;
  address: string;
  enabled: boolean;
  settings: SocialInboxSettings;
  /**
   * Base URL of this inbox's provider calls when it is not the configured provider: only a demo
   * inbox's settings.providerBaseUrl (see there why); undefined for every other inbox.
   */
  providerBase?: string;
}
export type MetaInbox = Common & { channel: MetaChannel; secrets: MetaInboxSecrets };
export type TelegramInbox = Common & { channel: 'telegram'; secrets: TelegramInboxSecrets };
export type SocialInbox = MetaInbox | TelegramInbox;

export function isMetaInbox(inbox: SocialInbox): inbox is MetaInbox {
  return inbox.channel !== 'telegram';
}

/** Typed view of an InboxConfig; throws naming the fields at fault (never their values). */
export function toSocialInbox(config: InboxConfig): SocialInbox {
  if (!SOCIAL_CHANNELS.includes(config.channel)) throw new Error(`inbox ${config.id} is a ${config.channel} inbox`);
  const check = checkInboxConfig(config);
  if (!check.ok) throw new Error(`inbox ${config.id} (${config.channel}) is not usable: ${check.reason}`);
  const common = { id: config.id, name: config.name, address: config.address, enabled: config.enabled };
  const settings = check.value.settings as SocialInboxSettings;
  const providerBase = config.demo ? settings.providerBaseUrl : undefined;
  return { ...common, ...check.value, providerBase } as SocialInbox;
}
