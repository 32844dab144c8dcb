import {
  Controller,
  Get,
  Header,
  Headers,
  Inject,
  Injectable,
  Optional,
  Res,
  UnauthorizedException,
} from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import { roundTrips } from '@oq/database/data-source';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { DataSource } from 'typeorm';
import { safeEqual } from '../auth/service-token.guard';
import { PlatformConfig, CONFIG } from '../config/config';
import { QueueService } from '../queue/queue.module';

/**
 * One Prometheus registry per app instance (not prom-client's global one), so two
 * services booted in one test process do not collide.
 */
@Injectable()
export class MetricsService {
  readonly registry = new Registry();

  constructor(
    @Inject(CONFIG) config: PlatformConfig,
    @Optional() queues?: QueueService,
    @Optional() @Inject(DataSource) ds?: DataSource,
  ) {
    this.registry.setDefaultLabels({ service: config.SERVICE_NAME });
    collectDefaultMetrics({ register: this.registry, prefix: 'oq_' });
    if (ds) {
      // A Counter read at scrape time from the DataSource's own count (no call per query here).
      const trips = new Counter({
        name: 'oq_db_round_trips_total',
        help: 'Round trips to Postgres (one per ReadyForQuery) since the service started',
        registers: [this.registry],
        collect() {
          trips.reset();
          trips.inc(roundTrips(ds));
        },
      });
    }
    if (queues) {
      const depth = new Gauge({
        name: 'oq_queue_jobs',
        help: 'Jobs per queue and state',
        labelNames: ['queue', 'state'],
        registers: [this.registry],
        async collect() {
          await Promise.all(
            queues.all().map(async (q) => {
              const counts = await q.getJobCounts('waiting', 'prioritized', 'active', 'delayed', 'failed');
              for (const [state, n] of Object.entries(counts)) depth.set({ queue: q.name, state }, n);
            }),
          );
        },
      });
      const oldest = new Gauge({
        name: 'oq_queue_oldest_job_age_seconds',
        help: 'Age of the oldest job waiting to be processed',
        labelNames: ['queue'],
        registers: [this.registry],
        async collect() {
          await Promise.all(
            queues.all().map(async (q) => {
              const [job] = await q.getJobs(['waiting', 'prioritized'], 0, 0, true);
              oldest.set({ queue: q.name }, job ? Math.max(0, (Date.now() - job.timestamp) / 1000) : 0);
            }),
          );
        },
      });
    }
  }

  counter(name: string, help: string, labelNames: string[] = []): Counter<string> {
    return (
      (this.registry.getSingleMetric(name) as Counter<string>) ??
      new Counter({ name, help, labelNames, registers: [this.registry] })
    );
  }

  gauge(name: string, help: string, labelNames: string[] = []): Gauge<string> {
    return (
      (this.registry.getSingleMetric(name) as Gauge<string>) ??
      new Gauge({ name, help, labelNames, registers: [this.registry] })
    );
  }

  histogram(name: string, help: string, buckets: number[], labelNames: string[] = []): Histogram<string> {
    return (
      (this.registry.getSingleMetric(name) as Histogram<string>) ??
      new Histogram({ name, help, buckets, labelNames, registers: [this.registry] })
    );
  }
}

@ApiExcludeController()
@Controller()
export class MetricsController {
  constructor(
    private readonly metrics: MetricsService,
    @Inject(CONFIG) private readonly config: PlatformConfig,
  ) {}

  /** Open unless METRICS_TOKEN is set (then a bearer token, as Prometheus' `authorization` scrape option sends). */
  @Get('metrics')
  @Header('content-type', 'text/plain; version=0.0.4; charset=utf-8')
  async scrape(
    @Headers('authorization') authorization: string | undefined,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<string> {
    const expected = this.config.METRICS_TOKEN;
    const given = /^Bearer\s+(\S+)$/i.exec(authorization ?? '')?.[1];
    if (expected && !(given && safeEqual(given, expected))) {
      reply.header('www-authenticate', 'Bearer realm="metrics"');
      throw new UnauthorizedException('GET /metrics needs Authorization: Bearer <METRICS_TOKEN>');
    }
    return this.metrics.registry.metrics();
  }
}
