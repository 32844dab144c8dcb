import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { NestFastifyApplication } from '@nestjs/platform-fastify';
import { Channel, QueueName, VoiceCallEventJob } from '@oq/contracts';
import {
  TEST_REDIS_URL,
  TestDatabase,
  dropQueuePrefix,
  testQueuePrefix,
  testServiceEnv,
} from '@oq/database/testing/test-env';
import { SecretBox, createHttpApp } from '@oq/platform';
import { DirectoryCopy } from '@oq/platform/inboxes/directory-copy';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { DataSource } from 'typeorm';
import { startTicketService } from '../../apps/ticket-service/src/auth/auth.testing';
import { AppModule as SocialService } from '../../apps/social-service/src/app.module';
import {
  messaging,
  messengerEvent,
  telegramUpdate,
  whatsappMessage,
} from '../../apps/social-service/src/testing/fixtures';
import { signMetaBody } from '../../apps/social-service/src/webhooks/signature';
import {
  VoiceStack,
  postPbx,
  postTwilio,
  startVoiceService,
} from '../../apps/voice-service/src/testing/voice-test-kit';
import { PostgresServerProcess } from '../support/postgres-server';

/**
 * Intake while Postgres is down, on a Postgres of the test's own (the shared one is never stopped):
 * ticket-service, social-service and voice-service run on it; Postgres stops; signed Meta and
 * Telegram webhooks and Twilio/PBX callbacks are still verified and acknowledged (social-service
 * needs only Redis; voice-service parks what it cannot store on voice.pending); social-service
 * restarts while Postgres (and so ticket-service's inbox API) is still down and verifies from its
 * sealed Redis copy of the inbox directory; a fresh one without a copy answers 503, not 404. When
 * Postgres is back every acknowledged message is stored exactly once.
 */
const SOCIAL_CHANNELS: Channel[] = ['whatsapp', 'messenger', 'instagram', 'telegram'];
const PHONE_NUMBER_ID = '106540352242977';
const PAGE_ID = '104857600000077';
const BOT_TOKEN = '7000007777:AAHoutageBotToken_abcdefghijklmno';
const ACCOUNT = 'AC0000000000000000000000000000outg';
const HOTLINE = '+4930999000777';

