import { Inject, Injectable } from '@nestjs/common';
import type {
  Clock,
  ClockEvent,
  ClockEventKind,
  ClockRow,
  ClockStateName,
  PolicyConditions,
  PolicyTargets,
  Schedule,
  SlaMetricName,
} from '@oq/sla';
import { DataSource } from 'typeorm';
import { Db, execute, maybeOne, one, rows } from '../sql/db';
import { sql } from '../sql/sql';

/** A schedule as the admin API stores it (validated by the caller). */
export interface SlaScheduleInput {
  name: string;
  timezone: string;
  weekly: Schedule['weekly'];
  holidays: Schedule['holidays'];
}

export interface SlaScheduleView extends SlaScheduleInput {
  id: string;
  createdAt: Date;
  updatedAt: Date;
}

/** Commands per escalation stage, as stored; sla-worker validates them when it fires. */
export interface SlaEscalation {
  warning?: readonly unknown[];
  breach?: readonly unknown[];
}

/** A policy as the admin API stores it (validated by the caller). */
export interface SlaPolicyInput {
  name: string;
  /** Evaluation order; omitted → after the last active policy. */
  position?: number;
  conditions: PolicyConditions;
  targets: PolicyTargets;
  scheduleId: string | null;
  warningPercent: number | null;
  escalation: SlaEscalation;
  active: boolean;
}

/** A stored policy: what was given, with its id, its position and when it changed. */
export interface SlaPolicyView extends Required<SlaPolicyInput> {
  id: string;
  createdAt: Date;
  updatedAt: Date;
}

/** A policy's schedule calendar as joined onto a row (null columns: the policy has no schedule). */
export interface JoinedScheduleColumns {
  timezone: string | null;
  weekly: Schedule['weekly'] | null;
  holidays: Schedule['holidays'] | null;
}

/** An active policy with its schedule's calendar, as the clocks match them. */
export interface ActiveSlaPolicyRow extends JoinedScheduleColumns {
  id: string;
  position: number;
  conditions: PolicyConditions;
  targets: PolicyTargets;
  schedule_id: string | null;
  warning_percent: number | null;
}

/** The ticket facts a policy matches on, read under the ticket's row lock. */
export interface SlaTicketRow {
  id: string;
  status: string;
  priority: string;
  channel: string;
  inbox_id: string | null;
  team_id: string;
  assignee_id: string | null;
  tags: string[];
  category_id: string | null;
  type: string;
  /** Whether first_reply ever ran on this ticket. */
  ever: boolean;
}

/** A running clock due for a warning or breach, with what firing needs of its ticket, policy and schedule. */
export interface DueClockRow extends ClockRow, JoinedScheduleColumns {
  team_id: string;
  assignee_id: string | null;
  escalation: SlaEscalation | null;
}

/** The latest clock of a metric, as far as timers care. */
export interface SlaTimerRow {
  ticket_id: string;
  metric: SlaMetricName;
  state: ClockStateName;
  due_at: Date | null;
  warn_at: Date | null;
  warned_at: Date | null;
  breached_at: Date | null;
}

/** A clock in the admin trail. */
export interface SlaClockView {
  id: string;
  metric: SlaMetricName;
  policyId: string | null;
  state: ClockStateName;
  businessTime: boolean;
  targetSeconds: number;
  startedAt: Date;
  dueAt: Date | null;
  warnAt: Date | null;
  warnedAt: Date | null;
  pausedAt: Date | null;
  pausedSeconds: number;
  fulfilledAt: Date | null;
  breachedAt: Date | null;
}

export interface SlaTrailEventView {
  slaId: string;
  kind: ClockEventKind;
  at: Date;
  businessSeconds: number | null;
  calendarSeconds: number | null;
  data: Record<string, unknown>;
}

const SCHEDULE_VIEW = sql.raw(
  `id, name, timezone, weekly, holidays, created_at AS "createdAt", updated_at AS "updatedAt"`,
);
const POLICY_VIEW = sql.raw(`id, name, position, conditions, targets, schedule_id AS "scheduleId",
  warning_percent AS "warningPercent", escalation, active, created_at AS "createdAt", updated_at AS "updatedAt"`);

/**
 * A ClockRow's columns, listed rather than `*`: a prepared statement's result columns are fixed at
 * prepare time, and a column a later migration adds must not break the connections that prepared it.
 */
