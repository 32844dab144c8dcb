import { Inject, Injectable } from '@nestjs/common';
import {
  buildJob,
  JobName,
  QueueName,
  SlaMetric,
  TicketCommand,
  TicketCommandAction,
  ticketEventEntry,
} from '@oq/contracts';
import { Batcher, CONFIG, LOGGER, MetricsService } from '@oq/platform';
import { DueClockRow, OutboxJob, OutboxRepository, SlaRepository } from '@oq/database';
import { check, Clock, ClockEvent, clockFromRow, measuresFor } from '@oq/sla';
import { Logger } from 'pino';
import { DataSource } from 'typeorm';
import { z } from 'zod';
import { Config } from '../config';

export interface FireResult {
  warned: boolean;
  breached: boolean;
  /** The clock is still running but not due yet: when it is. */
  notDueUntil: number | null;
}

const Actions = z.array(TicketCommandAction);

/** One timer (or reconciler find) to act on; `now` defaults to when its batch runs. */
export interface FireRequest {
  ticketId: string;
  metric: SlaMetric;
  now?: number;
}

/**
 * Records warnings and breaches. sla-worker owns SLA timers: it reads and writes
 * `ticket_sla` / `ticket_sla_events` and writes `outbox` rows directly in
 * Postgres (the same INSERT as ticket-service's OutboxService), but never writes tickets — escalations go to ticket-service as
 * TicketCommands (through the outbox, so a command exists iff the breach committed).
 *
 * The clock row is re-read under `SELECT … FOR UPDATE`: two replicas, a late
 * timer, a duplicate timer and the reconciler serialise on it, and only the
 * first one that finds the clock still due acts. ticket-service takes the same
 * row lock when it moves clocks, so an answer and a breach never interleave.
 *
 * Timers firing side by side (the sla queue's concurrency) are fired together: the firings that
 * arrive while a batch runs share one transaction — one lock statement for all their clocks, one
 * update, one trail insert, one outbox insert — instead of six round trips and a commit each.
 */
@Injectable()
export class SlaFiringService {
  private readonly breaches;
  private readonly warnings;
  private readonly lateness;
  private readonly batcher: Batcher<FireRequest, FireResult>;

  constructor(
    private readonly ds: DataSource,
    private readonly sla: SlaRepository,
    private readonly outbox: OutboxRepository,
    metrics: MetricsService,
    @Inject(LOGGER) private readonly logger: Logger,
    @Inject(CONFIG) config: Config,
  ) {
    this.breaches = metrics.counter('oq_sla_breaches_total', 'SLA breaches recorded', ['metric']);
    this.warnings = metrics.counter('oq_sla_warnings_total', 'SLA warnings recorded', ['metric']);
    this.lateness = metrics.histogram(
      'oq_sla_breach_lateness_seconds',
      'How long after its due time a breach was recorded',
      [0.05, 0.1, 0.25, 0.5, 1, 2, 5, 30, 60, 300],
    );
    // Two batches at a time: one commits while the next locks. Both lock in the same order.
    // A clock fired twice at once (a duplicate timer) goes in the next batch, which finds it done.
    this.batcher = new Batcher({
      runMany: (items) => this.fireMany(items),
      maxBatch: config.SLA_CONCURRENCY,
      maxInFlight: 2,
      key: (r) => `${r.ticketId}|${r.metric}`,
    });
  }

  /** Warns or breaches the clock if it is due, with the firings running beside it. */
  fire(ticketId: string, metric: SlaMetric, now?: number): Promise<FireResult> {
    return this.batcher.submit({ ticketId, metric, now });
  }

