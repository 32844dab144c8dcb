import { createHmac } from 'node:crypto';
import { safeEqual } from '@oq/platform';

export const PBX_TIMESTAMP_HEADER = 'x-onequeue-timestamp';
export const PBX_SIGNATURE_HEADER = 'x-onequeue-signature';

/**
 * Signature of a generic PBX call record: hex HMAC-SHA256 with the inbox's
 * signing secret over `<unix seconds>.<raw body>`. Binding the timestamp into
 * the MAC lets us reject replays older than the window.
 */
export function pbxSignature(secret: string, timestamp: string, rawBody: Buffer | string): string {
  return createHmac('sha256', secret).update(`${timestamp}.`).update(rawBody).digest('hex');
}

export type PbxVerdict = { ok: true } | { ok: false; reason: string };

export function verifyPbxSignature(
  secret: string,
  timestamp: string | undefined,
  signature: string | undefined,
  rawBody: Buffer | string,
  now: Date,
  maxAgeSeconds: number,
): PbxVerdict {
  if (!timestamp || !/^\d{1,12}$/.test(timestamp))
    return { ok: false, reason: `missing or malformed ${PBX_TIMESTAMP_HEADER}` };
  if (!signature) return { ok: false, reason: `missing ${PBX_SIGNATURE_HEADER}` };
  const given = signature.replace(/^sha256=/, '').toLowerCase();
  if (!safeEqual(pbxSignature(secret, timestamp, rawBody), given)) return { ok: false, reason: 'invalid signature' };
  // Checked after the MAC, so the reason given to an unauthenticated caller reveals nothing.
  if (Math.abs(now.getTime() / 1000 - Number(timestamp)) > maxAgeSeconds)
    return { ok: false, reason: `timestamp outside the ${maxAgeSeconds}-second window (replay?)` };
  return { ok: true };
}
