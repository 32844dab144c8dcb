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
import {
  messaging,
  messengerEvent,
  telegramUpdate,
  whatsappMessage,
  whatsappStatus,
} from '../../apps/social-service/src/testing/fixtures';
import { signMetaBody } from '../../apps/social-service/src/webhooks/signature';
import { MetaGraphServer } from '../support/meta-graph-server';
import { TelegramBotServer } from '../support/telegram-bot-server';

/**
 * The social loop on the real services: inboxes created through the admin API
 * (secrets sealed), social-service reads them from the internal API; a signed
 * WhatsApp webhook becomes a ticket with a wa_id contact linked to its phone; the
 * agent's reply goes out through the outbox to the Graph API stand-in; status
 * webhooks — one overtaking the send response — move the message forward; outside
 * the 24-hour window the reply API refuses plain text with the reason and sends a
 * WhatsApp template / a Messenger message tag in Meta's wire format. Messenger read
 * and delivery watermarks move the replies sent up to that instant. Telegram edits update one message.
 */
const GRAPH_VERSION = 'v21.0';
const PHONE_NUMBER_ID = '106540352242922';
const WA_ID = '4915123456789';
const PAGE_ID = '104857600000001';
const PSID = '6612345678907777';

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
  const fb = { id: '', appSecret: 'e2e-page-app-secret-0123456', verifyToken: 'e2e-page-verify-token' };

  beforeAll(async () => {
    [db, blobDir] = await Promise.all([createTestDatabase(), mkdtemp(join(tmpdir(), 'oq-e2e-social-'))]);
    await Promise.all([graph.start(), telegram.start()]);
    ticket = await startTicketService(db, prefix, { BLOB_DIR: blobDir });
    await insertAgent(ticket.ds, 'admin@wallet.test', 'admin');
    token = await loginToken(ticket.base, 'admin@wallet.test');
    const [{ id: teamId }] = await ticket.ds.query(`INSERT INTO teams (name) VALUES ('Payments') RETURNING id`);
    const inbox = async (channel: string, name: string, address: string, secrets: Record<string, string>) => {
      const res = await call(ticket.base, token, 'POST', '/v1/inboxes', {
        channel,
        name,
        address,
        defaultTeamId: teamId,
        secrets,
      });
      expect(res.status).toBe(201);
      return res.body.id as string;
    };
    const meta = (i: typeof wa) => ({ appSecret: i.appSecret, verifyToken: i.verifyToken, accessToken });
    wa.id = await inbox('whatsapp', 'WhatsApp support', PHONE_NUMBER_ID, meta(wa));
    tg.id = await inbox('telegram', 'Telegram support', botToken.split(':')[0], {
      botToken,
      webhookSecret: tg.webhookSecret,
    });
    fb.id = await inbox('messenger', 'Messenger support', PAGE_ID, meta(fb));

    social = await createHttpApp(SocialService, {
      title: 'social-service',
      env: testServiceEnv(db, prefix, {
        TICKET_SERVICE_URL: ticket.base,
        META_GRAPH_BASE_URL: graph.baseUrl,
        META_GRAPH_VERSION: GRAPH_VERSION,
        TELEGRAM_API_BASE_URL: telegram.baseUrl,
        FETCH_ALLOW_HOSTS: [graph.baseUrl, telegram.baseUrl].map((u) => new URL(u).host).join(','),
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
  const postMeta = async (inbox: { id: string; appSecret: string }, payload: unknown) => {
    const body = JSON.stringify(payload);
    const res = await fetch(`${socialBase}/webhooks/meta/${inbox.id}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-hub-signature-256': signMetaBody(body, inbox.appSecret) },
      body,
    });
    expect(res.status).toBe(200);
  };
  const postWhatsApp = (payload: unknown) => postMeta(wa, payload);
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

    // 30 hours later the window is closed: the reply API says why before anything is stored or sent.
    await ticket.ds.query(
      `UPDATE conversations SET last_inbound_at = now() - interval '30 hours' WHERE ticket_id = $1`,
      [ticketId],
    );
    const sends = graph.sends().length;
    const late = await call(ticket.base, token, 'POST', `/v1/tickets/${ticketId}/messages`, { text: 'Any news?' });
    expect(late.status).toBe(422);
    expect(late.body.reason).toBe('outside_24h_window');
    expect(late.body.message).toMatch(/last wrote 30 hours ago; outside WhatsApp's 24-hour customer-service window/);
    expect(await message(`ticket_id = $1 AND text = 'Any news?'`, [ticketId])).toBeUndefined();

    // An approved template may go out: Cloud API `type: template` with the body parameters.
    const template = await call(ticket.base, token, 'POST', `/v1/tickets/${ticketId}/messages`, {
      template: { name: 'transfer_update', language: 'en_US', parameters: ['€120.00', 'DE89 3704'] },
    });
    expect(template.status).toBe(201);
    const templateOut = await until(
      () => message(`id = $1 AND delivery_status = 'sent'`, [template.body.id]),
      'template reply sent',
    );
    expect(templateOut.text).toBe('WhatsApp template transfer_update (en_US): €120.00 | DE89 3704');
    expect(graph.sends().length).toBe(sends + 1);
    expect(graph.sends().at(-1)!.json).toEqual({
      messaging_product: 'whatsapp',
      recipient_type: 'individual',
      to: WA_ID,
      type: 'template',
      template: {
        name: 'transfer_update',
        language: { code: 'en_US' },
        components: [
          {
            type: 'body',
            parameters: [
              { type: 'text', text: '€120.00' },
              { type: 'text', text: 'DE89 3704' },
            ],
          },
        ],
      },
    });
  });

  it('Messenger: read/delivery watermarks move the replies sent up to that instant; a tag outside the window', async () => {
    await postMeta(
      fb,
      messengerEvent('page', PAGE_ID, [
        messaging(PSID, PAGE_ID, { message: { mid: 'm_e2e_in_1', text: 'Card blocked?' } }),
      ]),
    );
    const inbound = await until(() => message('external_id = $1', ['m_e2e_in_1']), 'messenger message stored');
    const ticketId = inbound.ticket_id as string;
    const replyAndSend = async (text: string, extra: Record<string, unknown> = {}) => {
      const res = await call(ticket.base, token, 'POST', `/v1/tickets/${ticketId}/messages`, { text, ...extra });
      expect(res.status).toBe(201);
      return until(() => message(`id = $1 AND delivery_status = 'sent'`, [res.body.id]), `"${text}" sent`);
    };
    const first = await replyAndSend('Checking your card now');
    const watermark = Date.now(); // the customer read up to here: the first reply, not the second
    const second = await replyAndSend('It is unblocked');
    const statusOf = async (id: string) => (await message('id = $1', [id]))!.delivery_status;

    await postMeta(fb, messengerEvent('page', PAGE_ID, [messaging(PSID, PAGE_ID, { read: { watermark } })]));
    await until(async () => (await statusOf(first.id)) === 'read', 'first reply read');
    expect(await statusOf(second.id)).toBe('sent');

    // A delivery watermark covering both moves only the second: read stays read.
    await postMeta(
      fb,
      messengerEvent('page', PAGE_ID, [messaging(PSID, PAGE_ID, { delivery: { watermark: Date.now() } })]),
    );
    await until(async () => (await statusOf(second.id)) === 'delivered', 'second reply delivered');
    expect(await statusOf(first.id)).toBe('read');

    // Two days later: plain text is refused at reply time, HUMAN_AGENT goes out as MESSAGE_TAG.
    await ticket.ds.query(
      `UPDATE conversations SET last_inbound_at = now() - interval '50 hours' WHERE ticket_id = $1`,
      [ticketId],
    );
    const untagged = await call(ticket.base, token, 'POST', `/v1/tickets/${ticketId}/messages`, {
      text: 'Anything else?',
    });
    expect(untagged.status).toBe(422);
    expect(untagged.body.reason).toBe('outside_24h_window');
    await replyAndSend('Anything else?', { messageTag: 'HUMAN_AGENT' });
    expect(graph.sends().at(-1)!.json).toEqual({
      recipient: { id: PSID },
      messaging_type: 'MESSAGE_TAG',
      tag: 'HUMAN_AGENT',
      message: { text: 'Anything else?' },
    });
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
