import { createHmac, timingSafeEqual } from 'node:crypto';

/**
 * Meta signs every webhook POST with `X-Hub-Signature-256: sha256=<hex HMAC-SHA256 of the raw body, key = app secret>`.
 * Compared in constant time over the exact bytes received (before any parsing).
 */
export function verifyMetaSignature(rawBody: Buffer, header: string | undefined, appSecret: string): boolean {
  if (!header || !header.startsWith('sha256=')) return false;
  const given = Buffer.from(header.slice('sha256='.length), 'hex');
  const expected = createHmac('sha256', appSecret).update(rawBody).digest();
  return given.length === expected.length && timingSafeEqual(given, expected);
}

export function signMetaBody(rawBody: Buffer | string, appSecret: string): string {
  return `sha256=${createHmac('sha256', appSecret).update(rawBody).digest('hex')}`;
}

/** Telegram echoes the secret_token given to setWebhook in `X-Telegram-Bot-Api-Secret-Token`. */
export function verifyTelegramSecret(header: string | undefined, secret: string): boolean {
  if (!header) return false;
  // Hash both sides so the comparison is constant-time whatever the lengths.
  const a = createHmac('sha256', 'telegram').update(header).digest();
  const b = createHmac('sha256', 'telegram').update(secret).digest();
  return timingSafeEqual(a, b);
}
