import { randomUUID } from 'node:crypto';
import { NestFastifyApplication } from '@nestjs/platform-fastify';
import {
  TestDatabase,
  createTestDatabase,
  dropQueuePrefix,
  testQueuePrefix,
  testServiceEnv,
} from '@oq/database/testing/test-env';
import {
  INBOUND_MESSAGE_VERSION,
  InboundMessageInput,
  JobName,
  jobOptions,
  QueueName,
  TicketEvent,
} from '@oq/contracts';
import { execute, maybeOne, one, rows, sql } from '@oq/database';
import { QueueService, createHttpApp } from '@oq/platform';
import { DataSource } from 'typeorm';
import { AppModule } from '../app.module';
import { TokenService } from '../auth/token.service';
import { TicketEventBus } from '../outbox/outbox.service';

export interface ApiResponse {
  status: number;
  // Test support: specs read response bodies as the API documents them, without declaring each shape.
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  body: any;
  headers: Headers;
}

/**
 * A booted ticket-service on a private database with two teams, an agent in
 * each, an admin, and one inbox per channel (email, whatsapp, voice, chat) of team A.
 */
export class ApiHarness {
  app!: NestFastifyApplication;
  ds!: DataSource;
  base = '';
  private db!: TestDatabase;
  private readonly prefix = testQueuePrefix();
  readonly ids: Record<string, string> = {};
  readonly tokens: Record<'alice' | 'bob' | 'admin' | 'carol', string> = { alice: '', bob: '', admin: '', carol: '' };
  private readonly published: TicketEvent[] = [];

  async start(extraEnv: Record<string, string> = {}) {
    this.db = await createTestDatabase();
    this.app = await createHttpApp(AppModule, {
      title: 'ticket-service',
      env: testServiceEnv(this.db, this.prefix, { ADMIN_PASSWORD: 'bootstrap-admin-pw', ...extraEnv }),
    });
    await this.app.listen({ port: 0, host: '127.0.0.1' });
    this.base = await this.app.getUrl();
    this.ds = this.app.get(DataSource);
    // Every ticket event the relay publishes, as agents' sockets get them (most have no queue of their own).
    this.app.get(TicketEventBus).events$.subscribe((e) => this.published.push(e));
    // Fixtures, written directly (the services under test own these tables' repositories).
    const [a, b] = await rows<{ id: string }>(
      this.ds,
      sql`INSERT INTO teams (name) VALUES ('Payments'), ('Security') RETURNING id`,
    );
    this.ids.teamA = a.id;
    this.ids.teamB = b.id;
    const agents = await rows<{ id: string }>(
      this.ds,
      sql`INSERT INTO agents (email, name, password_hash, role) VALUES
         ('alice@example.com', 'Alice', 'x', 'agent'), ('bob@example.com', 'Bob', 'x', 'agent'),
         ('boss@example.com', 'Boss', 'x', 'admin'), ('carol@example.com', 'Carol', 'x', 'agent') RETURNING id`,
    );
    [this.ids.alice, this.ids.bob, this.ids.admin, this.ids.carol] = agents.map((r) => r.id);
    await execute(
      this.ds,
      sql`INSERT INTO agent_teams VALUES (${this.ids.alice}, ${this.ids.teamA}), (${this.ids.bob}, ${this.ids.teamB}),
                                         (${this.ids.carol}, ${this.ids.teamA})`,
    );
    for (const [channel, address] of [
      ['email', 'support@wallet.example'],
      ['whatsapp', '15550001111'],
      ['voice', '+15550002222'],
      ['chat', 'widget-key'],
    ]) {
      const inbox = await one<{ id: string }>(
        this.ds,
        sql`INSERT INTO inboxes (name, channel, address, default_team_id)
            VALUES (${`${channel} inbox`}, ${channel}, ${address}, ${this.ids.teamA}) RETURNING id`,
      );
      this.ids[`inbox_${channel}`] = inbox.id;
    }
    const tokens = this.app.get(TokenService);
    this.tokens.alice = (await tokens.sign({ id: this.ids.alice, role: 'agent', teamIds: [this.ids.teamA] }, 0)).token;
    this.tokens.carol = (await tokens.sign({ id: this.ids.carol, role: 'agent', teamIds: [this.ids.teamA] }, 0)).token;
    this.tokens.bob = (await tokens.sign({ id: this.ids.bob, role: 'agent', teamIds: [this.ids.teamB] }, 0)).token;
    this.tokens.admin = (await tokens.sign({ id: this.ids.admin, role: 'admin', teamIds: [] }, 0)).token;
    return this;
  }

