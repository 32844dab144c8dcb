import { OutboundMessage } from '@oq/contracts';

/** A reply the platform would refuse, said in words an agent understands. */
export interface RuleViolation {
  code: string;
  reason: string;
}

const HOUR = 3600_000;

/** Text limits per message (Meta and Telegram documentation); counted in characters (code points). */
export const TEXT_LIMITS: Record<string, number> = { whatsapp: 4096, messenger: 2000, instagram: 1000, telegram: 4096 };

const CHANNEL_NAMES: Record<string, string> = {
  whatsapp: 'WhatsApp',
  messenger: 'Messenger',
  instagram: 'Instagram',
  telegram: 'Telegram',
};

/** Messenger message tags allowed outside the standard window, and how long after the last customer message. */
const MESSENGER_TAGS: Record<string, number> = {
  HUMAN_AGENT: 7 * 24 * HOUR,
  ACCOUNT_UPDATE: Number.POSITIVE_INFINITY,
  CONFIRMED_EVENT_UPDATE: Number.POSITIVE_INFINITY,
  POST_PURCHASE_UPDATE: Number.POSITIVE_INFINITY,
};

/**
 * Checks a reply against the platform's rules before anything is sent:
 * - Meta's 24-hour customer-service window, counted from the customer's last
 *   message (`conversation.lastInboundAt`). Outside it WhatsApp only accepts an
 *   approved template, Messenger a message tag (HUMAN_AGENT up to 7 days),
 *   Instagram only HUMAN_AGENT up to 7 days. Without a known last inbound time
 *   the reply is sent and the platform's own refusal (e.g. WhatsApp 131047)
 *   becomes the failure the agent sees.
 * - Text length limits per channel.
 */
export function checkPlatformRules(msg: OutboundMessage, now: Date): RuleViolation | null {
  const name = CHANNEL_NAMES[msg.channel] ?? msg.channel;
  const usesTemplate = msg.channel === 'whatsapp' && !!msg.template;
  if (!usesTemplate && !msg.text.trim() && msg.attachments.length === 0)
    return { code: 'empty_message', reason: 'The reply has neither text nor attachments.' };

  const limit = TEXT_LIMITS[msg.channel];
  const length = [...msg.text].length;
  if (!usesTemplate && limit && length > limit)
    return {
      code: 'text_too_long',
      reason: `${name} accepts at most ${limit} characters per message; this reply has ${length}. Shorten it or split it into several replies.`,
    };

  const lastInbound = msg.conversation?.lastInboundAt ? Date.parse(msg.conversation.lastInboundAt) : undefined;
  if (lastInbound === undefined || msg.channel === 'telegram') return null;
  const since = now.getTime() - lastInbound;
  if (since <= 24 * HOUR) return null;
  const ago = `${Math.floor(since / HOUR)} hours ago`;

  if (msg.channel === 'whatsapp') {
    if (usesTemplate) return null;
    return {
      code: 'outside_24h_window',
      reason: `The customer last wrote ${ago}; outside WhatsApp's 24-hour customer-service window only an approved message template can be sent. Choose a template.`,
    };
  }
  if (msg.channel === 'messenger' || msg.channel === 'instagram') {
    const tag = msg.messageTag;
    const allowed = msg.channel === 'instagram' ? { HUMAN_AGENT: MESSENGER_TAGS.HUMAN_AGENT } : MESSENGER_TAGS;
    if (!tag)
      return {
        code: 'outside_24h_window',
        reason: `The customer last wrote ${ago}; outside ${name}'s 24-hour window a message tag is required (${Object.keys(allowed).join(', ')}).`,
      };
    const maxAge = allowed[tag];
    if (maxAge === undefined)
      return {
        code: 'invalid_message_tag',
        reason: `${name} does not accept the message tag ${tag} (allowed: ${Object.keys(allowed).join(', ')}).`,
      };
    if (since > maxAge)
      return {
        code: 'outside_tag_window',
        reason: `The customer last wrote ${ago}; the ${tag} tag only allows replies within 7 days.`,
      };
  }
  return null;
}
