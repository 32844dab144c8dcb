import { createHash } from 'node:crypto';
import { JobName } from './queues';

/**
 * Job options are policy, kept here rather than at each call site.
 * BullMQ rejects custom ids containing ':' — every id below is hex or dashes.
 */
export interface JobPolicy {
  attempts: number;
  backoff?: { type: 'exponential' | 'fixed'; delay: number };
  /** Keep completed jobs this long (seconds) so a re-enqueue with the same id is a no-op. */
  keepCompletedSeconds: number;
  keepFailedSeconds: number;
}

const DAY = 24 * 3600;

export const JOB_POLICY: Record<JobName, JobPolicy> = {
  [JobName.InboundMessage]: {
    attempts: 8,
    backoff: { type: 'exponential', delay: 500 },
    keepCompletedSeconds: DAY,
    keepFailedSeconds: 7 * DAY,
  },
  [JobName.DeliveryReport]: {
    attempts: 8,
    backoff: { type: 'exponential', delay: 500 },
    keepCompletedSeconds: 3600,
    keepFailedSeconds: 7 * DAY,
  },
  [JobName.DeliveryRetry]: {
    attempts: 5,
    backoff: { type: 'exponential', delay: 500 },
    keepCompletedSeconds: 3600,
    keepFailedSeconds: DAY,
  },
  [JobName.DeliveryWatermark]: {
    attempts: 8,
    backoff: { type: 'exponential', delay: 500 },
    keepCompletedSeconds: 3600,
    keepFailedSeconds: 7 * DAY,
  },
  [JobName.TicketCommand]: {
    attempts: 5,
    backoff: { type: 'exponential', delay: 1000 },
    keepCompletedSeconds: DAY,
    keepFailedSeconds: 7 * DAY,
  },
  [JobName.TicketEvent]: {
    attempts: 5,
    backoff: { type: 'exponential', delay: 500 },
    keepCompletedSeconds: 600,
    keepFailedSeconds: 7 * DAY,
  },
  // Timers are removed on completion or failure: the reconciler re-arms what is missing.
  // No backoff option: a million armed timers each store their options in Redis,
  // and the reconciler (30 s) is the retry that matters if all attempts fail.
  [JobName.SlaTimer]: {
    attempts: 3,
    keepCompletedSeconds: 0,
    keepFailedSeconds: 0,
  },
  [JobName.SlaReconcile]: { attempts: 1, keepCompletedSeconds: 0, keepFailedSeconds: 3600 },
  // Raw webhook bodies are large and arrive at hundreds per second: an hour covers a provider's quick
  // redeliveries; later duplicates are still caught by inboundJobId and UNIQUE(inbox_id, external_id).
  [JobName.SocialRawEvent]: {
    attempts: 8,
    backoff: { type: 'exponential', delay: 1000 },
    keepCompletedSeconds: 3600,
    keepFailedSeconds: 7 * DAY,
  },
  // Waiting for Postgres spends no attempt (voice-service holds the job until Postgres answers):
  // attempts count only failures of the fold itself, and the last one dead-letters the event.
  [JobName.VoiceCallEvent]: {
    attempts: 8,
    backoff: { type: 'exponential', delay: 1000 },
    keepCompletedSeconds: DAY,
    keepFailedSeconds: 7 * DAY,
  },
  [JobName.DeadLetter]: {
    attempts: 20,
    backoff: { type: 'exponential', delay: 1000 },
    keepCompletedSeconds: DAY,
    keepFailedSeconds: 30 * DAY,
  },
  [JobName.OutboundMessage]: {
    attempts: 8,
    backoff: { type: 'exponential', delay: 2000 },
    keepCompletedSeconds: DAY,
    keepFailedSeconds: 7 * DAY,
  },
};

/** BullMQ job options for a job name, with an optional deterministic id. */
export function jobOptions(name: JobName, extra: { jobId?: string; delay?: number; priority?: number } = {}) {
  const p = JOB_POLICY[name];
  return {
    attempts: p.attempts,
    backoff: p.backoff,
    removeOnComplete: p.keepCompletedSeconds === 0 ? true : { age: p.keepCompletedSeconds },
    removeOnFail: p.keepFailedSeconds === 0 ? true : { age: p.keepFailedSeconds },
    ...extra,
  };
}

function sha256Hex(s: string): string {
  return createHash('sha256').update(s).digest('hex');
}

/** Inbound dedupe id: the same source message at the same revision is enqueued once. */
export function inboundJobId(inboxId: string, externalId: string, revision: number): string {
  return sha256Hex(`${inboxId}|${externalId}|${revision}`);
}

/**
 * What makes one delivery report (or watermark) the same report when it is enqueued again — a
 * webhook redelivered, a send job retried — so it is applied once, whichever service reports it:
 *   - `provider`: a provider's own report of a message (webhooks): its id, status and timestamp;
 *   - `watermark`: a provider's "everything up to here" report to one identity (Messenger);
 *   - `attempt`: the outcome of one send attempt of a message (email, chat, social sends), by status;
 *   - `read`: a chat customer's read receipt of a message (once is all there is).
 */
export type DeliveryReportKey =
  | { kind: 'provider'; inboxId: string; providerMessageId: string; status: string; occurredAt: string }
  | { kind: 'watermark'; inboxId: string; to: string; watermark: string; status: string; occurredAt: string }
  | { kind: 'attempt'; inboxId: string; messageId: string; attempt: number; status: string }
  | { kind: 'read'; inboxId: string; messageId: string };

/** Delivery report job id: one convention for every channel service (sha256 of the report's key). */
export function deliveryReportJobId(key: DeliveryReportKey): string {
  switch (key.kind) {
    case 'provider':
      return sha256Hex(`dr|provider|${key.inboxId}|${key.providerMessageId}|${key.status}|${key.occurredAt}`);
    case 'watermark':
      return sha256Hex(`dr|watermark|${key.inboxId}|${key.to}|${key.watermark}|${key.status}|${key.occurredAt}`);
    case 'attempt':
      return sha256Hex(`dr|attempt|${key.inboxId}|${key.messageId}|${key.attempt}|${key.status}`);
    case 'read':
      return sha256Hex(`dr|read|${key.inboxId}|${key.messageId}`);
  }
}

/** Outbound job id: one job per message and retry generation. */
export function outboundJobId(messageId: string, attempt: number): string {
  return `${messageId}-${attempt}`;
}

/** SLA timer id: short and deterministic (≤ 24 chars) so re-arming replaces, and firing twice is harmless. */
export function slaTimerJobId(ticketId: string, metric: string, stage: 'warning' | 'breach'): string {
  return sha256Hex(`${ticketId}|${metric}|${stage}`).slice(0, 24);
}

export function socialRawJobId(provider: string, inboxId: string, body: string): string {
  return sha256Hex(`${provider}|${inboxId}|${body}`);
}

/** A pending call event: a provider's retry during the outage is the same job. */
export function voiceCallEventJobId(inboxId: string, digest: string): string {
  return sha256Hex(`${inboxId}|${digest}`);
}
