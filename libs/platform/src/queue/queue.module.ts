import {
  BeforeApplicationShutdown,
  DynamicModule,
  Inject,
  Injectable,
  Module,
  OnApplicationBootstrap,
  OnApplicationShutdown,
  SetMetadata,
} from '@nestjs/common';
import { DiscoveryModule, DiscoveryService, MetadataScanner } from '@nestjs/core';
import {
  JobName,
  JobPayload,
  JobPayloadInput,
  QUEUE_JOBS,
  QueueName,
  buildJob,
  jobOptions,
  parseJob,
  payloadText,
  InvalidPayloadError,
} from '@oq/contracts';
import { createHash } from 'node:crypto';
import { DelayedError, Job, Queue, UnrecoverableError, WaitingChildrenError, Worker } from 'bullmq';
import { Redis } from 'ioredis';
import { Logger } from 'pino';
import { BaseConfig, CONFIG, PlatformConfig } from '../config/config';
import { LOGGER, withCorrelation } from '../logging/logger';
import { createRedis } from '../redis/redis';
import { REDIS } from '../redis/redis.module';

export * from './batcher';

const JOB_HANDLER = Symbol('oq:job-handler');

interface HandlerMeta {
  name: JobName;
  /** Receive the unvalidated payload (the handler dead-letters invalid input itself). */
  raw: boolean;
}

/**
 * Marks a service method as the handler of a job. The method receives the
 * validated payload (or the raw one with `raw: true`) and the BullMQ job.
 */
export function JobHandler(name: JobName, options: { raw?: boolean } = {}): MethodDecorator {
  return SetMetadata(JOB_HANDLER, { name, raw: options.raw ?? false } satisfies HandlerMeta);
}

export type HandlerFn<N extends JobName> = (payload: JobPayload<N>, job: Job) => Promise<unknown>;

export interface ConsumeOptions {
  queue: QueueName;
  /** Jobs in flight per worker; a function reads it from the service's validated config. */
  concurrency?: number | ((config: BaseConfig & Record<string, unknown>) => number);
  /**
   * For a channel service's queues of acknowledged customer input: a job that fails for good
   * (invalid payload, last attempt) goes to ticket-service's dead letters as a DeadLetter job on
   * `inbound` instead of only BullMQ's failed set, so an acknowledged message is never just gone.
   */
  deadLetter?: boolean;
  /**
   * For queues whose handlers work in Postgres (ticket-service's, sla-worker's): a job that failed
   * because Postgres is unreachable waits without spending an attempt. Not for queues whose handlers
   * call providers, where the same socket errors mean the provider is down and must be retried and
   * reported.
   */
  waitForDatabase?: boolean;
}

export interface QueueModuleOptions {
  produce?: QueueName[];
  consume?: ConsumeOptions[];
  /** How long shutdown waits for active jobs before closing the workers by force (SHUTDOWN_TIMEOUT_MS). */
  shutdownTimeoutMs?: number;
}

/**
 * Shutdown waits this long for the jobs in flight, then closes the workers by force: what is still
 * running is returned to its queue by BullMQ's stalled-job check. 10 s is docker's default stop
 * grace period — a SIGKILL would cut the jobs off then anyway, without closing anything cleanly.
 */
export const SHUTDOWN_TIMEOUT_MS = 10_000;

const QUEUE_OPTIONS = Symbol('QUEUE_OPTIONS');

/**
 * Producers for the queues an app writes to; one BullMQ Queue per name. In an app that also
 * runs workers the producers have a connection of their own: on the workers' connection a
 * webhook's add would wait behind job fetches, lock renewals and completions.
 */
@Injectable()
export class QueueService implements OnApplicationShutdown {
  private readonly queues = new Map<QueueName, Queue>();
  private readonly ownConnection?: Redis;

  constructor(
    @Inject(REDIS) redis: Redis,
    @Inject(CONFIG) private readonly config: PlatformConfig,
    @Inject(LOGGER) logger: Logger,
    @Inject(QUEUE_OPTIONS) options: QueueModuleOptions,
  ) {
    if (options.consume?.length) {
      this.ownConnection = createRedis(config.REDIS_URL, `${config.SERVICE_NAME}-producer`);
      this.ownConnection.on('error', (err) => logger.warn({ err: err.message }, 'redis producer connection error'));
    }
    const connection = this.ownConnection ?? redis;
    const names = new Set([...(options.produce ?? []), ...(options.consume ?? []).map((c) => c.queue)]);
    for (const name of names) this.queues.set(name, new Queue(name, { connection, prefix: config.QUEUE_PREFIX }));
  }

  get prefix(): string {
    return this.config.QUEUE_PREFIX;
  }

  queue(name: QueueName): Queue {
    const q = this.queues.get(name);
    if (!q) throw new Error(`queue ${name} is not registered in this app's QueueModule`);
    return q;
  }

  all(): Queue[] {
    return [...this.queues.values()];
  }

