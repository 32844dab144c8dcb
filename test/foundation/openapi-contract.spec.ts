import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { NestFastifyApplication } from '@nestjs/platform-fastify';
import { INBOUND_MESSAGE_VERSION, JobName, QueueName, jobOptions } from '@oq/contracts';
import {
  createTestDatabase,
  dropQueuePrefix,
  testQueuePrefix,
  testServiceEnv,
  TestDatabase,
} from '@oq/database/testing/test-env';
import { BlobStore, QueueService, contractStore, createHttpApp } from '@oq/platform';
import { DataSource } from 'typeorm';
import { AppModule as ChatService } from '../../apps/chat-service/src/app.module';
import { signMetaBody } from '../../apps/social-service/src/webhooks/signature';
import { AppModule as SocialService } from '../../apps/social-service/src/app.module';
import { AppModule as TicketService } from '../../apps/ticket-service/src/app.module';
import {
  postPbx,
  postTwilio,
  startVoiceService,
  VoiceStack,
} from '../../apps/voice-service/src/testing/voice-test-kit';

/**
 * The contract test's own requests: every documented operation of every service answers at least
 * once, with a success, against the real services — and every response is checked against the
 * service's OpenAPI document by the contract check (libs/platform openapi-contract.ts), which the
 * test environment turns on for every spec. The last test fails for any operation no request
 * here reached, so a new operation needs a request here (and a document that tells the truth).
 */
