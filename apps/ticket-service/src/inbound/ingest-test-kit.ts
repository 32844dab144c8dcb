import { randomUUID } from 'node:crypto';
import { NestFastifyApplication } from '@nestjs/platform-fastify';
import { INBOUND_MESSAGE_VERSION, InboundMessageInput, JobName, jobOptions, QueueName } from '@oq/contracts';
import {
  createTestDatabase,
  dropQueuePrefix,
  testQueuePrefix,
  testServiceEnv,
  TestDatabase,
} from '@oq/database/testing/test-env';
import { createHttpApp, QueueService } from '@oq/platform';
import { Queue } from 'bullmq';
import { DataSource } from 'typeorm';
import { Module } from '@nestjs/common';
import { DatabaseModule, one, sql } from '@oq/database';
import { PlatformModule, QueueModule } from '@oq/platform';
import { Config, ConfigSchema } from '../config';
import { DeliveryModule } from '../delivery/delivery.module';
import { OutboxModule } from '../outbox/outbox.module';
import { InboundModule } from './inbound.module';

/**
 * The ingest slice of ticket-service's AppModule (same platform, queues and
 * consumers), so these tests do not depend on the HTTP features booting.
 */
@Module({
  imports: [
    PlatformModule.forRoot({ service: 'ticket-service', schema: ConfigSchema }),
    DatabaseModule,
    QueueModule.forRoot({
      produce: Object.values(QueueName).filter((q) => q !== QueueName.SocialRaw),
      consume: [
        {
          queue: QueueName.Inbound,
          concurrency: (c) => (c as unknown as Config).INGEST_CONCURRENCY,
          waitForDatabase: true,
        },
        { queue: QueueName.Delivery, concurrency: 20, waitForDatabase: true },
      ],
    }),
    OutboxModule,
    InboundModule,
    DeliveryModule,
  ],
})
class IngestAppModule {}

/**
 * A booted ticket-service on its own database and queue prefix, with one inbox
 * per channel, for the ingest tests (real Postgres, real Redis, real workers).
 */
export class IngestTestKit {
  app!: NestFastifyApplication;
  db!: TestDatabase;
  ds!: DataSource;
  readonly prefix = testQueuePrefix();
  teamId!: string;
  readonly inboxes: Record<string, string> = {};

  static async start(env: Record<string, string> = {}): Promise<IngestTestKit> {
    const kit = new IngestTestKit();
    kit.db = await createTestDatabase();
    kit.app = await createHttpApp(IngestAppModule, {
      title: 'ticket-service',
      env: testServiceEnv(kit.db, kit.prefix, { INGEST_BATCH_WAIT_MS: '5', ...env }),
    });
    await kit.app.listen({ port: 0, host: '127.0.0.1' });
    kit.ds = kit.app.get(DataSource);
    ({ id: kit.teamId } = await one<{ id: string }>(
      kit.ds,
      sql`INSERT INTO teams (name) VALUES ('Payments') RETURNING id`,
    ));
    const addresses: Record<string, string> = {
      email: 'support@wallet.test',
      whatsapp: '1098765',
      telegram: 'walletbot',
      messenger: 'page-1',
      voice: '+4930999000',
      chat: 'widget-key',
    };
    for (const [channel, address] of Object.entries(addresses)) {
      const row = await one<{ id: string }>(
        kit.ds,
        sql`INSERT INTO inboxes (name, channel, address, default_team_id)
            VALUES (${channel}, ${channel}, ${address}, ${kit.teamId}) RETURNING id`,
      );
      kit.inboxes[channel] = row.id;
    }
    return kit;
  }

  async stop(): Promise<void> {
    await this.app?.close();
    await this.db?.drop();
    await dropQueuePrefix(this.prefix);
  }

  queue(name: QueueName = QueueName.Inbound): Queue {
    return this.app.get(QueueService).queue(name);
  }

  /** An InboundMessage for an inbox of `channel`, unique external id unless given. */
  message(channel: string, sender: InboundMessageInput['sender'], extra: Partial<InboundMessageInput> = {}) {
    const now = new Date().toISOString();
    return {
      v: INBOUND_MESSAGE_VERSION,
      inboxId: this.inboxes[channel],
      channel,
      externalId: `ext-${randomUUID()}`,
      sourceTime: now,
      receivedAt: now,
      sender,
      text: 'hello',
      ...extra,
    } as InboundMessageInput;
  }

  /** Enqueues raw payloads (validation is the consumer's job) under fresh job ids. */
  async enqueue(payloads: unknown[], queue: QueueName = QueueName.Inbound): Promise<void> {
    const name = queue === QueueName.Inbound ? JobName.InboundMessage : JobName.DeliveryReport;
    for (let i = 0; i < payloads.length; i += 500)
      await this.queue(queue).addBulk(
        payloads.slice(i, i + 500).map((data) => ({
          name,
          data,
          opts: jobOptions(name, { jobId: randomUUID() }),
        })),
      );
  }

  /** Waits until the queue has nothing waiting, active or delayed (retries included). */
  async drained(queue: QueueName = QueueName.Inbound, timeoutMs = 20000): Promise<void> {
    const q = this.queue(queue);
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const c = await q.getJobCounts('waiting', 'active', 'delayed', 'prioritized');
      if (Object.values(c).every((n) => n === 0)) return;
      if (Date.now() > deadline) throw new Error(`queue ${queue} not drained: ${JSON.stringify(c)}`);
      await new Promise((r) => setTimeout(r, 25));
    }
  }

  async ingest(...payloads: unknown[]): Promise<void> {
    await this.enqueue(payloads);
    await this.drained();
  }

  /** Rows of `from` (a spec's `table WHERE …`, its `$n` taken from `params`). */
  async count(from: string, params: unknown[] = []): Promise<number> {
    // Specs write their fixtures' SQL by hand: each `$n` becomes its bind value through the sql tag.
    const parts = from.split(/\$(\d+)/);
    const strings = parts.filter((_, i) => i % 2 === 0);
    const values = parts.filter((_, i) => i % 2 === 1).map((n) => params[Number(n) - 1]);
    const where = sql(Object.assign(strings, { raw: strings }) as unknown as TemplateStringsArray, ...values);
    return (await one<{ n: number }>(this.ds, sql`SELECT count(*)::int AS n FROM ${where}`)).n;
  }
}
