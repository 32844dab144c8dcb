/**
 * Card numbers (Luhn-valid PANs of 13–19 digits, optionally grouped by spaces or
 * dashes) are masked before anything is stored, logged or queued. Kept in the
 * contracts because every producer of an InboundMessage must apply it.
 */
const CANDIDATE = /(?<![\d])(?:\d[ -]?){12,18}\d(?![\d])/g;

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

/** Replaces every Luhn-valid PAN by `•` except its last four digits, keeping separators. */
export function maskCardNumbers(text: string): string {
  if (!text) return text;
  return text.replace(CANDIDATE, (match) => {
    const digits = match.replace(/[ -]/g, '');
    if (digits.length < 13 || digits.length > 19 || !luhnValid(digits) || /^(\d)\1+$/.test(digits)) return match;
    let toMask = digits.length - 4;
    let out = '';
    for (const ch of match) {
      if (ch >= '0' && ch <= '9' && toMask > 0) {
        out += '•';
        toMask--;
      } else out += ch;
    }
    return out;
  });
}
