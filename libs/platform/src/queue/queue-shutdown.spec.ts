import { randomUUID } from 'node:crypto';
import { Inject, Injectable, Module, OnApplicationShutdown } from '@nestjs/common';
import { NestFastifyApplication } from '@nestjs/platform-fastify';
import { JobName, QueueName, TicketCommand } from '@oq/contracts';
import { DatabaseModule } from '@oq/database';
import {
  createTestDatabase,
  dropQueuePrefix,
  TestDatabase,
  testQueuePrefix,
  testServiceEnv,
  TEST_REDIS_URL,
} from '@oq/database/testing/test-env';
import {
  BaseConfigSchema,
  createHttpApp,
  JobHandler,
  PlatformModule,
  QueueModule,
  QueueService,
  REDIS,
} from '@oq/platform';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import * as pg from 'pg';
import { DataSource } from 'typeorm';

/** Signals the spec when a job is in the handler, and holds it there until the spec lets go. */
class Gate {
  started!: () => void;
  readonly inHandler = new Promise<void>((r) => (this.started = r));
  release!: () => void;
  readonly released = new Promise<void>((r) => (this.release = r));
}
const GATE = Symbol('GATE');

/**
 * A connection the handler's own module holds and closes in onApplicationShutdown, as apps' modules
 * do with theirs (email-service's SMTP transports, ticket-service's realtime connections). Nest
 * shuts an app's own modules down before the global ones QueueModule belongs to.
 */
@Injectable()
class OwnConnection implements OnApplicationShutdown {
  readonly redis = new Redis(TEST_REDIS_URL, { maxRetriesPerRequest: null });
  async onApplicationShutdown() {
    await this.redis.quit();
  }
}

/**
 * A handler shaped like the services' own: once let go it writes to Postgres (the DataSource),
 * enqueues through the producers (QueueService's own connection), touches the shared Redis and
 * its module's own connection — all of which close at shutdown.
 */
@Injectable()
class SlowCommandHandler {
  constructor(
    private readonly ds: DataSource,
    private readonly queues: QueueService,
    @Inject(REDIS) private readonly redis: Redis,
    private readonly own: OwnConnection,
    @Inject(GATE) private readonly gate: Gate,
  ) {}

  @JobHandler(JobName.TicketCommand)
  async handle(cmd: TicketCommand) {
    this.gate.started();
    await this.gate.released;
    await this.own.redis.set(`${this.queues.prefix}:shutdown-spec-own:${cmd.commandId}`, 'done');
    await this.ds.query(`INSERT INTO teams (name) VALUES ($1)`, [cmd.commandId]);
    await this.queues.add(QueueName.Sla, JobName.SlaReconcile, { v: 1 }, { jobId: `after-${cmd.commandId}` });
    await this.redis.set(`${this.queues.prefix}:shutdown-spec:${cmd.commandId}`, 'done');
    return { done: cmd.commandId };
  }
}

describe('QueueModule shutdown', () => {
  let db: TestDatabase;
  let prefix: string;
  let check: pg.Client;
  let redis: Redis;

  beforeAll(async () => {
    db = await createTestDatabase();
    prefix = testQueuePrefix();
    check = new pg.Client({ connectionString: db.url });
    await check.connect();
    redis = new Redis(TEST_REDIS_URL, { maxRetriesPerRequest: null });
  });
  afterAll(async () => {
    await check?.end();
    redis?.disconnect();
    await dropQueuePrefix(prefix);
    await db?.drop();
  });

  /** An app like the services (platform, database, queues) whose one handler waits at the gate. */
  async function boot(gate: Gate, shutdownTimeoutMs?: number): Promise<NestFastifyApplication> {
    @Module({
      imports: [
        PlatformModule.forRoot({ service: 'shutdown-spec', schema: BaseConfigSchema }),
        DatabaseModule,
        QueueModule.forRoot({
          produce: [QueueName.Sla],
          consume: [{ queue: QueueName.TicketCommands, concurrency: 2 }],
          shutdownTimeoutMs,
        }),
      ],
      providers: [SlowCommandHandler, OwnConnection, { provide: GATE, useValue: gate }],
    })
    class ShutdownSpecApp {}
    const app = await createHttpApp(ShutdownSpecApp, { title: 'shutdown-spec', env: testServiceEnv(db, prefix) });
    await app.listen({ port: 0, host: '127.0.0.1' });
    return app;
  }

  async function enqueue(app: NestFastifyApplication): Promise<string> {
    const commandId = randomUUID();
    await app.get(QueueService).add(
      QueueName.TicketCommands,
      JobName.TicketCommand,
      {
        v: 1,
        commandId,
        ticketId: randomUUID(),
        reason: 'shutdown spec',
        actions: [{ kind: 'notify', message: 'x' }],
        issuedAt: new Date().toISOString(),
      },
      { jobId: commandId },
    );
    return commandId;
  }

  async function withQueues<T>(fn: (commands: Queue, sla: Queue) => Promise<T>): Promise<T> {
    const queues = [QueueName.TicketCommands, QueueName.Sla].map((n) => new Queue(n, { connection: redis, prefix }));
    try {
      return await fn(queues[0], queues[1]);
    } finally {
      await Promise.all(queues.map((q) => q.close()));
    }
  }

  it('lets a job that is active at app.close() finish before any connection it uses closes', async () => {
    const gate = new Gate();
    const app = await boot(gate);
    const commandId = await enqueue(app);
    await gate.inHandler;

    // SIGTERM's path: app.close() runs every shutdown hook while the job is still in its handler.
    const closed = app.close();
    // Let the handler go once shutdown has had the time to close what it would close early; a
    // connection closed under the job shows up below as a failed or unfinished job, not as a hang.
    await new Promise((r) => setTimeout(r, 500));
    gate.release();
    await closed;

    // Every connection's side effect happened …
    expect(await redis.get(`${prefix}:shutdown-spec-own:${commandId}`)).toBe('done');
    expect((await check.query(`SELECT count(*)::int AS n FROM teams WHERE name = $1`, [commandId])).rows[0].n).toBe(1);
    expect(await redis.get(`${prefix}:shutdown-spec:${commandId}`)).toBe('done');
    await withQueues(async (commands, sla) => {
      expect(await sla.getJobState(`after-${commandId}`)).not.toBe('unknown');
      // … and the job completed: not failed ("Connection is closed"), not left active for the stalled check.
      expect(await commands.getJobState(commandId)).toBe('completed');
      expect(await commands.getFailedCount()).toBe(0);
    });
  });

  it('stops waiting at the shutdown timeout and closes anyway', async () => {
    const gate = new Gate();
    const app = await boot(gate, 300);
    const commandId = await enqueue(app);
    await gate.inHandler;
    const started = Date.now();
    await app.close();
    const took = Date.now() - started;
    // The gate stays shut: a handler let go now would meet closed connections (as the process would
    // exit here, so would it).
    expect(took).toBeGreaterThanOrEqual(300);
    expect(took).toBeLessThan(5000);
    // Not completed: left to BullMQ's stalled check, which hands it to the next worker.
    await withQueues(async (commands) => expect(await commands.getJobState(commandId)).toBe('active'));
  });
});
