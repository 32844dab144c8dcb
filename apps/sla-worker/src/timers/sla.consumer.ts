import { Inject, Injectable } from '@nestjs/common';
import { JobName, SlaReconcile, SlaTimer, TicketEvent } from '@oq/contracts';
import { JobHandler, LOGGER, MetricsService } from '@oq/platform';
import { DelayedError, Job } from 'bullmq';
import { Logger } from 'pino';
import { ReconcilerService } from './reconciler.service';
import { SlaFiringService } from './sla-firing.service';
import { SlaTimersService } from './sla-timers.service';

/** The `sla` queue: ticket events re-arm timers, timers fire, reconcile runs on demand. */
@Injectable()
export class SlaConsumer {
  private readonly rearmLatency;

  constructor(
    private readonly timers: SlaTimersService,
    private readonly firing: SlaFiringService,
    private readonly reconciler: ReconcilerService,
    metrics: MetricsService,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {
    this.rearmLatency = metrics.histogram(
      'oq_sla_rearm_seconds',
      'From a clock change (sla.changed occurredAt) to its timers armed',
      [0.005, 0.01, 0.02, 0.03, 0.05, 0.075, 0.1, 0.15, 0.25, 0.5, 1, 5],
    );
  }

  @JobHandler(JobName.TicketEvent)
  async onTicketEvent(event: TicketEvent) {
    // Every clock change commits with an sla.changed event; other ticket events do not move clocks.
    if (event.type !== 'sla.changed') return { skipped: event.type };
    const armed = await this.timers.rearmTicket(event.ticketId);
    this.rearmLatency.observe(Math.max(0, Date.now() - Date.parse(event.occurredAt)) / 1000);
    return { armed };
  }

  @JobHandler(JobName.SlaTimer)
  async onTimer(timer: SlaTimer, job: Job) {
    const r = await this.firing.fire(timer.ticketId, timer.metric);
    if (r.notDueUntil !== null && r.notDueUntil > Date.now()) {
      // The due time moved later while this job waited (and could not be replaced): wait again, no attempt spent.
      await job.moveToDelayed(r.notDueUntil, job.token);
      throw new DelayedError();
    }
    if (r.notDueUntil !== null) {
      // Due, yet check() saw nothing: clock skew between hosts. Retry shortly.
      this.logger.warn({ ticketId: timer.ticketId, metric: timer.metric }, 'SLA timer fired before its due time');
      await job.moveToDelayed(Date.now() + 200, job.token);
      throw new DelayedError();
    }
    return r;
  }

  @JobHandler(JobName.SlaReconcile)
  async onReconcile(_: SlaReconcile) {
    return this.reconciler.runOnce();
  }
}
