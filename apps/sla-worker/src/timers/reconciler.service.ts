import { randomUUID } from 'node:crypto';
import { BeforeApplicationShutdown, Inject, Injectable, OnApplicationBootstrap } from '@nestjs/common';
import { QueueName, redisKey, slaTimerJobId } from '@oq/contracts';
import { SlaRepository } from '@oq/database';
import { CONFIG, LOGGER, REDIS, RedisLease } from '@oq/platform';
import { Redis } from 'ioredis';
import { Logger } from 'pino';
import { Config } from '../config';
import { SlaFiringService } from './sla-firing.service';
import { SlaTimersService, wantedTimers } from './sla-timers.service';

const BATCH = 1000;

/**
 * The safety net under the timers. Every SLA_RECONCILE_MS (30 s) one replica —
 * chosen by a Redis lock, re-taken after a flush — fires every clock that is
 * overdue (a timer lost with Redis data, or never armed), then re-arms the
 * missing timers of clocks due within the horizon. A setInterval rather than a
 * BullMQ repeatable job because a repeatable job would vanish with a FLUSHALL.
 * Both scans are index range scans (ticket_sla_due_idx / ticket_sla_warn_idx).
 * At shutdown a pass ends after the clock it is handling: the rest is the next pass's (any replica's).
 */
@Injectable()
export class ReconcilerService implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private timer?: NodeJS.Timeout;
  private running?: Promise<unknown>;
  private stopping = false;
  private readonly owner = randomUUID();

  constructor(
    private readonly sla: SlaRepository,
    private readonly firing: SlaFiringService,
    private readonly timers: SlaTimersService,
    @Inject(REDIS) private readonly redis: Redis,
    @Inject(CONFIG) private readonly config: Config,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {}

  onApplicationBootstrap() {
    const every = this.config.SLA_RECONCILE_MS;
    this.timer = setInterval(() => this.tick(), every);
    this.timer.unref();
    this.tick();
  }

  /** Before the connections close (onApplicationShutdown): the clock in hand still needs Postgres and Redis. */
  async beforeApplicationShutdown() {
    this.stopping = true;
    clearInterval(this.timer);
    await this.running;
  }

  /** The whole turn (lock claim and pass) is `running`, so shutdown waits for a claim in flight too. */
  private tick() {
    if (this.running || this.stopping) return;
    this.running = this.turn()
      .catch((err: Error) => this.logger.error({ err: err.message }, 'SLA reconcile failed'))
      .finally(() => (this.running = undefined));
  }

  private async turn() {
    // One replica per interval; the name before the Redis key convention is claimed too, for one release.
    const prefix = this.config.QUEUE_PREFIX;
    const turn = { key: redisKey(prefix, 'sla', 'reconciler-lock'), legacyKeys: [`${prefix}:sla-reconciler-lock`] };
    const mine = await RedisLease.claimTurn(
      this.redis,
      turn,
      this.owner,
      Math.max(1000, this.config.SLA_RECONCILE_MS - 200),
    ).catch((err: Error) => {
      this.logger.warn({ err: err.message }, 'reconciler lock unavailable');
      return false;
    });
    if (mine && !this.stopping) await this.runOnce();
  }

  async runOnce(): Promise<{ fired: number; rearmed: number }> {
    let fired = 0;
    // Overdue: fire directly (each under its row lock; a concurrent timer or replica makes it a no-op).
    for (;;) {
      if (this.stopping) break;
      const due = await this.sla.overdue(BATCH);
      let acted = 0;
      for (const d of due) {
        if (this.stopping) break;
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
      if (this.stopping) break;
      const rows = await this.sla.dueWithin(
        this.config.SLA_REARM_HORIZON_MS / 1000,
        { dueAt: after, id: afterId },
        BATCH,
      );
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
        if (this.stopping) break;
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
