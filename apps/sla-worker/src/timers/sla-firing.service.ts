import { randomUUID } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import { buildJob, JobName, QueueName, SlaMetric, TicketCommand, TicketCommandAction } from '@oq/contracts';
import { LOGGER, MetricsService } from '@oq/platform';
import { check, clockFromRow, ClockRow, clockUpdate, measuresFor, Schedule, trailInsert } from '@oq/sla';
import { Logger } from 'pino';
import { DataSource, EntityManager } from 'typeorm';
import { z } from 'zod';

interface FiringRow extends ClockRow {
  team_id: string;
  assignee_id: string | null;
  escalation: { warning?: unknown[]; breach?: unknown[] } | null;
  timezone: string | null;
  weekly: Schedule['weekly'] | null;
  holidays: Schedule['holidays'] | null;
}

export interface FireResult {
  warned: boolean;
  breached: boolean;
  /** The clock is still running but not due yet: when it is. */
  notDueUntil: number | null;
}

const Actions = z.array(TicketCommandAction);

/**
 * Records warnings and breaches. sla-worker owns SLA timers: it reads and writes
 * `ticket_sla` / `ticket_sla_events` and writes `outbox` rows directly in
 * Postgres, but never writes tickets — escalations go to ticket-service as
 * TicketCommands (through the outbox, so a command exists iff the breach committed).
 *
 * The clock row is re-read under `SELECT … FOR UPDATE`: two replicas, a late
 * timer, a duplicate timer and the reconciler serialise on it, and only the
 * first one that finds the clock still due acts. ticket-service takes the same
 * row lock when it moves clocks, so an answer and a breach never interleave.
 */
@Injectable()
export class SlaFiringService {
  private readonly breaches;
  private readonly warnings;
  private readonly lateness;

  constructor(
    private readonly ds: DataSource,
    metrics: MetricsService,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {
    this.breaches = metrics.counter('oq_sla_breaches_total', 'SLA breaches recorded', ['metric']);
    this.warnings = metrics.counter('oq_sla_warnings_total', 'SLA warnings recorded', ['metric']);
    this.lateness = metrics.histogram(
      'oq_sla_breach_lateness_seconds',
      'How long after its due time a breach was recorded',
      [0.05, 0.1, 0.25, 0.5, 1, 2, 5, 30, 60, 300],
    );
  }

  async fire(ticketId: string, metric: SlaMetric, now = Date.now()): Promise<FireResult> {
    const result = await this.ds.transaction(async (m) => {
      const [row] = (await m.query(
        `SELECT s.*, t.team_id, t.assignee_id, p.warning_percent, p.escalation, sc.timezone, sc.weekly, sc.holidays
           FROM ticket_sla s
           JOIN tickets t ON t.id = s.ticket_id
           LEFT JOIN sla_policies p ON p.id = s.policy_id
           LEFT JOIN sla_schedules sc ON sc.id = p.schedule_id
          WHERE s.ticket_id = $1 AND s.metric = $2 AND s.state = 'active'
          FOR UPDATE OF s`,
        [ticketId, metric],
      )) as FiringRow[];
      // Answered, paused, solved or already breached by someone else: nothing to do.
      if (!row) return { warned: false, breached: false, notDueUntil: null, lateMs: 0 };
      const clock = clockFromRow(row);
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
      const update = clockUpdate(row.id, t.clock);
      await m.query(update.sql, update.params);
      const trail = trailInsert(row.id, t.events);
      await m.query(trail.sql, trail.params);
      const warned = t.events.some((e) => e.kind === 'warn');
      const breached = t.events.some((e) => e.kind === 'breach');
      await this.announce(m, row, warned, breached, t.clock.dueAt, now);
      return { warned, breached, notDueUntil: null, lateMs: breached ? now - (clock.dueAt ?? now) : 0 };
    });
    if (result.warned) this.warnings.inc({ metric });
    if (result.breached) {
      this.breaches.inc({ metric });
      this.lateness.observe(result.lateMs / 1000);
      this.logger.info({ ticketId, metric, lateMs: result.lateMs }, 'SLA breached');
    }
    return { warned: result.warned, breached: result.breached, notDueUntil: result.notDueUntil };
  }

  /** sla.warning / sla.breached events (the relay fans them out to agents) and the policy's escalation commands. */
  private async announce(
    m: EntityManager,
    row: FiringRow,
    warned: boolean,
    breached: boolean,
    dueAt: number | null,
    now: number,
  ) {
    const entries: { queue: QueueName; name: JobName; jobId: string | null; payload: unknown }[] = [];
    const stages = [...(warned ? (['warning'] as const) : []), ...(breached ? (['breach'] as const) : [])];
    for (const stage of stages) {
      entries.push({
        queue: QueueName.Sla,
        name: JobName.TicketEvent,
        jobId: null,
        payload: buildJob(JobName.TicketEvent, {
          v: 1,
          eventId: randomUUID(),
          type: stage === 'warning' ? 'sla.warning' : 'sla.breached',
          ticketId: row.ticket_id,
          teamId: row.team_id,
          assigneeId: row.assignee_id,
          occurredAt: new Date(now).toISOString(),
          data: { slaId: row.id, metric: row.metric, dueAt: dueAt === null ? null : new Date(dueAt).toISOString() },
        }),
      });
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
        name: JobName.TicketCommand,
        jobId: commandId,
        payload: buildJob(JobName.TicketCommand, command),
      });
    }
    if (!entries.length) return;
    const params: unknown[] = [];
    const values = entries.map((e, i) => {
      params.push(e.queue, e.name, e.jobId, JSON.stringify(e.payload));
      return `($${i * 4 + 1}, $${i * 4 + 2}, $${i * 4 + 3}, $${i * 4 + 4}::jsonb)`;
    });
    await m.query(`INSERT INTO outbox (queue, job_name, job_id, payload) VALUES ${values.join(', ')}`, params);
  }
}