const CLOCK_ROW = (a: 's' | 'ticket_sla') =>
  sql.raw(`${a}.id, ${a}.ticket_id, ${a}.metric, ${a}.policy_id, ${a}.state, ${a}.business_time, ${a}.target_seconds,
    ${a}.started_at, ${a}.due_at, ${a}.warn_at, ${a}.warned_at, ${a}.paused_at, ${a}.paused_seconds, ${a}.fulfilled_at,
    ${a}.breached_at`);

const date = (n: number | null): Date | null => (n === null ? null : new Date(n));

/**
 * SLA schedules and policies, each ticket's clocks, and their trail.
 * Tables: sla_schedules, sla_policies, ticket_sla, ticket_sla_events.
 *
 * The clock statements run in every ingest transaction that moves a clock and in every timer
 * sla-worker fires: hand-written, prepared (`named`), on the indexes named at each.
 */
@Injectable()
export class SlaRepository {
  constructor(@Inject(DataSource) private readonly db: Db) {}

  /** The same repository on a transaction's manager. */
  with(db: Db): SlaRepository {
    return new SlaRepository(db);
  }

  // ---- schedules (admin) ----

  insertSchedule(s: SlaScheduleInput): Promise<SlaScheduleView> {
    return one<SlaScheduleView>(
      this.db,
      sql`INSERT INTO sla_schedules (name, timezone, weekly, holidays)
          VALUES (${s.name}, ${s.timezone}, ${JSON.stringify(s.weekly)}::jsonb, ${JSON.stringify(s.holidays)}::jsonb)
          RETURNING ${SCHEDULE_VIEW}`,
    );
  }

  listSchedules(): Promise<SlaScheduleView[]> {
    return rows<SlaScheduleView>(this.db, sql`SELECT ${SCHEDULE_VIEW} FROM sla_schedules ORDER BY name`);
  }

  findSchedule(id: string): Promise<SlaScheduleView | undefined> {
    return maybeOne<SlaScheduleView>(this.db, sql`SELECT ${SCHEDULE_VIEW} FROM sla_schedules WHERE id = ${id}`);
  }

  /** The schedule as replaced; undefined when it is gone. */
  updateSchedule(id: string, s: SlaScheduleInput): Promise<SlaScheduleView | undefined> {
    return maybeOne<SlaScheduleView>(
      this.db,
      sql`UPDATE sla_schedules SET name = ${s.name}, timezone = ${s.timezone}, weekly = ${JSON.stringify(s.weekly)}::jsonb,
                 holidays = ${JSON.stringify(s.holidays)}::jsonb, updated_at = now()
           WHERE id = ${id} RETURNING ${SCHEDULE_VIEW}`,
    );
  }

  /** How many policies (active or not) use the schedule. */
  async countPoliciesOnSchedule(id: string): Promise<number> {
    const row = await one<{ n: number }>(
      this.db,
      sql`SELECT count(*)::int AS n FROM sla_policies WHERE schedule_id = ${id}`,
    );
    return row.n;
  }

  async deleteSchedule(id: string): Promise<void> {
    await execute(this.db, sql`DELETE FROM sla_schedules WHERE id = ${id}`);
  }

  // ---- policies (admin) ----

  /**
   * Serialises position assignment between concurrent admin edits (and the demo seed) until the
   * caller's transaction ends: "after the last active one" must not be computed twice alike.
   */
  async lockPolicyPositions(): Promise<void> {
    await execute(this.db, sql`SELECT pg_advisory_xact_lock(hashtext('sla_policies_position'))`);
  }

  /**
   * Stores a policy at `p.position`, or after the active ones. Takes the position lock, so call it
   * in a transaction.
   */
  async insertPolicy(p: SlaPolicyInput): Promise<SlaPolicyView> {
    await this.lockPolicyPositions();
    const position = p.position ?? (await this.nextPolicyPosition());
    return one<SlaPolicyView>(
      this.db,
      sql`INSERT INTO sla_policies (name, conditions, targets, schedule_id, warning_percent, escalation, active, position)
          VALUES (${p.name}, ${JSON.stringify(p.conditions)}::jsonb, ${JSON.stringify(p.targets)}::jsonb, ${p.scheduleId},
                  ${p.warningPercent}, ${JSON.stringify(p.escalation)}::jsonb, ${p.active}, ${position})
          RETURNING ${POLICY_VIEW}`,
    );
  }

