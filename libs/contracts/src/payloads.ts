import { z } from 'zod';
import {
  AttachmentRef,
  Channel,
  DeliveryStatus,
  IdentityKind,
  IdentityRef,
  IsoDateTime,
  TicketPriority,
  Uuid,
} from './common';

/**
 * Every payload carries its schema version `v`. Consumers accept `v` and `v-1`
 * (see versioning.ts) because queued jobs outlive deploys.
 */

/** Longest transcript a call log carries; voice-service attaches a longer one as a file. */
export const CALL_TRANSCRIPT_MAX_CHARS = 200_000;

export const CallLog = z
  .object({
    callId: z.string().min(1).max(200),
    direction: z.enum(['inbound', 'outbound']),
    from: z.string().min(1).max(64),
    to: z.string().min(1).max(64),
    disposition: z.enum(['answered', 'missed', 'voicemail', 'busy', 'failed', 'blocked']),
    startedAt: IsoDateTime,
    answeredAt: IsoDateTime.optional(),
    endedAt: IsoDateTime.optional(),
    durationSec: z.number().int().nonnegative(),
    agent: z.string().max(200).optional(),
    queue: z.string().max(200).optional(),
    recordingUrl: z.url().optional(),
    recording: AttachmentRef.optional(),
    transcript: z.string().max(CALL_TRANSCRIPT_MAX_CHARS).optional(),
    /**
     * The ticket the call was made from (an agent's click-to-call): ticket-service logs the call
     * there when that ticket is the same contact's, else routes it as usual and says why in the
     * message metadata. Optional and additive, so `v` stays 1: an older consumer strips it.
     */
    ticket: z
      .object({ id: Uuid.optional(), number: z.number().int().positive().optional() })
      .refine((t) => t.id !== undefined || t.number !== undefined, { message: 'needs id or number' })
      .optional(),
  })
  .refine((c) => !c.endedAt || Date.parse(c.endedAt) >= Date.parse(c.startedAt), {
    message: 'endedAt must not be before startedAt',
    path: ['endedAt'],
  });
export type CallLog = z.infer<typeof CallLog>;

export const EmailThreading = z.object({
  messageId: z.string().max(998).optional(),
  inReplyTo: z.array(z.string().max(998)).max(50).default([]),
  references: z.array(z.string().max(998)).max(200).default([]),
});

export const InboundMessageV1 = z.object({
  v: z.literal(1),
  inboxId: Uuid,
  channel: Channel,
  /** Stable id of the message at its source: Message-ID, Meta mid, wamid, telegram chat:message, call id, client id. */
  externalId: z.string().min(1).max(512),
  /** 0 for the first version; edits, late recordings and transcripts raise it. */
  revision: z.number().int().nonnegative().default(0),
  kind: z.enum(['message', 'call_log']).default('message'),
  /** When the source says the message was created (INTERNALDATE, provider timestamp). */
  sourceTime: IsoDateTime,
  receivedAt: IsoDateTime,
  sender: IdentityRef.extend({
    displayName: z.string().max(200).optional(),
    /** Identities the channel vouches belong to the same person (a wa_id's phone number). */
    linked: z.array(IdentityRef).max(5).default([]),
  }),
  /** Other participants (email To/CC); they become CCs of a new ticket. */
  cc: z
    .array(IdentityRef.extend({ displayName: z.string().max(200).optional() }))
    .max(100)
    .default([]),
  subject: z.string().max(998).optional(),
  text: z.string().max(1_000_000).default(''),
  html: z.string().max(5_000_000).optional(),
  attachments: z.array(AttachmentRef).max(100).default([]),
  email: EmailThreading.extend({
    /** Auto-replies are stored but never answered automatically. */
    autoSubmitted: z.boolean().default(false),
    /**
     * The externalId this mail had before ids carried a content hash (the bare Message-ID or the
     * raw source's sha256): ticket-service recognises mail imported before that change by it.
     * Optional and additive, so `v` stays 1.
     */
    legacyExternalId: z.string().min(1).max(512).optional(),
  }).optional(),
  call: CallLog.optional(),
  /**
   * A delivery-status report (bounce) for one of our outbound mails: ticket-service
   * marks that message failed with the diagnostic instead of opening a ticket.
   */
  bounce: z
    .object({
      /** Message-ID header of our original outbound mail. */
      originalMessageId: z.string().min(1).max(998),
      diagnostic: z.string().min(1).max(2000),
    })
    .optional(),
  metadata: z.record(z.string(), z.unknown()).default({}),
});
/** Which header an email's sender address came from (the true-sender rule in email-service's parser). */
export const EmailSenderHeader = z.enum(['from', 'sender', 'reply-to', 'x-original-from', 'none']);
export type EmailSenderHeader = z.infer<typeof EmailSenderHeader>;

