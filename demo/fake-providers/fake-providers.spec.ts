import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { Server, createServer } from 'node:http';
import { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { AttachmentRef, Channel, OutboundMessage, demoInboxSecrets, demoProviderBaseUrl } from '@oq/contracts';
import { BlobStore } from '@oq/platform';
import { Config } from '../../apps/social-service/src/config';
import { MetaInbox, TelegramInbox } from '../../apps/social-service/src/inboxes/social-inbox';
import { parseMessenger } from '../../apps/social-service/src/ingest/messenger-parser';
import { parseWhatsApp } from '../../apps/social-service/src/ingest/whatsapp-parser';
import { PartProgress, SocialSender } from '../../apps/social-service/src/outbound/social-sender';
import { GraphClient } from '../../apps/social-service/src/providers/graph-client';
import { ProviderError } from '../../apps/social-service/src/providers/provider-error';
import { TelegramClient } from '../../apps/social-service/src/providers/telegram-client';
import { verifyMetaSignature } from '../../apps/social-service/src/webhooks/signature';
import { FakeProviders, SentRecord, startFakeProviders } from './server';

const GRAPH_VERSION = 'v21.0';
const DEMO_KEY = randomBytes(32).toString('base64url');
const ADDRESS = {
  whatsapp: '106540352242922',
  messenger: '104955472305001',
  instagram: '17841405822304914',
  telegram: '7012345678',
} as const;
type SocialChannel = keyof typeof ADDRESS;

interface Hook {
  inboxId: string;
  raw: Buffer;
  signature?: string;
  userAgent?: string;
  body: any;
  answered: number;
}

/** Stands in for social-service's POST /webhooks/meta/:inboxId: records each delivery, can refuse some. */
class SocialServiceStandIn {
  readonly hooks: Hook[] = [];
  private readonly waiters: { match: (h: Hook) => boolean; resolve: (h: Hook) => void }[] = [];
  private readonly refusals: { inboxId: string; status: number; times: number }[] = [];
  private server?: Server;
  url = '';

  async start() {
    this.server = createServer(async (req, res) => {
      const chunks: Buffer[] = [];
      for await (const c of req) chunks.push(c as Buffer);
      const m = /^\/webhooks\/meta\/([0-9a-f-]{36})$/.exec(req.url ?? '');
      if (req.method !== 'POST' || !m) return void res.writeHead(404).end();
      const refusal = this.refusals.find((r) => r.inboxId === m[1] && r.times > 0);
      if (refusal) refusal.times--;
      const raw = Buffer.concat(chunks);
      const hook: Hook = {
        inboxId: m[1],
        raw,
        signature: req.headers['x-hub-signature-256'] as string | undefined,
        userAgent: req.headers['user-agent'],
        body: JSON.parse(raw.toString('utf8')),
        answered: refusal?.status ?? 200,
      };
      this.hooks.push(hook);
      res.writeHead(hook.answered, { 'content-type': 'application/json' }).end(refusal ? '{}' : '{"ok":true}');
      for (const w of [...this.waiters])
        if (w.match(hook)) {
          this.waiters.splice(this.waiters.indexOf(w), 1);
          w.resolve(hook);
        }
    });
    await new Promise<void>((r) => this.server!.listen(0, '127.0.0.1', r));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  async stop() {
    this.server?.closeAllConnections();
    await new Promise((r) => this.server?.close(r));
  }

  refuse(inboxId: string, status: number, times: number) {
    this.refusals.push({ inboxId, status, times });
  }

  /** Resolves with the first webhook (already received or still to come) that matches. */
  waitFor(match: (h: Hook) => boolean, what: string, timeoutMs = 10_000): Promise<Hook> {
    const seen = this.hooks.find(match);
    if (seen) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no webhook ${what} within ${timeoutMs} ms`)), timeoutMs);
      this.waiters.push({
        match,
        resolve: (h) => {
          clearTimeout(timer);
          resolve(h);
        },
      });
    });
  }
}

/** WhatsApp: the status of the first statuses[] entry; Messenger/Instagram: delivery or read. */
function hookStatus(h: Hook): { id?: string; status: string } {
  const s = h.body.entry?.[0]?.changes?.[0]?.value?.statuses?.[0];
  if (s) return { id: s.id, status: s.status };
  const ev = h.body.entry?.[0]?.messaging?.[0] ?? {};
  return ev.delivery
    ? { id: ev.delivery.mids?.[0], status: 'delivered' }
    : { id: ev.read?.mid, status: ev.read ? 'read' : 'other' };
}

async function until<T>(probe: () => T | undefined, what: string, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = probe();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe('demo fake providers', () => {
  const social = new SocialServiceStandIn();
  let fake: FakeProviders;
  let blobDir: string;
  let blobs: BlobStore;
  const logs: string[] = [];
  const inboxIds: Record<SocialChannel, string> = {
    whatsapp: randomUUID(),
    messenger: randomUUID(),
    instagram: randomUUID(),
    telegram: randomUUID(),
  };
  const secrets = (channel: SocialChannel) => demoInboxSecrets(DEMO_KEY, channel, ADDRESS[channel]);

  /** A demo inbox as social-service sees it, its provider base URL pointing at the fake. */
  function inbox(channel: SocialChannel, id = inboxIds[channel]): MetaInbox | TelegramInbox {
    return {
      id,
      name: `demo ${channel}`,
      address: ADDRESS[channel],
      enabled: true,
      settings: { providerBaseUrl: demoProviderBaseUrl(fake.url, channel, id) },
      channel,
      secrets: secrets(channel),
    } as MetaInbox | TelegramInbox;
  }

  /** The real provider clients, configured the way a demo inbox's providerBaseUrl points them. */
  function clients(channel: SocialChannel, id = inboxIds[channel]) {
    const base = demoProviderBaseUrl(fake.url, channel, id);
    const config = {
      META_GRAPH_BASE_URL: base,
      META_GRAPH_VERSION: GRAPH_VERSION,
      TELEGRAM_API_BASE_URL: base,
      SOCIAL_HTTP_TIMEOUT_MS: 5000,
      SOCIAL_MEDIA_MAX_BYTES: 10 * 1024 * 1024,
      FETCH_ALLOW_HOSTS: new URL(fake.url).host,
    } as unknown as Config;
    const graph = new GraphClient(config);
    const telegram = new TelegramClient(config);
    return { graph, telegram, sender: new SocialSender(graph, telegram, blobs) };
  }

  function outbound(
    channel: SocialChannel,
    to: string,
    text: string,
    attachments: AttachmentRef[] = [],
    extra: Record<string, unknown> = {},
  ) {
    return OutboundMessage.parse({
      ...extra,
      v: 1,
      messageId: randomUUID(),
      ticketId: randomUUID(),
      ticketNumber: 42,
      inboxId: inboxIds[channel],
      channel: channel as Channel,
      to: { kind: channel, value: to },
      text,
      attachments,
      createdAt: new Date().toISOString(),
    });
  }

  function progress(): PartProgress {
    const done = new Map<number, string>();
    return { get: async (i) => done.get(i) ?? null, set: async (i, id) => void done.set(i, id) };
  }

  async function attachment(filename: string, contentType: string, bytes: Buffer): Promise<AttachmentRef> {
    const stored = await blobs.put(bytes);
    return { sha256: stored.sha256, size: bytes.length, filename, contentType };
  }

  function record(messageId: string): SentRecord | undefined {
    return fake.sent().find((r) => r.messageId === messageId);
  }

  beforeAll(async () => {
    await social.start();
    blobDir = await mkdtemp(join(tmpdir(), 'oq-fake-providers-'));
    blobs = new BlobStore(blobDir);
    fake = await startFakeProviders({
      port: 0,
      demoKey: DEMO_KEY,
      socialServiceUrl: social.url,
      graphVersion: GRAPH_VERSION,
      receiptDelaysMs: { delivered: 20, read: 40 },
      webhookRetryDelaysMs: [30, 60],
      log: (line) => logs.push(line),
    });
  });

  afterAll(async () => {
    await fake?.close();
    await social.stop();
    if (blobDir) await rm(blobDir, { recursive: true, force: true });
  });

  it('answers a WhatsApp text as the Cloud API does, then posts signed sent, delivered and read statuses for its wamid', async () => {
    const { graph } = clients('whatsapp');
    const to = '15551234567';
    const res = await graph.postJson<any>(`${ADDRESS.whatsapp}/messages`, secrets('whatsapp').accessToken, {
      messaging_product: 'whatsapp',
      recipient_type: 'individual',
      to,
      type: 'text',
      text: { preview_url: false, body: 'Hello from the demo' },
    });
    expect(res).toEqual({
      messaging_product: 'whatsapp',
      contacts: [{ input: to, wa_id: to }],
      messages: [{ id: expect.stringMatching(/^wamid\.[A-Za-z0-9+/=]+$/) }],
    });
    const wamid: string = res.messages[0].id;

    const read = await social.waitFor((h) => hookStatus(h).id === wamid && hookStatus(h).status === 'read', 'read');
    const hooks = social.hooks.filter((h) => hookStatus(h).id === wamid);
    expect(hooks.map((h) => hookStatus(h).status)).toEqual(['sent', 'delivered', 'read']);
    for (const h of hooks) {
      expect(h.inboxId).toBe(inboxIds.whatsapp);
      expect(verifyMetaSignature(h.raw, h.signature, secrets('whatsapp').appSecret)).toBe(true);
      expect(verifyMetaSignature(h.raw, h.signature, 'another-app-secret')).toBe(false);
      const parsed = parseWhatsApp(h.body, inboxIds.whatsapp, ADDRESS.whatsapp, new Date().toISOString());
      expect(parsed.ignored).toEqual([]);
      expect(parsed.reports).toEqual([
        expect.objectContaining({ inboxId: inboxIds.whatsapp, providerMessageId: wamid, status: hookStatus(h).status }),
      ]);
    }
    expect(read.body.entry[0].changes[0].value.metadata.phone_number_id).toBe(ADDRESS.whatsapp);
    expect(read.body.entry[0].changes[0].value.statuses[0].recipient_id).toBe(to);
    expect(read.userAgent).toBe('facebookexternalua');

    const rec = await until(
      () => (record(wamid)?.receipts?.every((r) => r.webhook === 'accepted') ? record(wamid) : undefined),
      'receipts accepted',
    );
    expect(rec).toMatchObject({ channel: 'whatsapp', recipient: to, kind: 'text', text: 'Hello from the demo' });
    expect(rec.receipts!.map((r) => [r.status, r.attempts])).toEqual([
      ['sent', 1],
      ['delivered', 1],
      ['read', 1],
    ]);
  });

  it('answers a Messenger text as the Send API does; delivery names the mid, read is a watermark covering the send', async () => {
    const { graph } = clients('messenger');
    const psid = '6873487629364029';
    const before = Date.now();
    const res = await graph.postJson<any>(`${ADDRESS.messenger}/messages`, secrets('messenger').accessToken, {
      recipient: { id: psid },
      messaging_type: 'RESPONSE',
      message: { text: 'Hi on Messenger' },
    });
    const after = Date.now();
    expect(res).toEqual({ recipient_id: psid, message_id: expect.stringMatching(/^m_/) });
    const mid: string = res.message_id;

    const delivered = await social.waitFor((h) => hookStatus(h).id === mid, 'messenger delivery');
    const read = await social.waitFor(
      (h) => h.inboxId === inboxIds.messenger && h.body.entry[0].messaging[0].read?.watermark >= before,
      'messenger read',
    );
    for (const h of [delivered, read]) {
      expect(verifyMetaSignature(h.raw, h.signature, secrets('messenger').appSecret)).toBe(true);
      expect(h.body).toMatchObject({
        object: 'page',
        entry: [{ id: ADDRESS.messenger, messaging: [{ sender: { id: psid }, recipient: { id: ADDRESS.messenger } }] }],
      });
    }
    const now = new Date().toISOString();
    expect(parseMessenger(delivered.body, inboxIds.messenger, 'messenger', now).reports).toEqual([
      expect.objectContaining({ providerMessageId: mid, status: 'delivered' }),
    ]);
    const watermarks = parseMessenger(read.body, inboxIds.messenger, 'messenger', now).watermarks;
    expect(watermarks).toEqual([
      expect.objectContaining({ inboxId: inboxIds.messenger, to: { kind: 'messenger', value: psid }, status: 'read' }),
    ]);
    // "Everything up to the watermark": the send's own stamp, between our call's start and its answer.
    const watermark = Date.parse(watermarks[0].watermark);
    expect(watermark).toBeGreaterThanOrEqual(before);
    expect(watermark).toBeLessThanOrEqual(after);
  });

  it('answers an Instagram text as the Send API does, with delivery and read webhooks on object instagram naming the mid', async () => {
    const { graph } = clients('instagram');
    const igsid = '5412898765432101';
    const res = await graph.postJson<any>(`${ADDRESS.instagram}/messages`, secrets('instagram').accessToken, {
      recipient: { id: igsid },
      messaging_type: 'RESPONSE',
      message: { text: 'Hi on Instagram' },
    });
    expect(res).toEqual({ recipient_id: igsid, message_id: expect.any(String) });
    const mid: string = res.message_id;

    const delivered = await social.waitFor(
      (h) => hookStatus(h).id === mid && hookStatus(h).status === 'delivered',
      'ig delivery',
    );
    const read = await social.waitFor((h) => hookStatus(h).id === mid && hookStatus(h).status === 'read', 'ig read');
    const now = new Date().toISOString();
    for (const [h, status] of [
      [delivered, 'delivered'],
      [read, 'read'],
    ] as const) {
      expect(h.inboxId).toBe(inboxIds.instagram);
      expect(h.body.object).toBe('instagram');
      expect(verifyMetaSignature(h.raw, h.signature, secrets('instagram').appSecret)).toBe(true);
      expect(parseMessenger(h.body, inboxIds.instagram, 'instagram', now).reports).toEqual([
        expect.objectContaining({ providerMessageId: mid, status }),
      ]);
    }
  });

  it('answers a Telegram sendMessage as the Bot API does and records it without receipts', async () => {
    const { telegram } = clients('telegram');
    const result = await telegram.call<any>(secrets('telegram').botToken, 'sendMessage', {
      chat_id: '1111111',
      text: 'Hi on Telegram',
    });
    expect(result).toMatchObject({
      message_id: expect.any(Number),
      chat: { id: 1111111, type: 'private' },
      date: expect.any(Number),
      text: 'Hi on Telegram',
      from: { id: Number(ADDRESS.telegram), is_bot: true },
    });
    expect(record(`1111111:${result.message_id}`)).toMatchObject({
      channel: 'telegram',
      inboxId: inboxIds.telegram,
      account: ADDRESS.telegram,
      recipient: '1111111',
      text: 'Hi on Telegram',
      receipts: null,
    });
    expect(logs.some((l) => l.startsWith('telegram') && l.includes('Hi on Telegram'))).toBe(true);
    expect(logs.join('\n')).not.toContain(secrets('telegram').botToken);
  });

  it('takes every part SocialSender sends: WhatsApp media upload, Send API filedata, Telegram sendPhoto/sendDocument', async () => {
    const png = Buffer.from(
      'iVBORw0KGgoAAAANSUhEUgAAAAIAAAADCAIAAAA2iEnWAAAAEklEQVR4nGP4z8DAwMDAwMAAAA0ZAQHVmzNcAAAAAElFTkSuQmCC',
      'base64',
    );
    const photo = await attachment('receipt.png', 'image/png', png);
    const pdf = await attachment('invoice.pdf', 'application/pdf', Buffer.from('%PDF-1.4 demo'));

    const wa = await clients('whatsapp').sender.send(
      outbound('whatsapp', '15557654321', 'Here is your receipt', [photo]),
      inbox('whatsapp') as MetaInbox,
      progress(),
    );
    const fb = await clients('messenger').sender.send(
      outbound('messenger', '6873487629364029', '', [pdf]),
      inbox('messenger') as MetaInbox,
      progress(),
    );
    const ig = await clients('instagram').sender.send(
      outbound('instagram', '5412898765432101', '', [photo]),
      inbox('instagram') as MetaInbox,
      progress(),
    );
    const tg = await clients('telegram').sender.send(
      outbound('telegram', '2222222', 'Files follow', [photo, pdf]),
      inbox('telegram') as TelegramInbox,
      progress(),
    );
    const template = await clients('whatsapp').sender.send(
      outbound('whatsapp', '15557654321', '', [], {
        template: { name: 'ticket_update', language: 'en_US', parameters: ['#42', 'solved'] },
      }),
      inbox('whatsapp') as MetaInbox,
      progress(),
    );
    expect(wa).toMatch(/^wamid\./);
    expect(record(template)).toMatchObject({ kind: 'template', text: 'ticket_update (en_US): #42 | solved' });
    expect(tg).toMatch(/^2222222:\d+$/);

    const sent = fake.sent();
    const waImage = sent.find((r) => r.channel === 'whatsapp' && r.kind === 'image');
    expect(waImage).toMatchObject({
      recipient: '15557654321',
      attachments: [{ filename: 'receipt.png', bytes: png.length }],
    });
    expect(record(fb)).toMatchObject({
      kind: 'file',
      attachments: [{ filename: 'invoice.pdf', contentType: 'application/pdf' }],
    });
    expect(record(ig)).toMatchObject({ kind: 'image', attachments: [{ filename: 'receipt.png' }] });
    const tgKinds = sent.filter((r) => r.channel === 'telegram' && r.recipient === '2222222').map((r) => r.kind);
    expect(tgKinds.reverse()).toEqual(['text', 'photo', 'document']);
    await social.waitFor(
      (h) => hookStatus(h).id === waImage!.messageId && hookStatus(h).status === 'read',
      'image read',
    );
  });

  it('serves uploaded files back the way social-service downloads provider media', async () => {
    const { graph } = clients('whatsapp');
    const form = new FormData();
    form.set('messaging_product', 'whatsapp');
    form.set('type', 'application/pdf');
    form.set('file', new Blob([Buffer.from('%PDF-1.4 voice note')], { type: 'application/pdf' }), 'note.pdf');
    const { id } = await graph.postForm<{ id: string }>(
      `${ADDRESS.whatsapp}/media`,
      secrets('whatsapp').accessToken,
      form,
    );
    expect(id).toMatch(/^\d+$/);
    const media = await graph.downloadWhatsAppMedia(id, secrets('whatsapp').accessToken);
    expect(media.mimeType).toBe('application/pdf');
    expect(await text(media.stream)).toBe('%PDF-1.4 voice note');

    const tg = clients('telegram').telegram;
    const tgForm = new FormData();
    tgForm.set('chat_id', '3333333');
    tgForm.set('document', new Blob([Buffer.from('hello file')], { type: 'text/plain' }), 'hello.txt');
    const sent = await tg.call<any>(secrets('telegram').botToken, 'sendDocument', tgForm);
    expect(sent.document).toMatchObject({ file_name: 'hello.txt', mime_type: 'text/plain', file_size: 10 });
    expect(await text(await tg.downloadFile(secrets('telegram').botToken, sent.document.file_id))).toBe('hello file');
  });

  it('refuses a wrong Meta access token with the Graph API 401 / OAuthException 190', async () => {
    const { graph } = clients('whatsapp');
    const err = await graph
      .postJson(`${ADDRESS.whatsapp}/messages`, 'EAAGwrong', {
        messaging_product: 'whatsapp',
        to: '1555',
        type: 'text',
      })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ProviderError);
    expect(err).toMatchObject({ code: '190', httpStatus: 401, transient: false });

    // Messenger's token is not WhatsApp's: each channel's secret is its own.
    const url = `${demoProviderBaseUrl(fake.url, 'messenger', inboxIds.messenger)}/${GRAPH_VERSION}/${ADDRESS.messenger}/messages`;
    const res = await fetch(url, {
      method: 'POST',
      headers: { authorization: `Bearer ${secrets('whatsapp').accessToken}`, 'content-type': 'application/json' },
      body: JSON.stringify({ recipient: { id: '1' }, message: { text: 'x' } }),
    });
    expect(res.status).toBe(401);
    expect(await res.json()).toEqual({
      error: { message: expect.any(String), type: 'OAuthException', code: 190, fbtrace_id: expect.any(String) },
    });
    const none = await fetch(url, { method: 'POST' });
    expect(none.status).toBe(401);
    expect(((await none.json()) as any).error).toMatchObject({ type: 'OAuthException' });
  });

  it('refuses a wrong Telegram bot token with the Bot API 401 shape', async () => {
    const base = demoProviderBaseUrl(fake.url, 'telegram', inboxIds.telegram);
    const derived = secrets('telegram').botToken.split(':')[1];
    for (const token of [`${ADDRESS.telegram}:wrong-secret`, `${ADDRESS.telegram}:${derived}x`]) {
      const res = await fetch(`${base}/bot${token}/sendMessage`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ chat_id: 1, text: 'x' }),
      });
      expect(res.status).toBe(401);
      expect(await res.json()).toEqual({ ok: false, error_code: 401, description: 'Unauthorized' });
    }
    // Not a bot token at all: the Bot API answers 404 for such paths.
    const garbage = await fetch(`${base}/botnot-a-token/getMe`);
    expect(garbage.status).toBe(404);
    expect(await garbage.json()).toEqual({ ok: false, error_code: 404, description: 'Not Found' });
    const err = await clients('telegram')
      .telegram.call(`${ADDRESS.telegram}:wrong`, 'sendMessage', { chat_id: '1', text: 'x' })
      .catch((e: unknown) => e);
    expect(err).toMatchObject({ provider: 'telegram', code: '401', httpStatus: 401 });
  });

  it('answers malformed requests with each provider’s 400', async () => {
    const meta = `${demoProviderBaseUrl(fake.url, 'whatsapp', inboxIds.whatsapp)}/${GRAPH_VERSION}/${ADDRESS.whatsapp}/messages`;
    const auth = { authorization: `Bearer ${secrets('whatsapp').accessToken}`, 'content-type': 'application/json' };
    for (const body of ['{"messaging_product":', JSON.stringify({ messaging_product: 'whatsapp', type: 'text' })]) {
      const res = await fetch(meta, { method: 'POST', headers: auth, body });
      expect(res.status).toBe(400);
      expect(((await res.json()) as any).error).toMatchObject({ type: 'OAuthException', code: 100 });
    }
    const oldVersion = await fetch(meta.replace(GRAPH_VERSION, 'v2.0'), { method: 'POST', headers: auth, body: '{}' });
    expect(oldVersion.status).toBe(400);

    const tg = clients('telegram').telegram;
    await expect(tg.call(secrets('telegram').botToken, 'sendMessage', { chat_id: '1' })).rejects.toMatchObject({
      code: '400',
      providerMessage: 'Bad Request: message text is empty',
    });
    const res = await fetch(
      `${demoProviderBaseUrl(fake.url, 'telegram', inboxIds.telegram)}/bot${secrets('telegram').botToken}/sendMessage`,
      { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{nope' },
    );
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({
      ok: false,
      error_code: 400,
      description: expect.stringMatching(/^Bad Request/),
    });
  });

  it('retries a webhook social-service did not accept, with the same signed bytes', async () => {
    const id = randomUUID();
    social.refuse(id, 503, 1);
    const res = await clients('whatsapp', id).graph.postJson<any>(
      `${ADDRESS.whatsapp}/messages`,
      secrets('whatsapp').accessToken,
      { messaging_product: 'whatsapp', to: '15550001111', type: 'text', text: { body: 'retry me' } },
    );
    const wamid = res.messages[0].id;
    const accepted = await social.waitFor((h) => h.inboxId === id && h.answered === 200, 'retried webhook');
    const first = social.hooks.find((h) => h.inboxId === id)!;
    expect(first.answered).toBe(503);
    expect(accepted.raw.equals(first.raw)).toBe(true);
    expect(accepted.signature).toBe(first.signature);
    expect(hookStatus(accepted)).toEqual({ id: wamid, status: 'sent' });
    await until(() => (record(wamid)?.receipts?.[0].webhook === 'accepted' ? true : undefined), 'sent accepted');
    expect(record(wamid)!.receipts![0]).toMatchObject({ status: 'sent', attempts: 2, webhook: 'accepted' });
    expect(logs.some((l) => l.includes('HTTP 503; retry 2/3'))).toBe(true);
  });

  it('lists sends on an auto-refreshing HTML page with everything escaped, and as JSON', async () => {
    const text = '<script>alert("x")</script> & more';
    await clients('telegram').telegram.call(secrets('telegram').botToken, 'sendMessage', { chat_id: '4444444', text });
    const page = await fetch(`${fake.url}/`);
    expect(page.headers.get('content-type')).toMatch(/^text\/html/);
    expect(page.headers.get('content-security-policy')).toContain("default-src 'none'");
    const html = await page.text();
    expect(html).toContain('http-equiv="refresh"');
    expect(html).not.toContain('<script');
    expect(html).toContain('&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; more');

    const json = (await (await fetch(`${fake.url}/sent.json`)).json()) as SentRecord[];
    expect(json[0]).toMatchObject({ channel: 'telegram', recipient: '4444444', text });
    expect(json.map((r) => r.seq)).toEqual([...json.map((r) => r.seq)].sort((a, b) => b - a));
  });

  it('keeps only the newest records', async () => {
    const small = await startFakeProviders({ port: 0, demoKey: DEMO_KEY, socialServiceUrl: social.url, maxRecords: 3 });
    try {
      const base = demoProviderBaseUrl(small.url, 'telegram', inboxIds.telegram);
      for (let i = 1; i <= 5; i++)
        await fetch(`${base}/bot${secrets('telegram').botToken}/sendMessage`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ chat_id: 5, text: `n${i}` }),
        });
      expect(small.sent().map((r) => r.text)).toEqual(['n5', 'n4', 'n3']);
    } finally {
      await small.close();
    }
  });
});

async function text(stream: Readable): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of stream) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}
