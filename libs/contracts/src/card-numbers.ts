import { isValidPhoneNumber } from 'libphonenumber-js/max';

/**
 * Card numbers in customer text are masked before anything is stored, logged or
 * queued; an agent's text is refused instead (ticket-service answers 422
 * `card_number_in_reply`), so what an agent wrote is never altered. Kept in the
 * contracts because every producer of an InboundMessage applies the same rule.
 *
 * A card number is 13–19 digits, run together or in groups joined by one space,
 * dash or dot, that starts with an issuer's range at a length that scheme issues,
 * passes Luhn and is not a phone number. Any Luhn-valid run used to match, which
 * masked one phone number in ten.
 */

const L14_19 = [14, 15, 16, 17, 18, 19];
const L16_19 = [16, 17, 18, 19];
const MAESTRO = [13, 14, 15, 16, 17, 18, 19]; // 12 is allowed too, but too short to tell from other numbers
const VERVE = [16, 18, 19];

/**
 * [first prefix, last prefix, lengths]. From the IIN table of Wikipedia's "Payment
 * card number" and braintree/credit-card-type; where ranges overlap (Discover's 65 is
 * also RuPay's and Troy's, Elo lives partly inside Visa, Discover and UnionPay) one entry covers both.
 */
const ISSUERS: readonly [string, string, readonly number[]][] = [
  // Visa. No 13-digit Visa PANs are issued any more (braintree/credit-card-type lists 16, 18 and 19), and
  // a 13-digit run starting with 4 is mostly a +41/+43/+44/+46/+48/+49 number written without its +.
  ['4', '4', [16, 18, 19]],
  ['51', '55', [16]], // Mastercard
  ['2221', '2720', [16]], // Mastercard 2-series
  ['34', '34', [15]], // American Express
  ['37', '37', [15]],
  ['6011', '6011', L16_19], // Discover
  ['644', '649', L16_19],
  ['65', '65', L16_19], // Discover, RuPay, Troy, Elo, Verve
  ['3528', '3589', L16_19], // JCB
  ['62', '62', L16_19], // UnionPay (and Discover's 622126–622925)
  ['300', '305', L14_19], // Diners Club International
  ['3095', '3095', L14_19],
  ['36', '36', L14_19],
  ['38', '39', L14_19],
  ['5018', '5018', MAESTRO], // Maestro
  ['5020', '5020', MAESTRO],
  ['5038', '5038', MAESTRO],
  ['5893', '5893', MAESTRO],
  ['6304', '6304', MAESTRO],
  ['6759', '6759', MAESTRO],
  ['6761', '6763', MAESTRO],
  ['60', '60', [16]], // RuPay (also Hipercard 606282)
  ['81', '82', [16]], // RuPay, UnionPay 81
  ['508', '508', [16]], // RuPay
  ['2200', '2204', L16_19], // Mir
  ['9792', '9792', [16]], // Troy
  ['506099', '506198', VERVE], // Verve
  ['507865', '507964', VERVE],
  ['504175', '504175', [16]], // Elo
  ['506699', '506778', [16]],
  ['509000', '509999', [16]],
  ['636297', '636297', [16]],
  ['636368', '636368', [16]],
  ['9360', '9360', [16, 18, 19]], // GPN (Indonesia)
  ['5019', '5019', [16]], // Dankort
  ['636', '636', L16_19], // InterPayment
  ['637', '639', [16]], // InstaPayment
  ['8600', '8600', [16]], // UzCard
  ['9860', '9860', [16]], // Humo
];

export function luhnValid(digits: string): boolean {
  let sum = 0;
  let double = false;
  for (let i = digits.length - 1; i >= 0; i--) {
    let d = digits.charCodeAt(i) - 48;
    if (double) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
    double = !double;
  }
  return sum % 10 === 0;
}

