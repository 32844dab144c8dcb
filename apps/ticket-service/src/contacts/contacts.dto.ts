import { Uuid } from '@oq/contracts';
import { z } from 'zod';

export const ContactSearchQuery = z.object({
  /** Prefix of any identity value (email, phone, handle, id) or of the name. */
  q: z.string().trim().min(2, 'search needs at least 2 characters').max(320),
  limit: z.coerce.number().int().min(1).max(100).default(25),
});
export type ContactSearchQuery = z.infer<typeof ContactSearchQuery>;

export const MergeContactBody = z.object({ intoContactId: Uuid }).strict();
export type MergeContactBody = z.infer<typeof MergeContactBody>;
