import { Channel, MetaMessageTag, REPLY_STATUSES, Uuid } from '@oq/contracts';
import { z } from 'zod';

/**
 * An approved WhatsApp message template: the only thing WhatsApp lets a business
 * send outside the 24-hour customer-service window. Meta stores the template's
 * text; we send its name, language and the values of its body variables ({{1}}, {{2}}…).
 */
export const WhatsAppTemplateBody = z
  .object({
    name: z
      .string()
      .regex(
        /^[a-z0-9_]{1,512}$/,
        'a template name is lower-case letters, digits and underscores (as approved in WhatsApp Manager)',
      ),
    language: z
      .string()
      .regex(/^[a-z]{2,3}(_[A-Za-z]{2,4})?$/, 'a language code like en, en_US or pt_BR (the approved translation)'),
    /** Values of the body variables, in order. */
    parameters: z
      .array(
        z
          .string()
          .trim()
          .min(1, 'a template parameter must not be empty')
          .max(1024)
          .refine(
            (p) => !/[\n\t]| {5,}/.test(p),
            'WhatsApp refuses parameters with new lines, tabs or more than 4 spaces in a row',
          ),
      )
      .max(50)
      .default([]),
  })
  .strict();

export const CreateMessageBody = z
  .object({
    /** `reply` goes to the customer; `note` stays internal. */
    kind: z.enum(['reply', 'note']).default('reply'),
    /** Required, except for a WhatsApp template reply (the template is the content). */
    text: z.string().trim().min(1, 'text must not be empty').max(1_000_000).optional(),
    html: z.string().max(5_000_000).optional(),
    /** Reply on another channel the customer uses (default: the ticket's own). */
    channel: Channel.optional(),
    /** Reply through a specific channel account. */
    inboxId: Uuid.optional(),
    attachments: z
      .array(
        z
          .object({
            sha256: z.string().regex(/^[0-9a-f]{64}$/, 'must be a hex sha256 returned by POST /v1/attachments'),
            filename: z.string().trim().min(1).max(255).optional(),
          })
          .strict(),
      )
      .max(20)
      .default([]),
    /** WhatsApp only: send an approved template (needed outside the 24-hour window). */
    template: WhatsAppTemplateBody.optional(),
    /** Messenger/Instagram only: the message tag that allows a reply outside the 24-hour window. */
    messageTag: MetaMessageTag.optional(),
    /** Status to set together with the reply (reply and set pending, reply and solve). */
    status: z.enum(REPLY_STATUSES).optional(),
  })
  .strict()
  .refine((b) => b.kind === 'reply' || (!b.channel && !b.inboxId && !b.template && !b.messageTag), {
    message: 'notes are internal: channel, inboxId, template and messageTag apply to replies only',
    path: ['kind'],
  })
  .refine((b) => b.template || b.text !== undefined, { message: 'text is required', path: ['text'] })
  .refine((b) => !b.template || (b.text === undefined && b.html === undefined && !b.attachments.length), {
    message: 'a template sends only its approved content: leave out text, html and attachments',
    path: ['template'],
  })
  .refine((b) => !b.template || !b.messageTag, {
    message: 'template is WhatsApp, messageTag is Messenger/Instagram: one reply cannot use both',
    path: ['messageTag'],
  });
export type CreateMessageBody = z.infer<typeof CreateMessageBody>;
