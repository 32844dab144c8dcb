import { Channel, IdentityKind, TicketPriority, TicketStatus, Uuid } from '@oq/contracts';
import { z } from 'zod';

export const TicketType = z.enum(['question', 'problem', 'incident', 'task']);
const Tag = z
  .string()
  .trim()
  .min(1)
  .max(64)
  .regex(/^[^\s,]+$/, 'tags have no spaces or commas');

/** Identities an agent may name: `anonymous` is voice-service's per-call withheld-number identity. */
const AgentIdentityKind = IdentityKind.exclude(['anonymous']);

/** Comma-separated or repeated query values (`?status=new,open` or `?status=new&status=open`). */
const listOf = <T extends z.ZodType>(item: T) =>
  z.preprocess(
    (v) =>
      v === undefined ? undefined : (Array.isArray(v) ? v : [v]).flatMap((s) => String(s).split(',')).filter(Boolean),
    z.array(item).min(1).max(20).optional(),
  );

export const TicketListQuery = z.object({
  status: listOf(TicketStatus),
  teamId: Uuid.optional(),
  channel: listOf(Channel),
  /** An agent id, `me` or `unassigned`. */
  assignee: z.union([Uuid, z.enum(['me', 'unassigned'])]).optional(),
  requesterId: Uuid.optional(),
  tag: Tag.optional(),
  categoryId: Uuid.optional(),
  priority: listOf(TicketPriority),
  /** Ticket number (`10234` or `#10234`) or a subject prefix. */
  q: z.string().trim().min(1).max(200).optional(),
  limit: z.coerce.number().int().min(1).max(100).default(25),
  cursor: z.string().max(500).optional(),
});
export type TicketListQuery = z.infer<typeof TicketListQuery>;

const CallLogInput = z
  .object({
    direction: z.enum(['inbound', 'outbound']).default('inbound'),
    disposition: z.enum(['answered', 'missed', 'voicemail', 'busy', 'failed', 'blocked']).default('answered'),
    startedAt: z.iso.datetime({ offset: true }).optional(),
    durationSec: z.number().int().nonnegative().max(86_400).default(0),
    notes: z.string().max(100_000).default(''),
  })
  .strict();

export const CreateTicketBody = z
  .object({
    requester: z
      .object({
        kind: AgentIdentityKind,
        value: z.string().trim().min(1).max(320),
        name: z.string().trim().max(200).optional(),
      })
      .strict(),
    channel: Channel,
    /** The channel account the customer used; defaults to the first enabled inbox of the channel. */
    inboxId: Uuid.optional(),
    subject: z.string().trim().max(998).default(''),
    /** What the customer wrote or said, recorded as their first message. */
    message: z
      .object({ text: z.string().min(1).max(1_000_000) })
      .strict()
      .optional(),
    /** A phone call logged by hand: stored as a call_log message. */
    callLog: CallLogInput.optional(),
    cc: z
      .array(z.object({ kind: AgentIdentityKind, value: z.string().trim().min(1).max(320) }).strict())
      .max(50)
      .default([]),
    priority: TicketPriority.default('normal'),
    type: TicketType.default('question'),
    categoryId: Uuid.optional(),
    tags: z.array(Tag).max(50).default([]),
    teamId: Uuid.optional(),
    assigneeId: Uuid.optional(),
  })
  .strict()
  .refine((b) => b.message || b.callLog, { message: 'either message or callLog is required', path: ['message'] })
  .refine((b) => !(b.message && b.callLog), { message: 'give message or callLog, not both', path: ['callLog'] });
export type CreateTicketBody = z.infer<typeof CreateTicketBody>;

export const UpdateTicketBody = z
  .object({
    /** The version the agent last saw; a newer one on the server means someone else changed the ticket (409). */
    version: z.number().int().positive(),
    status: TicketStatus.optional(),
    priority: TicketPriority.optional(),
    type: TicketType.optional(),
    categoryId: Uuid.nullable().optional(),
    tags: z.array(Tag).max(50).optional(),
    teamId: Uuid.optional(),
    assigneeId: Uuid.nullable().optional(),
  })
  .strict()
  .refine((b) => Object.keys(b).length > 1, { message: 'nothing to change', path: ['(body)'] });
export type UpdateTicketBody = z.infer<typeof UpdateTicketBody>;

export const MergeTicketBody = z.object({ targetTicketId: Uuid }).strict();
export type MergeTicketBody = z.infer<typeof MergeTicketBody>;