function issued(digits: string): boolean {
  for (const [from, to, lengths] of ISSUERS) {
    const prefix = digits.slice(0, from.length);
    if (prefix >= from && prefix <= to && lengths.includes(digits.length)) return true;
  }
  return false;
}

function isCardNumber(digits: string): boolean {
  if (digits.length < 13 || digits.length > 19 || !issued(digits) || !luhnValid(digits)) return false;
  // A phone number has at most 15 digits (E.164). 13–15 digits that read as a valid international
  // number are one written without its + (4915112345678, 39…): some 38/39 Diners PANs look the same,
  // and the phone number is what people write far more often. Rare here, so libphonenumber stays off the hot path.
  return digits.length > 15 || !isValidPhoneNumber(`+${digits}`);
}

/** Digit groups joined by single separators, with the + of an international number. */
const RUN = /(?:\+ ?)?\d+(?:[ .\u00a0-]\d+)*/g;

interface Group {
  at: number;
  digits: string;
}

/** The shortest international numbers (+683 Niue, +690 Tokelau); E.164 allows up to 15. */
const PHONE_MIN_DIGITS = 7;

/**
 * How many leading groups of a run in international format (+49 151…, 0049 151…)
 * are the phone number, whose digits are never a card's: the longest that is a valid
 * number, else all that fit in 15 digits. A run too short to hold a card after a number is all number.
 */
function phoneGroups(groups: Group[], plus: boolean): number {
  const number = groups.map((g) => g.digits).join('');
  const digits = plus ? number : number.slice(2); // 0049… → 49…
  if (digits.length < PHONE_MIN_DIGITS + 13) return groups.length;
  let length = plus ? 0 : -2;
  let fit = 0;
  let valid = 0;
  for (let k = 0; k < groups.length && length + groups[k].digits.length <= 15; k++) {
    length += groups[k].digits.length;
    fit = k + 1;
    if (length >= PHONE_MIN_DIGITS && isValidPhoneNumber(`+${digits.slice(0, length)}`)) valid = k + 1;
  }
  return valid || fit;
}

/** The [start, end) of every card number in a run of digit groups. */
function cardsIn(run: string): [number, number][] {
  const groups: Group[] = [...run.matchAll(/\d+/g)].map((g) => ({ at: g.index, digits: g[0] }));
  const plus = run[0] === '+';
  let i = plus || groups[0].digits.startsWith('00') ? phoneGroups(groups, plus) : 0;
  const cards: [number, number][] = [];
  while (i < groups.length) {
    let last = -1;
    let digits = '';
    for (let j = i; j < groups.length && digits.length + groups[j].digits.length <= 19; j++) {
      digits += groups[j].digits;
      // The longest match: a 19-digit PAN whose first 16 digits also pass must not show its tail.
      if (isCardNumber(digits)) last = j;
    }
    if (last >= 0) cards.push([groups[i].at, groups[last].at + groups[last].digits.length]);
    i = Math.max(i, last) + 1;
  }
  return cards;
}

/** Replaces the digits of every card number by `•` except its last four, keeping separators. */
export function maskCardNumbers(text: string): string {
  if (!text) return text;
  return text.replace(RUN, (run) => {
    if (run.length < 13) return run;
    let out = '';
    let from = 0;
    for (const [start, end] of cardsIn(run)) {
      let toMask = run.slice(start, end).replace(/\D/g, '').length - 4;
      out += run.slice(from, start);
      for (const ch of run.slice(start, end)) {
        if (ch >= '0' && ch <= '9' && toMask > 0) {
          out += '•';
          toMask--;
        } else out += ch;
      }
      from = end;
    }
    return out + run.slice(from);
  });
}

/** Whether maskCardNumbers would change the text: agents' replies and notes with a card number are refused. */
export function containsCardNumber(text: string): boolean {
  if (!text) return false;
  for (const [run] of text.matchAll(RUN)) if (run.length >= 13 && cardsIn(run).length) return true;
  return false;
}
