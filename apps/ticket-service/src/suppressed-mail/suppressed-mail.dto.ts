import { EmailSenderHeader, SuppressionReason, Uuid } from '@oq/contracts';
import { ApiDateTime, ApiSha256, ApiUuid } from '@oq/platform';
import { z } from 'zod';

export const SuppressedMailListQuery = z.object({
  inboxId: Uuid.optional(),
  reason: SuppressionReason.optional(),
  /** false (default): mail still held; true: mail an admin released. Deleted mail is never listed. */
  released: z.stringbool().default(false),
  cursor: z.string().max(500).optional(),
  limit: z.coerce.number().int().min(1).max(200).default(50),
});
export type SuppressedMailListQuery = z.infer<typeof SuppressedMailListQuery>;

const SuppressedMailItem = z.object({
  id: ApiUuid,
  inboxId: ApiUuid,
  reason: SuppressionReason,
  /** Why it was suppressed, in words (which bounce, which spam verdict). */
  detail: z.string(),
  sender: z.object({ address: z.string(), name: z.string().nullable() }),
  subject: z.string().nullable(),
  receivedAt: ApiDateTime,
  imapUid: z.number().int().nullable(),
  releasedAt: ApiDateTime.nullable(),
  releasedTicketId: ApiUuid.nullable(),
});

export const SuppressedMailPage = z
  .object({ items: z.array(SuppressedMailItem), nextCursor: z.string().nullable() })
  .meta({ id: 'SuppressedMailPage' });

export const SuppressedMailView = SuppressedMailItem.extend({
  externalId: z.string(),
  senderHeader: EmailSenderHeader.nullable(),
  raw: z.object({ sha256: ApiSha256, size: z.number().int() }),
  /** The first 10,000 characters of the text. */
  text: z.string(),
  textTruncated: z.boolean(),
  attachments: z.array(
    z.object({
      sha256: ApiSha256,
      size: z.number().int(),
      filename: z.string(),
      contentType: z.string(),
      inline: z.boolean(),
    }),
  ),
  createdAt: ApiDateTime,
  releasedBy: ApiUuid.nullable(),
  releasedMessageId: ApiUuid.nullable(),
}).meta({ id: 'SuppressedMail' });

export const ReleaseResult = z.object({ ticketId: ApiUuid, messageId: ApiUuid });