  async stop() {
    await this.app?.close();
    await this.db?.drop();
    await dropQueuePrefix(this.prefix);
  }

  async call(
    who: keyof ApiHarness['tokens'],
    method: string,
    path: string,
    body?: unknown,
    headers: Record<string, string> = {},
  ): Promise<ApiResponse> {
    const res = await fetch(`${this.base}${path}`, {
      method,
      headers: {
        authorization: `Bearer ${this.tokens[who]}`,
        ...(body !== undefined && { 'content-type': 'application/json' }),
        ...headers,
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    let parsed: unknown = text;
    try {
      parsed = text ? JSON.parse(text) : undefined;
    } catch {
      /* not JSON */
    }
    return { status: res.status, body: parsed, headers: res.headers };
  }

  /** A ticket opened by hand for a customer; defaults to an email ticket of team A. */
  async createTicket(who: keyof ApiHarness['tokens'] = 'alice', overrides: Record<string, unknown> = {}) {
    const res = await this.call(who, 'POST', '/v1/tickets', {
      requester: { kind: 'email', value: `cust-${Math.random().toString(36).slice(2)}@example.com` },
      channel: 'email',
      subject: 'Card payment failed',
      message: { text: 'My payment of 20 EUR failed but the money is gone' },
      ...overrides,
    });
    if (res.status !== 201) throw new Error(`create ticket: ${res.status} ${JSON.stringify(res.body)}`);
    // eslint-disable-next-line @typescript-eslint/no-unsafe-return -- the ticket view, read freely by specs (ApiResponse.body)
    return res.body;
  }

  /**
   * Puts an InboundMessage on `inbound` as a channel service would and waits until the booted
   * consumer stored it; resolves to the ticket it landed on.
   */
  async ingest(payload: Omit<InboundMessageInput, 'v' | 'sourceTime' | 'receivedAt'>): Promise<string> {
    const now = new Date().toISOString();
    await this.app
      .get(QueueService)
      .queue(QueueName.Inbound)
      .add(
        JobName.InboundMessage,
        { v: INBOUND_MESSAGE_VERSION, sourceTime: now, receivedAt: now, ...payload },
        jobOptions(JobName.InboundMessage, { jobId: randomUUID() }),
      );
    for (const deadline = Date.now() + 10_000; Date.now() < deadline; await new Promise((r) => setTimeout(r, 25))) {
      const row = await maybeOne<{ ticket_id: string }>(
        this.ds,
        sql`SELECT ticket_id FROM messages WHERE inbox_id = ${payload.inboxId} AND external_id = ${payload.externalId}`,
      );
      if (row) return row.ticket_id;
    }
    throw new Error(`inbound message ${payload.externalId} was never stored`);
  }

  /**
   * Types of the ticket events the relay published for a ticket, once all of `expected` are among
   * them (or 3 s passed: the caller's assertion then names what is missing).
   */
  async outboxEvents(ticketId: string, expected: readonly string[] = []): Promise<string[]> {
    const types = () => this.published.filter((e) => e.ticketId === ticketId).map((e) => e.type as string);
    const deadline = Date.now() + 3000;
    while (Date.now() < deadline) {
      const seen = types();
      if (seen.length && expected.every((t) => seen.includes(t))) break;
      await new Promise((r) => setTimeout(r, 20));
    }
    return types();
  }

  // The payload as each job's contract has it: specs read it freely, like ApiResponse.body.
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  outbox(): Promise<{ queue: string; job_name: string; job_id: string | null; payload: any }[]> {
    return rows(this.ds, sql`SELECT queue, job_name, job_id, payload FROM outbox ORDER BY id`);
  }
}

/** Polls until the relay has moved the job to BullMQ (it is woken by pg_notify, so this is quick). */
export async function waitForJob(h: ApiHarness, queue: QueueName, jobId: string, timeoutMs = 5000) {
  const q = h.app.get(QueueService).queue(queue);
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const job = await q.getJob(jobId);
    if (job) return job;
    if (Date.now() > deadline) throw new Error(`job ${jobId} never reached ${queue}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
