import { z } from 'zod';
import { replySubject } from './email-threading';

export const DEFAULT_ACKNOWLEDGEMENT_TEXT = [
  'Hello,',
  '',
  'thank you for your message. We have received it as request #{{number}} and will answer as soon as we can.',
  '',
  'To add anything, simply reply to this email and keep [#{{number}}] in the subject.',
].join('\n');

/**
 * The optional acknowledgement of an email inbox (`settings.acknowledgement`): an
 * automatic mail to the sender of a mail that opened a new ticket. ticket-service
 * validates it on the admin API and renders it at ingest; email-service sends it
 * like any other reply (marked Auto-Submitted). Placeholders: `{{number}}` (the
 * ticket number) and `{{subject}}` (the ticket subject).
 */
export const EmailAcknowledgementSettings = z.object({
  enabled: z.boolean().default(false),
  /** Absent: the reply subject ("Re: <subject> [#number]"); a template without the [#number] token gets it appended. */
  subject: z.string().trim().min(1).max(500).optional(),
  text: z.string().trim().min(1).max(20_000).default(DEFAULT_ACKNOWLEDGEMENT_TEXT),
  /**
   * At most this many acknowledgements per sender address per rolling hour, so a
   * misbehaving peer that slips past loop detection cannot start a mail loop.
   */
  maxPerSenderPerHour: z.coerce.number().int().min(1).max(100).default(3),
});
export type EmailAcknowledgementSettings = z.infer<typeof EmailAcknowledgementSettings>;

function fill(template: string, ticket: { number: number; subject: string }): string {
  return template.replace(/\{\{\s*(number|subject)\s*\}\}/g, (_, key: string) =>
    key === 'number' ? String(ticket.number) : ticket.subject,
  );
}

/** The acknowledgement's subject and text for one ticket; the subject always carries the [#number] token. */
export function renderAcknowledgement(
  settings: EmailAcknowledgementSettings,
  ticket: { number: number; subject: string },
): { subject: string; text: string } {
  const token = `[#${ticket.number}]`;
  let subject = (settings.subject ? fill(settings.subject, ticket) : replySubject(ticket.subject, ticket.number))
    .replace(/\s+/g, ' ')
    .slice(0, 998);
  if (!subject.includes(token)) subject = `${subject.slice(0, 998 - token.length - 1)} ${token}`;
  return { subject, text: fill(settings.text, ticket) };
}
