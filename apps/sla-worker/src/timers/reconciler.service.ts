import { randomUUID } from 'node:crypto';
import { Inject, Injectable, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { QueueName, slaTimerJobId } from '@oq/contracts';
import { CONFIG, LOGGER, REDIS } from '@oq/platform';
import { Redis } from 'ioredis';
import { Logger } from 'pino';
import { DataSource } from 'typeorm';
import { Config } from '../config';
import { SlaFiringService } from './sla-firing.service';
import { SlaTimersService, TimerRow, wantedTimers } from './sla-timers.service';

const BATCH = 1000;

/**
 * The safety net under the timers. Every SLA_RECONCILE_MS (30 s) one replica —
 * chosen by a Redis lock, re-taken after a flush — fires every clock that is
 * overdue (a timer lost with Redis data, or never armed), then re-arms the
 * missing timers of clocks due within the horizon. A setInterval rather than a
 * BullMQ repeatable job because a repeatable job would vanish with a FLUSHALL.
 * Both scans are index range scans (ticket_sla_due_idx / ticket_sla_warn_idx).
 */
@Injectable()
export class ReconcilerService implements OnApplicationBootstrap, OnApplicationShutdown {
  private timer?: NodeJS.Timeout;
  private running?: Promise<unknown>;
  private readonly owner = randomUUID();

  constructor(
    private readonly ds: DataSource,
    private readonly firing: SlaFiringService,
    private readonly timers: SlaTimersService,
    @Inject(REDIS) private readonly redis: Redis,
    @Inject(CONFIG) private readonly config: Config,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {}

  onApplicationBootstrap() {
    const every = this.config.SLA_RECONCILE_MS;
    this.timer = setInterval(() => void this.tick(), every);
    this.timer.unref();
    void this.tick();
  }

  async onApplicationShutdown() {
    clearInterval(this.timer);
    await this.running;
  }

  private async tick() {
    if (this.running) return;
    const key = `${this.config.QUEUE_PREFIX}:sla-reconciler-lock`;
    const lock = await this.redis
      .set(key, this.owner, 'PX', Math.max(1000, this.config.SLA_RECONCILE_MS - 200), 'NX')
      .catch((err: Error) => {
        this.logger.warn({ err: err.message }, 'reconciler lock unavailable');
        return null;
      });
    if (lock !== 'OK') return;
    this.running = this.runOnce()
      .catch((err: Error) => this.logger.error({ err: err.message }, 'SLA reconcile failed'))
      .finally(() => (this.running = undefined));
    await this.running;
  }

  async runOnce(): Promise<{ fired: number; rearmed: number }> {
    let fired = 0;
    // Overdue: fire directly (each under its row lock; a concurrent timer or replica makes it a no-op).
    for (;;) {
      const due = (await this.ds.query(
        `(SELECT ticket_id, metric FROM ticket_sla WHERE state = 'active' AND due_at <= now() ORDER BY due_at LIMIT $1)
         UNION
         (SELECT ticket_id, metric FROM ticket_sla WHERE state = 'active' AND warned_at IS NULL AND warn_at <= now()
           ORDER BY warn_at LIMIT $1)`,
        [BATCH],
      )) as { ticket_id: string; metric: TimerRow['metric'] }[];
      let acted = 0;
      for (const d of due) {
        const r = await this.firing.fire(d.ticket_id, d.metric);
        if (r.warned || r.breached) acted++;
      }
      fired += acted;
      if (due.length < BATCH || acted === 0) break;
    }
    // Soon due: make sure a timer exists.
    let rearmed = 0;
    let after = new Date(0);
    let afterId = '00000000-0000-0000-0000-000000000000';
    for (;;) {
      const rows = (await this.ds.query(
        `SELECT id, ticket_id, metric, state, due_at, warn_at, warned_at, breached_at FROM ticket_sla
          WHERE state = 'active' AND due_at <= now() + make_interval(secs => $1) AND (due_at, id) > ($2, $3)
          ORDER BY due_at, id LIMIT $4`,
        [this.config.SLA_REARM_HORIZON_MS / 1000, after, afterId, BATCH],
      )) as (TimerRow & { id: string })[];
      if (!rows.length) break;
      const ids = rows.flatMap((r) => {
        const w = wantedTimers(r);
        return [
          ...(w.warning ? [slaTimerJobId(r.ticket_id, r.metric, 'warning')] : []),
          ...(w.breach ? [slaTimerJobId(r.ticket_id, r.metric, 'breach')] : []),
        ];
      });
      const have = await this.timers.existing(ids);
      for (const r of rows) {
        const w = wantedTimers(r);
        const missing =
          (w.warning && !have.has(slaTimerJobId(r.ticket_id, r.metric, 'warning'))) ||
          (w.breach && !have.has(slaTimerJobId(r.ticket_id, r.metric, 'breach')));
        if (missing) rearmed += await this.timers.sync(r, false);
      }
      const last = rows[rows.length - 1];
      after = last.due_at!;
      afterId = last.id;
      if (rows.length < BATCH) break;
    }
    if (fired || rearmed) this.logger.info({ fired, rearmed, queue: QueueName.Sla }, 'SLA reconcile');
    return { fired, rearmed };
  }
}