/** Why email-service kept a mail out of the agent queue: backscatter of mail we never sent, or upstream-flagged spam. */
export const SuppressionReason = z.enum(['backscatter', 'spam']);
export type SuppressionReason = z.infer<typeof SuppressionReason>;

/**
 * v2 (additive): an email says which header gave its sender, and mail that must not open a
 * ticket says why and where its raw source is. v1 jobs are lifted unchanged.
 */
export const InboundMessageV2 = InboundMessageV1.extend({
  v: z.literal(2),
  email: InboundMessageV1.shape.email
    .unwrap()
    .extend({
      senderHeader: EmailSenderHeader.optional(),
      /** Not a ticket: ticket-service files it under suppressed mail, from where an admin can release it. */
      suppressed: z
        .object({
          reason: SuppressionReason,
          detail: z.string().min(1).max(500),
          /** The mail's raw source in the blob store, for download and review. */
          raw: AttachmentRef.pick({ sha256: true, size: true }),
        })
        .optional(),
    })
    .optional(),
});
export const InboundMessage = InboundMessageV2;
/** The version producers write; consumers also accept the one before it. */
export const INBOUND_MESSAGE_VERSION = 2 as const;
export type InboundMessage = z.infer<typeof InboundMessage>;
export type InboundMessageInput = z.input<typeof InboundMessage>;

export const OutboundMessageV1 = z.object({
  v: z.literal(1),
  messageId: Uuid,
  ticketId: Uuid,
  ticketNumber: z.number().int().positive(),
  inboxId: Uuid,
  channel: Channel,
  /** Retry generation chosen by ticket-service (a manual resend raises it). */
  attempt: z.number().int().nonnegative().default(0),
  to: IdentityRef,
  cc: z.array(IdentityRef).max(100).default([]),
  subject: z.string().max(998).optional(),
  text: z.string().max(1_000_000),
  html: z.string().max(5_000_000).optional(),
  attachments: z.array(AttachmentRef).max(100).default([]),
  email: z
    .object({
      messageId: z.string().max(998),
      inReplyTo: z.string().max(998).optional(),
      references: z.array(z.string().max(998)).max(200).default([]),
    })
    .optional(),
  /** WhatsApp template for sends outside the 24-hour window. */
  template: z
    .object({ name: z.string().min(1), language: z.string().min(2), parameters: z.array(z.string()).default([]) })
    .optional(),
  /** Messenger message tag for sends outside the 24-hour window. */
  messageTag: z.string().optional(),
  /**
   * What the channel needs to know about the conversation to apply platform rules
   * (Meta's 24-hour customer-service window): when the customer last wrote on it.
   * Absent → unknown: the channel sends and the platform's own refusal becomes the failure.
   */
  conversation: z.object({ lastInboundAt: IsoDateTime.optional() }).optional(),
  /** Automatic mail (acknowledgement, notification): marked Auto-Submitted. */
  automatic: z.boolean().default(false),
  createdAt: IsoDateTime,
});
export const OutboundMessage = OutboundMessageV1;
export type OutboundMessage = z.infer<typeof OutboundMessage>;

