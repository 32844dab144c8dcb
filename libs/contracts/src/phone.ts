import { CountryCode, parsePhoneNumberFromString } from 'libphonenumber-js';
import { z } from 'zod';
import { PhoneRegion } from './inbox-settings';

/**
 * The one phone-number rule of OneQueue: what every channel turns a number into before it becomes
 * (or is looked up as) a `phone` contact identity, so the customer who writes on WhatsApp, calls the
 * hotline and is typed in by an agent is one contact. A WhatsApp wa_id `6281234567001`, a Twilio
 * From `+6281234567001`, a PBX record `081234567001` of an inbox in region ID and an agent's
 * `+62 812-3456-7001` all give `+6281234567001`.
 *
 * - **Out**: E.164 (`+` and digits), or `undefined` when the input is not readable as a number.
 *   What to do then is the caller's: voice-service answers 400 naming the field (or keeps our own
 *   side of a call as sent), contact resolution keeps its canonical fallback, the WhatsApp parser
 *   links no phone identity. Withheld caller ids (`anonymous`, Twilio's `+266696687`, an empty
 *   From) are recognised by voice-service before calling this; some of them (`+86282452253`, or
 *   `7378742833` in region US) are possible numbers, so this function cannot tell them apart.
 * - **International input**: a leading `+`, or `00` (the ITU international prefix; no national
 *   number starts with 00). Separators and spaces (`( ) . -`, any white space) are ignored, so are
 *   a `(0)` trunk digit after the country code (`+44 (0)20 …`) and an extension (`ext. 12`,
 *   dropped). A region plays no part in reading these, except that a `00…` number impossible as
 *   international is read by the region's own international prefix instead (`0011 …` in AU,
 *   `00` and a carrier code in BR), as the region's phones dial it; and with a region the number
 *   is also picked out of a `tel:`/`sip:` URI (PBX records), without one such text is unreadable.
 * - **National input** (digits without `+` or `00`):
 *   - with a region (an ISO 3166 alpha-2 code, {@link PhoneRegion}: a voice inbox's
 *     `settings.defaultRegion` or VOICE_DEFAULT_REGION), read as dialled in that region: the trunk
 *     prefix goes (`0812-3456-7890` in ID → `+6281234567890`), and so does the region's own country
 *     code when it leads (`6281234567001` in ID, `14155552671` in US);
 *   - without a region, read as international without its `+`: that is what a WhatsApp wa_id is,
 *     and what contact resolution has always done. A number in national format is then unreadable
 *     (`0812…` has no country), never guessed.
 * - **Acceptable**: a *possible* number (libphonenumber `isPossible`: a known country calling code
 *   and a length that country's numbers have), not a *valid* one (`isValid`: within a number range
 *   the bundled metadata lists as allocated). A number that reached us through WhatsApp or a phone
 *   network exists; refusing it because this library's metadata is older than the carrier's newest
 *   range would refuse a call record and split a contact. Lengths rarely change, ranges often, so an
 *   identity value stays the same across library upgrades. Every caller uses this one test: a wa_id
 *   links its phone identity exactly when a call from that number would be accepted.
 *
 * For input without a region this is exactly the rule contact identities were stored with (the
 * resolver's earlier normalizeIdentity): every value it accepted comes out unchanged.
 *
 * @param region ISO 3166 alpha-2, upper case ({@link PhoneRegion}); throws a RangeError for any other.
 */
export function normalizePhone(
  raw: string | null | undefined,
  region?: z.infer<typeof PhoneRegion>,
): string | undefined {
  if (region !== undefined && !PhoneRegion.safeParse(region).success)
    throw new RangeError(`normalizePhone: ${JSON.stringify(region)} is not an ISO 3166 alpha-2 region`);
  const text = (raw ?? '').trim();
  if (!text) return undefined;
  const compact = text.replace(/[\s().-]/g, '');
  const international = compact.startsWith('+')
    ? compact
    : compact.startsWith('00')
      ? `+${compact.slice(2)}`
      : region
        ? undefined
        : `+${compact}`;
  if (international) {
    const parsed = possible(international);
    if (parsed || !region) return parsed;
  }
  return possible(text, region as CountryCode);
}

function possible(text: string, region?: CountryCode): string | undefined {
  const parsed = parsePhoneNumberFromString(text, region);
  return parsed?.isPossible() ? parsed.number : undefined;
}
