/**
 * The one registry of queues and job names every service shares.
 *
 * All BullMQ keys live under one hash-tagged prefix so that a Redis Cluster
 * keeps every queue's keys in one slot (BullMQ's Lua scripts touch several
 * keys of a queue at once).
 */
export const DEFAULT_QUEUE_PREFIX = '{oq}';

export enum QueueName {
  /** Normalised customer messages from every channel service → ticket-service. */
  Inbound = 'inbound',
  /** Delivery reports from channel services → ticket-service. */
  Delivery = 'delivery',
  /** Commands for ticket-service (SLA escalations) → ticket-service. */
  TicketCommands = 'ticket.commands',
  /** SLA timers and reconcile runs → sla-worker (and, for one release, ticket events the previous release relayed here). */
  Sla = 'sla',
  /** The ticket events sla-worker subscribes to (events.ts EVENT_SUBSCRIPTIONS) → sla-worker. */
  SlaEvents = 'events.sla',
  /** Verified raw webhook bodies, internal to social-service. */
  SocialRaw = 'social.raw',
  /** Verified call events Postgres could not take when they arrived (an outage), internal to voice-service. */
  VoicePending = 'voice.pending',
  OutboundEmail = 'outbound.email',
  OutboundSocial = 'outbound.social',
  OutboundChat = 'outbound.chat',
}

export enum JobName {
  InboundMessage = 'inbound-message',
  DeliveryReport = 'delivery-report',
  /** A send failed and will be retried: attempts, the last error and when the next try is due. */
  DeliveryRetry = 'delivery-retry',
  /** A read/delivery receipt for a whole conversation up to an instant (Messenger watermarks). */
  DeliveryWatermark = 'delivery-watermark',
  TicketCommand = 'ticket-command',
  TicketEvent = 'ticket-event',
  SlaTimer = 'sla-timer',
  SlaReconcile = 'sla-reconcile',
  SocialRawEvent = 'social-raw-event',
  /** A verified, acknowledged call event waiting to be folded into voice_calls. */
  VoiceCallEvent = 'voice-call-event',
  OutboundMessage = 'outbound-message',
  /** A channel service's acknowledged input it could not process, for ticket-service's dead_letters. */
  DeadLetter = 'dead-letter',
}

/** Which job names may travel on which queue. Workers refuse to start without a handler for each. */
export const QUEUE_JOBS = {
  [QueueName.Inbound]: [JobName.InboundMessage, JobName.DeadLetter],
  [QueueName.Delivery]: [JobName.DeliveryReport, JobName.DeliveryWatermark, JobName.DeliveryRetry],
  [QueueName.TicketCommands]: [JobName.TicketCommand],
  // TicketEvent on `sla`: v-1 events still waiting from the previous release; dropped in the release after.
  [QueueName.Sla]: [JobName.TicketEvent, JobName.SlaTimer, JobName.SlaReconcile],
  [QueueName.SlaEvents]: [JobName.TicketEvent],
  [QueueName.SocialRaw]: [JobName.SocialRawEvent],
  [QueueName.VoicePending]: [JobName.VoiceCallEvent],
  [QueueName.OutboundEmail]: [JobName.OutboundMessage],
  [QueueName.OutboundSocial]: [JobName.OutboundMessage],
  [QueueName.OutboundChat]: [JobName.OutboundMessage],
} as const satisfies Record<QueueName, readonly JobName[]>;

export type JobsOf<Q extends QueueName> = (typeof QUEUE_JOBS)[Q][number];