export const DeliveryReportV1 = z
  .object({
    v: z.literal(1),
    inboxId: Uuid,
    /** Our message id when the channel knows it (send result); absent for provider callbacks. */
    messageId: Uuid.optional(),
    providerMessageId: z.string().min(1).max(512).optional(),
    status: DeliveryStatus.exclude(['queued']),
    reason: z.string().max(2000).optional(),
    errorCode: z.string().max(100).optional(),
    occurredAt: IsoDateTime,
  })
  .refine((r) => r.messageId || r.providerMessageId, {
    message: 'either messageId or providerMessageId is required',
    path: ['messageId'],
  })
  .refine((r) => r.status !== 'failed' || r.reason, { message: 'a failed report needs a reason', path: ['reason'] });
export const DeliveryReport = DeliveryReportV1;
export type DeliveryReport = z.infer<typeof DeliveryReport>;

/**
 * A send that failed and will be tried again (SMTP 4xx, a provider's 5xx, the network): the
 * message stays `queued` — this is no status, only what an agent needs to decide whether to wait
 * or reach the customer another way. Reported by the channel's outbound gate before each retry.
 */
export const DeliveryRetryV1 = z.object({
  v: z.literal(1),
  inboxId: Uuid,
  messageId: Uuid,
  /** Attempts made so far (1 after the first failure). */
  attempts: z.number().int().positive(),
  /** The provider's or network's words. */
  lastError: z.string().min(1).max(2000),
  nextAttemptAt: IsoDateTime,
  occurredAt: IsoDateTime,
});
export const DeliveryRetry = DeliveryRetryV1;
export type DeliveryRetry = z.infer<typeof DeliveryRetry>;

/**
 * A receipt that names no message but a moment: Messenger/Instagram `read` and
 * `delivery` events carry a `watermark` meaning "every message the page sent to
 * this customer at or before this instant has been read/delivered". Only
 * ticket-service knows which of our messages that covers, so the channel passes
 * the conversation (inbox + customer) and the instant on; statuses still only move forward.
 */
export const DeliveryWatermarkV1 = z.object({
  v: z.literal(1),
  inboxId: Uuid,
  /** The customer our messages went to (OutboundMessage.to): with the inbox, the conversation. */
  to: IdentityRef,
  status: z.enum(['delivered', 'read']),
  /** The platform's instant: our messages handed to it at or before this moment reached `status`. */
  watermark: IsoDateTime,
  occurredAt: IsoDateTime,
});
export const DeliveryWatermark = DeliveryWatermarkV1;
export type DeliveryWatermark = z.infer<typeof DeliveryWatermark>;

export const TICKET_EVENT_TYPES = [
  'ticket.created',
  'ticket.updated',
  'ticket.status_changed',
  'ticket.assigned',
  'ticket.merged',
  'message.created',
  'message.updated',
  'message.delivery',
  'sla.changed',
  'sla.warning',
  'sla.breached',
] as const;

export const TicketEventV1 = z.object({
  v: z.literal(1),
  eventId: Uuid,
  type: z.enum(TICKET_EVENT_TYPES),
  ticketId: Uuid,
  teamId: Uuid.nullable(),
  assigneeId: Uuid.nullable(),
  occurredAt: IsoDateTime,
  data: z.record(z.string(), z.unknown()).default({}),
});
export const TicketEvent = TicketEventV1;
export type TicketEvent = z.infer<typeof TicketEvent>;

export const TicketCommandAction = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('raise_priority'), priority: TicketPriority }),
  z.object({ kind: z.literal('move_team'), teamId: Uuid }),
  z.object({ kind: z.literal('assign'), agentId: Uuid }),
  z.object({ kind: z.literal('notify'), message: z.string().min(1).max(2000) }),
  z.object({ kind: z.literal('email_supervisor'), email: z.email(), message: z.string().min(1).max(2000) }),
]);

export const TicketCommandV1 = z.object({
  v: z.literal(1),
  commandId: z.string().min(1).max(200),
  ticketId: Uuid,
  reason: z.string().min(1).max(500),
  actions: z.array(TicketCommandAction).min(1).max(10),
  issuedAt: IsoDateTime,
});
export const TicketCommand = TicketCommandV1;
export type TicketCommand = z.infer<typeof TicketCommand>;

export const SlaMetric = z.enum(['first_reply', 'next_reply', 'resolution']);
export type SlaMetric = z.infer<typeof SlaMetric>;

