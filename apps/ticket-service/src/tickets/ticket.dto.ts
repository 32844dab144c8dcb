import {
  Channel,
  DeliveryStatus,
  EmailSenderHeader,
  IdentityKind,
  TicketPriority,
  TicketStatus,
  Uuid,
} from '@oq/contracts';
import { ApiDateTime, ApiSha256, ApiUuid } from '@oq/platform';
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

// Responses: what ticket.view.ts makes of the rows (timestamps as ISO strings in JSON).

const LinkedTicket = z.object({
  id: ApiUuid,
  number: z.number().int(),
  subject: z.string(),
  status: TicketStatus,
  createdAt: ApiDateTime,
});

export const TicketView = z
  .object({
    id: ApiUuid,
    /** The human-facing number (#10234). */
    number: z.number().int(),
    subject: z.string(),
    status: TicketStatus,
    priority: TicketPriority,
    type: TicketType,
    categoryId: ApiUuid.nullable(),
    tags: z.array(z.string()),
    teamId: ApiUuid,
    assigneeId: ApiUuid.nullable(),
    /** The requester's contact id. */
    requesterId: ApiUuid,
    channel: Channel,
    inboxId: ApiUuid.nullable(),
    followUpOfId: ApiUuid.nullable(),
    mergedIntoId: ApiUuid.nullable(),
    /** Optimistic concurrency: send it back with PATCH. */
    version: z.number().int(),
    /** The earliest due time of the ticket's running SLA clocks. */
    nextDueAt: ApiDateTime.nullable(),
    firstReplyAt: ApiDateTime.nullable(),
    solvedAt: ApiDateTime.nullable(),
    closedAt: ApiDateTime.nullable(),
    lastCustomerMessageAt: ApiDateTime.nullable(),
    lastAgentReplyAt: ApiDateTime.nullable(),
    customerMessageCount: z.number().int(),
    agentReplyCount: z.number().int(),
    createdAt: ApiDateTime,
    updatedAt: ApiDateTime,
  })
  .meta({ id: 'Ticket' });

export const TicketPage = z
  .object({
    items: z.array(TicketView),
    /** Pass as `cursor` for the next page; null on the last. */
    nextCursor: z.string().nullable(),
  })
  .meta({ id: 'TicketPage' });

export const MessageAttachment = z
  .object({
    sha256: ApiSha256,
    size: z.number().int().min(0),
    filename: z.string(),
    contentType: z.string(),
    /** Inline images referenced from the HTML as cid:… */
    contentId: z.string().optional(),
    inline: z.boolean().optional(),
  })
  .meta({ id: 'Attachment' });

export const MessageView = z
  .object({
    id: ApiUuid,
    ticketId: ApiUuid,
    inboxId: ApiUuid.nullable(),
    channel: Channel.nullable(),
    direction: z.enum(['inbound', 'outbound', 'internal']),
    kind: z.enum(['message', 'note', 'call_log', 'system']),
    authorAgentId: ApiUuid.nullable(),
    authorContactId: ApiUuid.nullable(),
    /** The customer identity an outbound message went to. */
    toIdentityId: ApiUuid.nullable(),
    /** The provider's id of an inbound message. */
    externalId: z.string().nullable(),
    /** Call logs are revised as a call progresses. */
    revision: z.number().int(),
    subject: z.string().nullable(),
    text: z.string(),
    /** Sanitized HTML (email). */
    html: z.string().nullable(),
    attachments: z.array(MessageAttachment),
    /** Channel-specific details (call, email headers, template, delivery retry…). */
    metadata: z.record(z.string(), z.unknown()),
    emailMessageId: z.string().nullable(),
    autoSubmitted: z.boolean(),
    deliveryStatus: DeliveryStatus.nullable(),
    deliveryReason: z.string().nullable(),
    deliveryErrorCode: z.string().nullable(),
    /** While a send is being retried (it stays `queued`), and after: how many tries it took. */
    deliveryRetry: z
      .object({
        attempts: z.number().int(),
        lastError: z.string(),
        nextAttemptAt: ApiDateTime,
        at: ApiDateTime,
      })
      .nullable(),
    /** The name and address the message came with; null for agents' messages. */
    sender: z.object({ name: z.string().nullable(), address: z.string() }).nullable(),
    /** Email: which header gave the sender address (`none`: no header did). */
    senderHeader: EmailSenderHeader.nullable(),
    /** Nobody can be replied to (senderHeader `none`). */
    senderUnknown: z.boolean(),
    sourceTime: ApiDateTime,
    createdAt: ApiDateTime,
    updatedAt: ApiDateTime,
  })
  .meta({ id: 'Message' });

export const TicketDetailView = TicketView.extend({
  participants: z.array(
    z.object({
      contactId: ApiUuid,
      role: z.enum(['requester', 'cc']),
      name: z.string().nullable(),
      /** Only the identities the caller may see. */
      identities: z.array(z.object({ id: ApiUuid, kind: IdentityKind, value: z.string() })),
    }),
  ),
  /** Messages, notes, call logs and system entries, oldest first. */
  messages: z.array(MessageView),
  audit: z.array(
    z.object({
      id: z.number().int(),
      actorType: z.enum(['agent', 'customer', 'system']),
      actorAgentId: ApiUuid.nullable(),
      action: z.string(),
      changes: z.record(z.string(), z.unknown()),
      createdAt: ApiDateTime,
    }),
  ),
  /** Visible tickets opened as follow-ups of this one. */
  followUps: z.array(LinkedTicket),
  /** Visible tickets merged into this one. */
  mergedFrom: z.array(LinkedTicket),
}).meta({ id: 'TicketDetail' });
