import { createHash } from 'node:crypto';
import {
  AttachmentRef,
  CallEvent as ContractCallEvent,
  CallLog,
  TextAltered,
  encodeOriginals,
  makeStorable,
} from '@oq/contracts';

export type Disposition = CallLog['disposition'];
export type CallStatus = NonNullable<ContractCallEvent['status']>;

/**
 * Rank of a status in the fold: final dispositions beat every non-final status,
 * whatever order the events arrive in. Among finals (a provider that contradicts
 * itself) the more informative outcome wins: answered > voicemail > missed > busy > failed > blocked.
 */
const STATUS_RANK: Record<CallStatus, number> = {
  queued: 0,
  ringing: 1,
  'in-progress': 2,
  blocked: 10,
  failed: 11,
  busy: 12,
  missed: 13,
  voicemail: 14,
  answered: 15,
};

export function isFinal(status: CallStatus | undefined): status is Disposition {
  return status !== undefined && STATUS_RANK[status] >= 10;
}

/** One provider event, normalised; its schema is the contract's, since a pending one travels on `voice.pending`. */
export type CallEvent = ContractCallEvent;

/**
 * An event as it may be stored: its state is jsonb, which refuses `\u0000`. What had to change
 * travels on as `originals`, so the call log keeps what the provider really sent.
 */
export function storableCallEvent(event: CallEvent): CallEvent {
  const { value, altered, originals } = makeStorable(event);
  if (!altered.length) return event;
  return { ...value, originals: encodeOriginals(originals) };
}

/** The originals of every event of a call, for the call log's `metadata.textAltered`. */
export function callTextAltered(state: CallState): TextAltered | undefined {
  if (!state.originals) return undefined;
  return { fields: Object.keys(JSON.parse(state.originals) as Record<string, unknown>), original: state.originals };
}

/** The call as far as all its events tell. */
export interface CallState {
  callId: string;
  provider: 'twilio' | 'pbx';
  status?: CallStatus;
  direction?: 'inbound' | 'outbound';
  from?: string;
  to?: string;
  startedAt?: string;
  answeredAt?: string;
  endedAt?: string;
  durationSec: number;
  agent?: string;
  queue?: string;
  recordingUrl?: string;
  transcript?: string;
  ticketId?: string;
  ticketNumber?: number;
  /** Set once the recording at recordingUrl was downloaded into the blob store. */
  recording?: AttachmentRef & { url: string };
  recordingAttempts?: number;
  /** Why the recording at `url` will not be downloaded (refused by safeFetch, gone at the provider). */
  recordingError?: { url: string; code: string; reason: string };
  /** The events' `originals`, merged (see CallEvent.originals). */
  originals?: string;
}

const stable = (value: unknown): string =>
  JSON.stringify(value, (_k, v: unknown) =>
    v && typeof v === 'object' && !Array.isArray(v)
      ? Object.fromEntries(
          Object.keys(v as object)
            .sort()
            .map((k) => [k, (v as Record<string, unknown>)[k]]),
        )
      : v,
  );

/** Identical events (a provider retry) have identical digests and are stored once. */
export function eventDigest(event: CallEvent): string {
  return createHash('sha256').update(stable(event)).digest('hex');
}

const ms = (iso: string) => Date.parse(iso);
const minIso = (a: string | undefined, b: string | undefined) => (!a ? b : !b ? a : ms(b) < ms(a) ? b : a);
const maxIso = (a: string | undefined, b: string | undefined) => (!a ? b : !b ? a : ms(b) > ms(a) ? b : a);

/**
 * Folds every event of a call into one state. The events are first put in a
 * canonical order (status rank, event time, digest), so the result depends only
 * on the SET of events, never on arrival order or repetition. Scalars take the
 * value of the most decisive event that carries one; times take the earliest
 * start/answer and the latest end; the duration is the longest reported.
 */
