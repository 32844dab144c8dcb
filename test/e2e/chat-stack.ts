import { NestFastifyApplication } from '@nestjs/platform-fastify';
import {
  createTestDatabase,
  dropQueuePrefix,
  testQueuePrefix,
  testServiceEnv,
  TestDatabase,
} from '@oq/database/testing/test-env';
import { createHttpApp, SecretBox } from '@oq/platform';
import { createHmac, randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SignJWT } from 'jose';
import { io, Socket } from 'socket.io-client';
import { DataSource } from 'typeorm';
import { AppModule as ChatService } from '../../apps/chat-service/src/app.module';
import { hashPassword } from '../../apps/ticket-service/src/auth/password';
import { AppModule as TicketService } from '../../apps/ticket-service/src/app.module';

export const AGENT_PASSWORD = 'correct horse battery';

/**
 * A real stack for the chat tests: ticket-service and two chat-service
 * instances (separate Nest apps, separate HTTP ports, one Redis and Postgres),
 * a team with an online agent, a chat inbox with an identity secret and an
 * email inbox for the offline fallback.
 */
export class ChatStack {
  db!: TestDatabase;
  readonly prefix = testQueuePrefix();
  readonly blobDir = mkdtempSync(join(tmpdir(), 'oq-chat-blobs-'));
  ticket!: NestFastifyApplication;
  chats: NestFastifyApplication[] = [];
  ticketUrl!: string;
  chatUrls: string[] = [];
  ds!: DataSource;
  teamId!: string;
  inboxId!: string;
  emailInboxId!: string;
  agentToken!: string;
  readonly secret = `app-secret-${randomUUID()}`;
  private sockets: Socket[] = [];

  static async start(
    opts: {
      chatEnv?: Record<string, string>;
      /** Extra environment of the chat instance at the same index (on top of chatEnv). */
      instanceEnv?: Record<string, string>[];
      ticketEnv?: Record<string, string>;
      chatInstances?: number;
      allowedOrigins?: string[];
    } = {},
  ) {
    const s = new ChatStack();
    s.db = await createTestDatabase();
    const common = { BLOB_DIR: s.blobDir };
    s.ticket = await createHttpApp(TicketService, {
      title: 'ticket-service',
      env: testServiceEnv(s.db, s.prefix, {
        ...common,
        INGEST_BATCH_WAIT_MS: '5',
        CHAT_OFFLINE_EMAIL_DELAY_SECONDS: '1',
        CHAT_OFFLINE_SCAN_MS: '200',
        ...opts.ticketEnv,
      }),
    });
    await s.ticket.listen({ port: 0, host: '127.0.0.1' });
    s.ticketUrl = await s.ticket.getUrl();
    s.ds = s.ticket.get(DataSource);
    const env = testServiceEnv(s.db, s.prefix);

    [{ id: s.teamId }] = await s.ds.query(`INSERT INTO teams (name) VALUES ('Wallet support') RETURNING id`);
    const agentId: string = (
      await s.ds.query(
        `INSERT INTO agents (email, name, password_hash, role, presence, presence_at)
         VALUES ('ana@wallet.test', 'Ana', $1, 'agent', 'online', now()) RETURNING id`,
        [await hashPassword(AGENT_PASSWORD)],
      )
    )[0].id;
    await s.ds.query('INSERT INTO agent_teams VALUES ($1, $2)', [agentId, s.teamId]);
    s.inboxId = randomUUID();
    const box = new SecretBox(env.SECRETS_KEYS!, env.SECRETS_ACTIVE_KEY!);
    await s.ds.query(
      `INSERT INTO inboxes (id, name, channel, address, default_team_id, settings, secrets)
       VALUES ($1, 'In-app chat', 'chat', 'wallet-app', $2, $3::jsonb, $4)`,
      [
        s.inboxId,
        s.teamId,
        JSON.stringify({
          allowedOrigins: opts.allowedOrigins ?? ['https://wallet.example'],
          expectedReplyMinutes: 5,
          businessHours: {
            timezone: 'UTC',
            weekly: [1, 2, 3, 4, 5, 6, 7].map((day) => ({ day, open: '00:00', close: '24:00' })),
          },
        }),
        box.encrypt(JSON.stringify({ identityVerificationSecret: s.secret }), s.inboxId),
      ],
    );
    [{ id: s.emailInboxId }] = await s.ds.query(
      `INSERT INTO inboxes (name, channel, address, default_team_id) VALUES ('Support mail', 'email', 'help@wallet.test', $1) RETURNING id`,
      [s.teamId],
    );
    s.agentToken = await s.login('ana@wallet.test');

    for (let i = 0; i < (opts.chatInstances ?? 2); i++) {
      const chat = await createHttpApp(ChatService, {
        title: 'chat-service',
        env: testServiceEnv(s.db, s.prefix, {
          ...common,
          TICKET_SERVICE_URL: s.ticketUrl,
          CHAT_DELIVERY_ACK_TIMEOUT_MS: '1500',
          ...opts.chatEnv,
          ...opts.instanceEnv?.[i],
        }),
      });
      await chat.listen({ port: 0, host: '127.0.0.1' });
      s.chats.push(chat);
      s.chatUrls.push(await chat.getUrl());
    }
    return s;
  }