export const SlaTimerV1 = z.object({
  v: z.literal(1),
  ticketId: Uuid,
  metric: SlaMetric,
  stage: z.enum(['warning', 'breach']),
  dueAt: IsoDateTime,
});
export const SlaTimer = SlaTimerV1;
export type SlaTimer = z.infer<typeof SlaTimer>;

export const SlaReconcileV1 = z.object({ v: z.literal(1) });
export const SlaReconcile = SlaReconcileV1;
export type SlaReconcile = z.infer<typeof SlaReconcile>;

export const SocialRawEventV1 = z.object({
  v: z.literal(1),
  provider: z.enum(['meta', 'telegram']),
  inboxId: Uuid,
  receivedAt: IsoDateTime,
  /** The verified webhook body, parsed JSON. */
  body: z.unknown(),
});
export const SocialRawEvent = SocialRawEventV1;
export type SocialRawEvent = z.infer<typeof SocialRawEvent>;

/**
 * One telephony provider event as voice-service normalised it (numbers in E.164, times ISO-8601
 * UTC, card numbers masked, text made storable). Fields a provider did not send are absent, never
 * guessed. Formats are not re-checked here: the event was built by voice-service itself from a
 * verified callback, and refusing it now would lose what the provider was already told is stored.
 */
export const CallEvent = z.object({
  provider: z.enum(['twilio', 'pbx']),
  callId: z.string().min(1),
  /** When the provider says the event happened. */
  at: z.string(),
  /** Absent for events that only carry a recording or a transcript. */
  status: z.enum(['queued', 'ringing', 'in-progress', ...CallLog.shape.disposition.options]).optional(),
  direction: z.enum(['inbound', 'outbound']).optional(),
  from: z.string().optional(),
  to: z.string().optional(),
  startedAt: z.string().optional(),
  answeredAt: z.string().optional(),
  endedAt: z.string().optional(),
  durationSec: z.number().optional(),
  agent: z.string().optional(),
  queue: z.string().optional(),
  recordingUrl: z.string().optional(),
  transcript: z.string().optional(),
  /** The ticket an agent placed the call from (click-to-call custom data / callback URL parameter). */
  ticketId: z.string().optional(),
  ticketNumber: z.number().optional(),
  /**
   * Fields whose text Postgres could not store (NUL, lone surrogates) were made storable; this
   * is their exact originals as escaped JSON (`{field: original}`), for the call log's metadata.
   */
  originals: z.string().optional(),
});
export type CallEvent = z.infer<typeof CallEvent>;

/**
 * A verified call event voice-service acknowledged while Postgres could not take it; voice-service
 * folds it into its call once Postgres answers again. `digest` identifies the provider's delivery
 * (as in voice_calls.events), so a provider's retry of it is still recognised as one.
 */
export const VoiceCallEventJobV1 = z.object({
  v: z.literal(1),
  inboxId: Uuid,
  digest: z.string().regex(/^[0-9a-f]{64}$/),
  receivedAt: IsoDateTime,
  event: CallEvent,
});
export const VoiceCallEventJob = VoiceCallEventJobV1;
export type VoiceCallEventJob = z.infer<typeof VoiceCallEventJob>;

/**
 * A channel service's message it acknowledged but cannot process (a signed webhook body that is
 * not JSON or is nested too deep, a job that failed for good): ticket-service keeps it in
 * dead_letters, because acknowledged means stored or dead-lettered. The payload travels as
 * base64 so that its exact bytes survive (raw bodies may hold anything).
 */
export const DeadLetterJobV1 = z.object({
  v: z.literal(1),
  service: z.string().min(1).max(100),
  queue: z.string().min(1).max(200),
  jobName: z.string().min(1).max(200),
  jobId: z.string().max(512).optional(),
  reason: z.string().min(1).max(4000),
  payloadBase64: z.string().max(70_000_000),
  occurredAt: IsoDateTime,
});
export const DeadLetterJob = DeadLetterJobV1;
export type DeadLetterJob = z.infer<typeof DeadLetterJob>;

export { IdentityKind };
