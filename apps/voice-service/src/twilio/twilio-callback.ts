import { maskCardNumbers } from '@oq/contracts';
import { CallEvent, CallStatus } from '../calls/call-event';
import { InvalidCallRecordError } from '../calls/call-record-error';
import { callerNumber, customerNumber, ourParty } from '../calls/phone-number';
import { FormParams } from './twilio-signature';

const CALL_STATUS: Record<string, CallStatus> = {
  queued: 'queued',
  initiated: 'queued',
  ringing: 'ringing',
  'in-progress': 'in-progress',
  answered: 'in-progress',
  completed: 'answered',
  busy: 'busy',
  failed: 'failed',
  'no-answer': 'missed',
  canceled: 'missed',
};

/** <Dial> outcomes meaning no agent took the call although the caller reached us. */
const UNANSWERED_DIAL = new Set(['no-answer', 'busy', 'failed', 'canceled']);

function seconds(params: Map<string, string>, name: string): number | undefined {
  const raw = params.get(name);
  if (raw === undefined || raw === '') return undefined;
  const n = Number(raw);
  if (!Number.isInteger(n))
    throw new InvalidCallRecordError(name, `not a whole number of seconds: ${JSON.stringify(raw)}`);
  if (n < 0) throw new InvalidCallRecordError(name, `must not be negative: ${n}`);
  return n;
}

function httpUrl(params: Map<string, string>, name: string): string | undefined {
  const raw = params.get(name);
  if (!raw) return undefined;
  try {
    const u = new URL(raw);
    if (u.protocol === 'https:' || u.protocol === 'http:') return u.toString();
  } catch {
    // reported below
  }
  throw new InvalidCallRecordError(name, 'must be an http(s) URL');
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * `?ticketId=` / `?ticketNumber=` on the status callback URL: the ticket an agent
 * placed the call from. The URL is covered by the signature, so it is as trusted as the form.
 */
function ticketRef(query: Record<string, unknown>): Pick<CallEvent, 'ticketId' | 'ticketNumber'> {
  const one = (name: string) => {
    const v = query[name];
    const s: unknown = Array.isArray(v) ? (v as unknown[])[0] : v;
    return typeof s === 'string' && s.trim() ? s.trim() : undefined;
  };
  const ref: Pick<CallEvent, 'ticketId' | 'ticketNumber'> = {};
  const id = one('ticketId');
  if (id !== undefined) {
    if (!UUID.test(id)) throw new InvalidCallRecordError('ticketId', 'must be a ticket id (UUID)');
    ref.ticketId = id.toLowerCase();
  }
  const number = one('ticketNumber');
  if (number !== undefined) {
    if (!/^[1-9]\d{0,14}$/.test(number)) throw new InvalidCallRecordError('ticketNumber', 'must be a ticket number');
    ref.ticketNumber = Number(number);
  }
  return ref;
}

/**
 * A Twilio status / recording / transcription callback → one normalised call
 * event. Twilio sends no start time: a final callback's Timestamp is the end,
 * and the start is at most CallDuration before it.
 */
export function twilioCallEvent(
  form: FormParams,
  region: string,
  receivedAt: Date,
  query: Record<string, unknown> = {},
): CallEvent {
  const p = new Map(form);
  const callSid = p.get('CallSid')?.trim();
  if (!callSid) throw new InvalidCallRecordError('CallSid', 'is required');
  if (callSid.length > 200) throw new InvalidCallRecordError('CallSid', 'longer than 200 characters');

  let at = receivedAt.toISOString();
  const ts = p.get('Timestamp');
  if (ts) {
    const t = Date.parse(ts);
    if (Number.isNaN(t))
      throw new InvalidCallRecordError('Timestamp', `not a date: ${JSON.stringify(ts.slice(0, 64))}`);
    at = new Date(t).toISOString();
  }
  const duration = seconds(p, 'CallDuration');
  seconds(p, 'RecordingDuration');
  const recordingUrl = httpUrl(p, 'RecordingUrl');
  const transcript = p.get('TranscriptionText') ? maskCardNumbers(p.get('TranscriptionText')!) : undefined;

  // A <Dial>ed agent leg of an inbound call: it tells who answered, not how the customer's call ended.
  const parent = p.get('ParentCallSid')?.trim();
  if (parent && p.get('Direction') === 'outbound-dial') {
    const legStatus = p.get('CallStatus');
    const answered = legStatus === 'in-progress' || legStatus === 'completed';
    return {
      provider: 'twilio',
      callId: parent,
      at,
      ...(answered ? { agent: ourParty(p.get('To'), region) } : {}),
      ...(legStatus === 'in-progress' ? { answeredAt: at } : {}),
    };
  }

  const rawStatus = p.get('CallStatus');
  let status: CallStatus | undefined;
  if (rawStatus !== undefined) {
    status = CALL_STATUS[rawStatus];
    if (!status) throw new InvalidCallRecordError('CallStatus', `unknown call status ${JSON.stringify(rawStatus)}`);
    const dial = p.get('DialCallStatus');
    if (status === 'answered' && dial && UNANSWERED_DIAL.has(dial)) status = recordingUrl ? 'voicemail' : 'missed';
  }

  const rawDirection = p.get('Direction');
  const direction =
    rawDirection === 'inbound' ? 'inbound' : rawDirection?.startsWith('outbound') ? 'outbound' : undefined;
  if (rawDirection && !direction)
    throw new InvalidCallRecordError('Direction', `unknown direction ${JSON.stringify(rawDirection.slice(0, 32))}`);
  if (status && !direction) throw new InvalidCallRecordError('Direction', 'is required with CallStatus');
  // The customer is the caller of an inbound call (a number, or withheld) and the callee of an outbound one (a number).
  const from = direction === 'inbound' ? callerNumber(p.get('From'), region, 'From') : ourParty(p.get('From'), region);
  const to = direction === 'outbound' ? customerNumber(p.get('To'), region, 'To') : ourParty(p.get('To'), region);

  const event: CallEvent = { provider: 'twilio', callId: callSid, at, ...ticketRef(query) };
  if (status) event.status = status;
  if (direction) event.direction = direction;
  if (from) event.from = from;
  if (to) event.to = to;
  if (status === 'queued' || status === 'ringing') event.startedAt = at;
  if (status === 'in-progress') {
    event.answeredAt = at;
    if (duration === undefined) event.startedAt = at;
  }
  if (status && ['answered', 'voicemail', 'missed', 'busy', 'failed', 'blocked'].includes(status)) {
    event.endedAt = at;
    event.startedAt = new Date(Date.parse(at) - (duration ?? 0) * 1000).toISOString();
  }
  if (duration !== undefined) event.durationSec = duration;
  if (recordingUrl) event.recordingUrl = recordingUrl;
  if (transcript) event.transcript = transcript;
  return event;
}
