import { Inject, Injectable } from '@nestjs/common';
import { VoiceCallRepository, VoiceCallRow, VoiceCallSave } from '@oq/database';
import { LOGGER } from '@oq/platform';
import { Logger } from 'pino';
import { DataSource } from 'typeorm';
import { CallEvent, CallState, contentHash, eventDigest, foldCallEvents, inconsistency, isFinal } from './call-event';
import { InvalidCallRecordError } from './call-record-error';

/** A provider sends a handful of events per call; more distinct ones than this is abuse, not a call. */
const MAX_EVENTS_PER_CALL = 64;
/** After this long the sweep takes over an emission the request path did not finish. */
const SWEEP_GRACE_MS = 2000;
/** Recording downloads that failed are retried this often, with growing delays. */
export const MAX_RECORDING_ATTEMPTS = 4;

export interface CallRow {
  inboxId: string;
  callId: string;
  events: (CallEvent & { digest: string })[];
  state: CallState;
  final: boolean;
  targetRevision: number | null;
  contentHash: string | null;
  emittedRevision: number | null;
}

export type ApplyOutcome = 'stored' | 'duplicate' | 'ignored';

/** Whether the row owes ticket-service a revision of the call log. */
export const emissionPending = (row: Pick<CallRow, 'targetRevision' | 'emittedRevision'>) =>
  row.targetRevision !== null && (row.emittedRevision === null || row.emittedRevision < row.targetRevision);

export const recordingPending = (state: CallState) =>
  !!state.recordingUrl && !state.recording && (state.recordingAttempts ?? 0) < MAX_RECORDING_ATTEMPTS;

/**
 * The voice_calls table. Every change to a call happens under its row lock
 * (SELECT … FOR UPDATE), so concurrent callbacks of one call fold one after the
 * other and the revision bookkeeping cannot race. Plain SQL (VoiceCallRepository):
 * this is the webhook's hot path (three statements on the primary key).
 */