describe('every documented operation answers as its OpenAPI document says', () => {
  let db: TestDatabase;
  const prefix = testQueuePrefix();
  const blobDir = mkdtempSync(join(tmpdir(), 'oq-contract-blobs-'));
  let ticket: NestFastifyApplication;
  let chat: NestFastifyApplication;
  let social: NestFastifyApplication;
  let voice: VoiceStack;
  let ticketUrl = '';
  let admin = '';
  const ids: Record<string, string> = {};
  const TWILIO_TOKEN = 'twilio-auth-token-0123456789abcdef';
  const PBX_SECRET = 'pbx-signing-secret-0123456789';
  const HOTLINE = '+18005550100';
  const meta = { appSecret: `app-${randomUUID()}`, verifyToken: `verify-${randomUUID()}`, accessToken: 'EAAGtoken' };
  const telegram = { botToken: '7000001234:AAHcontracttoken', webhookSecret: 'tg_contract_secret' };

  type Res = { status: number; body: any; text: string; type: string | null };
  async function call(
    base: string,
    method: string,
    path: string,
    o: { token?: string; json?: unknown; body?: BodyInit; headers?: Record<string, string> } = {},
  ): Promise<Res> {
    const headers: Record<string, string> = { ...o.headers };
    if (o.token) headers.authorization = `Bearer ${o.token}`;
    if (o.json !== undefined) headers['content-type'] = 'application/json';
    const res = await fetch(`${base}${path}`, {
      method,
      headers,
      body: o.json !== undefined ? JSON.stringify(o.json) : o.body,
    });
    const text = await res.text();
    let body: unknown = text;
    try {
      body = JSON.parse(text);
    } catch {
      /* not JSON */
    }
    return { status: res.status, body, text, type: res.headers.get('content-type') };
  }
  const api = (method: string, path: string, o: Parameters<typeof call>[3] = {}) =>
    call(ticketUrl, method, path, { token: admin, ...o });
  /** A request that must succeed with `status`; its body. */
  async function ok(status: number, res: Promise<Res>): Promise<any> {
    const r = await res;
    if (r.status !== status) throw new Error(`expected ${status}, got ${r.status}: ${r.text.slice(0, 500)}`);
    return r.body;
  }

  beforeAll(async () => {
    db = await createTestDatabase();
    const common = { BLOB_DIR: blobDir, ADMIN_PASSWORD: 'contract-admin-pw' };
    ticket = await createHttpApp(TicketService, {
      title: 'ticket-service',
      env: testServiceEnv(db, prefix, { ...common, INGEST_BATCH_WAIT_MS: '5' }),
    });
    await ticket.listen({ port: 0, host: '127.0.0.1' });
    ticketUrl = await ticket.getUrl();
    admin = (
      await ok(
        200,
        call(ticketUrl, 'POST', '/v1/auth/login', {
          json: { email: 'admin@onequeue.local', password: 'contract-admin-pw' },
        }),
      )
    ).accessToken;
    // The channel services' inboxes, made through the API (POST /v1/inboxes), before they boot.
    ids.team = (await ok(201, api('POST', '/v1/teams', { json: { name: 'Contract team' } }))).id;
    const inbox = async (channel: string, address: string, settings: object, secrets: object) =>
      (
        await ok(
          201,
          api('POST', '/v1/inboxes', {
            json: { channel, name: `${channel} inbox`, address, defaultTeamId: ids.team, settings, secrets },
          }),
        )
      ).id as string;
    ids.email = await inbox(
      'email',
      'help@contract.example',
      { imapHost: '127.0.0.1', imapUser: 'help', smtpHost: '127.0.0.1' },
      { imapPassword: 'x' },
    );
    ids.chat = await inbox('chat', 'contract-widget', {}, {});
    ids.voice = await inbox(
      'voice',
      HOTLINE,
      { defaultRegion: 'US' },
      { authToken: TWILIO_TOKEN, signingSecret: PBX_SECRET },
    );
    ids.whatsapp = await inbox('whatsapp', '106540352242999', {}, meta);
    ids.telegram = await inbox('telegram', telegram.botToken.split(':')[0], {}, telegram);

    const channelEnv = testServiceEnv(db, prefix, { ...common, TICKET_SERVICE_URL: ticketUrl });
    chat = await createHttpApp(ChatService, { title: 'chat-service', env: channelEnv });
    await chat.listen({ port: 0, host: '127.0.0.1' });
    social = await createHttpApp(SocialService, { title: 'social-service', env: channelEnv });
    await social.listen({ port: 0, host: '127.0.0.1' });
    voice = await startVoiceService(db, prefix, { TICKET_SERVICE_URL: ticketUrl });
  }, 60_000);

  afterAll(async () => {
    await voice?.close();
    await social?.close();
    await chat?.close();
    await ticket?.close();
    await db?.drop();
    await dropQueuePrefix(prefix);
    rmSync(blobDir, { recursive: true, force: true });
  });

  it('ticket-service: auth, agents, teams, categories and inboxes', async () => {
    await ok(200, api('GET', '/v1/auth/me'));
    await ok(200, api('PUT', '/v1/agents/me/presence', { json: { presence: 'online' } }));

    const agent = await ok(
      201,
      api('POST', '/v1/agents', {
        json: { email: 'ana@contract.example', name: 'Ana', password: 'correct horse battery', teamIds: [ids.team] },
      }),
    );
    ids.agent = agent.id;
    await ok(200, api('GET', '/v1/agents'));
    await ok(200, api('GET', `/v1/agents/${agent.id}`));
    await ok(200, api('PATCH', `/v1/agents/${agent.id}`, { json: { name: 'Ana B.' } }));

    const team = await ok(201, api('POST', '/v1/teams', { json: { name: 'Short-lived team' } }));
    await ok(200, api('GET', '/v1/teams'));
    await ok(200, api('GET', `/v1/teams/${team.id}`));
    await ok(200, api('PATCH', `/v1/teams/${team.id}`, { json: { name: 'Renamed team' } }));
    await ok(204, api('DELETE', `/v1/teams/${team.id}`));

    ids.category = (await ok(201, api('POST', '/v1/categories', { json: { name: 'contract' } }))).id;
    await ok(200, api('GET', '/v1/categories'));

    const spare = await ok(
      201,
      api('POST', '/v1/inboxes', {
        json: { channel: 'chat', name: 'Spare', address: 'spare-widget', defaultTeamId: ids.team },
      }),
    );
    await ok(200, api('GET', '/v1/inboxes?channel=chat'));
    await ok(200, api('GET', `/v1/inboxes/${spare.id}`));
    await ok(200, api('PATCH', `/v1/inboxes/${spare.id}`, { json: { name: 'Spare chat', enabled: false } }));
    await ok(204, api('DELETE', `/v1/inboxes/${spare.id}`));
  });

  it('ticket-service: tickets, messages, attachments, typing, queue and contacts', async () => {
    const open = (value: string, extra: object = {}) =>
      ok(
        201,
        api('POST', '/v1/tickets', {
          json: {
            requester: { kind: 'email', value, name: 'Customer' },
            channel: 'email',
            subject: 'Card payment failed',
            message: { text: 'My payment failed' },
            teamId: ids.team,
            ...extra,
          },
          headers: { 'idempotency-key': randomUUID() },
        }),
      );
    const a = await open('one@customer.example');
    const b = await open('two@customer.example', { categoryId: ids.category, tags: ['vip'] });
    await ok(200, api('GET', '/v1/tickets?status=new,open&limit=5'));
    await ok(200, api('GET', `/v1/tickets/${a.id}`));
    await ok(200, api('PATCH', `/v1/tickets/${a.id}`, { json: { version: a.version, priority: 'high' } }));

    const upload = new FormData();
    upload.append('file', new Blob([randomBytes(64)], { type: 'application/pdf' }), 'receipt.pdf');
    const file = await ok(201, api('POST', '/v1/attachments', { body: upload }));
    await ok(
      201,
      api('POST', `/v1/tickets/${a.id}/messages`, {
        json: { kind: 'note', text: 'Receipt attached', attachments: [{ sha256: file.sha256 }] },
      }),
    );
    const download = await api('GET', `/v1/attachments/${file.sha256}?ticketId=${a.id}`);
    expect(download.status).toBe(200);

    // A chat ticket has a conversation to type into.
    const chatTicket = await ok(
      201,
      api('POST', '/v1/tickets', {
        json: {
          requester: { kind: 'visitor', value: randomUUID() },
          channel: 'chat',
          inboxId: ids.chat,
          message: { text: 'hello?' },
        },
      }),
    );
    await ok(204, api('POST', `/v1/tickets/${chatTicket.id}/typing`, { json: { typing: true } }));
    await ok(200, api('GET', `/v1/tickets/${chatTicket.id}/sla`));

    await ok(200, api('GET', '/v1/queue?limit=10'));
    const taken = await api('POST', '/v1/queue/next', { json: {} });
    expect(taken.status).toBe(200);

    await ok(200, api('POST', `/v1/tickets/${b.id}/merge`, { json: { targetTicketId: a.id } }));

    const found = await ok(200, api('GET', '/v1/contacts?q=one@customer'));
    const other = await ok(200, api('GET', '/v1/contacts?q=two@customer'));
    const [one, two] = [found.items[0].id, other.items[0].id];
    await ok(200, api('GET', `/v1/contacts/${one}`));
    await ok(200, api('GET', `/v1/contacts/${one}/merge-suggestions`));
    await ok(200, api('POST', `/v1/contacts/${two}/merge`, { json: { intoContactId: one } }));
  });

  it('ticket-service: SLA schedules, policies and a ticket’s trail', async () => {
    const body = {
      name: 'Office hours',
      timezone: 'Europe/Berlin',
      weekly: [1, 2, 3, 4, 5].map((day) => ({ day, start: '09:00', end: '17:00' })),
      holidays: [{ date: '2026-12-25', yearly: true, name: 'Christmas' }],
    };
    const schedule = await ok(201, api('POST', '/v1/admin/sla/schedules', { json: body }));
    await ok(200, api('GET', '/v1/admin/sla/schedules'));
    await ok(200, api('GET', `/v1/admin/sla/schedules/${schedule.id}`));
    await ok(200, api('PUT', `/v1/admin/sla/schedules/${schedule.id}`, { json: { ...body, name: 'Office' } }));
    const policy = await ok(
      201,
      api('POST', '/v1/admin/sla/policies', {
        json: {
          name: 'VIP',
          conditions: { tagsAll: ['never-matches'] },
          targets: { first_reply: { urgent: { seconds: 600, businessTime: true } } },
          scheduleId: schedule.id,
          warningPercent: 80,
          escalation: { breach: [{ kind: 'notify', message: 'VIP waiting' }] },
        },
      }),
    );
    await ok(200, api('GET', '/v1/admin/sla/policies'));
    await ok(200, api('GET', `/v1/admin/sla/policies/${policy.id}`));
    await ok(
      200,
      api('PUT', `/v1/admin/sla/policies/${policy.id}`, {
        json: { name: 'VIP', targets: { resolution: { high: { seconds: 3600 } } }, active: false },
      }),
    );
    await ok(200, api('DELETE', `/v1/admin/sla/policies/${policy.id}`));
    await ok(204, api('DELETE', `/v1/admin/sla/schedules/${schedule.id}`));
  });

  it('ticket-service: dead letters and suppressed mail', async () => {
    const ds = ticket.get(DataSource);
    const [letter] = await ds.query(
      `INSERT INTO dead_letters (queue, job_name, job_id, payload, reason) VALUES ($1, $2, 'x-1', $3::jsonb, 'test') RETURNING id`,
      [QueueName.Inbound, JobName.InboundMessage, JSON.stringify({ v: 0, hello: 'world' })],
    );
    await ok(200, api('GET', '/v1/admin/dead-letters?limit=10'));
    expect((await api('GET', `/v1/admin/dead-letters/${letter.id}/payload`)).status).toBe(200);
    await ok(200, api('POST', `/v1/admin/dead-letters/${letter.id}/replay`));

    // Two suppressed mails as email-service files them: one to release, one to delete.
    const blobs = ticket.get(BlobStore);
    const file = async () => {
      const messageId = `<${randomUUID()}@mail.example.org>`;
      const raw = await blobs.put(
        Buffer.from(`From: Mailer <mailer@example.org>\r\nMessage-ID: ${messageId}\r\n\r\nHi`),
      );
      const attachment = await blobs.put(randomBytes(40));
      const now = new Date().toISOString();
      const payload = {
        v: INBOUND_MESSAGE_VERSION,
        inboxId: ids.email,
        channel: 'email',
        externalId: `${messageId}#${raw.sha256.slice(0, 16)}`,
        sourceTime: now,
        receivedAt: now,
        sender: { kind: 'email', value: 'mailer@example.org', displayName: 'Mailer' },
        subject: 'You won',
        text: 'Claim your prize',
        attachments: [{ ...attachment, filename: 'prize.pdf', contentType: 'application/pdf' }],
        email: {
          messageId,
          senderHeader: 'from',
          suppressed: { reason: 'spam', detail: 'X-Spam-Flag: YES', raw },
        },
        metadata: { imap: { uid: 4242, uidValidity: 7, folder: 'INBOX' } },
      };
      await ticket
        .get(QueueService)
        .queue(QueueName.Inbound)
        .add(JobName.InboundMessage, payload, jobOptions(JobName.InboundMessage, { jobId: randomUUID() }));
      for (const deadline = Date.now() + 10_000; Date.now() < deadline; await new Promise((r) => setTimeout(r, 25))) {
        const [row] = await ds.query(`SELECT id FROM suppressed_mails WHERE external_id = $1`, [payload.externalId]);
        if (row) return { id: row.id as string, attachment: attachment.sha256 };
      }
      throw new Error('suppressed mail was never filed');
    };
    const kept = await file();
    const junk = await file();
    await ok(200, api('GET', '/v1/admin/suppressed-mail?reason=spam'));
    await ok(200, api('GET', `/v1/admin/suppressed-mail/${kept.id}`));
    expect((await api('GET', `/v1/admin/suppressed-mail/${kept.id}/raw`)).status).toBe(200);
    expect((await api('GET', `/v1/admin/suppressed-mail/${kept.id}/attachments/${kept.attachment}`)).status).toBe(200);
    await ok(200, api('POST', `/v1/admin/suppressed-mail/${kept.id}/release`));
    await ok(204, api('DELETE', `/v1/admin/suppressed-mail/${junk.id}`));
  });

  it('ticket-service: deactivating an agent', async () => {
    await ok(200, api('DELETE', `/v1/agents/${ids.agent}`));
  });

  it('chat-service: visitors, history and attachments', async () => {
    const base = await chat.getUrl();
    const visitor = await ok(201, call(base, 'POST', `/chat/${ids.chat}/visitors`));
    const headers = { 'x-chat-visitor-token': visitor.token };
    await ok(200, call(base, 'GET', `/chat/${ids.chat}/messages?limit=10`, { headers }));
    const bytes = randomBytes(100);
    const stored = await ok(
      201,
      call(base, 'POST', `/chat/${ids.chat}/attachments`, {
        body: bytes,
        headers: { ...headers, 'content-type': 'application/octet-stream', 'x-filename': 'photo%20one.png' },
      }),
    );
    const download = await call(base, 'GET', `/chat/${ids.chat}/attachments/${stored.sha256}?filename=photo.png`, {
      headers,
    });
    expect(download.status).toBe(200);
  });

  it('voice-service: a Twilio callback and a PBX record', async () => {
    const twilio = await postTwilio(voice.base, ids.voice, TWILIO_TOKEN, {
      AccountSid: 'AC00000000000000000000000000000001',
      CallSid: `CA${randomBytes(16).toString('hex')}`,
      From: '+14155552671',
      To: HOTLINE,
      Direction: 'inbound',
      CallStatus: 'ringing',
    });
    expect(twilio.status).toBe(200);
    await twilio.text();
    const pbx = await postPbx(voice.base, ids.voice, PBX_SECRET, {
      callId: `pbx-${randomUUID()}`,
      direction: 'inbound',
      from: '+14155552671',
      to: HOTLINE,
      startedAt: new Date().toISOString(),
    });
    expect(pbx.status).toBe(200);
    await pbx.text();
  });

  it('social-service: the Meta handshake, a Meta event and a Telegram update', async () => {
    const base = await social.getUrl();
    const challenge = await call(
      base,
      'GET',
      `/webhooks/meta/${ids.whatsapp}?hub.mode=subscribe&hub.verify_token=${meta.verifyToken}&hub.challenge=1158201444`,
    );
    expect(challenge).toMatchObject({ status: 200, text: '1158201444' });
    const event = JSON.stringify({ object: 'whatsapp_business_account', entry: [] });
    await ok(
      200,
      call(base, 'POST', `/webhooks/meta/${ids.whatsapp}`, {
        body: event,
        headers: { 'content-type': 'application/json', 'x-hub-signature-256': signMetaBody(event, meta.appSecret) },
      }),
    );
    await ok(
      200,
      call(base, 'POST', `/webhooks/telegram/${ids.telegram}`, {
        json: { update_id: 1 },
        headers: { 'x-telegram-bot-api-secret-token': telegram.webhookSecret },
      }),
    );
  });

  it('answered every operation the services document, each with a success', () => {
    const { documented, exercised } = contractStore();
    expect(documented.size).toBeGreaterThan(60);
    const missing = [...documented].filter((op) => ![...(exercised.get(op) ?? [])].some((s) => s >= 200 && s < 300));
    expect(missing).toEqual([]);
  });
});
