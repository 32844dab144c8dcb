import { randomBytes } from 'node:crypto';
import { Channel, demoInboxSecrets, demoProviderBaseUrl } from '@oq/contracts';

export interface DemoInbox {
  channel: Channel;
  name: string;
  address: string;
  settings: Record<string, unknown>;
  secrets: Record<string, string>;
}

/** Where demo mode's local stand-ins listen (ticket-service config DEMO_*), and the key of the demo secrets. */
export interface DemoEndpoints {
  demoKey?: string;
  providersUrl: string;
  mailHost: string;
  imapPort: number;
  smtpPort: number;
}

const random = (bytes = 24) => randomBytes(bytes).toString('base64url');
const SOCIAL: readonly Channel[] = ['whatsapp', 'messenger', 'instagram', 'telegram'];

/**
 * One inbox per channel for `npm start` with SEED_DEMO=true, settings shaped like what each
 * channel service reads. Addresses are fixed so re-seeding is idempotent. With a DEMO_KEY the
 * secrets derive from it and the inboxes point at the local stand-ins (Dovecot, the SMTP catcher,
 * the fake providers); without one the secrets are random, so a demo never ships a usable credential.
 */
export function demoInboxes(): DemoInbox[] {
  return [
    {
      channel: 'email',
      name: 'Support mailbox',
      address: 'support@wallet.example',
      settings: {
        imapHost: '127.0.0.1',
        imapPort: 1143,
        imapSecure: false,
        imapUser: 'support@wallet.example',
        folder: 'INBOX',
        afterImport: 'seen',
        smtpHost: '127.0.0.1',
        smtpPort: 2525,
        smtpSecure: false,
        smtpUser: 'support@wallet.example',
        fromName: 'Wallet Support',
      },
      secrets: { imapPassword: random(), smtpPassword: random() },
    },
    {
      channel: 'whatsapp',
      name: 'WhatsApp +1 555 0100',
      address: '100000000000001',
      settings: { displayPhoneNumber: '+15550100', rateLimitPerSecond: 20, rateLimitBurst: 40 },
      secrets: { appSecret: random(), verifyToken: random(), accessToken: `EAAG${random(48)}` },
    },
    {
      channel: 'messenger',
      name: 'Wallet Facebook page',
      address: '200000000000002',
      settings: { pageName: 'Wallet', rateLimitPerSecond: 20, rateLimitBurst: 40 },
      secrets: { appSecret: random(), verifyToken: random(), accessToken: `EAAG${random(48)}` },
    },
    {
      channel: 'instagram',
      name: 'Wallet Instagram',
      address: '300000000000003',
      settings: { username: 'wallet', rateLimitPerSecond: 10, rateLimitBurst: 20 },
      secrets: { appSecret: random(), verifyToken: random(), accessToken: `IGQV${random(48)}` },
    },
    {
      channel: 'telegram',
      name: 'Wallet help bot',
      address: '400000004',
      settings: { botUsername: 'wallet_help_bot', rateLimitPerSecond: 25, rateLimitBurst: 30 },
      secrets: { botToken: `400000004:${random(26)}`, webhookSecret: random() },
    },
    {
      channel: 'voice',
      name: 'Hotline',
      address: '+15550199',
      settings: { defaultRegion: 'ID', provider: 'twilio' },
      secrets: {
        accountSid: `AC${randomBytes(16).toString('hex')}`,
        authToken: randomBytes(16).toString('hex'),
        signingSecret: random(),
      },
    },
    {
      channel: 'chat',
      name: 'In-app chat',
      address: 'wallet-app',
      settings: {
        allowedOrigins: [],
        expectedReplyMinutes: 5,
        greeting: 'Hi! Tell us what happened and we will get back to you right here.',
        // A libs/sla schedule, like the demo SLA's (demo-sla.ts): Mon–Fri 08:00–20:00 Jakarta time.
        businessHours: {
          timezone: 'Asia/Jakarta',
          weekly: [1, 2, 3, 4, 5].map((day) => ({ day, start: '08:00', end: '20:00' })),
          holidays: [],
        },
      },
      secrets: { identityVerificationSecret: random(32) },
    },
  ];
}

/**
 * What a demo inbox must hold to reach the local stand-ins: the connection settings (merged over
 * whatever else its settings say) and the derived secrets. Null without a DEMO_KEY. Applied when the
 * inbox is created and again on every start, so changed DEMO_* ports or a new DEMO_KEY take effect.
 */
export function demoConnection(
  inbox: Pick<DemoInbox, 'channel' | 'address'>,
  id: string,
  at: DemoEndpoints,
): { settings: Record<string, unknown>; secrets: Record<string, string> } | null {
  if (!at.demoKey) return null;
  const secrets = demoInboxSecrets(at.demoKey, inbox.channel, inbox.address);
  if (inbox.channel === 'email')
    return {
      settings: { imapHost: at.mailHost, imapPort: at.imapPort, smtpHost: at.mailHost, smtpPort: at.smtpPort },
      secrets,
    };
  if (SOCIAL.includes(inbox.channel))
    return { settings: { providerBaseUrl: demoProviderBaseUrl(at.providersUrl, inbox.channel, id) }, secrets };
  return { settings: {}, secrets };
}