  /** The position after the last active policy. */
  async nextPolicyPosition(): Promise<number> {
    const row = await one<{ position: number }>(
      this.db,
      sql`SELECT coalesce(max(position) + 1, 0) AS position FROM sla_policies WHERE active`,
    );
    return row.position;
  }

  async policyPosition(id: string): Promise<number> {
    const row = await one<{ position: number }>(this.db, sql`SELECT position FROM sla_policies WHERE id = ${id}`);
    return row.position;
  }

  /** The policy as replaced (at `position`); undefined when it is gone. */
  updatePolicy(id: string, p: SlaPolicyInput, position: number): Promise<SlaPolicyView | undefined> {
    return maybeOne<SlaPolicyView>(
      this.db,
      sql`UPDATE sla_policies SET name = ${p.name}, conditions = ${JSON.stringify(p.conditions)}::jsonb,
                 targets = ${JSON.stringify(p.targets)}::jsonb, schedule_id = ${p.scheduleId},
                 warning_percent = ${p.warningPercent}, escalation = ${JSON.stringify(p.escalation)}::jsonb,
                 active = ${p.active}, position = ${position}, updated_at = now()
           WHERE id = ${id} RETURNING ${POLICY_VIEW}`,
    );
  }

  /** Active ones first, in evaluation order. */
  listPolicies(): Promise<SlaPolicyView[]> {
    return rows<SlaPolicyView>(
      this.db,
      sql`SELECT ${POLICY_VIEW} FROM sla_policies ORDER BY active DESC, position, created_at`,
    );
  }

  findPolicy(id: string): Promise<SlaPolicyView | undefined> {
    return maybeOne<SlaPolicyView>(this.db, sql`SELECT ${POLICY_VIEW} FROM sla_policies WHERE id = ${id}`);
  }

  /** Whether any clock (of any state) refers to the policy. */
  async policyInUse(id: string): Promise<boolean> {
    const row = await one<{ used: boolean }>(
      this.db,
      sql`SELECT EXISTS (SELECT 1 FROM ticket_sla WHERE policy_id = ${id}) AS used`,
    );
    return row.used;
  }

  async deactivatePolicy(id: string): Promise<void> {
    await execute(this.db, sql`UPDATE sla_policies SET active = false, updated_at = now() WHERE id = ${id}`);
  }

  async deletePolicy(id: string): Promise<void> {
    await execute(this.db, sql`DELETE FROM sla_policies WHERE id = ${id}`);
  }

  // ---- the admin trail ----

  /** A ticket's clocks, oldest first. */
  clocksOfTicket(ticketId: string): Promise<SlaClockView[]> {
    return rows<SlaClockView>(
      this.db,
      sql`SELECT id, metric, policy_id AS "policyId", state, business_time AS "businessTime",
                 target_seconds AS "targetSeconds", started_at AS "startedAt", due_at AS "dueAt", warn_at AS "warnAt",
                 warned_at AS "warnedAt", paused_at AS "pausedAt", paused_seconds AS "pausedSeconds",
                 fulfilled_at AS "fulfilledAt", breached_at AS "breachedAt"
            FROM ticket_sla WHERE ticket_id = ${ticketId} ORDER BY created_at, id`,
    );
  }

  /** The trail events of these clocks, in the order they were written (ticket_sla_events_sla_idx). */
  trailOf(clockIds: readonly string[]): Promise<SlaTrailEventView[]> {
    return rows<SlaTrailEventView>(
      this.db,
      sql`SELECT ticket_sla_id AS "slaId", kind, at, business_seconds AS "businessSeconds",
                 calendar_seconds AS "calendarSeconds", data
            FROM ticket_sla_events WHERE ticket_sla_id = ANY(${clockIds}::uuid[]) ORDER BY id`,
    );
  }

  // ---- clocks (ticket-service, inside the transaction of the change that moves them) ----

  /** Few active policies (an admin-curated list): the caller reads them all and matches in memory. */
  activePolicies(): Promise<ActiveSlaPolicyRow[]> {
    return rows<ActiveSlaPolicyRow>(
      this.db,
      sql`SELECT p.id, p.position, p.conditions, p.targets, p.schedule_id, p.warning_percent,
                 s.timezone, s.weekly, s.holidays
            FROM sla_policies p LEFT JOIN sla_schedules s ON s.id = p.schedule_id
           WHERE p.active ORDER BY p.position`.named('oq_sla_active_policies'),
    );
  }