export function foldCallEvents(
  events: CallEvent[],
  base?: Pick<CallState, 'recording' | 'recordingAttempts' | 'recordingError'>,
): CallState {
  const ordered = events
    .map((e) => ({ e, rank: e.status ? STATUS_RANK[e.status] : -1, at: ms(e.at), digest: eventDigest(e) }))
    .sort((a, b) => a.rank - b.rank || a.at - b.at || (a.digest < b.digest ? -1 : a.digest > b.digest ? 1 : 0))
    .map((x) => x.e);
  if (!ordered.length) throw new Error('cannot fold a call without events');
  const state: CallState = { callId: ordered[0].callId, provider: ordered[0].provider, durationSec: 0 };
  let originals: Record<string, string> | undefined;
  for (const e of ordered) {
    state.provider = e.provider;
    if (e.status) state.status = e.status;
    for (const key of [
      'direction',
      'from',
      'to',
      'agent',
      'queue',
      'recordingUrl',
      'transcript',
      'ticketId',
      'ticketNumber',
    ] as const) {
      if (e[key] !== undefined && e[key] !== '') (state as unknown as Record<string, unknown>)[key] = e[key];
    }
    state.startedAt = minIso(state.startedAt, e.startedAt);
    state.answeredAt = minIso(state.answeredAt, e.answeredAt);
    state.endedAt = maxIso(state.endedAt, e.endedAt);
    state.durationSec = Math.max(state.durationSec, e.durationSec ?? 0);
    if (e.originals) originals = { ...originals, ...(JSON.parse(e.originals) as Record<string, string>) };
  }
  if (originals) state.originals = encodeOriginals(originals);
  // A call cannot be answered before it started: an answer time bounds the start.
  state.startedAt = minIso(state.startedAt, state.answeredAt);
  // A start only known as "no later than this event" (e.g. Twilio sends no start time).
  if (!state.startedAt) state.startedAt = ordered.map((e) => e.at).reduce((a, b) => minIso(a, b)!);
  if (isFinal(state.status) && !state.endedAt) {
    state.endedAt = ordered
      .filter((e) => isFinal(e.status))
      .map((e) => e.at)
      .reduce((a, b) => maxIso(a, b)!);
  }
  // Event times may be arrival times (no provider timestamp): an answer reported after the end is capped at the end.
  if (isFinal(state.status) && state.answeredAt && state.endedAt && ms(state.answeredAt) > ms(state.endedAt))
    state.answeredAt = state.endedAt;
  // An answered call's talk time, when no event reported a duration.
  if (!state.durationSec && state.answeredAt && state.endedAt) {
    state.durationSec = Math.max(0, Math.round((ms(state.endedAt) - ms(state.answeredAt)) / 1000));
  }
  if (base?.recording && base.recording.url === state.recordingUrl) state.recording = base.recording;
  if (base?.recordingAttempts) state.recordingAttempts = base.recordingAttempts;
  if (base?.recordingError && base.recordingError.url === state.recordingUrl)
    state.recordingError = base.recordingError;
  return state;
}

/** Folded times that contradict each other (events from different sources disagree): names the field. */
export function inconsistency(state: CallState): { field: string; reason: string } | null {
  if (state.startedAt && state.endedAt && ms(state.endedAt) < ms(state.startedAt))
    return { field: 'endedAt', reason: `${state.endedAt} is before the call's start ${state.startedAt}` };
  if (state.startedAt && state.answeredAt && ms(state.answeredAt) < ms(state.startedAt))
    return { field: 'answeredAt', reason: `${state.answeredAt} is before the call's start ${state.startedAt}` };
  if (state.answeredAt && state.endedAt && ms(state.endedAt) < ms(state.answeredAt))
    return { field: 'endedAt', reason: `${state.endedAt} is before the call was answered at ${state.answeredAt}` };
  return null;
}

/**
 * What ticket-service shows of a finished call. A change of any of these after
 * the call log was sent (a late recording or transcript, a corrected outcome)
 * raises the revision; an event that changes none of them (a duplicate final
 * event, a late "ringing" or "in-progress" that only refines start/answer
 * times) changes nothing — the refined times ride along with the next revision.
 * The ticket reference is left out: it only steers where revision 0 lands, and
 * a revision never moves a message to another ticket.
 */
export function contentHash(state: CallState): string {
  return createHash('sha256')
    .update(
      stable({
        status: state.status,
        direction: state.direction,
        from: state.from,
        to: state.to,
        endedAt: state.endedAt,
        durationSec: state.durationSec,
        agent: state.agent,
        queue: state.queue,
        recordingUrl: state.recordingUrl,
        recording: state.recording?.sha256,
        transcript: state.transcript,
      }),
    )
    .digest('hex');
}
