import { Inject, Injectable } from '@nestjs/common';
import { LOGGER } from '@oq/platform';
import { Logger } from 'pino';
import { DataSource, EntityManager } from 'typeorm';
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
 * other and the revision bookkeeping cannot race. Plain SQL: this is the
 * webhook's hot path (three statements on the primary key).
 */
@Injectable()
export class CallStore {
  constructor(
    private readonly ds: DataSource,
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
    const found = await this.ds.query(`SELECT xmin::text AS version, ${COLUMNS} FROM voice_calls ${BY_KEY}`, [
      inboxId,
      event.callId,
    ]);
    const row = found.length ? toRow(found[0]) : emptyRow(inboxId, event.callId);
    // A digest that is committed stays committed: a duplicate needs no lock.
    if (row.events.some((e) => e.digest === digest)) return { outcome: 'duplicate', row };
    if (row.events.length >= MAX_EVENTS_PER_CALL) return null;
    const events = [...row.events, { ...event, digest }];
    const state = foldCallEvents(events, row.state);
    // Judged again under the lock: the verdict must not rest on a version that may be stale.
    if (inconsistency(state)) return null;
    const saved = planSave({ ...row, events }, state);
    const written = found.length
      ? await this.ds.query(`UPDATE voice_calls SET ${SAVE_SET} ${BY_KEY} AND xmin = $11::text::xid RETURNING 1`, [
          ...saveParams(saved),
          found[0].version,
        ])
      : await this.ds.query(
          `INSERT INTO voice_calls (inbox_id, call_id, events, state, final, target_revision, content_hash,
                                    emitted_revision, next_work_at, provider)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, ${NEXT_WORK_AT}, $11)
           ON CONFLICT (inbox_id, call_id) DO NOTHING RETURNING 1`,
          [...saveParams(saved), event.provider],
        );
    // typeorm returns [rows, affected] for UPDATE … RETURNING and rows for INSERT … RETURNING.
    const rows = (found.length ? written[0] : written) as unknown[];
    return rows.length ? { outcome: 'stored', row: saved.row } : null;
  }

  private applyLocked(
    inboxId: string,
    event: CallEvent,
    digest: string,
  ): Promise<{ outcome: ApplyOutcome; row: CallRow }> {
    return this.ds.transaction(async (m) => {
      // One round trip creates the row if needed, takes its lock and reads it
      // (ON CONFLICT DO UPDATE locks the existing row like SELECT … FOR UPDATE).
      const rows = await m.query(
        `INSERT INTO voice_calls AS c (inbox_id, call_id, provider) VALUES ($1, $2, $3)
         ON CONFLICT (inbox_id, call_id) DO UPDATE SET provider = c.provider
         RETURNING ${COLUMNS}`,
        [inboxId, event.callId, event.provider],
      );
      const row = toRow(rows[0]);
      if (row.events.some((e) => e.digest === digest)) return { outcome: 'duplicate' as const, row };
      if (row.events.length >= MAX_EVENTS_PER_CALL) {
        this.logger.warn({ inboxId, callId: event.callId }, 'call has too many distinct events; event ignored');
        return { outcome: 'ignored' as const, row };
      }
      const events = [...row.events, { ...event, digest }];
      const state = foldCallEvents(events, row.state);
      const bad = inconsistency(state);
      if (bad) throw new InvalidCallRecordError(bad.field, bad.reason);
      return { outcome: 'stored' as const, row: await this.save(m, { ...row, events }, state) };
    });
  }

  /**
   * Records that `revision`, built from content `sentHash`, is on the inbound
   * queue. One statement, no explicit lock: if the content changed meanwhile
   * (content_hash is always the latest), the next revision is owed at once.
   */
  async markEmitted(row: CallRow, revision: number, sentHash: string, recordingStillPending: boolean): Promise<void> {
    await this.ds.query(
      `UPDATE voice_calls
          SET emitted_revision = GREATEST(COALESCE(emitted_revision, -1), $3),
              target_revision = CASE WHEN content_hash <> $4 THEN GREATEST(target_revision, $3 + 1) ELSE target_revision END,
              next_work_at = CASE
                WHEN content_hash <> $4 OR target_revision > $3 THEN now() + make_interval(secs => $6::float8 / 1000)
                WHEN $5::boolean THEN next_work_at
              END,
              updated_at = now()
        WHERE inbox_id = $1 AND call_id = $2`,
      [row.inboxId, row.callId, revision, sentHash, recordingStillPending, SWEEP_GRACE_MS],
    );
  }

