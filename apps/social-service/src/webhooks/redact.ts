import { maskCardNumbers } from '@oq/contracts';

/**
 * Free-text fields of Meta and Telegram webhook bodies. Only these are masked:
 * ids (PSIDs, wa_ids, update ids) are long digit strings that can pass a Luhn
 * check by chance and must stay intact.
 */
const TEXT_KEYS = new Set([
  'text',
  'body',
  'caption',
  'title',
  'description',
  'payload',
  'name',
  'formatted_name',
  'address',
  'quick_reply',
  'emoji',
]);

/** Masks card numbers in every free-text string of a parsed webhook body, before it is queued. */
export function maskWebhookBody(value: unknown, key?: string): unknown {
  if (typeof value === 'string') return key && TEXT_KEYS.has(key) ? maskCardNumbers(value) : value;
  if (Array.isArray(value)) return value.map((v) => maskWebhookBody(v, key));
  if (value && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = maskWebhookBody(v, k);
    return out;
  }
  return value;
}
