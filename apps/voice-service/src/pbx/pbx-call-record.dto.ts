import { CALL_TRANSCRIPT_MAX_CHARS, CallLog, IsoDateTime, maskCardNumbers, Uuid } from '@oq/contracts';
import { z } from 'zod';
import { CallEvent } from '../calls/call-event';
import { InvalidCallRecordError } from '../calls/call-record-error';
import { callerNumber, customerNumber, ourParty } from '../calls/phone-number';

/**
 * A call record pushed by an Asterisk / FreeSWITCH / 3CX script, once or several
 * times per call (ringing, answered, ended, recording ready). Without a
 * disposition the call is still in progress.
 */
export const PbxCallRecord = z.object({
  callId: z.string().trim().min(1).max(200),
  direction: z.enum(['inbound', 'outbound']),
  /** Empty, "anonymous", "private" …: a withheld caller (inbound only). */
  from: z.string().trim().max(64),
  to: z.string().trim().min(1).max(64),
  agent: z.string().trim().max(200).optional(),
  queue: z.string().trim().max(200).optional(),
  startedAt: IsoDateTime,
  answeredAt: IsoDateTime.optional(),
  endedAt: IsoDateTime.optional(),
  durationSec: z.number().int('must be a whole number of seconds').min(0, 'must not be negative').optional(),
  disposition: CallLog.shape.disposition.optional(),
  recordingUrl: z.url({ protocol: /^https?$/, error: 'must be an http(s) URL' }).optional(),
  transcript: z.string().max(CALL_TRANSCRIPT_MAX_CHARS).optional(),
  /** The ticket the agent dialled from (click-to-call puts it in the dialer's custom data): the call is logged there. */
  ticketId: Uuid.optional(),
  ticketNumber: z
    .union([
      z.number(),
      z
        .string()
        .trim()
        .regex(/^\d{1,15}$/, 'must be a ticket number')
        .transform(Number),
    ])
    .pipe(z.number().int().positive('must be a ticket number').max(Number.MAX_SAFE_INTEGER))
    .optional(),
});
export type PbxCallRecord = z.infer<typeof PbxCallRecord>;

const ms = (iso: string) => Date.parse(iso);

export function pbxCallEvent(body: unknown, region: string): CallEvent {
  const parsed = PbxCallRecord.safeParse(body);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new InvalidCallRecordError(issue.path.join('.') || '(body)', issue.message);
  }
  const r = parsed.data;
  if (r.answeredAt && ms(r.answeredAt) < ms(r.startedAt))
    throw new InvalidCallRecordError('answeredAt', 'must not be before startedAt');
  if (r.endedAt && ms(r.endedAt) < ms(r.startedAt))
    throw new InvalidCallRecordError('endedAt', 'must not be before startedAt');
  if (r.endedAt && r.answeredAt && ms(r.endedAt) < ms(r.answeredAt))
    throw new InvalidCallRecordError('endedAt', 'must not be before answeredAt');
  if (r.durationSec !== undefined && r.endedAt && r.durationSec > (ms(r.endedAt) - ms(r.startedAt)) / 1000 + 1)
    throw new InvalidCallRecordError('durationSec', 'longer than the time between startedAt and endedAt');

  if (r.direction === 'outbound' && !r.from)
    throw new InvalidCallRecordError('from', 'is required on an outbound call');

  const event: CallEvent = {
    provider: 'pbx',
    callId: r.callId,
    at: r.endedAt ?? r.answeredAt ?? r.startedAt,
    status: r.disposition ?? (r.answeredAt ? 'in-progress' : 'ringing'),
    direction: r.direction,
    from: r.direction === 'inbound' ? callerNumber(r.from, region, 'from') : ourParty(r.from, region),
    to: r.direction === 'outbound' ? customerNumber(r.to, region, 'to') : ourParty(r.to, region),
    startedAt: new Date(r.startedAt).toISOString(),
  };
  if (r.answeredAt) event.answeredAt = new Date(r.answeredAt).toISOString();
  if (r.endedAt) event.endedAt = new Date(r.endedAt).toISOString();
  if (r.durationSec !== undefined) event.durationSec = r.durationSec;
  else if (r.answeredAt && r.endedAt) event.durationSec = Math.round((ms(r.endedAt) - ms(r.answeredAt)) / 1000);
  if (r.agent) event.agent = r.agent;
  if (r.queue) event.queue = r.queue;
  if (r.recordingUrl) event.recordingUrl = r.recordingUrl;
  if (r.transcript) event.transcript = maskCardNumbers(r.transcript);
  if (r.ticketId) event.ticketId = r.ticketId;
  if (r.ticketNumber !== undefined) event.ticketNumber = r.ticketNumber;
  event.at = new Date(event.at).toISOString();
  return event;
}
