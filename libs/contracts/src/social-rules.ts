import { z } from 'zod';
import type { OutboundMessage } from './payloads';

/**
 * Meta's platform rules for replies on WhatsApp, Messenger and Instagram, in one
 * place because two services apply them: ticket-service at reply time (the agent
 * gets a 422 with the reason before anything is stored) and social-service just
 * before sending (time has passed, or the job was written without the check).
 */

/** A reply the platform would refuse, said in words an agent understands. */
export interface RuleViolation {
  code: string;
  reason: string;
}

const HOUR = 3600_000;

/** Message tags Meta allows outside the standard 24-hour window (Messenger Platform, "Message tags"). */
export const META_MESSAGE_TAGS = [
  'HUMAN_AGENT',
  'ACCOUNT_UPDATE',
  'CONFIRMED_EVENT_UPDATE',
  'POST_PURCHASE_UPDATE',
] as const;
export const MetaMessageTag = z.enum(META_MESSAGE_TAGS);
export type MetaMessageTag = z.infer<typeof MetaMessageTag>;

/** How long after the customer's last message each tag may be used; Instagram accepts only HUMAN_AGENT. */
const TAG_MAX_AGE: Record<'messenger' | 'instagram', Partial<Record<MetaMessageTag, number>>> = {
  messenger: {
    HUMAN_AGENT: 7 * 24 * HOUR,
    ACCOUNT_UPDATE: Number.POSITIVE_INFINITY,
    CONFIRMED_EVENT_UPDATE: Number.POSITIVE_INFINITY,
    POST_PURCHASE_UPDATE: Number.POSITIVE_INFINITY,
  },
  instagram: { HUMAN_AGENT: 7 * 24 * HOUR },
};

/** Text limits per message (Meta and Telegram documentation); counted in characters (code points). */
export const SOCIAL_TEXT_LIMITS: Record<string, number> = {
  whatsapp: 4096,
  messenger: 2000,
  instagram: 1000,
  telegram: 4096,
};

const CHANNEL_NAMES: Record<string, string> = {
  whatsapp: 'WhatsApp',
  messenger: 'Messenger',
  instagram: 'Instagram',
  telegram: 'Telegram',
};

export type SocialReplyDraft = Pick<
  OutboundMessage,
  'channel' | 'text' | 'attachments' | 'template' | 'messageTag' | 'conversation'
>;

/**
 * Checks a reply against the platform's rules:
 * - a template is WhatsApp's and replaces text and files; a message tag is Messenger's/Instagram's;
 * - Meta's 24-hour customer-service window, counted from the customer's last
 *   message (`conversation.lastInboundAt`). Outside it WhatsApp only accepts an
 *   approved template, Messenger a message tag (HUMAN_AGENT up to 7 days),
 *   Instagram only HUMAN_AGENT up to 7 days. Without a known last inbound time
 *   the reply is sent and the platform's own refusal (e.g. WhatsApp 131047)
 *   becomes the failure the agent sees;
 * - text length limits per channel.
 */
export function checkPlatformRules(msg: SocialReplyDraft, now: Date): RuleViolation | null {
  const name = CHANNEL_NAMES[msg.channel] ?? msg.channel;
  if (msg.template && msg.channel !== 'whatsapp')
    return {
      code: 'template_not_supported',
      reason: `Message templates are WhatsApp's and cannot be used on ${name}.`,
    };
  if (msg.template && msg.attachments.length)
    return {
      code: 'template_with_attachments',
      reason: 'A WhatsApp template sends only its approved content: send the files in a separate reply.',
    };
  const tagRules = msg.channel === 'messenger' || msg.channel === 'instagram' ? TAG_MAX_AGE[msg.channel] : undefined;
  if (msg.messageTag && !tagRules)
    return {
      code: 'message_tag_not_supported',
      reason: `Message tags are Messenger's and Instagram's and cannot be used on ${name}.`,
    };
  const tagMaxAge = msg.messageTag ? tagRules?.[msg.messageTag as MetaMessageTag] : undefined;
  if (msg.messageTag && tagMaxAge === undefined)
    return {
      code: 'invalid_message_tag',
      reason: `${name} does not accept the message tag ${msg.messageTag} (allowed: ${Object.keys(tagRules!).join(', ')}).`,
    };

  const usesTemplate = !!msg.template;
  if (!usesTemplate && !msg.text.trim() && msg.attachments.length === 0)
    return { code: 'empty_message', reason: 'The reply has neither text nor attachments.' };
  const limit = SOCIAL_TEXT_LIMITS[msg.channel];
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
  if (tagRules) {
    if (!msg.messageTag)
      return {
        code: 'outside_24h_window',
        reason: `The customer last wrote ${ago}; outside ${name}'s 24-hour window a message tag is required (${Object.keys(tagRules).join(', ')}).`,
      };
    if (since > tagMaxAge!)
      return {
        code: 'outside_tag_window',
        reason: `The customer last wrote ${ago}; the ${msg.messageTag} tag only allows replies within 7 days.`,
      };
  }
  return null;
}