  /** Applies a change to the call's state (a downloaded recording, an emitted revision) under its lock. */
  async mutate(inboxId: string, callId: string, change: (row: CallRow) => void): Promise<CallRow> {
    return this.ds.transaction(async (m) => {
      const row = await this.lock(m, inboxId, callId);
      change(row);
      return this.save(m, row, foldCallEvents(row.events, row.state));
    });
  }

  async read(inboxId: string, callId: string): Promise<CallRow | null> {
    const rows = await this.ds.query(`${SELECT} WHERE inbox_id = $1 AND call_id = $2`, [inboxId, callId]);
    return rows.length ? toRow(rows[0]) : null;
  }

  /** Whether Postgres answers at all: tells an outage from a fold that failed for its own reasons. */
  async reachable(): Promise<boolean> {
    try {
      await this.ds.query('SELECT 1');
      return true;
    } catch {
      return false;
    }
  }

  /** Calls whose work the request path left unfinished (crash, Redis outage) or whose recording retry is due. */
  async due(limit: number): Promise<{ inboxId: string; callId: string }[]> {
    const rows: { inbox_id: string; call_id: string }[] = await this.ds.query(
      `SELECT inbox_id, call_id FROM voice_calls WHERE next_work_at <= now() ORDER BY next_work_at LIMIT $1`,
      [limit],
    );
    return rows.map((r) => ({ inboxId: r.inbox_id, callId: r.call_id }));
  }

  private async lock(m: EntityManager, inboxId: string, callId: string): Promise<CallRow> {
    const rows = await m.query(`${SELECT} WHERE inbox_id = $1 AND call_id = $2 FOR UPDATE`, [inboxId, callId]);
    if (!rows.length) throw new Error(`call ${callId} of inbox ${inboxId} not found`);
    return toRow(rows[0]);
  }

  private async save(m: EntityManager, row: CallRow, state: CallState): Promise<CallRow> {
    const saved = planSave(row, state);
    await m.query(`UPDATE voice_calls SET ${SAVE_SET} ${BY_KEY}`, saveParams(saved));
    return saved.row;
  }
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

const BY_KEY = 'WHERE inbox_id = $1 AND call_id = $2';
const NEXT_WORK_AT = 'CASE WHEN $9::boolean THEN now() + make_interval(secs => $10::float8 / 1000) END';
const SAVE_SET = `events = $3, state = $4, final = $5, target_revision = $6, content_hash = $7, emitted_revision = $8,
                  next_work_at = ${NEXT_WORK_AT}, updated_at = now()`;

/** $1…$10 of SAVE_SET / BY_KEY. */
function saveParams({ row, work, delayMs }: PlannedSave): unknown[] {
  return [
    row.inboxId,
    row.callId,
    JSON.stringify(row.events),
    JSON.stringify(row.state),
    row.final,
    row.targetRevision,
    row.contentHash,
    row.emittedRevision,
    work,
    delayMs,
  ];
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

const COLUMNS = 'inbox_id, call_id, events, state, final, target_revision, content_hash, emitted_revision';
const SELECT = `SELECT ${COLUMNS} FROM voice_calls`;

function toRow(r: Record<string, unknown>): CallRow {
  return {
    inboxId: r.inbox_id as string,
    callId: r.call_id as string,
    events: r.events as CallRow['events'],
    state: r.state as CallState,
    final: r.final as boolean,
    targetRevision: r.target_revision as number | null,
    contentHash: r.content_hash as string | null,
    emittedRevision: r.emitted_revision as number | null,
  };
}
