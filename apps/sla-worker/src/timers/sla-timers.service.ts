import { Inject, Injectable } from '@nestjs/common';
import { JobName, JobPayloadInput, QueueName, slaTimerJobId } from '@oq/contracts';
import { SlaRepository, SlaTimerRow } from '@oq/database';
import { Batcher, CONFIG, QueueService, REDIS } from '@oq/platform';
import { Redis } from 'ioredis';
import { Config } from '../config';

export type Stage = 'warning' | 'breach';

/** The latest clock of each metric of a ticket, as far as timers care. */
export type TimerRow = SlaTimerRow;

/** What timers a clock needs now: instants per stage, null where none should exist. */
export function wantedTimers(r: TimerRow): Record<Stage, Date | null> {
  const running = r.state === 'active';
  return {
    warning: running && r.warn_at && !r.warned_at ? r.warn_at : null,
    breach: running && r.due_at && !r.breached_at ? r.due_at : null,
  };
}

/**
 * Arms SLA timers as BullMQ delayed jobs with deterministic ids (≤ 24 chars,
 * `slaTimerJobId`), one per ticket × metric × stage. Re-arming replaces: the old
 * job is removed, then the new one added. If the old one is running right now it
 * cannot be removed and the add is a no-op — harmless, because a firing timer
 * re-reads the clock and re-delays itself when the due time moved later.
 *
 * Re-arms arriving side by side (the events queue's concurrency) are done together: one read of
 * the tickets' latest clocks, then every remove sent at once and every add in one pipeline
 * (addBulk) — two Redis round trips for the batch instead of up to four sequential ones per clock.
 */
@Injectable()
export class SlaTimersService {
  private readonly rearms: Batcher<string, number>;

  constructor(
    private readonly sla: SlaRepository,
    private readonly queues: QueueService,
    @Inject(REDIS) private readonly redis: Redis,
    @Inject(CONFIG) config: Config,
  ) {
    // One batch at a time, so this process never re-arms a ticket from an older read after a newer one.
    this.rearms = new Batcher({ runMany: (ids) => this.rearmTickets(ids), maxBatch: config.SLA_CONCURRENCY });
  }

  /** Re-arms every timer of a ticket from the clocks as committed in Postgres. */
  rearmTicket(ticketId: string): Promise<number> {
    return this.rearms.submit(ticketId);
  }

  /** rearmTicket for many tickets: timers armed per ticket, in order (a repeated ticket is read and armed once). */
  async rearmTickets(ticketIds: string[]): Promise<number[]> {
    const unique = [...new Set(ticketIds)];
    const rows = await this.sla.latestClocksOf(unique);
    const armed = await this.syncAll(rows, true);
    const byTicket = new Map<string, number>();
    rows.forEach((r, i) => byTicket.set(r.ticket_id, (byTicket.get(r.ticket_id) ?? 0) + armed[i]));
    return ticketIds.map((id) => byTicket.get(id) ?? 0);
  }

  /** Brings the timers of one clock in line with it; `replace` removes existing jobs first. */
  async sync(r: TimerRow, replace: boolean): Promise<number> {
    return (await this.syncAll([r], replace))[0];
  }

  /** sync() for many clocks: the removes together, then the adds in one pipeline. Timers armed per clock. */
  private async syncAll(rows: TimerRow[], replace: boolean): Promise<number[]> {
    const q = this.queues.queue(QueueName.Sla);
    const removes: string[] = [];
    const adds: { data: JobPayloadInput<JobName.SlaTimer>; jobId: string; delay: number }[] = [];
    const armed = rows.map((r) => {
      const wanted = wantedTimers(r);
      let n = 0;
      for (const stage of ['warning', 'breach'] as const) {
        const jobId = slaTimerJobId(r.ticket_id, r.metric, stage);
        const at = wanted[stage];
        if (replace || !at) removes.push(jobId);
        if (!at) continue;
        adds.push({
          data: { v: 1, ticketId: r.ticket_id, metric: r.metric, stage, dueAt: at.toISOString() },
          jobId,
          delay: Math.max(0, at.getTime() - Date.now()),
        });
        n++;
      }
      return n;
    });
    // Every remove before any add: an add whose id still exists would be a no-op.
    await Promise.all(removes.map((id) => q.remove(id)));
    if (adds.length) await this.queues.addBulk(QueueName.Sla, JobName.SlaTimer, adds);
    return armed;
  }

  /** Which of these timer ids exist in Redis (one pipelined round trip). */
  async existing(jobIds: string[]): Promise<Set<string>> {
    if (!jobIds.length) return new Set();
    const q = this.queues.queue(QueueName.Sla);
    const pipe = this.redis.pipeline();
    for (const id of jobIds) pipe.exists(q.toKey(id));
    const res = (await pipe.exec()) ?? [];
    return new Set(jobIds.filter((_, i) => res[i]?.[1] === 1));
  }
}