  /**
   * The ticket's facts, locked FOR NO KEY UPDATE: serialises clock changes per ticket (two first
   * messages must not both start first_reply). A tickets row, read here because this lock is the
   * SLA clock's, taken before the clocks' own.
   */
  lockTicket(ticketId: string): Promise<SlaTicketRow | undefined> {
    return maybeOne<SlaTicketRow>(
      this.db,
      sql`SELECT t.id, t.status, t.priority, t.channel, t.inbox_id, t.team_id, t.assignee_id, t.tags, t.category_id,
                 t.type, EXISTS (SELECT 1 FROM ticket_sla s WHERE s.ticket_id = t.id AND s.metric = 'first_reply') AS ever
            FROM tickets t WHERE t.id = ${ticketId} FOR NO KEY UPDATE OF t`.named('oq_sla_ticket_lock'),
    );
  }

  /**
   * The ticket's clocks still in play (running, or breached and not yet fulfilled), oldest first,
   * locked: sla-worker takes the same row locks before it warns or breaches, so the two never interleave.
   */
  lockOpenClocks(ticketId: string): Promise<ClockRow[]> {
    return rows<ClockRow>(
      this.db,
      sql`SELECT ${CLOCK_ROW('ticket_sla')} FROM ticket_sla
           WHERE ticket_id = ${ticketId}
             AND (state IN ('active', 'paused') OR (state = 'breached' AND fulfilled_at IS NULL))
           ORDER BY created_at FOR UPDATE`.named('oq_sla_clocks_lock'),
    );
  }

  /** A new clock instance of the ticket; its id. */
  async insertClock(ticketId: string, c: Clock): Promise<string> {
    const row = await one<{ id: string }>(
      this.db,
      sql`INSERT INTO ticket_sla (ticket_id, metric, policy_id, state, business_time, target_seconds, started_at,
                                  due_at, warn_at, warned_at, paused_at, paused_seconds, fulfilled_at, breached_at)
          VALUES (${ticketId}, ${c.metric}, ${c.policyId}, ${c.state}, ${c.businessTime}, ${c.targetSeconds},
                  ${new Date(c.startedAt)}, ${date(c.dueAt)}, ${date(c.warnAt)}, ${date(c.warnedAt)},
                  ${date(c.pausedAt)}, ${c.pausedSeconds}, ${date(c.fulfilledAt)}, ${date(c.breachedAt)})
          RETURNING id`.named('oq_sla_clock_insert'),
    );
    return row.id;
  }

  /** Writes a clock's state back to its row, bumping its version (the caller holds the row lock). */
  async updateClock(id: string, c: Clock): Promise<void> {
    await execute(
      this.db,
      sql`UPDATE ticket_sla
             SET metric = ${c.metric}, policy_id = ${c.policyId}, state = ${c.state}, business_time = ${c.businessTime},
                 target_seconds = ${c.targetSeconds}, started_at = ${new Date(c.startedAt)}, due_at = ${date(c.dueAt)},
                 warn_at = ${date(c.warnAt)}, warned_at = ${date(c.warnedAt)}, paused_at = ${date(c.pausedAt)},
                 paused_seconds = ${c.pausedSeconds}, fulfilled_at = ${date(c.fulfilledAt)},
                 breached_at = ${date(c.breachedAt)}, version = version + 1, updated_at = now()
           WHERE id = ${id}`.named('oq_sla_clock_update'),
    );
  }

  /**
   * Appends trail events of one clock instance (the trail is insert-only), in the order given: the
   * trail is read back by id. Arrays so the text is one prepared statement whatever the count.
   */
  async appendTrail(clockId: string, events: readonly ClockEvent[]): Promise<void> {
    if (!events.length) return;
    await execute(
      this.db,
      sql`INSERT INTO ticket_sla_events (ticket_sla_id, kind, at, business_seconds, calendar_seconds, data)
          SELECT ${clockId}::uuid, kind, at, business_seconds, calendar_seconds, data
            FROM unnest(${events.map((e) => e.kind)}::text[], ${events.map((e) => new Date(e.at))}::timestamptz[],
                        ${events.map((e) => e.businessSeconds)}::int[], ${events.map((e) => e.calendarSeconds)}::int[],
                        ${events.map((e) => JSON.stringify(e.data))}::jsonb[])
                 WITH ORDINALITY AS e(kind, at, business_seconds, calendar_seconds, data, n)
           ORDER BY n`.named('oq_sla_trail_insert'),
    );
  }

