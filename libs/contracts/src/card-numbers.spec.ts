import { CountryCode, getExampleNumber, isValidPhoneNumber, parsePhoneNumberFromString } from 'libphonenumber-js/max';
import examples from 'libphonenumber-js/mobile/examples';
import { containsCardNumber, luhnValid, maskCardNumbers } from './card-numbers';

/** mulberry32: a fixed seed keeps the random numbers, and so CI, the same on every run. */
function prng(seed: number) {
  return (n: number) => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return Math.floor((((t ^ (t >>> 14)) >>> 0) / 4294967296) * n);
  };
}

/** The prefix padded with zeros to `length`, its last digit the Luhn check digit. */
function withLuhn(prefix: string, length: number): string {
  const body = prefix.padEnd(length - 1, '0');
  for (let d = 0; d < 10; d++) if (luhnValid(body + d)) return body + d;
  throw new Error('unreachable');
}

function grouped(pan: string, sizes: number[], sep: string): string {
  const out: string[] = [];
  let at = 0;
  for (const n of sizes) out.push(pan.slice(at, (at += n)));
  if (at < pan.length) out.push(pan.slice(at));
  return out.join(sep);
}

/** What the mask must make of a written card number: every digit but the last four hidden. */
function masked(written: string): string {
  let toMask = written.replace(/\D/g, '').length - 4;
  return [...written].map((ch) => (/\d/.test(ch) && toMask-- > 0 ? '•' : ch)).join('');
}

// Countries whose codes start like a card range (4x Visa, 34/37 Amex, 30/36/38/39 Diners, 5x Mastercard,
// 60/62/65/81/82 RuPay/UnionPay/Discover, 63 Maestro) and the biggest mobile markets.
const COUNTRIES: CountryCode[] = [
  'DE', 'AT', 'CH', 'GB', 'SE', 'PL', 'ES', 'LT', 'BY', 'HU', 'GR', 'RS', 'UA', 'IT', 'CN',
  'ID', 'IN', 'BR', 'MX', 'RU', 'TR', 'NG', 'PH', 'US', 'JP', 'KR', 'SG', 'MY', 'FR', 'AU',
]; // prettier-ignore

/**
 * Valid numbers seeded by libphonenumber's example for the country: its first 0–2
 * national digits kept, the length moved by up to two, the rest random, kept when
 * valid and within E.164's 15 digits.
 */
function randomPhoneNumbers(count: number) {
  const rand = prng(13);
  const numbers = [];
  for (let i = 0; numbers.length < count; i++) {
    const country = COUNTRIES[i % COUNTRIES.length];
    const example = getExampleNumber(country, examples)!;
    for (let attempt = 0; attempt < 1000; attempt++) {
      let national = example.nationalNumber.slice(0, rand(3));
      const length = example.nationalNumber.length + rand(5) - 2;
      while (national.length < length) national += rand(10);
      const e164 = `+${example.countryCallingCode}${national}`;
      if (e164.length > 16 || !isValidPhoneNumber(e164)) continue;
      numbers.push({ country, number: parsePhoneNumberFromString(e164)! });
      break;
    }
  }
  return numbers;
}

