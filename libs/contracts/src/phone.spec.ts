import fc from 'fast-check';
import { CountryCode, getCountries, getExampleNumber, parsePhoneNumberFromString } from 'libphonenumber-js';
import examples from 'libphonenumber-js/mobile/examples';
import { normalizePhone } from './phone';

/**
 * The resolver's normalizeIdentity('phone') before normalizePhone, every stored contact_identities value
 * came from it: `accepted` when libphonenumber read it, else the value is its digits-as-given fallback.
 */
function oldResolver(value: string): { accepted: boolean; value: string } {
  const compact = value
    .trim()
    .replace(/[\s().-]/g, '')
    .replace(/^00/, '+');
  const parsed = parsePhoneNumberFromString(compact.startsWith('+') ? compact : `+${compact}`);
  return parsed?.isPossible() ? { accepted: true, value: parsed.number } : { accepted: false, value: compact };
}

/** voice-service's customerNumber before normalizePhone (undefined where it answered 400). */
function oldVoice(raw: string, region: string): string | undefined {
  const value = raw.trim();
  if (!value) return undefined;
  const parsed = parsePhoneNumberFromString(value, region as CountryCode);
  return parsed?.isPossible() ? parsed.number : undefined;
}

describe('normalizePhone: one phone-number rule for every channel', () => {
  it('gives the same E.164 for one number in each channel shape', () => {
    const writings: [string, string | undefined][] = [
      ['6281234567001', undefined], // WhatsApp wa_id (digits without +)
      ['+6281234567001', 'US'], // Twilio From (E.164), whatever the inbox region
      ['+6281234567001', undefined],
      ['081234567001', 'ID'], // PBX record, national format, inbox region ID
      ['0812-3456-7001', 'ID'], // agent / PBX with separators
      ['(0812) 3456 7001', 'ID'],
      ['6281234567001', 'ID'], // the region's own country code without +
      ['+62 812-3456-7001', undefined], // agent typing it internationally
      ['+62 812-3456-7001', 'DE'],
      ['+62 (0)812 3456 7001', undefined], // trunk digit after the country code
      ['+62 0812-3456-7001', undefined],
      ['0062 812 3456 7001', undefined], // 00 international prefix
      ['0062 812 3456 7001', 'ID'], // … also where the region dials abroad with another prefix
      ['  +62\u00a0812\t3456 7001 ', undefined], // any white space
    ];
    for (const [raw, region] of writings)
      expect([raw, region, normalizePhone(raw, region)]).toEqual([raw, region, '+6281234567001']);
  });

  const table: [
    shape: string,
    raw: string | null | undefined,
    region: string | undefined,
    expected: string | undefined,
  ][] = [
    // WhatsApp wa_ids: international without +, no region.
    ['wa_id DE mobile', '4915112345678', undefined, '+4915112345678'],
    ['wa_id US', '16315551181', undefined, '+16315551181'],
    ['wa_id AR mobile (with its 9)', '5491123456789', undefined, '+5491123456789'],
    ['wa_id BR from before the ninth digit', '551187654321', undefined, '+551187654321'],
    ['wa_id outside the ranges the metadata lists (possible, not valid)', '4949823456789', undefined, '+4949823456789'],
    ['wa_id that is no phone number', 'US.13491208655302741918', undefined, undefined],
    ['wa_id too long for its country code', '62812345670012345678', undefined, undefined],
    // Twilio: From/To in E.164, or words for withheld ids and softphones.
    ['Twilio From', '+14155552671', 'US', '+14155552671'],
    ['Twilio From, foreign caller', '+4915112345678', 'US', '+4915112345678'],
    ['Twilio withheld ANONYMOUS (Lesotho is 8 digits)', '+266696687', 'US', undefined],
    ['Twilio withheld RESTRICTED', '+7378742833', 'US', undefined],
    ['Twilio withheld UNKNOWN', '+8656696', 'US', undefined],
    // A possible Chinese number: voice-service's isWithheld must (and does) run first.
    ['Twilio withheld UNAVAILABLE', '+86282452253', 'US', '+86282452253'],
    ['withheld word', 'anonymous', 'US', undefined],
    ['empty From', '', 'US', undefined],
    ['blank From', '   ', 'US', undefined],
    ['missing', undefined, 'US', undefined],
    ['null', null, undefined, undefined],
    ['agent softphone', 'client:alice', 'US', undefined],
    // PBX records: national with the inbox region, or international by the region's own prefix.
    ['PBX national US', '(415) 555-2671', 'US', '+14155552671'],
    ['PBX national US with trunk 1', '1 415 555 2671', 'US', '+14155552671'],
    ['PBX national DE', '030 1234567', 'DE', '+49301234567'],
    ['PBX US international prefix 011', '011 49 30 1234567', 'US', '+49301234567'],
    ['PBX 00 in the US (not its prefix)', '0049 30 1234567', 'US', '+49301234567'],
    ['PBX AU international prefix 0011', '0011 49 30 1234567', 'AU', '+49301234567'],
    ['PBX AR national mobile with 15', '011 15-2345-6789', 'AR', '+5491123456789'],
    ['PBX SIP URI', 'sip:+14155552671@pbx.example', 'US', '+14155552671'],
    ['PBX national too short', '12345', 'US', undefined],
    ['PBX wa_id-like digits of another country', '6281234567001', 'US', undefined],
    // Agents typing a requester.
    ['agent, national without region', '0812-3456-7890', undefined, undefined],
    ['agent, national with region', '0812-3456-7890', 'ID', '+6281234567890'],
    ['agent, 00 and spaces', '0049 30 1234 567', undefined, '+49301234567'],
    ['agent, (0) trunk digit', '+44 (0)20 7183 8750', undefined, '+442071838750'],
    ['agent, extension dropped', '+1 415 555 2671 ext. 12', undefined, '+14155552671'],
    ['agent, dots', '+49.30.1234567', undefined, '+49301234567'],
    ['agent, letters', '+1-800-FLOWERS', undefined, undefined],
    ['agent, no country code', '+0812 3456 7890', undefined, undefined],
    ['agent, just a plus', '+', undefined, undefined],
  ];

  it.each(table)('%s: %j (region %s) → %s', (_shape, raw, region, expected) => {
    expect(normalizePhone(raw, region)).toBe(expected);
  });

  it('is idempotent: an E.164 result reads back as itself, in any region', () => {
    for (const [, raw, region] of table) {
      const out = normalizePhone(raw, region);
      if (!out) continue;
      expect(normalizePhone(out)).toBe(out);
      for (const r of ['US', 'ID', 'DE', 'AU', 'BR']) expect(normalizePhone(out, r)).toBe(out);
    }
  });

  it('refuses a region that is not an ISO 3166 alpha-2 code known to libphonenumber', () => {
    expect(() => normalizePhone('0812 3456 7001', 'id')).toThrow(RangeError);
    expect(() => normalizePhone('0812 3456 7001', 'XX')).toThrow(RangeError);
  });

  describe('against the rules it replaces', () => {
    // Every country's example mobile number, written as people and systems write it.
    const writings = getCountries().flatMap((country) => {
      const n = getExampleNumber(country, examples);
      if (!n) return [];
      const intl = n.formatInternational();
      return [intl, n.number, n.number.slice(1), `00${intl.slice(1)}`, n.formatNational()].map((raw) => ({
        country,
        raw,
      }));
    });
    const phoneish = fc
      .array(fc.constantFrom(...'0123456789'.split(''), ' ', '-', '(', ')', '.', '+'), { minLength: 1, maxLength: 18 })
      .map((a) => a.join(''));

    it('reads without a region exactly what the old resolver read (the stored values)', () => {
      const same = (raw: string) => {
        const old = oldResolver(raw);
        expect([raw, normalizePhone(raw)]).toEqual([raw, old.accepted ? old.value : undefined]);
      };
      expect(writings.length).toBeGreaterThan(1000);
      for (const { raw } of writings) same(raw);
      fc.assert(fc.property(phoneish, same), { seed: 17, numRuns: 20_000 });
    });

    it('reads what voice-service accepted as before, except a 00 prefix, now always international', () => {
      let changed = 0;
      for (const { country, raw } of writings)
        for (const region of [country, 'US', 'ID']) {
          const old = oldVoice(raw, region);
          if (old === undefined) continue;
          if (/^\s*0\s*0/.test(raw)) changed += Number(normalizePhone(raw, region) !== old);
          else expect([raw, region, normalizePhone(raw, region)]).toEqual([raw, region, old]);
        }
      // 00 numbers a region without 00 as its prefix misread before: 0062 812… in ID gave +6200628…
      expect(changed).toBeGreaterThan(0);
      fc.assert(
        fc.property(phoneish, fc.constantFrom('US', 'ID', 'DE', 'GB', 'AU', 'BR', 'IN'), (raw, region) => {
          const old = oldVoice(raw, region);
          if (old !== undefined && !raw.replace(/[\s().-]/g, '').startsWith('00'))
            expect(normalizePhone(raw, region)).toBe(old);
        }),
        { seed: 23, numRuns: 20_000 },
      );
    });
  });
});
