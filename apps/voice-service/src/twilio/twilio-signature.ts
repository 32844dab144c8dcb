import { createHmac } from 'node:crypto';
import { safeEqual } from '@oq/platform';

export type FormParams = [name: string, value: string][];

/** application/x-www-form-urlencoded bytes → name/value pairs in their original order, repeats kept. */
export function parseForm(raw: Buffer | string | undefined): FormParams {
  return [...new URLSearchParams(raw ? raw.toString() : '').entries()];
}

/**
 * X-Twilio-Signature as Twilio computes it: the full URL Twilio requested, then
 * every POST parameter sorted by name, each name immediately followed by its
 * value, HMAC-SHA1 keyed with the account's auth token, base64.
 * (twilio.com/docs/usage/security#validating-requests)
 */
export function twilioSignature(authToken: string, url: string, params: FormParams | Record<string, string>): string {
  const pairs = Array.isArray(params) ? [...params] : Object.entries(params);
  pairs.sort(([a, x], [b, y]) => (a < b ? -1 : a > b ? 1 : x < y ? -1 : x > y ? 1 : 0));
  const data = url + pairs.map(([name, value]) => name + value).join('');
  return createHmac('sha1', authToken).update(data, 'utf8').digest('base64');
}

/**
 * Twilio's own validators accept the URL with and without the scheme's default
 * port, because what Twilio signs depends on how the webhook URL was configured.
 */
function urlVariants(url: string): string[] {
  // On the string, not through URL(), which silently drops a default port.
  const m = /^(https?):\/\/([^/?#:]+)(?::(\d+))?(.*)$/i.exec(url);
  if (!m) return [url];
  const [, scheme, host, port, rest] = m;
  const defaultPort = scheme.toLowerCase() === 'https' ? '443' : '80';
  if (port && port !== defaultPort) return [url];
  return [`${scheme}://${host}${rest}`, `${scheme}://${host}:${defaultPort}${rest}`];
}

export function isValidTwilioSignature(
  authToken: string,
  url: string,
  params: FormParams,
  signature: string | undefined,
): boolean {
  if (!signature) return false;
  return urlVariants(url).some((candidate) => safeEqual(twilioSignature(authToken, candidate, params), signature));
}
