import { Inject, Injectable } from '@nestjs/common';
import { JobName, QueueName, slaTimerJobId } from '@oq/contracts';
import { SlaRepository, SlaTimerRow } from '@oq/database';
import { QueueService, REDIS } from '@oq/platform';
import { Redis } from 'ioredis';

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
 */
@Injectable()
export class SlaTimersService {
  constructor(
    private readonly sla: SlaRepository,
    private readonly queues: QueueService,
    @Inject(REDIS) private readonly redis: Redis,
  ) {}

  /** Re-arms every timer of a ticket from the clocks as committed in Postgres. */
  async rearmTicket(ticketId: string): Promise<number> {
    const rows = await this.sla.latestClocks(ticketId);
    let armed = 0;
    for (const r of rows) armed += await this.sync(r, true);
    return armed;
  }

  /** Brings the timers of one clock in line with it; `replace` removes existing jobs first. */
  async sync(r: TimerRow, replace: boolean): Promise<number> {
    const wanted = wantedTimers(r);
    const q = this.queues.queue(QueueName.Sla);
    let armed = 0;
    for (const stage of ['warning', 'breach'] as const) {
      const jobId = slaTimerJobId(r.ticket_id, r.metric, stage);
      const at = wanted[stage];
      if (replace || !at) await q.remove(jobId);
      if (!at) continue;
      await this.queues.add(
        QueueName.Sla,
        JobName.SlaTimer,
        { v: 1, ticketId: r.ticket_id, metric: r.metric, stage, dueAt: at.toISOString() },
        { jobId, delay: Math.max(0, at.getTime() - Date.now()) },
      );
      armed++;
    }
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
