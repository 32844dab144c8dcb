import { createHmac, timingSafeEqual } from 'node:crypto';

/**
 * Message-IDs we generate for outbound mail carry an HMAC of the ticket id, so
 * a reply's In-Reply-To/References proves which ticket it answers without
 * trusting the guessable ticket number:
 *   <oq.{ticketId without dashes}.{messageId without dashes}.{hmac16}@{domain}>
 */
const GENERATED = /^<?oq\.([0-9a-f]{32})\.([0-9a-f]{32})\.([0-9a-f]{16})@[^>]+>?$/i;

function sign(ticketHex: string, messageHex: string, secret: string): string {
  return createHmac('sha256', secret).update(`${ticketHex}.${messageHex}`).digest('hex').slice(0, 16);
}

const hex = (uuid: string) => uuid.replace(/-/g, '').toLowerCase();
const uuidOf = (h: string) =>
  `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`.toLowerCase();

export function generateEmailMessageId(ticketId: string, messageId: string, secret: string, domain: string): string {
  const t = hex(ticketId);
  const m = hex(messageId);
  return `<oq.${t}.${m}.${sign(t, m, secret)}@${domain}>`;
}

/** The ticket a generated Message-ID belongs to, or null when it is not ours or its HMAC is wrong. */
export function ticketIdFromEmailMessageId(messageId: string, secret: string): string | null {
  const m = GENERATED.exec(messageId.trim());
  if (!m) return null;
  const expected = Buffer.from(sign(m[1].toLowerCase(), m[2].toLowerCase(), secret));
  const given = Buffer.from(m[3].toLowerCase());
  if (expected.length !== given.length || !timingSafeEqual(expected, given)) return null;
  return uuidOf(m[1]);
}

/** `[#10234]` in a subject: the fallback when headers do not thread. */
export function ticketNumberFromSubject(subject: string | undefined): number | null {
  const m = /\[#(\d{4,12})\]/.exec(subject ?? '');
  return m ? Number(m[1]) : null;
}

export function replySubject(subject: string, ticketNumber: number): string {
  const base = subject.replace(/\s*\[#\d+\]\s*/g, ' ').trim();
  const withRe = /^(re|aw|sv|antw):/i.test(base) ? base : `Re: ${base || '(no subject)'}`;
  return `${withRe} [#${ticketNumber}]`;
}
