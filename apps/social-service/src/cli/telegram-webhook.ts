/**
 * Registers a Telegram inbox's webhook with the Bot API (setWebhook with the
 * inbox's secret_token, so every update carries X-Telegram-Bot-Api-Secret-Token).
 *
 *   npm run social:telegram-webhook -- <inbox-id> <public-base-url>
 *   e.g. npm run social:telegram-webhook -- 5b0c…  https://support.example.com
 *
 * Reads the inbox (with its decrypted secrets) from ticket-service's internal API
 * (TICKET_SERVICE_URL, SERVICE_TOKEN) and TELEGRAM_API_BASE_URL from the environment.
 */
import { InboxConfig, Uuid } from '@oq/contracts';
import { SERVICE_TOKEN_HEADER } from '@oq/platform';
import { toSocialInbox } from '../inboxes/social-inbox';
import { registerTelegramWebhook } from '../providers/telegram-webhook';

async function main(argv: string[]) {
  const [inboxId, publicBaseUrl] = argv;
  if (!inboxId || !Uuid.safeParse(inboxId).success || !publicBaseUrl)
    throw new Error('usage: telegram-webhook <inbox-id> <public-base-url>');
  const ticketService = process.env.TICKET_SERVICE_URL ?? 'http://127.0.0.1:3000';
  const token = process.env.SERVICE_TOKEN;
  if (!token) throw new Error('SERVICE_TOKEN is required but not set');
  const res = await fetch(`${ticketService}/internal/inboxes/${inboxId}`, {
    headers: { [SERVICE_TOKEN_HEADER]: token },
  });
  if (!res.ok) throw new Error(`inbox ${inboxId}: internal API answered ${res.status}`);
  const inbox = toSocialInbox(InboxConfig.parse(await res.json()));
  if (inbox.channel !== 'telegram') throw new Error(`inbox ${inboxId} is a ${inbox.channel} inbox`);
  const url = await registerTelegramWebhook({
    apiBase: process.env.TELEGRAM_API_BASE_URL ?? 'https://api.telegram.org',
    botToken: inbox.secrets.botToken,
    publicBaseUrl,
    inboxId,
    secretToken: inbox.secrets.webhookSecret,
  });
  process.stdout.write(`webhook registered: ${url}\n`);
}

main(process.argv.slice(2)).catch((err: Error) => {
  process.stderr.write(`${err.message}\n`);
  process.exit(1);
});
