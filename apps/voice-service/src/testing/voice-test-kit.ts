/**
 * Test kit for the voice-service's HTTP tests: the service booted for real
 * against the test file's database and queue prefix, a local HTTP server
 * speaking ticket-service's internal inbox API (GET /internal/inboxes…, as in
 * libs/contracts/src/internal-api.ts), a local "Twilio API" serving recordings
 * behind HTTP Basic auth, and request signing done from the documented algorithms.
 */
import { createHash, randomUUID } from 'node:crypto';
import { createServer, IncomingMessage, Server, ServerResponse } from 'node:http';
import { AddressInfo } from 'node:net';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { NestFastifyApplication } from '@nestjs/platform-fastify';
import { InboxConfig, InboundMessage, QueueName } from '@oq/contracts';
import type { VoiceCallRecord } from '@oq/database';
import { TestDatabase, testServiceEnv, TEST_REDIS_URL } from '@oq/database/testing/test-env';
import { createHttpApp, SERVICE_TOKEN_HEADER } from '@oq/platform';
import { Job, Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { Client } from 'pg';
import { until } from '../../../../test/support/until';
import { AppModule } from '../app.module';
import { pbxSignature } from '../pbx/pbx-signature';
import { twilioSignature } from '../twilio/twilio-signature';

const SERVICE_TOKEN = 'test-service-token-0123456789abcdef';

async function listen(server: Server): Promise<string> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

/** ticket-service's internal inbox API, as the contract describes it. */
export class FakeInboxApi {
  readonly inboxes = new Map<string, InboxConfig>();
  requests = 0;
  private server = createServer((req, res) => this.handle(req, res));
  url = '';

  async start(): Promise<this> {
    this.url = await listen(this.server);
    return this;
  }

  add(over: Partial<InboxConfig> = {}): InboxConfig {
    const inbox: InboxConfig = {
      id: randomUUID(),
      name: 'Hotline',
      channel: 'voice',
      address: `+1800555${String(Math.floor(Math.random() * 10000)).padStart(4, '0')}`,
      defaultTeamId: randomUUID(),
      enabled: true,
      settings: {},
      secrets: {},
      ...over,
    };
    this.inboxes.set(inbox.id, inbox);
    return inbox;
  }

  private handle(req: IncomingMessage, res: ServerResponse) {
    this.requests++;
    const send = (status: number, body: unknown) => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body));
    };
    if (req.headers[SERVICE_TOKEN_HEADER] !== SERVICE_TOKEN) return send(401, { message: 'invalid service token' });
    const url = new URL(req.url!, 'http://x');
    if (url.pathname === '/internal/inboxes') {
      const channel = url.searchParams.get('channel');
      return send(
        200,
        [...this.inboxes.values()].filter((i) => !channel || i.channel === channel),
      );
    }
    const one = /^\/internal\/inboxes\/([0-9a-f-]{36})$/.exec(url.pathname);
    if (one && this.inboxes.has(one[1])) return send(200, this.inboxes.get(one[1]));
    return send(404, { message: 'not found' });
  }

  close() {
    this.server.closeAllConnections();
    return new Promise((r) => this.server.close(r));
  }
}

/**
 * A local stand-in for api.twilio.com (or a PBX's web server) serving recordings. It listens on
 * 127.0.0.1, which safeFetch refuses: list `host` in FETCH_ALLOW_HOSTS for the service to reach it.
 */
export class FakeRecordingServer {
  readonly files = new Map<string, { body: Buffer; type: string; basicAuth?: string; failures?: number }>();
  readonly authorizations: (string | undefined)[] = [];
  /** Every request that reached the server (the recordings' paths). */
  readonly requests: string[] = [];
  private server = createServer((req, res) => {
    const file = this.files.get(req.url!);
    this.requests.push(req.url!);
    this.authorizations.push(req.headers.authorization);
    if (!file) return res.writeHead(404).end();
    if (file.failures) {
      file.failures--;
      return res.writeHead(503).end();
    }
    if (file.basicAuth && req.headers.authorization !== `Basic ${Buffer.from(file.basicAuth).toString('base64')}`)
      return res.writeHead(401).end();
    res.writeHead(200, { 'content-type': file.type, 'content-length': file.body.length });
    res.end(file.body);
  });
  url = '';

  async start(): Promise<this> {
    this.url = await listen(this.server);
    return this;
  }

  /** `127.0.0.1:<port>`, for FETCH_ALLOW_HOSTS. */
  get host(): string {
    return new URL(this.url).host;
  }

  /** Serves a file; the first `failures` requests answer 503 (a provider hiccup). */
  serve(path: string, body: Buffer, type = 'audio/mpeg', basicAuth?: string, failures = 0): string {
    this.files.set(path, { body, type, basicAuth, failures });
    return this.url + path;
  }

