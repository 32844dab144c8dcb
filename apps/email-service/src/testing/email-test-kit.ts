import { createServer, Server } from 'node:http';
import { AddressInfo } from 'node:net';
import { NestFastifyApplication } from '@nestjs/platform-fastify';
import { InboxConfig, JobName, QueueName } from '@oq/contracts';
import { TEST_REDIS_URL, TestDatabase, testServiceEnv } from '@oq/database/testing/test-env';
import { createHttpApp } from '@oq/platform';
import { Job, Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { AppModule } from '../app.module';
import { ImapSupervisor } from '../imap/imap-supervisor.service';
import { until } from '../../../../test/support/until';

export const SERVICE_TOKEN = 'test-service-token-0123456789abcdef';

/**
 * ticket-service's internal inbox API as seen by email-service: the documented
 * contract (GET /internal/inboxes?channel=email with x-service-token →
 * InboxConfig[]). email-service's own tests may not import ticket-service;
 * the cross-service tests under test/e2e run against the real one.
 */
export class InboxApiStub {
  inboxes: InboxConfig[] = [];
  requests = 0;
  private constructor(private readonly server: Server) {}

  static async start(token = SERVICE_TOKEN): Promise<InboxApiStub> {
    const server = createServer((req, res) => {
      stub.requests++;
      if (req.headers['x-service-token'] !== token) {
        res.writeHead(401).end();
        return;
      }
      const url = new URL(req.url ?? '/', 'http://x');
      const one = /^\/internal\/inboxes\/([^/]+)$/.exec(url.pathname);
      if (one) {
        const inbox = stub.inboxes.find((i) => i.id === one[1]);
        res.writeHead(inbox ? 200 : 404, { 'content-type': 'application/json' });
        res.end(inbox ? JSON.stringify(inbox) : '{"message":"not found"}');
        return;
      }
      if (url.pathname !== '/internal/inboxes') {
        res.writeHead(404).end();
        return;
      }
      const channel = url.searchParams.get('channel');
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify(stub.inboxes.filter((i) => !channel || i.channel === channel)));
    });
    const stub = new InboxApiStub(server);
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    return stub;
  }

  get url(): string {
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  async stop() {
    await new Promise((r) => this.server.close(r));
  }
}

export function emailInbox(
  id: string,
  address: string,
  imap: { port: number; user: string; password: string },
  extra: Record<string, unknown> = {},
): InboxConfig {
  return {
    id,
    name: `Support ${address}`,
    channel: 'email',
    address,
    defaultTeamId: '00000000-0000-4000-8000-000000000001',
    enabled: true,
    settings: {
      imapHost: '127.0.0.1',
      imapPort: imap.port,
      imapSecure: false,
      imapUser: imap.user,
      smtpHost: '127.0.0.1',
      smtpPort: 2525,
      smtpSecure: false,
      ...extra,
    },
    secrets: { imapPassword: imap.password },
  };
}

export function emailServiceEnv(
  db: TestDatabase,
  prefix: string,
  api: InboxApiStub | string,
  extra: Record<string, string> = {},
) {
  return testServiceEnv(db, prefix, {
    TICKET_SERVICE_URL: typeof api === 'string' ? api : api.url,
    EMAIL_LEASE_TTL_MS: '3000',
    // IDLE must do the work: the polling safety net is far outside every test's window.
    EMAIL_POLL_FALLBACK_MS: '600000',
    ...extra,
  });
}

export async function startEmailService(env: NodeJS.ProcessEnv): Promise<NestFastifyApplication> {
  const app = await createHttpApp(AppModule, { title: 'email-service', env });
  await app.listen({ port: 0, host: '127.0.0.1' });
  return app;
}

/** Waits until the app holds the mailbox and has finished its first sync. */
export async function waitForMailbox(app: NestFastifyApplication, timeoutMs = 15_000) {
  const supervisor = app.get(ImapSupervisor);
  await until(() => supervisor.held().some((s) => s.lastSyncAt > 0), timeoutMs, 'mailbox watched');
}

export { until };

/** Reads queues directly (no consumer runs in these tests). */
export class QueueProbe {
  readonly redis = new Redis(TEST_REDIS_URL, { maxRetriesPerRequest: null });
  readonly inbound: Queue;
  readonly delivery: Queue;
  readonly outbound: Queue;
  constructor(readonly prefix: string) {
    this.inbound = new Queue(QueueName.Inbound, { connection: this.redis, prefix });
    this.delivery = new Queue(QueueName.Delivery, { connection: this.redis, prefix });
    this.outbound = new Queue(QueueName.OutboundEmail, { connection: this.redis, prefix });
  }

  async inboundJobs(): Promise<Job[]> {
    const jobs = await this.inbound.getJobs(['waiting', 'active', 'delayed', 'completed', 'failed', 'prioritized']);
    return jobs.filter((j) => j.name === JobName.InboundMessage);
  }

  async close() {
    await Promise.all([this.inbound.close(), this.delivery.close(), this.outbound.close()]);
    this.redis.disconnect();
  }
}
