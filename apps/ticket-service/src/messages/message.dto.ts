import { Channel, Uuid } from '@oq/contracts';
import { z } from 'zod';

export const CreateMessageBody = z
  .object({
    /** `reply` goes to the customer; `note` stays internal. */
    kind: z.enum(['reply', 'note']).default('reply'),
    text: z.string().trim().min(1, 'text must not be empty').max(1_000_000),
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
    /** Status to set together with the reply (reply and set pending, reply and solve). */
    status: z.enum(['open', 'pending', 'on_hold', 'solved']).optional(),
  })
  .strict()
  .refine((b) => b.kind === 'reply' || (!b.channel && !b.inboxId), {
    message: 'notes are internal: channel and inboxId apply to replies only',
    path: ['kind'],
  });
export type CreateMessageBody = z.infer<typeof CreateMessageBody>;