  /**
   * Sets the ticket's next_due_at, which the queue orders by: the earliest due of clocks still
   * waiting (breached ones sort first). A tickets column, but derived from the clocks alone.
   */
  async refreshNextDue(ticketId: string): Promise<void> {
    await execute(
      this.db,
      sql`UPDATE tickets SET next_due_at = (
            SELECT min(due_at) FROM ticket_sla
             WHERE ticket_id = ${ticketId} AND fulfilled_at IS NULL AND state IN ('active', 'breached'))
           WHERE id = ${ticketId}`.named('oq_sla_next_due'),
    );
  }

  // ---- the set-based ingest batch: the same statements for many tickets at once ----

  /** lockTicket for the batch's tickets, in id order (the batch already holds their row locks). */
  lockTickets(ticketIds: string[]): Promise<SlaTicketRow[]> {
    return rows<SlaTicketRow>(
      this.db,
      sql`SELECT t.id, t.status, t.priority, t.channel, t.inbox_id, t.team_id, t.assignee_id, t.tags, t.category_id,
                 t.type, EXISTS (SELECT 1 FROM ticket_sla s WHERE s.ticket_id = t.id AND s.metric = 'first_reply') AS ever
            FROM tickets t WHERE t.id = ANY(${ticketIds}::uuid[])
           ORDER BY t.id FOR NO KEY UPDATE OF t`.named('oq_sla_tickets_lock'),
    );
  }

  /** lockOpenClocks for many tickets: by ticket, oldest first, locked in that order. */
  lockOpenClocksOf(ticketIds: string[]): Promise<ClockRow[]> {
    return rows<ClockRow>(
      this.db,
      sql`SELECT ${CLOCK_ROW('ticket_sla')} FROM ticket_sla
           WHERE ticket_id = ANY(${ticketIds}::uuid[])
             AND (state IN ('active', 'paused') OR (state = 'breached' AND fulfilled_at IS NULL))
           ORDER BY ticket_id, created_at FOR UPDATE`.named('oq_sla_clocks_lock_many'),
    );
  }

  /** New clock instances with ids the caller made (so their trail can name them in the same batch). */
  async insertClocks(clocks: { id: string; ticketId: string; clock: Clock }[]): Promise<void> {
    if (!clocks.length) return;
    const c = clocks.map((x) => x.clock);
    await execute(
      this.db,
      sql`INSERT INTO ticket_sla (id, ticket_id, metric, policy_id, state, business_time, target_seconds, started_at,
                                  due_at, warn_at, warned_at, paused_at, paused_seconds, fulfilled_at, breached_at)
          SELECT * FROM unnest(${clocks.map((x) => x.id)}::uuid[], ${clocks.map((x) => x.ticketId)}::uuid[],
            ${c.map((x) => x.metric)}::text[], ${c.map((x) => x.policyId)}::uuid[], ${c.map((x) => x.state)}::text[],
            ${c.map((x) => x.businessTime)}::bool[], ${c.map((x) => x.targetSeconds)}::int[],
            ${c.map((x) => new Date(x.startedAt))}::timestamptz[], ${c.map((x) => date(x.dueAt))}::timestamptz[],
            ${c.map((x) => date(x.warnAt))}::timestamptz[], ${c.map((x) => date(x.warnedAt))}::timestamptz[],
            ${c.map((x) => date(x.pausedAt))}::timestamptz[], ${c.map((x) => x.pausedSeconds)}::int[],
            ${c.map((x) => date(x.fulfilledAt))}::timestamptz[], ${c.map((x) => date(x.breachedAt))}::timestamptz[])`.named(
        'oq_sla_clocks_insert',
      ),
    );
  }

