import {
  AttachmentRef,
  CALL_TRANSCRIPT_MAX_CHARS,
  INBOUND_MESSAGE_VERSION,
  InboundMessageInput,
  maskCardNumbers,
} from '@oq/contracts';
import { CallState, Disposition, callTextAltered } from './call-event';
import { WITHHELD } from './phone-number';

const INBOUND_SUBJECT: Record<Disposition, string> = {
  answered: 'Call from',
  missed: 'Missed call from',
  voicemail: 'Voicemail from',
  busy: 'Missed call (line busy) from',
  failed: 'Failed call from',
  blocked: 'Blocked call from',
};
const OUTBOUND_SUBJECT: Record<Disposition, string> = {
  answered: 'Call to',
  missed: 'Unanswered call to',
  voicemail: 'Call to voicemail of',
  busy: 'Busy line calling',
  failed: 'Failed call to',
  blocked: 'Blocked call to',
};

/** What the agent reads when a recording was not downloaded and will not be (SafeFetchError codes and ours). */
const RECORDING_ERROR_TEXT: Record<string, string> = {
  blocked_address: 'its address is internal or reserved',
  host_not_allowed: "its host is not one of the inbox's recording hosts",
  unsupported_protocol: 'it is not an http(s) URL',
  invalid_url: 'the URL is invalid',
  too_many_redirects: 'too many redirects',
  too_large: 'the file is too large',
  unavailable: 'the provider no longer has it',
};

function formatDuration(sec: number): string {
  if (sec < 60) return `${sec} s`;
  const m = Math.floor(sec / 60);
  const s = sec % 60;
  return s ? `${m} min ${s} s` : `${m} min`;
}

/**
 * A final call as the InboundMessage every call path produces (kind call_log):
 * the customer is the caller of an inbound call and the callee of an outbound one.
 */
export function callLogMessage(
  inboxId: string,
  state: CallState,
  revision: number,
  receivedAt: Date,
  /** The whole transcript as a file, when it is longer than a call log carries. */
  transcriptFile?: AttachmentRef,
): InboundMessageInput {
  const disposition = state.status as Disposition;
  const direction = state.direction!;
  const customer = direction === 'inbound' ? state.from! : state.to!;
  // A withheld caller is nobody we know: an identity of its own per call, so it never matches or merges a contact.
  const withheld = direction === 'inbound' && customer === WITHHELD;
  const who = withheld ? 'a withheld number' : customer;
  const recording: AttachmentRef | undefined = state.recording
    ? {
        sha256: state.recording.sha256,
        size: state.recording.size,
        filename: state.recording.filename,
        contentType: state.recording.contentType,
      }
    : undefined;
  const full = state.transcript ? maskCardNumbers(state.transcript) : undefined;
  const transcript =
    full && full.length > CALL_TRANSCRIPT_MAX_CHARS
      ? `${full.slice(0, CALL_TRANSCRIPT_MAX_CHARS - 200)}\n[transcript cut at ${CALL_TRANSCRIPT_MAX_CHARS - 200} characters${
          transcriptFile ? '; the whole transcript is attached as transcript.txt' : ''
        }]`
      : full;

  const lines = [
    `${direction === 'inbound' ? 'Inbound' : 'Outbound'} call ${direction === 'inbound' ? 'from' : 'to'} ${who}` +
      ` (${disposition}${disposition === 'answered' ? `, ${formatDuration(state.durationSec)}` : ''})` +
      (state.agent ? `, agent ${state.agent}` : '') +
      (state.queue ? `, queue ${state.queue}` : '') +
      '.',
  ];
  const recordingError =
    state.recordingError && state.recordingError.url === state.recordingUrl && !recording
      ? state.recordingError
      : undefined;
  if (state.recordingUrl && !recording)
    lines.push(
      `Recording: ${state.recordingUrl}` +
        (recordingError
          ? ` (could not be fetched: ${RECORDING_ERROR_TEXT[recordingError.code] ?? recordingError.reason})`
          : ''),
    );
  if (withheld) lines.push('The caller withheld their number: there is nobody to call back.');
  if (transcript) lines.push('', 'Transcript:', transcript);

  return {
    v: INBOUND_MESSAGE_VERSION,
    inboxId,
    channel: 'voice',
    externalId: state.callId,
    revision,
    kind: 'call_log',
    sourceTime: state.startedAt!,
    receivedAt: receivedAt.toISOString(),
    sender: withheld
      ? { kind: 'anonymous', value: `${inboxId}:${state.callId}`, displayName: 'Withheld number' }
      : { kind: 'phone', value: customer },
    subject: `${(direction === 'inbound' ? INBOUND_SUBJECT : OUTBOUND_SUBJECT)[disposition]} ${who}`,
    text: lines.join('\n'),
    // The recording travels once, as call.recording: ticket-service attaches it to the message.
    attachments: transcriptFile ? [transcriptFile] : [],
    call: {
      callId: state.callId,
      direction,
      from: state.from!,
      to: state.to!,
      disposition,
      startedAt: state.startedAt!,
      answeredAt: state.answeredAt,
      endedAt: state.endedAt,
      durationSec: state.durationSec,
      agent: state.agent,
      queue: state.queue,
      recordingUrl: state.recordingUrl,
      recording,
      transcript,
      ticket: state.ticketId || state.ticketNumber ? { id: state.ticketId, number: state.ticketNumber } : undefined,
    },
    metadata: {
      provider: state.provider,
      ...(recordingError && { recordingError: { code: recordingError.code, reason: recordingError.reason } }),
      ...(state.originals && { textAltered: callTextAltered(state) }),
    },
  };
}
