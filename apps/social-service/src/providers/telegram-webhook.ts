/** setWebhook with a secret_token: Telegram then sends it in X-Telegram-Bot-Api-Secret-Token on every update. */
export interface TelegramWebhookRegistration {
  apiBase: string;
  botToken: string;
  /** Public base URL of social-service (https in production; Telegram refuses plain http). */
  publicBaseUrl: string;
  inboxId: string;
  secretToken: string;
}

export async function registerTelegramWebhook(r: TelegramWebhookRegistration): Promise<string> {
  const url = `${r.publicBaseUrl.replace(/\/$/, '')}/webhooks/telegram/${r.inboxId}`;
  const res = await fetch(`${r.apiBase}/bot${r.botToken}/setWebhook`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      url,
      secret_token: r.secretToken,
      allowed_updates: ['message', 'edited_message'],
      drop_pending_updates: false,
    }),
  });
  const body = (await res.json().catch(() => ({}))) as { ok?: boolean; description?: string };
  if (!res.ok || body.ok !== true) throw new Error(`setWebhook refused: ${body.description ?? `HTTP ${res.status}`}`);
  return url;
}