  /** Validates the payload against the contract before it leaves the process. */
  async add<N extends JobName>(
    queue: QueueName,
    name: N,
    data: JobPayloadInput<N>,
    extra: { jobId?: string; delay?: number; priority?: number } = {},
  ): Promise<Job> {
    const payload = buildJob(name, data);
    return this.queue(queue).add(name, payload, jobOptions(name, extra));
  }

  async addBulk<N extends JobName>(
    queue: QueueName,
    name: N,
    items: { data: JobPayloadInput<N>; jobId?: string; delay?: number }[],
  ): Promise<Job[]> {
    return this.queue(queue).addBulk(
      items.map((i) => ({
        name,
        data: buildJob(name, i.data),
        opts: jobOptions(name, { jobId: i.jobId, delay: i.delay }),
      })),
    );
  }

  /**
   * Hands an acknowledged input this service cannot process to ticket-service's dead letters
   * (a DeadLetter job on `inbound`). `key` makes it once: the same key is the same job.
   */
  async deadLetter(
    key: string,
    letter: { queue: string; jobName: string; jobId?: string; reason: string; payload: Buffer | unknown },
  ): Promise<string> {
    const jobId = `dl-${createHash('sha256').update(key).digest('hex')}`;
    const bytes = Buffer.isBuffer(letter.payload) ? letter.payload : Buffer.from(payloadText(letter.payload), 'utf8');
    await this.add(
      QueueName.Inbound,
      JobName.DeadLetter,
      {
        v: 1,
        service: this.config.SERVICE_NAME,
        queue: letter.queue,
        jobName: letter.jobName,
        jobId: letter.jobId,
        reason: letter.reason.slice(0, 4000),
        payloadBase64: bytes.toString('base64'),
        occurredAt: new Date().toISOString(),
      },
      { jobId },
    );
    return jobId;
  }

  async onApplicationShutdown() {
    await Promise.all(this.all().map((q) => q.close()));
    await this.ownConnection?.quit().catch(() => this.ownConnection?.disconnect());
  }
}

/**
 * Starts one Worker per consumed queue, dispatching by job name to methods
 * marked @JobHandler. Refuses to start when a job of a consumed queue has no handler.
 */