  /** updateClock for many clocks (the caller holds their row locks). */
  async updateClocks(clocks: { id: string; clock: Clock }[]): Promise<void> {
    if (!clocks.length) return;
    const c = clocks.map((x) => x.clock);
    await execute(
      this.db,
      sql`UPDATE ticket_sla s
             SET metric = x.metric, policy_id = x.policy_id, state = x.state, business_time = x.business_time,
                 target_seconds = x.target_seconds, started_at = x.started_at, due_at = x.due_at, warn_at = x.warn_at,
                 warned_at = x.warned_at, paused_at = x.paused_at, paused_seconds = x.paused_seconds,
                 fulfilled_at = x.fulfilled_at, breached_at = x.breached_at, version = s.version + 1, updated_at = now()
            FROM unnest(${clocks.map((x) => x.id)}::uuid[], ${c.map((x) => x.metric)}::text[],
              ${c.map((x) => x.policyId)}::uuid[], ${c.map((x) => x.state)}::text[], ${c.map((x) => x.businessTime)}::bool[],
              ${c.map((x) => x.targetSeconds)}::int[], ${c.map((x) => new Date(x.startedAt))}::timestamptz[],
              ${c.map((x) => date(x.dueAt))}::timestamptz[], ${c.map((x) => date(x.warnAt))}::timestamptz[],
              ${c.map((x) => date(x.warnedAt))}::timestamptz[], ${c.map((x) => date(x.pausedAt))}::timestamptz[],
              ${c.map((x) => x.pausedSeconds)}::int[], ${c.map((x) => date(x.fulfilledAt))}::timestamptz[],
              ${c.map((x) => date(x.breachedAt))}::timestamptz[])
                 AS x(id, metric, policy_id, state, business_time, target_seconds, started_at, due_at, warn_at,
                      warned_at, paused_at, paused_seconds, fulfilled_at, breached_at)
           WHERE s.id = x.id`.named('oq_sla_clocks_update'),
    );
  }

  /** appendTrail for many clocks: every event with its clock's id, in the order given. */
  async appendTrails(events: { clockId: string; event: ClockEvent }[]): Promise<void> {
    if (!events.length) return;
    const e = events.map((x) => x.event);
    await execute(
      this.db,
      sql`INSERT INTO ticket_sla_events (ticket_sla_id, kind, at, business_seconds, calendar_seconds, data)
          SELECT clock_id, kind, at, business_seconds, calendar_seconds, data
            FROM unnest(${events.map((x) => x.clockId)}::uuid[], ${e.map((x) => x.kind)}::text[],
                        ${e.map((x) => new Date(x.at))}::timestamptz[], ${e.map((x) => x.businessSeconds)}::int[],
                        ${e.map((x) => x.calendarSeconds)}::int[], ${e.map((x) => JSON.stringify(x.data))}::jsonb[])
                 WITH ORDINALITY AS e(clock_id, kind, at, business_seconds, calendar_seconds, data, n)
           ORDER BY n`.named('oq_sla_trails_insert'),
    );
  }

  /** refreshNextDue for many tickets. */
  async refreshNextDues(ticketIds: string[]): Promise<void> {
    if (!ticketIds.length) return;
    await execute(
      this.db,
      sql`UPDATE tickets t SET next_due_at = (
            SELECT min(due_at) FROM ticket_sla
             WHERE ticket_id = t.id AND fulfilled_at IS NULL AND state IN ('active', 'breached'))
           WHERE t.id = ANY(${ticketIds}::uuid[])`.named('oq_sla_next_dues'),
    );
  }

  // ---- sla-worker: timers, firing, reconciler ----

  /**
   * The running clock of the ticket's metric with its ticket, policy and schedule, re-read under
   * `FOR UPDATE OF s`: two replicas, a late timer, a duplicate timer and the reconciler serialise
   * on it, and only the first one that finds the clock still due acts. ticket-service takes the
   * same row lock when it moves clocks, so an answer and a breach never interleave.
   */
  lockRunningClock(ticketId: string, metric: SlaMetricName): Promise<DueClockRow | undefined> {
    return maybeOne<DueClockRow>(
      this.db,
      sql`SELECT ${CLOCK_ROW('s')}, t.team_id, t.assignee_id, p.warning_percent, p.escalation, sc.timezone, sc.weekly, sc.holidays
            FROM ticket_sla s
            JOIN tickets t ON t.id = s.ticket_id
            LEFT JOIN sla_policies p ON p.id = s.policy_id
            LEFT JOIN sla_schedules sc ON sc.id = p.schedule_id
           WHERE s.ticket_id = ${ticketId} AND s.metric = ${metric} AND s.state = 'active'
           FOR UPDATE OF s`.named('oq_sla_fire_lock'),
    );
  }