  close() {
    this.server.closeAllConnections();
    return new Promise((r) => this.server.close(r));
  }
}

/** What Twilio calls: the public URL behind a proxy that strips the /voice prefix. */
export const PUBLIC_BASE_URL = 'https://hooks.wallet.example/voice';

export interface VoiceStack {
  app: NestFastifyApplication;
  base: string;
  inbound: Queue;
  blobDir: string;
  close(): Promise<void>;
}

export async function startVoiceService(
  db: TestDatabase,
  prefix: string,
  extra: Record<string, string>,
): Promise<VoiceStack> {
  const blobDir = mkdtempSync(join(tmpdir(), 'oq-voice-blobs-'));
  const app = await createHttpApp(AppModule, {
    title: 'voice-service',
    env: testServiceEnv(db, prefix, {
      VOICE_PUBLIC_BASE_URL: PUBLIC_BASE_URL,
      VOICE_DEFAULT_REGION: 'US',
      BLOB_DIR: blobDir,
      VOICE_SWEEP_INTERVAL_MS: '200',
      ...extra,
    }),
  });
  await app.listen({ port: 0, host: '127.0.0.1' });
  const base = (await app.getUrl()).replace('[::1]', '127.0.0.1');
  const redis = new Redis(TEST_REDIS_URL, { maxRetriesPerRequest: null });
  const inbound = new Queue(QueueName.Inbound, { connection: redis, prefix });
  return {
    app,
    base,
    inbound,
    blobDir,
    async close() {
      await app.close();
      await inbound.close();
      redis.disconnect();
    },
  };
}

/** Posts a Twilio callback signed exactly as Twilio signs it (over the public URL). */
export async function postTwilio(
  base: string,
  inboxId: string,
  authToken: string,
  params: Record<string, string>,
  opts: { signature?: string; query?: Record<string, string> } = {},
): Promise<Response> {
  // Custom parameters on the status callback URL are part of what Twilio signs.
  const query = opts.query ? `?${new URLSearchParams(opts.query)}` : '';
  const path = `/webhooks/twilio/${inboxId}${query}`;
  return fetch(base + path, {
    method: 'POST',
    headers: {
      'content-type': 'application/x-www-form-urlencoded',
      'x-twilio-signature': opts.signature ?? twilioSignature(authToken, PUBLIC_BASE_URL + path, params),
    },
    body: new URLSearchParams(params).toString(),
  });
}

/** Posts a PBX call record signed with HMAC-SHA256 over `timestamp.body`. */
export async function postPbx(
  base: string,
  inboxId: string,
  secret: string,
  record: unknown,
  opts: { timestamp?: number; signature?: string } = {},
): Promise<Response> {
  const body = JSON.stringify(record);
  const ts = String(opts.timestamp ?? Math.floor(Date.now() / 1000));
  return fetch(`${base}/webhooks/pbx/${inboxId}`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      'x-onequeue-timestamp': ts,
      'x-onequeue-signature': opts.signature ?? pbxSignature(secret, ts, body),
    },
    body,
  });
}

/** The call-log jobs on the inbound queue for one call, by revision. */
export async function callLogJobs(queue: Queue, callId: string): Promise<Job<InboundMessage>[]> {
  const jobs = (await queue.getJobs([
    'waiting',
    'active',
    'completed',
    'failed',
    'delayed',
    'prioritized',
  ])) as Job<InboundMessage>[];
  return jobs.filter((j) => j.data.externalId === callId).sort((a, b) => a.data.revision - b.data.revision);
}

/** Polls until the call has `count` call-log jobs (revisions), then returns them. */
export async function waitForCallLogs(queue: Queue, callId: string, count: number, timeoutMs = 5000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const jobs = await callLogJobs(queue, callId);
    if (jobs.length >= count || Date.now() > deadline) return jobs;
    await new Promise((r) => setTimeout(r, 25));
  }
}

/**
 * Waits until a call owes nothing: the revision it owes is on the queue (emitted = target) and no
 * work is scheduled for it (next_work_at null, so the sweep will not pick it up). From then on
 * only a new callback can produce another revision — which is what makes "no further call log"
 * assertable without waiting for a while. Returns the voice_calls row.
 */
export async function waitForSettledCall(pg: Client, callId: string, timeoutMs = 10_000): Promise<VoiceCallRecord> {
  let row: VoiceCallRecord | undefined;
  await until(
    async () => {
      [row] = (await pg.query<VoiceCallRecord>('SELECT * FROM voice_calls WHERE call_id = $1', [callId])).rows;
      return (
        !!row && row.emitted_revision !== null && row.emitted_revision === row.target_revision && !row.next_work_at
      );
    },
    timeoutMs,
    `call ${callId} settled (emitted_revision = target_revision, nothing scheduled)`,
  );
  return row!;
}

export const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');
export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
export { SERVICE_TOKEN };
