import { SuppressionReason, ticketIdFromEmailMessageId } from '@oq/contracts';
import { ParsedMail } from '../parsing/parse-mail';

export interface Suppression {
  reason: SuppressionReason;
  detail: string;
}

/**
 * Whether a Message-ID is one of ours. Every mail ticket-service writes carries a Message-ID
 * signed with EMAIL_THREADING_SECRET; without the secret only the shape can be told, so a
 * report quoting an `<oq.…>` id is given the benefit of the doubt.
 */
export function ownMessageIds(secret: string | undefined): (messageId: string) => boolean {
  if (secret) return (id) => ticketIdFromEmailMessageId(id, secret) !== null;
  return (id) => /^<?oq\.[0-9a-f]{32}\.[0-9a-f]{32}\./i.test(id.trim());
}

/**
 * Mail that must not open a ticket in the agent queue (like Zendesk's suspended tickets): a
 * delivery failure for mail we never sent — spam backscatter, which would otherwise land as a
 * "customer" ticket from MAILER-DAEMON — and mail an upstream filter already marked as spam.
 * A bounce of our own mail is not noise: ticket-service marks that reply failed.
 */
export function suppressionOf(parsed: ParsedMail, isOurs: (messageId: string) => boolean): Suppression | undefined {
  if (parsed.spamFlag) return { reason: 'spam', detail: `marked as spam upstream (${parsed.spamFlag})` };
  if (!parsed.bounce) return undefined;
  const original = parsed.bounce.originalMessageId;
  if (original && isOurs(original)) return undefined;
  const nullSender = parsed.nullSender ? ', null sender' : '';
  return {
    reason: 'backscatter',
    detail: (original
      ? `delivery report for ${original}, which we never sent${nullSender}`
      : `delivery report naming no message of ours${nullSender}`
    ).slice(0, 500),
  };
}