  /**
   * lockRunningClock for many (ticket, metric) pairs at once (distinct pairs), locked in
   * (ticket_id, created_at) order — the order ticket-service's clock locks take — so two batches,
   * or a batch and a clock change, wait on each other instead of deadlocking.
   */
  lockRunningClocks(keys: readonly { ticketId: string; metric: SlaMetricName }[]): Promise<DueClockRow[]> {
    return rows<DueClockRow>(
      this.db,
      sql`SELECT ${CLOCK_ROW('s')}, t.team_id, t.assignee_id, p.warning_percent, p.escalation, sc.timezone, sc.weekly, sc.holidays
            FROM unnest(${keys.map((k) => k.ticketId)}::uuid[], ${keys.map((k) => k.metric)}::text[]) AS k(ticket_id, metric)
            JOIN ticket_sla s ON s.ticket_id = k.ticket_id AND s.metric = k.metric AND s.state = 'active'
            JOIN tickets t ON t.id = s.ticket_id
            LEFT JOIN sla_policies p ON p.id = s.policy_id
            LEFT JOIN sla_schedules sc ON sc.id = p.schedule_id
           ORDER BY s.ticket_id, s.created_at
           FOR UPDATE OF s`.named('oq_sla_fire_lock_many'),
    );
  }

  /** latestClocks for many tickets (ticket_sla_ticket_idx), by ticket. */
  latestClocksOf(ticketIds: readonly string[]): Promise<SlaTimerRow[]> {
    return rows<SlaTimerRow>(
      this.db,
      sql`SELECT DISTINCT ON (ticket_id, metric) ticket_id, metric, state, due_at, warn_at, warned_at, breached_at
            FROM ticket_sla WHERE ticket_id = ANY(${ticketIds}::uuid[])
           ORDER BY ticket_id, metric, created_at DESC`.named('oq_sla_latest_clocks_many'),
    );
  }

  /** The latest instance per metric of the ticket's clocks (ticket_sla_ticket_idx). */
  latestClocks(ticketId: string): Promise<SlaTimerRow[]> {
    return rows<SlaTimerRow>(
      this.db,
      sql`SELECT DISTINCT ON (metric) ticket_id, metric, state, due_at, warn_at, warned_at, breached_at
            FROM ticket_sla WHERE ticket_id = ${ticketId} ORDER BY metric, created_at DESC`.named(
        'oq_sla_latest_clocks',
      ),
    );
  }

  /**
   * Running clocks whose breach or warning is overdue, up to `limit` of each, earliest first. Two
   * index range scans (ticket_sla_due_idx / ticket_sla_warn_idx, both partial on state = 'active')
   * rather than one OR, which would scan every active clock.
   */
  overdue(limit: number): Promise<{ ticket_id: string; metric: SlaMetricName }[]> {
    return rows<{ ticket_id: string; metric: SlaMetricName }>(
      this.db,
      sql`(SELECT ticket_id, metric FROM ticket_sla WHERE state = 'active' AND due_at <= now() ORDER BY due_at LIMIT ${limit})
          UNION
          (SELECT ticket_id, metric FROM ticket_sla WHERE state = 'active' AND warned_at IS NULL AND warn_at <= now()
            ORDER BY warn_at LIMIT ${limit})`,
    );
  }

  /**
   * Running clocks due within `horizonSeconds`, after (`afterDueAt`, `afterId`) in (due_at, id) order:
   * keyset pages on ticket_sla_due_idx, so a page costs the same however far the scan went.
   */
  dueWithin(
    horizonSeconds: number,
    after: { dueAt: Date; id: string },
    limit: number,
  ): Promise<(SlaTimerRow & { id: string })[]> {
    return rows<SlaTimerRow & { id: string }>(
      this.db,
      sql`SELECT id, ticket_id, metric, state, due_at, warn_at, warned_at, breached_at FROM ticket_sla
           WHERE state = 'active' AND due_at <= now() + make_interval(secs => ${horizonSeconds})
             AND (due_at, id) > (${after.dueAt}, ${after.id})
           ORDER BY due_at, id LIMIT ${limit}`,
    );
  }
}