describe('intake while Postgres is down (ticket-, social-, voice-service on a Postgres of their own)', () => {
  let pg: PostgresServerProcess;
  let db: TestDatabase;
  const prefix = testQueuePrefix();
  const emptyPrefix = testQueuePrefix();
  let blobDir: string;
  let ticket: { app: NestFastifyApplication; base: string; ds: DataSource };
  let social: NestFastifyApplication | undefined;
  let voice: VoiceStack;
  const redis = new Redis(TEST_REDIS_URL);
  const wa = { id: randomUUID(), appSecret: 'outage-app-secret-0123456789', verifyToken: 'outage-verify-token' };
  const fb = { id: randomUUID(), appSecret: 'outage-page-secret-0123456789', verifyToken: 'outage-page-verify' };
  const tg = { id: randomUUID(), webhookSecret: 'outage_telegram_secret_0123' };
  const phone = {
    id: randomUUID(),
    authToken: 'outage-twilio-auth-token-0123456789',
    signingSecret: 'outage-pbx-secret-0123456789',
  };

  const env = (extra: Record<string, string> = {}) =>
    testServiceEnv(db, prefix, { BLOB_DIR: blobDir, TICKET_SERVICE_URL: ticket.base, ...extra });

  const startSocial = async (extra: Record<string, string> = {}) => {
    const app = await createHttpApp(SocialService, { title: 'social-service', env: env(extra) });
    await app.listen({ port: 0, host: '127.0.0.1' });
    return { app, base: (await app.getUrl()).replace('[::1]', '127.0.0.1') };
  };

  beforeAll(async () => {
    [pg, blobDir] = await Promise.all([PostgresServerProcess.start(), mkdtemp(join(tmpdir(), 'oq-outage-'))]);
    db = await pg.migratedDatabase('oq_outage');
    ticket = await startTicketService(db, prefix, { BLOB_DIR: blobDir });
    const [{ id: teamId }] = await ticket.ds.query(`INSERT INTO teams (name) VALUES ('Payments') RETURNING id`);
    const box = new SecretBox(env().SECRETS_KEYS!, env().SECRETS_ACTIVE_KEY!);
    const inbox = (id: string, channel: Channel, address: string, secrets: Record<string, string>) =>
      ticket.ds.query(
        `INSERT INTO inboxes (id, name, channel, address, default_team_id, secrets) VALUES ($1, $2, $2, $3, $4, $5)`,
        [id, channel, address, teamId, box.encrypt(JSON.stringify(secrets), id)],
      );
    const meta = (i: typeof wa) => ({ appSecret: i.appSecret, verifyToken: i.verifyToken, accessToken: 'EAAGoutage' });
    await inbox(wa.id, 'whatsapp', PHONE_NUMBER_ID, meta(wa));
    await inbox(fb.id, 'messenger', PAGE_ID, meta(fb));
    await inbox(tg.id, 'telegram', BOT_TOKEN.split(':')[0], { botToken: BOT_TOKEN, webhookSecret: tg.webhookSecret });
    await inbox(phone.id, 'voice', HOTLINE, {
      accountSid: ACCOUNT,
      authToken: phone.authToken,
      signingSecret: phone.signingSecret,
    });
    social = (await startSocial()).app;
    voice = await startVoiceService(db, prefix, { TICKET_SERVICE_URL: ticket.base });
  }, 60_000);

  afterAll(async () => {
    await social?.close();
    await voice?.close();
    await ticket?.app.close();
    redis.disconnect();
    await Promise.all([
      pg?.destroy(),
      dropQueuePrefix(prefix),
      dropQueuePrefix(emptyPrefix),
      rm(blobDir, { recursive: true, force: true }),
    ]);
  }, 30_000);

  async function until<T>(check: () => Promise<T | null | undefined | false>, what: string, ms = 30_000): Promise<T> {
    const end = Date.now() + ms;
    for (;;) {
      const v = await check();
      if (v) return v;
      if (Date.now() > end) throw new Error(`timed out: ${what}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  const postMeta = (base: string, inbox: { id: string; appSecret: string }, payload: unknown, secret?: string) => {
    const body = JSON.stringify(payload);
    return fetch(`${base}/webhooks/meta/${inbox.id}`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'x-hub-signature-256': signMetaBody(body, secret ?? inbox.appSecret),
      },
      body,
    });
  };
  const postTelegram = (base: string, payload: unknown) =>
    fetch(`${base}/webhooks/telegram/${tg.id}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-telegram-bot-api-secret-token': tg.webhookSecret },
      body: JSON.stringify(payload),
    });
  const whatsapp = (wamid: string, text: string) =>
    whatsappMessage(PHONE_NUMBER_ID, '4915123450077', { id: wamid, type: 'text', text: { body: text } });
  const messenger = (mid: string, text: string) =>
    messengerEvent('page', PAGE_ID, [messaging('6612345678900077', PAGE_ID, { message: { mid, text } })]);
  const telegram = (updateId: number, messageId: number, text: string) =>
    telegramUpdate(updateId, 'message', { message_id: messageId, text });
  const twilioCall = (callSid: string) => ({
    AccountSid: ACCOUNT,
    CallSid: callSid,
    From: '+4915123450077',
    To: HOTLINE,
    Direction: 'inbound',
    CallStatus: 'no-answer',
    CallDuration: '0',
  });
  const pbxCall = (callId: string) => ({
    callId,
    direction: 'inbound',
    from: '+4915123450078',
    to: HOTLINE,
    startedAt: new Date(Date.now() - 60_000).toISOString(),
    endedAt: new Date().toISOString(),
    disposition: 'missed',
  });
  const health = async (base: string) => {
    const res = await fetch(`${base}/health`);
    return { status: res.status, body: (await res.json()) as Record<string, any> };
  };

  it('verifies and acknowledges every channel while Postgres is down, and stores each message once when it is back', async () => {
    const socialBase = (await social!.getUrl()).replace('[::1]', '127.0.0.1');
    // The sealed copy exists once social-service has loaded the inboxes from ticket-service.
    await until(() => redis.exists(DirectoryCopy.keyFor(prefix, SOCIAL_CHANNELS)), 'inbox directory copy written');

    await pg.stop();

    // social-service's /health checks what intake needs, and Postgres is not part of it.
    const up = await health(socialBase);
    expect(up).toMatchObject({ status: 200, body: { failing: [], checks: { redis: 'up', inboxes: 'up' } } });
    expect(up.body.checks.postgres).toBeUndefined();

    const verify = await fetch(
      `${socialBase}/webhooks/meta/${wa.id}?hub.mode=subscribe&hub.verify_token=${wa.verifyToken}&hub.challenge=7`,
    );
    expect(await verify.text()).toBe('7');
    expect((await postMeta(socialBase, wa, whatsapp('wamid.OUTAGE1', 'Card declined'))).status).toBe(200);
    expect((await postMeta(socialBase, fb, messenger('m_outage_1', 'Where is my refund?'))).status).toBe(200);
    expect((await postTelegram(socialBase, telegram(900001, 501, 'Transfer stuck'))).status).toBe(200);
    // Still verified: a wrong signature is refused.
    expect((await postMeta(socialBase, wa, whatsapp('wamid.FORGED', 'x'), 'not-the-app-secret')).status).toBe(401);

    // Voice: Postgres cannot take the callbacks, Redis holds them; the provider hears 200.
    expect((await postTwilio(voice.base, phone.id, phone.authToken, twilioCall('CAoutage1'))).status).toBe(200);
    // Twilio's own retry of the same callback is the same pending event.
    expect((await postTwilio(voice.base, phone.id, phone.authToken, twilioCall('CAoutage1'))).status).toBe(200);
    const pbx = await postPbx(voice.base, phone.id, phone.signingSecret, pbxCall('pbx-outage-1'));
    expect(pbx.status).toBe(200);
    expect(await pbx.json()).toEqual({ status: 'pending' });

    // social-service restarts while Postgres — and with it ticket-service's inbox API — is still down.
    await social!.close();
    social = undefined;
    const restarted = await startSocial();
    social = restarted.app;
    const after = await health(restarted.base);
    expect(after).toMatchObject({ status: 200, body: { inboxes: { source: 'copy' }, checks: { inboxes: 'up' } } });
    expect((await postMeta(restarted.base, wa, whatsapp('wamid.OUTAGE2', 'Still declined'))).status).toBe(200);
    // Meta redelivering the first webhook: acknowledged again, stored once below.
    expect((await postMeta(restarted.base, wa, whatsapp('wamid.OUTAGE1', 'Card declined'))).status).toBe(200);
    expect((await postTelegram(restarted.base, telegram(900002, 502, 'Hello?'))).status).toBe(200);
    expect((await postMeta(restarted.base, fb, messenger('m_outage_forged', 'x'), 'wrong')).status).toBe(401);
    // An inbox the copy does not know may be new: the provider is told to retry, not that it does not exist.
    expect(
      (await postMeta(restarted.base, { id: randomUUID(), appSecret: 'x' }, whatsapp('wamid.X', 'x'))).status,
    ).toBe(503);

    // A social-service with no copy at all (its own prefix) cannot verify anything: 503 so providers retry.
    const bare = await startSocial({ QUEUE_PREFIX: emptyPrefix });
    try {
      expect(await health(bare.base)).toMatchObject({ status: 503, body: { failing: ['inboxes'] } });
      expect((await postMeta(bare.base, wa, whatsapp('wamid.OUTAGE3', 'x'))).status).toBe(503);
      expect((await postTelegram(bare.base, telegram(900003, 503, 'x'))).status).toBe(503);
    } finally {
      await bare.app.close();
    }

    // Waiting for Postgres spends none of a pending event's attempts: it goes back to delayed untouched.
    const pending = new Queue(QueueName.VoicePending, { connection: redis, prefix });
    try {
      const parked = await until(async () => {
        const jobs = await pending.getJobs(['delayed']);
        return jobs.find((j) => (j.data as VoiceCallEventJob).event.callId === 'pbx-outage-1');
      }, 'pending call event back in delayed');
      expect(parked.attemptsMade).toBe(0);
      expect((await pending.getJobs(['delayed', 'waiting', 'active'])).length).toBe(2);
    } finally {
      await pending.close();
    }

    // Messages that reached ticket-service's inbound consumer while Postgres was down wait without
    // spending attempts, however long the outage lasts (8 attempts used to be ~2 minutes).
    const inbound = new Queue(QueueName.Inbound, { connection: redis, prefix });
    try {
      const waiting = await until(async () => {
        const jobs = await inbound.getJobs(['delayed']);
        return jobs.find((j) => (j.data as { externalId?: string }).externalId === 'wamid.OUTAGE1');
      }, 'inbound message waiting for Postgres');
      expect(waiting.attemptsMade).toBe(0);
    } finally {
      await inbound.close();
    }

    await pg.start();

    const expected = [
      'wamid.OUTAGE1',
      'wamid.OUTAGE2',
      'm_outage_1',
      '1111111:501',
      '1111111:502',
      'CAoutage1',
      'pbx-outage-1',
    ];
    const stored = await until(async () => {
      const rows: { external_id: string; n: number }[] = await ticket.ds
        .query(
          `SELECT external_id, count(*)::int AS n FROM messages WHERE external_id = ANY($1) GROUP BY external_id`,
          [expected],
        )
        .catch(() => []);
      return rows.length === expected.length && rows;
    }, 'every acknowledged message stored');
    expect(Object.fromEntries(stored.map((r) => [r.external_id, r.n]))).toEqual(
      Object.fromEntries(expected.map((id) => [id, 1])),
    );
    // Nothing refused was stored, and nothing acknowledged became a dead letter.
    expect(
      await ticket.ds.query(
        `SELECT 1 FROM messages WHERE external_id IN ('wamid.FORGED', 'm_outage_forged', 'wamid.X', 'wamid.OUTAGE3')`,
      ),
    ).toEqual([]);
    expect(await ticket.ds.query('SELECT reason FROM dead_letters')).toEqual([]);
  }, 90_000);
});
