import { CountryCode, parsePhoneNumberFromString } from 'libphonenumber-js';
import { InvalidCallRecordError } from './call-record-error';

/**
 * The customer's number in E.164, so a caller matches the contact who wrote on
 * WhatsApp or email from that number. Unparseable or impossible → 400 naming the field.
 */
export function customerNumber(raw: string | undefined, region: string, field: string): string {
  const value = (raw ?? '').trim();
  if (!value) throw new InvalidCallRecordError(field, 'a phone number is required');
  const parsed = parsePhoneNumberFromString(value, region as CountryCode);
  if (!parsed || !parsed.isPossible())
    throw new InvalidCallRecordError(field, `not a phone number: ${JSON.stringify(value.slice(0, 64))}`);
  return parsed.number;
}

/**
 * Our side of the call (the hotline, an agent's softphone `client:alice`, a SIP
 * URI): E.164 when it is a number, otherwise kept as sent, since it identifies no customer.
 */
export function ourParty(raw: string | undefined, region: string): string | undefined {
  const value = (raw ?? '').trim();
  if (!value) return undefined;
  const parsed = /^[+\d(][\d\s().-]*$/.test(value)
    ? parsePhoneNumberFromString(value, region as CountryCode)
    : undefined;
  return parsed?.isPossible() ? parsed.number : value.slice(0, 64);
}