describe('card numbers', () => {
  it('leaves 10,000 random phone numbers from 30 countries alone, however they are written', () => {
    const numbers = randomPhoneNumbers(10_000);
    expect(new Set(numbers.map((n) => n.country)).size).toBe(30);
    const wrongly: string[] = [];
    let cardLike = 0;
    numbers.forEach(({ number: n }, i) => {
      const international = n.formatInternational();
      const writings = [
        international, // +49 1512 3456789
        n.number, // +4915123456789, as call logs write the caller
        i % 2 ? `00${international.slice(1)}` : `00${n.number.slice(1)}`, // 0049 1512 3456789, 004915123456789
        n.formatNational(), // 01512 3456789, (213) 373-4253
        n.number.slice(1), // 4915123456789
      ];
      if (n.number.length >= 14 && luhnValid(n.number.slice(1))) cardLike++;
      for (const w of writings) {
        const text = `call our fraud line ${w} today`;
        if (maskCardNumbers(text) !== text || containsCardNumber(text)) wrongly.push(w);
      }
    });
    expect(wrongly).toEqual([]);
    // The old rule (any Luhn-valid 13–19 digits) masked these run together: the set tests what broke.
    expect(cardLike).toBeGreaterThan(50);
  });

  // Published test numbers of Stripe, Braintree/PayPal and Adyen.
  const PANS: [string, string][] = [
    ['Visa', '4111111111111111'],
    ['Visa', '4012888888881881'],
    ['Visa', '4242424242424242'],
    ['Visa debit', '4000056655665556'],
    ['Visa Electron', '4917610000000000'],
    ['Mastercard', '5555555555554444'],
    ['Mastercard', '5105105105105100'],
    ['Mastercard debit', '5200828282828210'],
    ['Mastercard 2-series', '2223003122003222'],
    ['Mastercard 2-series', '2222400070000005'],
    ['American Express', '378282246310005'],
    ['American Express', '371449635398431'],
    ['American Express', '378734493671000'],
    ['Discover', '6011111111111117'],
    ['Discover', '6011000990139424'],
    ['Discover', '6011981111111113'],
    ['Discover', '6445644564456445'],
    ['JCB', '3530111333300000'],
    ['JCB', '3566002020360505'],
    ['JCB', '3569990010095841'],
    ['UnionPay', '6200000000000005'],
    ['UnionPay (19 digits)', '6205500000000000004'],
    ['Diners Club', '3056930009020004'],
    ['Diners Club', '36227206271667'],
    ['Diners Club', '30569309025904'],
    ['Diners Club', '38520000023237'],
    ['Diners Club', '36006666333344'],
    ['Maestro', '6759649826438453'],
    ['Maestro', '6304000000000000'],
    ['Elo', '5066991111111118'],
    ['Elo', '6362970000457013'],
    // Local schemes, made up from their ranges.
    ['Mir', withLuhn('2200', 16)],
    ['Mir (19 digits)', withLuhn('2204', 19)],
    ['RuPay', withLuhn('6070', 16)],
    ['RuPay', withLuhn('8100', 16)],
    ['RuPay', withLuhn('5080', 16)],
    ['Troy', withLuhn('9792', 16)],
    ['Verve', withLuhn('506100', 16)],
    ['Verve (19 digits)', withLuhn('650010', 19)],
    ['GPN', withLuhn('9360', 18)],
    ['Dankort', withLuhn('5019', 16)],
    ['UzCard', withLuhn('8600', 16)],
    ['Humo', withLuhn('9860', 16)],
    ['Maestro (13 digits)', withLuhn('5018', 13)],
  ];

  it.each(PANS)('masks %s %s however it is written, last four shown', (_brand, pan) => {
    const layouts =
      pan.length === 15 ? [[4, 6, 5]] : pan.length === 14 ? [[4, 6, 4], [4, 4, 4]] : [[4, 4, 4, 4]]; // prettier-ignore
    const writings = [pan];
    for (const sizes of layouts) for (const sep of [' ', '-', '.']) writings.push(grouped(pan, sizes, sep));
    for (const w of writings) {
      expect(maskCardNumbers(`Card ${w} declined.`)).toBe(`Card ${masked(w)} declined.`);
      expect(containsCardNumber(`Card ${w} declined.`)).toBe(true);
    }
    expect(maskCardNumbers(pan).slice(-4)).toBe(pan.slice(-4));
  });

  it('masks every card in a text, and one written after a phone number', () => {
    expect(maskCardNumbers('card 4111 1111 1111 1111 or 5555-5555-5555-4444')).toBe(
      'card •••• •••• •••• 1111 or ••••-••••-••••-4444',
    );
    expect(maskCardNumbers('+1 415 555 2671 4111 1111 1111 1111')).toBe('+1 415 555 2671 •••• •••• •••• 1111');
    expect(maskCardNumbers('<p>4111111111111111</p>')).toBe('<p>••••••••••••1111</p>');
    // A 19-digit PAN whose first 16 digits also pass Luhn: the whole number is the card.
    expect(maskCardNumbers('4111 1111 1111 1111 003')).toBe('•••• •••• •••• •••1 003');
  });

  it('leaves phone numbers, references and ids alone', () => {
    for (const text of [
      'call our fraud line +49 151 1234 5678',
      'Inbound call from +4915112345678 (answered, 2 min).',
      'call me on 0049 151 12345678 or +49-151-1234-5678',
      'order 1234567890123 ok',
      'ref 1234567812345670', // Luhn-valid, but no issuer's range
      'id 41111111111111111111', // 20 digits
      'pan 4111111111111112', // fails Luhn
      `amex-like ${withLuhn('37', 16)}, mastercard-like ${withLuhn('55', 15)}`, // lengths those schemes do not issue
      // A valid Italian fixed line written without its +, also a Luhn-valid 14-digit Diners range.
      'ring 39083100053769',
    ])
      expect([maskCardNumbers(text), containsCardNumber(text)]).toEqual([text, false]);
  });

  it('does not mask 13-digit Visa numbers: no longer issued, and mostly +4x phone numbers without the +', () => {
    // Visa's published 13-digit test number; 4915112345678 (+49 151 12345678) is the same shape.
    expect(maskCardNumbers('4222222222222')).toBe('4222222222222');
    expect(luhnValid('4222222222222')).toBe(true);
  });
});
