import { NestFastifyApplication } from '@nestjs/platform-fastify';
import {
  createTestDatabase,
  dropQueuePrefix,
  testQueuePrefix,
  testServiceEnv,
  TestDatabase,
} from '@oq/database/testing/test-env';
import { createHttpApp } from '@oq/platform';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DataSource } from 'typeorm';
import { call, insertAgent, loginToken, startTicketService } from '../../apps/ticket-service/src/auth/auth.testing';
import { AppModule as SocialService } from '../../apps/social-service/src/app.module';
import { telegramUpdate, whatsappMessage, whatsappStatus } from '../../apps/social-service/src/testing/fixtures';
import { signMetaBody } from '../../apps/social-service/src/webhooks/signature';
import { MetaGraphServer } from '../support/meta-graph-server';
import { TelegramBotServer } from '../support/telegram-bot-server';

/**
 * The social loop on the real services: inboxes created through the admin API
 * (secrets sealed), social-service reads them from the internal API; a signed
 * WhatsApp webhook becomes a ticket with a wa_id contact linked to its phone; the
 * agent's reply goes out through the outbox to the Graph API stand-in; status
 * webhooks — one overtaking the send response — move the message forward; outside
 * the 24-hour window the agent sees why the reply failed. Telegram edits update one message.
 */
const GRAPH_VERSION = 'v21.0';
const PHONE_NUMBER_ID = '106540352242922';
const WA_ID = '4915123456789';