  async login(email: string): Promise<string> {
    const res = await fetch(`${this.ticketUrl}/v1/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ email, password: AGENT_PASSWORD }),
    });
    if (res.status !== 200) throw new Error(`login failed: ${res.status} ${await res.text()}`);
    return ((await res.json()) as { accessToken: string }).accessToken;
  }

  userHash(userId: string, secret = this.secret): string {
    return createHmac('sha256', secret).update(userId).digest('hex');
  }

  async userJwt(claims: Record<string, unknown>, secret = this.secret, exp: string | number = '10m'): Promise<string> {
    return new SignJWT(claims)
      .setProtectedHeader({ alg: 'HS256' })
      .setExpirationTime(exp)
      .sign(new TextEncoder().encode(secret));
  }

  async visitor(chat = 0, headers: Record<string, string> = {}): Promise<{ visitorId: string; token: string }> {
    const res = await fetch(`${this.chatUrls[chat]}/chat/${this.inboxId}/visitors`, { method: 'POST', headers });
    if (res.status !== 201) throw new Error(`visitor: ${res.status} ${await res.text()}`);
    return (await res.json()) as { visitorId: string; token: string };
  }

  /** A connected customer socket, resolved with the session info it receives first. */
  async connect(
    auth: Record<string, string>,
    /** `localAddress`: the client's source address (any 127.x.y.z reaches the service on loopback). */
    opts: { chat?: number; origin?: string; headers?: Record<string, string>; localAddress?: string } = {},
  ): Promise<{ socket: Socket; session: Record<string, any> }> {
    const headers = { ...(opts.origin ? { origin: opts.origin } : {}), ...opts.headers };
    const socket = io(this.chatUrls[opts.chat ?? 0], {
      path: '/chat/socket',
      transports: ['websocket'],
      auth: { inboxId: this.inboxId, ...auth },
      extraHeaders: Object.keys(headers).length ? headers : undefined,
      reconnection: false,
      forceNew: true,
      // engine.io-client passes it on to the ws client in Node; its options type does not list it.
      ...(opts.localAddress ? ({ localAddress: opts.localAddress } as object) : {}),
    });
    this.sockets.push(socket);
    return new Promise((resolve, reject) => {
      socket.once('session', (session) => resolve({ socket, session }));
      socket.once('connect_error', (err: Error & { data?: unknown }) => {
        socket.close();
        reject(Object.assign(new Error(err.message), { data: err.data }));
      });
    });
  }

  async agentCall(method: string, path: string, body?: unknown): Promise<{ status: number; body: any }> {
    const res = await fetch(`${this.ticketUrl}${path}`, {
      method,
      headers: { authorization: `Bearer ${this.agentToken}`, ...(body ? { 'content-type': 'application/json' } : {}) },
      body: body ? JSON.stringify(body) : undefined,
    });
    const text = await res.text();
    return { status: res.status, body: text ? JSON.parse(text) : null };
  }

  async stop() {
    for (const s of this.sockets) s.close();
    for (const c of this.chats) await c.close();
    await this.ticket?.close();
    await this.db?.drop();
    await dropQueuePrefix(this.prefix);
    rmSync(this.blobDir, { recursive: true, force: true });
  }
}

/** Polls until `fn` returns a truthy value (real timers, seconds at most). */
export async function eventually<T>(fn: () => Promise<T | undefined | null | false>, timeoutMs = 8000): Promise<T> {
  const until = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (v) return v;
    } catch (err) {
      last = err;
    }
    if (Date.now() > until)
      throw new Error(`condition not met within ${timeoutMs} ms${last ? `: ${(last as Error).message}` : ''}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

export function nextEvent<T = any>(socket: Socket, event: string, timeoutMs = 5000): Promise<T> {
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`no ${event} within ${timeoutMs} ms`)), timeoutMs);
    socket.once(event, (payload: T, ack?: (v: unknown) => void) => {
      clearTimeout(t);
      ack?.(true);
      resolve(payload);
    });
  });
}
