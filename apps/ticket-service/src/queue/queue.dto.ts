import { Channel, OPEN_TICKET_STATUSES, Uuid } from '@oq/contracts';
import { z } from 'zod';

const OpenStatus = z.enum(OPEN_TICKET_STATUSES);
const listOf = <T extends z.ZodType>(item: T) =>
  z.preprocess(
    (v) =>
      v === undefined ? undefined : (Array.isArray(v) ? v : [v]).flatMap((s) => String(s).split(',')).filter(Boolean),
    z.array(item).min(1).max(20).optional(),
  );

export const QueueQuery = z.object({
  teamId: Uuid.optional(),
  channel: listOf(Channel),
  status: listOf(OpenStatus),
  /** An agent id, `me` or `unassigned`. */
  assignee: z.union([Uuid, z.enum(['me', 'unassigned'])]).optional(),
  tag: z.string().trim().min(1).max(64).optional(),
  categoryId: Uuid.optional(),
  limit: z.coerce.number().int().min(1).max(100).default(25),
  cursor: z.string().max(500).optional(),
});
export type QueueQuery = z.infer<typeof QueueQuery>;

export const QueueNextBody = z
  .object({ teamId: Uuid.optional(), channel: listOf(Channel) })
  .strict()
  .default({ teamId: undefined, channel: undefined });
export type QueueNextBody = z.infer<typeof QueueNextBody>;