  /** fire() for many clocks in one transaction, one result per request (a repeated clock acts once). */
  async fireMany(requests: FireRequest[]): Promise<FireResult[]> {
    const batchNow = Date.now();
    const outcomes = await this.ds.transaction(async (m) => {
      const sla = this.sla.with(m);
      const keys = new Map(
        requests.map((r) => [`${r.ticketId}|${r.metric}`, { ticketId: r.ticketId, metric: r.metric }]),
      );
      const held = new Map<string, { row: DueClockRow; clock: Clock }>();
      for (const row of await sla.lockRunningClocks([...keys.values()]))
        held.set(`${row.ticket_id}|${row.metric}`, { row, clock: clockFromRow(row) });
      const updates = new Map<string, { id: string; clock: Clock }>();
      const trail: { clockId: string; event: ClockEvent }[] = [];
      const entries: OutboxJob[] = [];
      const outcomes = requests.map((req) => {
        const now = req.now ?? batchNow;
        const h = held.get(`${req.ticketId}|${req.metric}`);
        // Answered, paused, solved or already breached by someone else (or earlier in this batch): nothing to do.
        if (!h || h.clock.state !== 'active') return { warned: false, breached: false, notDueUntil: null, lateMs: 0 };
        const { row, clock } = h;
        const schedule = row.timezone
          ? { timezone: row.timezone, weekly: row.weekly ?? [], holidays: row.holidays ?? [] }
          : null;
        const t = check(clock, now, measuresFor(clock.businessTime, schedule));
        if (!t.events.length) {
          const next = [clock.warnedAt === null ? clock.warnAt : null, clock.dueAt].filter(
            (x): x is number => x !== null,
          );
          return { warned: false, breached: false, notDueUntil: next.length ? Math.min(...next) : null, lateMs: 0 };
        }
        h.clock = t.clock;
        updates.set(row.id, { id: row.id, clock: t.clock });
        for (const event of t.events) trail.push({ clockId: row.id, event });
        const warned = t.events.some((e) => e.kind === 'warn');
        const breached = t.events.some((e) => e.kind === 'breach');
        entries.push(...this.announcements(row, warned, breached, t.clock.dueAt, now));
        return { warned, breached, notDueUntil: null, lateMs: breached ? now - (clock.dueAt ?? now) : 0 };
      });
      if (updates.size) {
        await sla.updateClocks([...updates.values()]);
        await sla.appendTrails(trail);
        await this.outbox.with(m).insertMany(entries);
      }
      return outcomes;
    });
    return outcomes.map((result, i) => {
      const { ticketId, metric } = requests[i];
      if (result.warned) this.warnings.inc({ metric });
      if (result.breached) {
        this.breaches.inc({ metric });
        this.lateness.observe(result.lateMs / 1000);
        this.logger.info({ ticketId, metric, lateMs: result.lateMs }, 'SLA breached');
      }
      return { warned: result.warned, breached: result.breached, notDueUntil: result.notDueUntil };
    });
  }

  /** sla.warning / sla.breached events (the relay fans them out to agents) and the policy's escalation commands. */
  private announcements(
    row: DueClockRow,
    warned: boolean,
    breached: boolean,
    dueAt: number | null,
    now: number,
  ): OutboxJob[] {
    const entries: OutboxJob[] = [];
    const stages = [...(warned ? (['warning'] as const) : []), ...(breached ? (['breach'] as const) : [])];
    for (const stage of stages) {
      entries.push(
        ticketEventEntry(
          stage === 'warning' ? 'sla.warning' : 'sla.breached',
          { id: row.ticket_id, teamId: row.team_id, assigneeId: row.assignee_id },
          { slaId: row.id, metric: row.metric, dueAt: dueAt === null ? null : new Date(dueAt).toISOString() },
          new Date(now),
        ),
      );
      const parsed = Actions.safeParse(row.escalation?.[stage] ?? []);
      if (!parsed.success) {
        this.logger.error({ policyId: row.policy_id, stage }, 'invalid escalation settings on SLA policy; skipped');
        continue;
      }
      if (!parsed.data.length) continue;
      // One command per clock instance and stage: its id makes ticket-service apply it once.
      const commandId = `sla-${row.id}-${stage}`;
      const command: TicketCommand = {
        v: 1,
        commandId,
        ticketId: row.ticket_id,
        reason: `SLA ${row.metric.replace('_', ' ')} ${stage === 'warning' ? 'warning' : 'breached'}`,
        actions: parsed.data,
        issuedAt: new Date(now).toISOString(),
      };
      entries.push({
        queue: QueueName.TicketCommands,
        jobName: JobName.TicketCommand,
        jobId: commandId,
        payload: buildJob(JobName.TicketCommand, command),
      });
    }
    return entries;
  }
}
