import { Channel, InboxConfig } from '@oq/contracts';
import { HostAllowList } from '@oq/platform';
import { z } from 'zod';

/**
 * What social-service needs from an inbox, checked once when the directory loads it.
 * The keys below are the contract with the admin API that stores the inbox
 * (ticket-service encrypts `secrets` at rest and decrypts them for the internal API).
 *
 * - whatsapp:  address = phone-number id; secrets appSecret, verifyToken, accessToken
 * - messenger: address = page id;         secrets appSecret, verifyToken, accessToken (page token)
 * - instagram: address = IG account id;   secrets appSecret, verifyToken, accessToken
 * - telegram:  address = bot id;          secrets botToken, webhookSecret (1–256 chars of A-Z a-z 0-9 _ -)
 *
 * settings (all optional): rateLimitPerSecond, rateLimitBurst, and mediaHosts — when set, media
 * (attachment URLs, the URL the Graph API hands out for WhatsApp media, Telegram file downloads)
 * is fetched only from these hosts (`host`, `host:port`, `*.domain`; every redirect checked too),
 * even when another host is public. Without it any public host is fetched; internal addresses
 * never are (see safeFetch and FETCH_ALLOW_HOSTS).
 */
export type MetaChannel = 'whatsapp' | 'messenger' | 'instagram';
export const META_CHANNELS: readonly Channel[] = ['whatsapp', 'messenger', 'instagram'];
export const SOCIAL_CHANNELS: readonly Channel[] = [...META_CHANNELS, 'telegram'];

const MetaSecrets = z.object({
  appSecret: z.string().min(1),
  verifyToken: z.string().min(1),
  accessToken: z.string().min(1),
});
const TelegramSecrets = z.object({
  botToken: z.string().regex(/^\d+:[A-Za-z0-9_-]+$/, 'must be a bot token such as 123456:ABC-DEF'),
  webhookSecret: z.string().regex(/^[A-Za-z0-9_-]{1,256}$/, 'must be 1–256 characters of A-Z a-z 0-9 _ -'),
});
const Settings = z.object({
  rateLimitPerSecond: z.coerce.number().positive().optional(),
  rateLimitBurst: z.coerce.number().int().positive().optional(),
  mediaHosts: HostAllowList.optional(),
});

interface Common {
  id: string;
  name: string;
  address: string;
  enabled: boolean;
  settings: z.infer<typeof Settings>;
}
export type MetaInbox = Common & { channel: MetaChannel; secrets: z.infer<typeof MetaSecrets> };
export type TelegramInbox = Common & { channel: 'telegram'; secrets: z.infer<typeof TelegramSecrets> };
export type SocialInbox = MetaInbox | TelegramInbox;

export function isMetaInbox(inbox: SocialInbox): inbox is MetaInbox {
  return inbox.channel !== 'telegram';
}

/** Typed view of an InboxConfig; throws with the missing keys named (never their values). */
export function toSocialInbox(config: InboxConfig): SocialInbox {
  if (!SOCIAL_CHANNELS.includes(config.channel)) throw new Error(`inbox ${config.id} is a ${config.channel} inbox`);
  const settings = Settings.parse(config.settings ?? {});
  const common = { id: config.id, name: config.name, address: config.address, enabled: config.enabled, settings };
  const schema = config.channel === 'telegram' ? TelegramSecrets : MetaSecrets;
  const secrets = schema.safeParse(config.secrets ?? {});
  if (!secrets.success)
    throw new Error(
      `inbox ${config.id} (${config.channel}) has unusable secrets: ${secrets.error.issues
        .map((i) => `${i.path.join('.')}: ${i.message}`)
        .join('; ')}`,
    );
  return { ...common, channel: config.channel, secrets: secrets.data } as SocialInbox;
}