@Injectable()
export class QueueWorkers implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly workers: Worker[] = [];

  constructor(
    @Inject(QUEUE_OPTIONS) private readonly options: QueueModuleOptions,
    @Inject(REDIS) private readonly redis: Redis,
    @Inject(CONFIG) private readonly config: BaseConfig,
    @Inject(LOGGER) private readonly logger: Logger,
    private readonly discovery: DiscoveryService,
    private readonly scanner: MetadataScanner,
    private readonly queues: QueueService,
  ) {}

  private discoverHandlers(): Map<JobName, { fn: (p: unknown, job: Job) => Promise<unknown>; raw: boolean }> {
    const handlers = new Map<JobName, { fn: (p: unknown, job: Job) => Promise<unknown>; raw: boolean }>();
    for (const wrapper of this.discovery.getProviders()) {
      const instance = wrapper.instance as Record<string, unknown> | undefined;
      if (!instance || typeof instance !== 'object') continue;
      const proto = Object.getPrototypeOf(instance) as Record<string, unknown> | null;
      if (!proto) continue;
      for (const method of this.scanner.getAllMethodNames(proto)) {
        const meta = Reflect.getMetadata(JOB_HANDLER, proto[method] as object) as HandlerMeta | undefined;
        if (!meta) continue;
        if (handlers.has(meta.name)) throw new Error(`two handlers registered for job ${meta.name}`);
        const fn = (instance[method] as (p: unknown, job: Job) => Promise<unknown>).bind(instance);
        handlers.set(meta.name, { fn, raw: meta.raw });
      }
    }
    return handlers;
  }

  onApplicationBootstrap() {
    const consume = this.options.consume ?? [];
    if (!consume.length) return;
    const handlers = this.discoverHandlers();
    const missing = consume.flatMap((c) =>
      QUEUE_JOBS[c.queue].filter((n) => !handlers.has(n)).map((n) => `${c.queue}/${n}`),
    );
    if (missing.length) throw new Error(`no handler for consumed job(s): ${missing.join(', ')}`);

    for (const c of consume) {
      const worker = new Worker(
        c.queue,
        async (job: Job) => {
          const handler = handlers.get(job.name as JobName);
          if (!handler) throw new UnrecoverableError(`no handler for job ${job.name} on ${c.queue}`);
          return withCorrelation(`job-${c.queue}-${job.id}`, async () => {
            let payload: unknown = job.data;
            if (!handler.raw) {
              try {
                payload = parseJob(job.name as JobName, job.data);
              } catch (err) {
                if (err instanceof InvalidPayloadError) {
                  this.logger.error({ queue: c.queue, jobId: job.id, reason: err.reason }, 'invalid job payload');
                  throw new UnrecoverableError(err.message);
                }
                throw err;
              }
            }
            return handler.fn(payload, job);
          }).catch(async (err: unknown) => {
            if (c.waitForDatabase && isDatabaseUnreachable(err)) await this.waitForDatabase(c.queue, job, err);
            return c.deadLetter ? this.deadLetterIfFinal(c.queue, job, err) : Promise.reject(err);
          });
        },
        { connection: this.redis, prefix: this.config.QUEUE_PREFIX, concurrency: this.concurrencyOf(c) },
      );
      worker.on('failed', (job, err) =>
        this.logger.warn(
          { queue: c.queue, jobId: job?.id, attempts: job?.attemptsMade, err: err.message },
          'job failed',
        ),
      );
      worker.on('error', (err) => this.logger.error({ queue: c.queue, err: err.message }, 'worker error'));
      this.workers.push(worker);
    }
  }

  /**
   * An outage is no failure of the job: moved back to delayed without spending an attempt (throws
   * DelayedError), so work acknowledged before Postgres went away outlives an outage of any length
   * instead of landing in BullMQ's failed set once its attempts (~2 minutes of backoff) are spent.
   * Returns only if the job could not be moved (Redis trouble too): then it is an ordinary failure.
   */
  private async waitForDatabase(queue: QueueName, job: Job, err: unknown): Promise<void> {
    try {
      await job.moveToDelayed(Date.now() + DATABASE_WAIT_MS, job.token);
    } catch {
      return;
    }
    this.logger.warn({ queue, jobId: job.id, err: (err as Error)?.message }, 'Postgres unreachable; job waits');
    throw new DelayedError(`Postgres unreachable: ${(err as Error)?.message}`);
  }

  /** Rethrows unless this was the job's last chance; then parks it with ticket-service and completes. */
  private async deadLetterIfFinal(queue: QueueName, job: Job, err: unknown): Promise<{ deadLettered: string }> {
    if (err instanceof DelayedError || err instanceof WaitingChildrenError) throw err;
    // An invalid payload stays invalid: retrying it only delays the dead letter by minutes.
    const final =
      err instanceof UnrecoverableError ||
      err instanceof InvalidPayloadError ||
      job.attemptsMade + 1 >= (job.opts.attempts ?? 1);
    if (!final) throw err;
    const reason = `${err instanceof Error ? err.message : String(err)} (after ${job.attemptsMade + 1} attempt(s))`;
    const jobId = await this.queues.deadLetter(`${queue}|${job.id}`, {
      queue,
      jobName: job.name,
      jobId: job.id,
      reason,
      payload: job.data,
    });
    this.logger.error({ queue, jobId: job.id, deadLetterJobId: jobId, reason }, 'job failed for good: dead-lettered');
    return { deadLettered: jobId };
  }

  private concurrencyOf(c: ConsumeOptions): number {
    if (typeof c.concurrency === 'function') return c.concurrency(this.config as BaseConfig & Record<string, unknown>);
    return c.concurrency ?? 10;
  }

  /**
   * Stops taking jobs and lets the active ones finish, before any onApplicationShutdown runs: those
   * close what the handlers use — Redis, the producers, Postgres, and whatever the apps' own
   * modules hold (SMTP transports, socket connections), which Nest shuts down before these global
   * ones. `pause()` waits for the active jobs (close() could not be forced once waiting); past the
   * timeout the workers close without waiting.
   */
  async beforeApplicationShutdown() {
    if (!this.workers.length) return;
    const timeoutMs = this.options.shutdownTimeoutMs ?? SHUTDOWN_TIMEOUT_MS;
    let timer: NodeJS.Timeout | undefined;
    const drained = await Promise.race([
      Promise.all(this.workers.map((w) => w.pause())).then(() => true),
      new Promise<false>((resolve) => (timer = setTimeout(() => resolve(false), timeoutMs))),
    ]);
    clearTimeout(timer);
    if (!drained)
      this.logger.warn({ timeoutMs }, 'jobs still active at the shutdown timeout: closing the workers without them');
    await Promise.all(this.workers.map((w) => w.close(!drained)));
  }
}

const DATABASE_WAIT_MS = 2000;
// Socket errors of a server that is gone, connection exceptions (class 08) and shutdowns (57P01–57P03).
const UNREACHABLE_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND', 'EAI_AGAIN']);

/** Whether a handler failed because Postgres cannot be reached (not because of the job). */
export function isDatabaseUnreachable(err: unknown): boolean {
  const e = err as { code?: unknown; message?: unknown; driverError?: { code?: unknown } } | undefined;
  const code = String(e?.code ?? e?.driverError?.code ?? '');
  return (
    UNREACHABLE_CODES.has(code) ||
    /^08/.test(code) ||
    /^57P0[1-3]$/.test(code) ||
    /Connection terminated|connection timeout|Connection ended|ECONNREFUSED/i.test(String(e?.message ?? ''))
  );
}

@Module({})
export class QueueModule {
  static forRoot(options: QueueModuleOptions): DynamicModule {
    return {
      module: QueueModule,
      global: true,
      imports: [DiscoveryModule],
      providers: [{ provide: QUEUE_OPTIONS, useValue: options }, QueueService, QueueWorkers],
      exports: [QueueService],
    };
  }
}
