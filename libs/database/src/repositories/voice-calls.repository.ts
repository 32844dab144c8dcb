import { Inject, Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { Db, execute, maybeOne, one, ping, rows } from '../sql/db';
import { Sql, sql } from '../sql/sql';

/** A voice_calls row as voice-service folds it; `events` and `state` are voice-service's JSON. */
export interface VoiceCallRow {
  inbox_id: string;
  call_id: string;
  events: unknown[];
  state: Record<string, unknown>;
  final: boolean;
  target_revision: number | null;
  content_hash: string | null;
  emitted_revision: number | null;
}

/** A row with the version it was read at (its xmin), for a write that applies only to that version. */
export interface VersionedVoiceCallRow extends VoiceCallRow {
  version: string;
}

/** The whole voice_calls row, as `SELECT *` returns it (test kits' assertions). */
export interface VoiceCallRecord extends VoiceCallRow {
  provider: 'twilio' | 'pbx';
  next_work_at: Date | null;
  created_at: Date;
  updated_at: Date;
}

/** What a save writes, and whether (and after how long) the sweep must look at the row again. */
export interface VoiceCallSave {
  inboxId: string;
  callId: string;
  events: readonly unknown[];
  state: unknown;
  final: boolean;
  targetRevision: number | null;
  contentHash: string | null;
  emittedRevision: number | null;
  work: boolean;
  delayMs: number;
}

const COLUMNS = sql.raw('inbox_id, call_id, events, state, final, target_revision, content_hash, emitted_revision');

const nextWorkAt = (s: VoiceCallSave): Sql =>
  sql`CASE WHEN ${s.work}::boolean THEN now() + make_interval(secs => ${s.delayMs}::float8 / 1000) END`;

const saveSet = (s: VoiceCallSave): Sql =>
  sql`events = ${JSON.stringify(s.events)}, state = ${JSON.stringify(s.state)}, final = ${s.final},
      target_revision = ${s.targetRevision}, content_hash = ${s.contentHash}, emitted_revision = ${s.emittedRevision},
      next_work_at = ${nextWorkAt(s)}, updated_at = now()`;

/**
 * Phone calls' state as the provider reports it, until the call is logged on a ticket.
 * Tables: voice_calls. The webhook's hot path: every statement is on the primary key and prepared.
 */
@Injectable()
export class VoiceCallRepository {
  constructor(@Inject(DataSource) private readonly db: Db) {}

  /** The same repository on a transaction's manager. */
  with(db: Db): VoiceCallRepository {
    return new VoiceCallRepository(db);
  }

  find(inboxId: string, callId: string): Promise<VoiceCallRow | undefined> {
    return maybeOne<VoiceCallRow>(
      this.db,
      sql`SELECT ${COLUMNS} FROM voice_calls WHERE inbox_id = ${inboxId} AND call_id = ${callId}`.named(
        'oq_voice_call_find',
      ),
    );
  }

  /** The row with its version (xmin), read without a lock for an optimistic write. */
  findVersioned(inboxId: string, callId: string): Promise<VersionedVoiceCallRow | undefined> {
    return maybeOne<VersionedVoiceCallRow>(
      this.db,
      sql`SELECT xmin::text AS version, ${COLUMNS} FROM voice_calls
           WHERE inbox_id = ${inboxId} AND call_id = ${callId}`.named('oq_voice_call_find_versioned'),
    );
  }

  /** Saves only if the row is still at `version` (autocommitted, no lock); whether it was. */
  async saveIfVersion(s: VoiceCallSave, version: string): Promise<boolean> {
    const n = await execute(
      this.db,
      sql`UPDATE voice_calls SET ${saveSet(s)}
           WHERE inbox_id = ${s.inboxId} AND call_id = ${s.callId} AND xmin = ${version}::text::xid`.named(
        'oq_voice_call_save_if_version',
      ),
    );
    return n > 0;
  }

  /** Creates the row as saved unless it exists (a concurrent first event); whether it did. */
  async insertIfAbsent(s: VoiceCallSave, provider: string): Promise<boolean> {
    const n = await execute(
      this.db,
      sql`INSERT INTO voice_calls (inbox_id, call_id, events, state, final, target_revision, content_hash,
                                   emitted_revision, next_work_at, provider)
          VALUES (${s.inboxId}, ${s.callId}, ${JSON.stringify(s.events)}, ${JSON.stringify(s.state)}, ${s.final},
                  ${s.targetRevision}, ${s.contentHash}, ${s.emittedRevision}, ${nextWorkAt(s)}, ${provider})
          ON CONFLICT (inbox_id, call_id) DO NOTHING`.named('oq_voice_call_insert'),
    );
    return n > 0;
  }

  /**
   * One round trip creates the row if needed, takes its lock and reads it (ON CONFLICT DO UPDATE
   * locks the existing row like SELECT … FOR UPDATE), until the caller's transaction ends.
   */
  createOrLock(inboxId: string, callId: string, provider: string): Promise<VoiceCallRow> {
    return one<VoiceCallRow>(
      this.db,
      sql`INSERT INTO voice_calls AS c (inbox_id, call_id, provider) VALUES (${inboxId}, ${callId}, ${provider})
          ON CONFLICT (inbox_id, call_id) DO UPDATE SET provider = c.provider
          RETURNING ${COLUMNS}`.named('oq_voice_call_create_or_lock'),
    );
  }

  /** The row, locked until the caller's transaction ends. */
  lock(inboxId: string, callId: string): Promise<VoiceCallRow | undefined> {
    return maybeOne<VoiceCallRow>(
      this.db,
      sql`SELECT ${COLUMNS} FROM voice_calls WHERE inbox_id = ${inboxId} AND call_id = ${callId} FOR UPDATE`.named(
        'oq_voice_call_lock',
      ),
    );
  }

  /** Saves a row the caller holds locked. */
  async save(s: VoiceCallSave): Promise<void> {
    await execute(
      this.db,
      sql`UPDATE voice_calls SET ${saveSet(s)} WHERE inbox_id = ${s.inboxId} AND call_id = ${s.callId}`.named(
        'oq_voice_call_save',
      ),
    );
  }

  /**
   * Records that `revision`, built from content `sentHash`, is on the inbound queue. One statement,
   * no explicit lock: if the content changed meanwhile (content_hash is always the latest), the next
   * revision is owed at once (the sweep looks again after `graceMs`); otherwise the row keeps its
   * next_work_at only while a recording is still pending.
   */
  async markEmitted(
    inboxId: string,
    callId: string,
    emitted: { revision: number; sentHash: string; recordingStillPending: boolean },
    graceMs: number,
  ): Promise<void> {
    const { revision, sentHash } = emitted;
    await execute(
      this.db,
      sql`UPDATE voice_calls
             SET emitted_revision = GREATEST(COALESCE(emitted_revision, -1), ${revision}::int),
                 target_revision = CASE WHEN content_hash <> ${sentHash}::text
                                        THEN GREATEST(target_revision, ${revision}::int + 1) ELSE target_revision END,
                 next_work_at = CASE
                   WHEN content_hash <> ${sentHash}::text OR target_revision > ${revision}::int
                     THEN now() + make_interval(secs => ${graceMs}::float8 / 1000)
                   WHEN ${emitted.recordingStillPending}::boolean THEN next_work_at
                 END,
                 updated_at = now()
           WHERE inbox_id = ${inboxId} AND call_id = ${callId}`.named('oq_voice_call_mark_emitted'),
    );
  }

  /** Calls whose work is due (voice_calls_work_idx), earliest first. */
  due(limit: number): Promise<{ inbox_id: string; call_id: string }[]> {
    return rows<{ inbox_id: string; call_id: string }>(
      this.db,
      sql`SELECT inbox_id, call_id FROM voice_calls WHERE next_work_at <= now() ORDER BY next_work_at LIMIT ${limit}`,
    );
  }

  /** A round trip to Postgres; throws when it does not answer. */
  async ping(): Promise<void> {
    await ping(this.db);
  }
}
