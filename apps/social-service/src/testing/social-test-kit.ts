import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, Server } from 'node:http';
import { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { NestFastifyApplication } from '@nestjs/platform-fastify';
import {
  Channel,
  InboxConfig,
  JobName,
  JobPayloadInput,
  QueueName,
  buildJob,
  jobOptions,
  outboundJobId,
} from '@oq/contracts';
import {
  TestDatabase,
  createTestDatabase,
  dropQueuePrefix,
  testQueuePrefix,
  testServiceEnv,
  TEST_REDIS_URL,
} from '@oq/database/testing/test-env';
import { createHttpApp } from '@oq/platform';
import { Job, Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { MetaGraphServer } from '../../../../test/support/meta-graph-server';
import { TelegramBotServer } from '../../../../test/support/telegram-bot-server';
import { AppModule } from '../app.module';

export const GRAPH_VERSION = 'v21.0';

export type OutboundMessageInput = JobPayloadInput<JobName.OutboundMessage>;

/** ticket-service's internal inbox API as the contract in libs/contracts/src/internal-api.ts describes it. */
export class InternalInboxApi {
  readonly inboxes = new Map<string, InboxConfig>();
  private server?: Server;
  url = '';
  constructor(private readonly token: string) {}
  async start() {
    this.server = createServer((req, res) => {
      if (req.headers['x-service-token'] !== this.token) return void res.writeHead(401).end();
      const url = new URL(req.url!, 'http://x');
      const one = /^\/internal\/inboxes\/([^/]+)$/.exec(url.pathname);
      res.setHeader('content-type', 'application/json');
      if (one) {
        const inbox = this.inboxes.get(one[1]);
        return void (inbox ? res.end(JSON.stringify(inbox)) : res.writeHead(404).end('{}'));
      }
      const channel = url.searchParams.get('channel');
      res.end(JSON.stringify([...this.inboxes.values()].filter((i) => i.channel === channel)));
    });
    await new Promise<void>((r) => this.server!.listen(0, '127.0.0.1', r));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }
  async stop() {
    this.server?.closeAllConnections();
    await new Promise((r) => this.server?.close(r));
  }
}

export function metaInbox(channel: Exclude<Channel, 'telegram'>, accessToken: string): InboxConfig {
  return {
    id: randomUUID(),
    name: `${channel} support`,
    channel,
    address: channel === 'whatsapp' ? '106540352242922' : `${Math.floor(1e14 + Math.random() * 9e14)}`,
    defaultTeamId: randomUUID(),
    enabled: true,
    settings: {},
    secrets: { appSecret: `app-secret-${randomUUID()}`, verifyToken: `verify-${randomUUID()}`, accessToken },
  };
}

export function telegramInbox(botToken: string): InboxConfig {
  return {
    id: randomUUID(),
    name: 'telegram support',
    channel: 'telegram',
    address: botToken.split(':')[0],
    defaultTeamId: randomUUID(),
    enabled: true,
    settings: {},
    secrets: { botToken, webhookSecret: `tg_secret_${randomUUID().replace(/-/g, '')}` },
  };
}

/** Boots social-service against local provider stand-ins, its own database, prefix and blob directory. */
export class SocialTestKit {
  db!: TestDatabase;
  prefix = testQueuePrefix();
  app!: NestFastifyApplication;
  base = '';
  blobDir = '';
  redis!: Redis;
  readonly serviceToken = 'test-service-token-0123456789abcdef';
  readonly accessToken = `EAAG${randomUUID().replace(/-/g, '')}`;
  readonly botToken = `7000001234:AAH${randomUUID().replace(/-/g, '')}`;
  readonly internal = new InternalInboxApi(this.serviceToken);
  readonly graph = new MetaGraphServer(GRAPH_VERSION, new Set([this.accessToken]));
  readonly telegram = new TelegramBotServer(this.botToken);
  private queues = new Map<string, Queue>();

  async start(extraEnv: Record<string, string> = {}) {
    this.db = await createTestDatabase();
    this.blobDir = await mkdtemp(join(tmpdir(), 'oq-social-blobs-'));
    await Promise.all([this.internal.start(), this.graph.start(), this.telegram.start()]);
    this.redis = new Redis(TEST_REDIS_URL, { maxRetriesPerRequest: null });
    this.app = await createHttpApp(AppModule, {
      title: 'social-service',
      env: testServiceEnv(this.db, this.prefix, {
        TICKET_SERVICE_URL: this.internal.url,
        META_GRAPH_BASE_URL: this.graph.baseUrl,
        META_GRAPH_VERSION: GRAPH_VERSION,
        TELEGRAM_API_BASE_URL: this.telegram.baseUrl,
        // The fakes listen on 127.0.0.1, which media downloads (safeFetch) refuse unless allow-listed.
        FETCH_ALLOW_HOSTS: [this.graph.baseUrl, this.telegram.baseUrl].map((u) => new URL(u).host).join(','),
        BLOB_DIR: this.blobDir,
        ...extraEnv,
      }),
    });
    await this.app.listen({ port: 0, host: '127.0.0.1' });
    this.base = await this.app.getUrl();
  }

  async stop() {
    await this.app?.close();
    await Promise.all([...this.queues.values()].map((q) => q.close()));
    this.redis?.disconnect();
    await Promise.all([this.internal.stop(), this.graph.stop(), this.telegram.stop()]);
    await dropQueuePrefix(this.prefix);
    await this.db?.drop();
    if (this.blobDir) await rm(this.blobDir, { recursive: true, force: true });
  }

  addInbox(inbox: InboxConfig): InboxConfig {
    this.internal.inboxes.set(inbox.id, inbox);
    return inbox;
  }

  queue(name: QueueName): Queue {
    let q = this.queues.get(name);
    if (!q) this.queues.set(name, (q = new Queue(name, { connection: this.redis, prefix: this.prefix })));
    return q;
  }

  /** Every job on a queue whatever its state (nothing consumes inbound/delivery in these tests). */
  async jobs(name: QueueName): Promise<Job[]> {
    return this.queue(name).getJobs(['waiting', 'active', 'delayed', 'completed', 'failed', 'prioritized']);
  }

  /** Waits until `check` passes (polling), then returns its value. */
  async until<T>(check: () => Promise<T | undefined | null | false>, timeoutMs = 10_000): Promise<T> {
    const end = Date.now() + timeoutMs;
    for (;;) {
      const v = await check();
      if (v) return v;
      if (Date.now() > end) throw new Error('timed out waiting for condition');
      await new Promise((r) => setTimeout(r, 25));
    }
  }

  /** Enqueues a reply the way ticket-service's outbox relay does. */
  async enqueueReply(input: OutboundMessageInput): Promise<Job> {
    const data = buildJob(JobName.OutboundMessage, input);
    return this.queue(QueueName.OutboundSocial).add(
      JobName.OutboundMessage,
      data,
      jobOptions(JobName.OutboundMessage, { jobId: outboundJobId(data.messageId, data.attempt) }),
    );
  }

  /** Delivery reports queued for one of our message ids or provider ids. */
  async reports(filter: { messageId?: string; providerMessageId?: string }) {
    return (await this.jobs(QueueName.Delivery))
      .map(
        (j) =>
          j.data as {
            messageId?: string;
            providerMessageId?: string;
            status: string;
            errorCode?: string;
            reason?: string;
          },
      )
      .filter(
        (r) =>
          (!filter.messageId || r.messageId === filter.messageId) &&
          (!filter.providerMessageId || r.providerMessageId === filter.providerMessageId),
      );
  }
}