@Injectable()
export class CallStore {
  constructor(
    private readonly ds: DataSource,
    private readonly calls: VoiceCallRepository,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {}

  /**
   * Folds one event into its call. Throws InvalidCallRecordError (nothing written) when it contradicts the call.
   * `digest` identifies the provider's delivery (hash of the signed payload), so a retry is recognised even
   * when its normalised form differs (an event without a provider timestamp is stamped on arrival).
   *
   * Usually two round trips: a read, then one autocommitted write that applies only if the row is still the
   * version read (xmin) — committed before the caller answers the provider. A concurrent change of the same
   * call, or anything unusual, takes the locked transaction instead, so the outcome is the same as if every
   * event had taken the lock.
   */
  async apply(
    inboxId: string,
    event: CallEvent,
    digest = eventDigest(event),
  ): Promise<{ outcome: ApplyOutcome; row: CallRow }> {
    return (await this.applyOptimistic(inboxId, event, digest)) ?? this.applyLocked(inboxId, event, digest);
  }

  private async applyOptimistic(
    inboxId: string,
    event: CallEvent,
    digest: string,
  ): Promise<{ outcome: ApplyOutcome; row: CallRow } | null> {
    const found = await this.calls.findVersioned(inboxId, event.callId);
    const row = found ? toRow(found) : emptyRow(inboxId, event.callId);
    // A digest that is committed stays committed: a duplicate needs no lock.
    if (row.events.some((e) => e.digest === digest)) return { outcome: 'duplicate', row };
    if (row.events.length >= MAX_EVENTS_PER_CALL) return null;
    const events = [...row.events, { ...event, digest }];
    const state = foldCallEvents(events, row.state);
    // Judged again under the lock: the verdict must not rest on a version that may be stale.
    if (inconsistency(state)) return null;
    const saved = planSave({ ...row, events }, state);
    const written = found
      ? await this.calls.saveIfVersion(toSave(saved), found.version)
      : await this.calls.insertIfAbsent(toSave(saved), event.provider);
    return written ? { outcome: 'stored', row: saved.row } : null;
  }

  private applyLocked(
    inboxId: string,
    event: CallEvent,
    digest: string,
  ): Promise<{ outcome: ApplyOutcome; row: CallRow }> {
    return this.ds.transaction(async (m) => {
      const calls = this.calls.with(m);
      // One round trip creates the row if needed, takes its lock and reads it.
      const row = toRow(await calls.createOrLock(inboxId, event.callId, event.provider));
      if (row.events.some((e) => e.digest === digest)) return { outcome: 'duplicate' as const, row };
      if (row.events.length >= MAX_EVENTS_PER_CALL) {
        this.logger.warn({ inboxId, callId: event.callId }, 'call has too many distinct events; event ignored');
        return { outcome: 'ignored' as const, row };
      }
      const events = [...row.events, { ...event, digest }];
      const state = foldCallEvents(events, row.state);
      const bad = inconsistency(state);
      if (bad) throw new InvalidCallRecordError(bad.field, bad.reason);
      return { outcome: 'stored' as const, row: await save(calls, { ...row, events }, state) };
    });
  }

  /**
   * Records that `revision`, built from content `sentHash`, is on the inbound
   * queue. One statement, no explicit lock: if the content changed meanwhile
   * (content_hash is always the latest), the next revision is owed at once.
   */
  async markEmitted(row: CallRow, revision: number, sentHash: string, recordingStillPending: boolean): Promise<void> {
    await this.calls.markEmitted(
      row.inboxId,
      row.callId,
      { revision, sentHash, recordingStillPending },
      SWEEP_GRACE_MS,
    );
  }

  /** Applies a change to the call's state (a downloaded recording, an emitted revision) under its lock. */
  async mutate(inboxId: string, callId: string, change: (row: CallRow) => void): Promise<CallRow> {
    return this.ds.transaction(async (m) => {
      const calls = this.calls.with(m);
      const locked = await calls.lock(inboxId, callId);
      if (!locked) throw new Error(`call ${callId} of inbox ${inboxId} not found`);
      const row = toRow(locked);
      change(row);
      return save(calls, row, foldCallEvents(row.events, row.state));
    });
  }

  async read(inboxId: string, callId: string): Promise<CallRow | null> {
    const row = await this.calls.find(inboxId, callId);
    return row ? toRow(row) : null;
  }

  /** Whether Postgres answers at all: tells an outage from a fold that failed for its own reasons. */
  async reachable(): Promise<boolean> {
    try {
      await this.calls.ping();
      return true;
    } catch {
      return false;
    }
  }

  /** Calls whose work the request path left unfinished (crash, Redis outage) or whose recording retry is due. */
  async due(limit: number): Promise<{ inboxId: string; callId: string }[]> {
    const rows = await this.calls.due(limit);
    return rows.map((r) => ({ inboxId: r.inbox_id, callId: r.call_id }));
  }
}

/** Saves a row the caller holds locked (`calls` is on its transaction). */
async function save(calls: VoiceCallRepository, row: CallRow, state: CallState): Promise<CallRow> {
  const saved = planSave(row, state);
  await calls.save(toSave(saved));
  return saved.row;
}

interface PlannedSave {
  row: CallRow;
  /** Whether the sweep must look at the row later, and after how long. */
  work: boolean;
  delayMs: number;
}

/**
 * Decides which revision the call log owes: revision 0 once the call is final;
 * after one was sent, any change of the shown content (late recording,
 * transcript, corrected outcome) owes the next one; no change owes nothing.
 */
function planSave(row: CallRow, state: CallState): PlannedSave {
  const final = isFinal(state.status);
  let target = row.targetRevision;
  let hash = row.contentHash;
  if (final) {
    const next = contentHash(state);
    if (row.emittedRevision === null) target = 0;
    else if (next !== row.contentHash) target = Math.max(target ?? 0, row.emittedRevision + 1);
    hash = next;
  }
  const saved: CallRow = { ...row, state, final, targetRevision: target, contentHash: hash };
  return {
    row: saved,
    work: final && (emissionPending(saved) || recordingPending(state)),
    delayMs: emissionPending(saved) ? SWEEP_GRACE_MS : (recordingRetryDelayMs(state) ?? SWEEP_GRACE_MS),
  };
}

/** What the repository writes for a planned save. */
function toSave({ row, work, delayMs }: PlannedSave): VoiceCallSave {
  return {
    inboxId: row.inboxId,
    callId: row.callId,
    events: row.events,
    state: row.state,
    final: row.final,
    targetRevision: row.targetRevision,
    contentHash: row.contentHash,
    emittedRevision: row.emittedRevision,
    work,
    delayMs,
  };
}

/** A call not stored yet, as the table's defaults would make it. */
function emptyRow(inboxId: string, callId: string): CallRow {
  return {
    inboxId,
    callId,
    events: [],
    state: {} as CallState,
    final: false,
    targetRevision: null,
    contentHash: null,
    emittedRevision: null,
  };
}

/** Backoff for a failed recording download: 5 s, 30 s, 2 min… ; null when no retry is waiting. */
function recordingRetryDelayMs(state: CallState): number | null {
  const attempts = state.recordingAttempts ?? 0;
  if (!recordingPending(state) || attempts === 0) return null;
  return [5_000, 30_000, 120_000, 600_000][Math.min(attempts - 1, 3)];
}

/** The row as voice-service reads its JSON: events and state are only ever written by this store. */
function toRow(r: VoiceCallRow): CallRow {
  return {
    inboxId: r.inbox_id,
    callId: r.call_id,
    events: r.events as CallRow['events'],
    state: r.state as unknown as CallState,
    final: r.final,
    targetRevision: r.target_revision,
    contentHash: r.content_hash,
    emittedRevision: r.emitted_revision,
  };
}
