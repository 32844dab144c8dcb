import { createHmac } from 'node:crypto';
import { Channel } from './common';

/**
 * Demo mode (`npm start` with SEED_DEMO=true): the seeded inboxes, the local fake providers
 * (demo/fake-providers) and `npm run demo:traffic` must agree on each demo inbox's secrets
 * without any of them storing the others' copy. All three derive them from DEMO_KEY, a random
 * value `npm start` writes into .env once, so the secrets are unguessable per install and
 * still known to the tools that sign the demo's webhooks. Never used for a non-demo inbox.
 */
export function demoSecret(demoKey: string, channel: Channel, field: string): string {
  return createHmac('sha256', demoKey).update(`oq-demo:${channel}:${field}`).digest('base64url');
}

/**
 * The base URL a demo inbox's provider client uses instead of the real provider (inbox
 * setting `providerBaseUrl`, honoured only on inboxes flagged `demo`): the fake providers
 * read channel and inbox from the path, so they know which secret signs the webhooks they
 * send back and which webhook URL they go to.
 *   meta channels: `${base}/${graphVersion}/${graph path}`; telegram: `${base}/bot<token>/<method>`
 */
export function demoProviderBaseUrl(fakeProvidersUrl: string, channel: Channel, inboxId: string): string {
  return `${fakeProvidersUrl.replace(/\/+$/, '')}/${channel}/${inboxId}`;
}

/** Parses what demoProviderBaseUrl built, from the start of a request path; null when it is not one. */
export function parseDemoProviderPath(path: string): { channel: Channel; inboxId: string; rest: string } | null {
  const m = /^\/([a-z]+)\/([0-9a-f-]{36})(\/.*)?$/.exec(path.split('?')[0]);
  if (!m) return null;
  const channel = Channel.safeParse(m[1]);
  return channel.success ? { channel: channel.data, inboxId: m[2], rest: m[3] ?? '/' } : null;
}

/**
 * A demo inbox's secrets, shaped as its channel's schema wants them (libs/contracts
 * inbox-settings): what the seed stores, the fakes sign with and demo:traffic sends with.
 * `address` is the inbox address (the Telegram bot id prefixes its token).
 */
export function demoInboxSecrets(demoKey: string, channel: Channel, address: string): Record<string, string> {
  const s = (field: string) => demoSecret(demoKey, channel, field);
  switch (channel) {
    case 'email':
      return { imapPassword: s('imapPassword'), smtpPassword: s('smtpPassword') };
    case 'whatsapp':
    case 'messenger':
    case 'instagram':
      return { appSecret: s('appSecret'), verifyToken: s('verifyToken'), accessToken: `EAAG${s('accessToken')}` };
    case 'telegram':
      return { botToken: `${address}:${s('botToken')}`, webhookSecret: s('webhookSecret') };
    case 'voice':
      return {
        accountSid: `AC${createHmac('sha256', demoKey).update('oq-demo:voice:accountSid').digest('hex').slice(0, 32)}`,
        authToken: s('authToken'),
        signingSecret: s('signingSecret'),
      };
    case 'chat':
      return { identityVerificationSecret: s('identityVerificationSecret') };
  }
}
