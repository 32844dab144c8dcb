import { SuppressionReason, Uuid } from '@oq/contracts';
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
