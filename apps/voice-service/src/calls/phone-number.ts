import { normalizePhone } from '@oq/contracts';
import { InvalidCallRecordError } from './call-record-error';

/**
 * The customer's number in E.164 by the shared rule (normalizePhone, national numbers read in the
 * inbox's region), so a caller matches the contact who wrote on WhatsApp from that number.
 * Unreadable → 400 naming the field.
 */
export function customerNumber(raw: string | undefined, region: string, field: string): string {
  const value = (raw ?? '').trim();
  if (!value) throw new InvalidCallRecordError(field, 'a phone number is required');
  const number = normalizePhone(value, region);
  if (!number) throw new InvalidCallRecordError(field, `not a phone number: ${JSON.stringify(value.slice(0, 64))}`);
  return number;
}

/** How a call log names a caller who withheld their number (CallLog.from). */
export const WITHHELD = 'anonymous';

/**
 * What carriers and PBXs put in place of a withheld caller id: the words, and
 * Twilio's keypad spellings of ANONYMOUS, RESTRICTED, UNKNOWN and UNAVAILABLE.
 */
const WITHHELD_WORDS = new Set(['anonymous', 'restricted', 'unknown', 'unavailable', 'private', 'withheld', 'blocked']);
const WITHHELD_DIGITS = new Set(['266696687', '7378742833', '8656696', '86282452253']);

export function isWithheld(raw: string | undefined): boolean {
  const value = (raw ?? '').trim();
  return (
    !value ||
    WITHHELD_WORDS.has(value.toLowerCase()) ||
    WITHHELD_DIGITS.has(value.replace(/[\s().+-]/g, '')) ||
    // RFC 3323 privacy: SIP PBXs present a hidden caller as sip:anonymous@anonymous.invalid.
    /^sips?:anonymous@/i.test(value)
  );
}

/**
 * The caller of an inbound call: E.164, or WITHHELD when the network hid the
 * number (the call is still logged, it just attributes to nobody). Anything
 * else that is not a number stays a 400 naming the field.
 */
export function callerNumber(raw: string | undefined, region: string, field: string): string {
  return isWithheld(raw) ? WITHHELD : customerNumber(raw, region, field);
}

/**
 * Our side of the call (the hotline, an agent's softphone `client:alice`, a SIP
 * URI): E.164 when it is a number, otherwise kept as sent, since it identifies no customer.
 */
export function ourParty(raw: string | undefined, region: string): string | undefined {
  const value = (raw ?? '').trim();
  if (!value) return undefined;
  const number = /^[+\d(][\d\s().-]*$/.test(value) ? normalizePhone(value, region) : undefined;
  return number ?? value.slice(0, 64);
}