describe('social channels end to end (ticket-service + social-service)', () => {
  let db: TestDatabase;
  const prefix = testQueuePrefix();
  let blobDir: string;
  let ticket: { app: NestFastifyApplication; base: string; ds: DataSource };
  let social: NestFastifyApplication;
  let socialBase: string;
  let token: string;
  const accessToken = 'EAAGe2eaccesstoken0123456789';
  const botToken = '7000009999:AAHe2eBotToken_abcdefghijklmnop';
  const graph = new MetaGraphServer(GRAPH_VERSION, new Set([accessToken]));
  const telegram = new TelegramBotServer(botToken);
  const wa = { id: '', appSecret: 'e2e-app-secret-0123456789', verifyToken: 'e2e-verify-token' };
  const tg = { id: '', webhookSecret: 'e2e_telegram_secret_0123' };

  beforeAll(async () => {
    [db, blobDir] = await Promise.all([createTestDatabase(), mkdtemp(join(tmpdir(), 'oq-e2e-social-'))]);
    await Promise.all([graph.start(), telegram.start()]);
    ticket = await startTicketService(db, prefix, { BLOB_DIR: blobDir });
    await insertAgent(ticket.ds, 'admin@wallet.test', 'admin');
    token = await loginToken(ticket.base, 'admin@wallet.test');
    const [{ id: teamId }] = await ticket.ds.query(`INSERT INTO teams (name) VALUES ('Payments') RETURNING id`);
    const waInbox = await call(ticket.base, token, 'POST', '/v1/inboxes', {
      channel: 'whatsapp',
      name: 'WhatsApp support',
      address: PHONE_NUMBER_ID,
      defaultTeamId: teamId,
      secrets: { appSecret: wa.appSecret, verifyToken: wa.verifyToken, accessToken },
    });
    expect(waInbox.status).toBe(201);
    wa.id = waInbox.body.id;
    const tgInbox = await call(ticket.base, token, 'POST', '/v1/inboxes', {
      channel: 'telegram',
      name: 'Telegram support',
      address: botToken.split(':')[0],
      defaultTeamId: teamId,
      secrets: { botToken, webhookSecret: tg.webhookSecret },
    });
    expect(tgInbox.status).toBe(201);
    tg.id = tgInbox.body.id;

    social = await createHttpApp(SocialService, {
      title: 'social-service',
      env: testServiceEnv(db, prefix, {
        TICKET_SERVICE_URL: ticket.base,
        META_GRAPH_BASE_URL: graph.baseUrl,
        META_GRAPH_VERSION: GRAPH_VERSION,
        TELEGRAM_API_BASE_URL: telegram.baseUrl,
        BLOB_DIR: blobDir,
      }),
    });
    await social.listen({ port: 0, host: '127.0.0.1' });
    socialBase = await social.getUrl();
  }, 90_000);

  afterAll(async () => {
    await social?.close();
    await ticket?.app.close();
    await Promise.all([
      graph.stop(),
      telegram.stop(),
      db?.drop(),
      dropQueuePrefix(prefix),
      rm(blobDir, { recursive: true, force: true }),
    ]);
  });

  async function until<T>(check: () => Promise<T | null | undefined | false>, what: string, ms = 10_000): Promise<T> {
    const end = Date.now() + ms;
    for (;;) {
      const v = await check();
      if (v) return v;
      if (Date.now() > end) throw new Error(`timed out: ${what}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  const postWhatsApp = async (payload: unknown) => {
    const body = JSON.stringify(payload);
    const res = await fetch(`${socialBase}/webhooks/meta/${wa.id}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-hub-signature-256': signMetaBody(body, wa.appSecret) },
      body,
    });
    expect(res.status).toBe(200);
  };
  const message = async (where: string, params: unknown[]) =>
    (await ticket.ds.query(`SELECT * FROM messages WHERE ${where}`, params))[0] as Record<string, any> | undefined;

  it('WhatsApp message → ticket; reply → Graph API; statuses before and after the send response; window enforced', async () => {
    const verify = await fetch(
      `${socialBase}/webhooks/meta/${wa.id}?hub.mode=subscribe&hub.verify_token=${wa.verifyToken}&hub.challenge=42`,
    );
    expect(await verify.text()).toBe('42');

    await postWhatsApp(
      whatsappMessage(PHONE_NUMBER_ID, WA_ID, {
        id: 'wamid.e2e-in-1',
        type: 'text',
        text: { body: 'My transfer failed' },
      }),
    );
    const inbound = await until(() => message('external_id = $1', ['wamid.e2e-in-1']), 'inbound message stored');
    expect(inbound).toMatchObject({ direction: 'inbound', channel: 'whatsapp', text: 'My transfer failed' });
    const identities = await ticket.ds.query(
      `SELECT kind, value FROM contact_identities WHERE contact_id = $1 ORDER BY kind`,
      [inbound.author_contact_id],
    );
    expect(identities).toEqual([
      { kind: 'phone', value: `+${WA_ID}` },
      { kind: 'whatsapp', value: WA_ID },
    ]);
    const ticketId = inbound.ticket_id as string;
    const visible = await call(ticket.base, token, 'GET', `/v1/tickets/${ticketId}`);
    expect(visible.status).toBe(200);

    // Reply: Meta's "delivered" webhook overtakes the send response; the ticket parks and applies it.
    const wamid = 'wamid.e2e-out-1';
    const isReply = (r: { json?: unknown }) => JSON.stringify(r.json ?? {}).includes('We are on it');
    graph.script(isReply, {
      status: 200,
      body: { messaging_product: 'whatsapp', contacts: [{ input: WA_ID, wa_id: WA_ID }], messages: [{ id: wamid }] },
    });
    graph.hold(isReply, async () => {
      await postWhatsApp(whatsappStatus(PHONE_NUMBER_ID, WA_ID, wamid, 'delivered'));
      await until(
        async () =>
          (await ticket.ds.query(`SELECT 1 FROM parked_delivery_reports WHERE provider_message_id = $1`, [wamid]))
            .length > 0,
        'delivered report parked',
      );
    });
    const sent = await call(ticket.base, token, 'POST', `/v1/tickets/${ticketId}/messages`, { text: 'We are on it' });
    expect(sent.status).toBe(201);
    const out = await until(
      () => message(`provider_message_id = $1 AND delivery_status = 'delivered'`, [wamid]),
      'reply delivered after the parked report applied',
    );
    expect(out).toMatchObject({ direction: 'outbound', text: 'We are on it' });
    expect(graph.find(isReply)[0].json).toMatchObject({ to: WA_ID, type: 'text', text: { body: 'We are on it' } });
    await postWhatsApp(whatsappStatus(PHONE_NUMBER_ID, WA_ID, wamid, 'read'));
    await until(() => message(`provider_message_id = $1 AND delivery_status = 'read'`, [wamid]), 'reply read');

    // 30 hours later the window is closed: the agent sees why the reply was not sent.
    await ticket.ds.query(
      `UPDATE conversations SET last_inbound_at = now() - interval '30 hours' WHERE ticket_id = $1`,
      [ticketId],
    );
    const sends = graph.sends().length;
    const late = await call(ticket.base, token, 'POST', `/v1/tickets/${ticketId}/messages`, { text: 'Any news?' });
    expect(late.status).toBe(201);
    const failed = await until(
      () => message(`ticket_id = $1 AND text = 'Any news?' AND delivery_status = 'failed'`, [ticketId]),
      'late reply failed',
    );
    expect(failed.delivery_error_code).toBe('outside_24h_window');
    expect(failed.delivery_reason).toMatch(/24-hour customer-service window/);
    expect(graph.sends().length).toBe(sends);
  });

  it('Telegram message and its edit land on one message row at the latest revision', async () => {
    const post = (payload: unknown) =>
      fetch(`${socialBase}/webhooks/telegram/${tg.id}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-telegram-bot-api-secret-token': tg.webhookSecret },
        body: JSON.stringify(payload),
      });
    expect((await post(telegramUpdate(77001, 'message', { message_id: 9, text: 'charged twice' }))).status).toBe(200);
    await until(() => message('external_id = $1', ['1111111:9']), 'telegram message stored');
    const editDate = Math.floor(Date.now() / 1000);
    await post(
      telegramUpdate(77002, 'edited_message', { message_id: 9, edit_date: editDate, text: 'charged three times' }),
    );
    const edited = await until(
      () => message(`external_id = $1 AND revision = $2`, ['1111111:9', editDate]),
      'edit applied',
    );
    expect(edited.text).toBe('charged three times');
    expect(
      (await ticket.ds.query(`SELECT count(*)::int AS n FROM messages WHERE external_id = '1111111:9'`))[0].n,
    ).toBe(1);
  });
});
