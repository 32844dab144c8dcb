/**
 * Local fake of the Meta Graph API (WhatsApp Cloud API, Messenger Send API, Instagram Messaging)
 * and the Telegram Bot API, for demo mode: the seeded demo inboxes' provider clients point here
 * (inbox setting `providerBaseUrl` = demoProviderBaseUrl(url, channel, inboxId), libs/contracts/src/demo.ts),
 * so every channel works with no network.
 *
 *   Meta:     /{channel}/{inboxId}/{graphVersion}/{graph path}   Authorization: Bearer <access token>
 *   Telegram: /telegram/{inboxId}/bot<token>/<method>            /telegram/{inboxId}/file/bot<token>/<path>
 *
 * Credentials are checked as the provider would, against the secrets demo mode derives from DEMO_KEY
 * (demoInboxSecrets); answers and errors have the providers' documented shapes. After a Meta send the
 * fake posts the status webhooks Meta would (signed with the inbox's app secret) to social-service.
 * Plain node:http: no Nest, no state beyond the last `maxRecords` sends and a bounded file store.
 */
import { createHash, createHmac, randomBytes } from 'node:crypto';
import { IncomingMessage, Server, ServerResponse, createServer } from 'node:http';
import { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { META_MESSAGE_TAGS, SOCIAL_TEXT_LIMITS, demoInboxSecrets, parseDemoProviderPath } from '@oq/contracts';
import { PAGE_CSP, renderSentPage } from './html';
import {
  Answer,
  Params,
  UploadedFile,
  chars,
  graphError,
  imageSize,
  jsonObject,
  numericId,
  parseParams,
  preview,
  randomNumericId,
  readBody,
  sameSecret,
  str,
  telegramError,
} from './wire';

export type FakeChannel = 'whatsapp' | 'messenger' | 'instagram' | 'telegram';
type MetaChannel = Exclude<FakeChannel, 'telegram'>;
export type ReceiptStatus = 'sent' | 'delivered' | 'read';

/** One status webhook the fake owes social-service for a Meta send. */
export interface ReceiptState {
  status: ReceiptStatus;
  webhook: 'scheduled' | 'posting' | 'retrying' | 'accepted' | 'failed';
  attempts: number;
  /** When it was first posted. */
  postedAt?: string;
  /** Why the last attempt was not accepted (HTTP status, ECONNREFUSED…). */
  lastError?: string;
}

export interface SentAttachment {
  filename: string;
  contentType?: string;
  bytes?: number;
}

/** One message the fake accepted. */
export interface SentRecord {
  seq: number;
  /** When the fake received the send (ISO). */
  at: string;
  channel: FakeChannel;
  inboxId: string;
  /** The sending account from the path: phone-number id, page / IG account id (or `me`), bot id. */
  account: string;
  /** wa_id, PSID / IGSID, chat id. */
  recipient: string;
  /** The id the provider answered (wamid, mid; Telegram `chatId:messageId`, as social-service stores it). */
  messageId: string;
  /** text, template, image, document, file, photo… */
  kind: string;
  text?: string;
  attachments: SentAttachment[];
  /** The status webhooks posted back (Meta); null for Telegram, whose Bot API has no receipts. */
  receipts: ReceiptState[] | null;
}

export interface FakeProvidersOptions {
  port: number;
  host?: string;
  /** DEMO_KEY: every demo inbox's secrets derive from it (demoInboxSecrets). */
  demoKey: string;
  /** Where Meta status webhooks go: POST {socialServiceUrl}/webhooks/meta/{inboxId}. */
  socialServiceUrl: string;
  /** The Graph API version accepted in paths (META_GRAPH_VERSION); default v21.0. */
  graphVersion?: string;
  /** After a Meta send: when `delivered` and `read` happen; default 300 ms and 1500 ms. */
  receiptDelaysMs?: { delivered: number; read: number };
  /** Waits before each retry of a webhook social-service did not take (non-2xx or down); default 0.5, 2, 5, 15 s. */
  webhookRetryDelaysMs?: number[];
  /** Sends kept in memory (oldest dropped first); default 1000. */
  maxRecords?: number;
  log?: (line: string) => void;
}

export interface FakeProviders {
  url: string;
  close(): Promise<void>;
  /** Snapshot of the kept sends, newest first (what GET /sent.json answers). */
  sent(): SentRecord[];
}

export async function startFakeProviders(opts: FakeProvidersOptions): Promise<FakeProviders> {
  const fake = new FakeProviderServer(opts);
  await fake.listen(opts.port, opts.host ?? '127.0.0.1');
  return { url: fake.url, close: () => fake.close(), sent: () => fake.sent() };
}

interface StoredFile {
  filename: string;
  contentType: string;
  bytes: Buffer;
}

/** Uploaded files, oldest dropped first past a count or size: a long demo session must not grow memory. */
class BoundedFiles<T extends StoredFile> {
  private readonly files = new Map<string, T>();
  private total = 0;
  constructor(
    private readonly maxCount = 500,
    private readonly maxBytes = 128 * 1024 * 1024,
  ) {}
  set(id: string, file: T): void {
    this.files.set(id, file);
    this.total += file.bytes.length;
    while ((this.files.size > this.maxCount || this.total > this.maxBytes) && this.files.size > 1) {
      const [oldest, f] = this.files.entries().next().value as [string, T];
      this.files.delete(oldest);
      this.total -= f.bytes.length;
    }
  }
  get(id: string): T | undefined {
    return this.files.get(id);
  }
  find(match: (f: T) => boolean): T | undefined {
    for (const f of this.files.values()) if (match(f)) return f;
    return undefined;
  }
}

type WaMedia = StoredFile & { inboxId: string; id: string };
type TgFile = StoredFile & { botId: string; fileId: string; fileUniqueId: string; path: string };

/** A request on its way through: what handlers need besides the parameters. */
interface Ctx {
  inboxId: string;
  method: string;
  /** When the send arrived: the platform's stamp, so a Messenger watermark covers it. */
  now: number;
}

const WA_TYPES = [
  'audio',
  'contacts',
  'document',
  'image',
  'interactive',
  'location',
  'reaction',
  'sticker',
  'template',
  'text',
  'video',
];
const WA_MEDIA = ['image', 'audio', 'video', 'document', 'sticker'];
const TG_MEDIA: Record<string, { field: string; prefix: string; dir: string }> = {
  sendphoto: { field: 'photo', prefix: 'AgAC', dir: 'photos' },
  senddocument: { field: 'document', prefix: 'BQAC', dir: 'documents' },
  sendaudio: { field: 'audio', prefix: 'CQAC', dir: 'music' },
  sendvideo: { field: 'video', prefix: 'BAAC', dir: 'videos' },
  sendvoice: { field: 'voice', prefix: 'AwAC', dir: 'voice' },
  sendanimation: { field: 'animation', prefix: 'CgAC', dir: 'animations' },
};

class FakeProviderServer {
  url = '';
  private readonly server: Server;
  private readonly demoKey: string;
  private readonly socialServiceUrl: string;
  private readonly graphVersion: string;
  private readonly delays: { delivered: number; read: number };
  private readonly retryDelays: number[];
  private readonly maxRecords: number;
  private readonly log: (line: string) => void;
  private readonly records: SentRecord[] = [];
  private seq = 0;
  private fileSeq = 0;
  private readonly waMedia = new BoundedFiles<WaMedia>();
  private readonly tgFiles = new BoundedFiles<TgFile>();
  private readonly tgMessageIds = new Map<string, number>();
  private readonly tgWebhooks = new Map<string, { url: string; allowed_updates?: unknown }>();
  private readonly closing = new AbortController();
  private readonly chains = new Set<Promise<void>>();
  private closed?: Promise<void>;

  constructor(opts: FakeProvidersOptions) {
    if (!opts.demoKey) throw new Error('demoKey is required (DEMO_KEY)');
    this.demoKey = opts.demoKey;
    this.socialServiceUrl = opts.socialServiceUrl.replace(/\/+$/, '');
    this.graphVersion = opts.graphVersion ?? 'v21.0';
    if (!/^v\d+\.\d+$/.test(this.graphVersion))
      throw new Error(`graphVersion must look like v21.0, not ${this.graphVersion}`);
    this.delays = opts.receiptDelaysMs ?? { delivered: 300, read: 1500 };
    this.retryDelays = opts.webhookRetryDelaysMs ?? [500, 2000, 5000, 15000];
    this.maxRecords = opts.maxRecords ?? 1000;
    this.log = opts.log ?? (() => undefined);
    this.server = createServer((req, res) => void this.dispatch(req, res));
    this.server.keepAliveTimeout = 5000;
  }

  async listen(port: number, host: string): Promise<void> {
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(port, host, () => {
        this.server.off('error', reject);
        resolve();
      });
    });
    const addr = this.server.address() as AddressInfo;
    const shown = addr.address === '0.0.0.0' ? '127.0.0.1' : addr.address === '::' ? '::1' : addr.address;
    this.url = `http://${shown.includes(':') ? `[${shown}]` : shown}:${addr.port}`;
  }

  close(): Promise<void> {
    this.closed ??= (async () => {
      this.closing.abort();
      const stopped = new Promise<void>((r) => this.server.close(() => r()));
      this.server.closeAllConnections();
      await stopped;
      await Promise.allSettled([...this.chains]);
    })();
    return this.closed;
  }

  sent(): SentRecord[] {
    return structuredClone(this.records).reverse();
  }

  // ---- HTTP

  private async dispatch(req: IncomingMessage, res: ServerResponse): Promise<void> {
    let answer: Answer;
    try {
      answer = await this.route(req);
    } catch (err) {
      this.log(`fake-providers: ${req.method} failed: ${(err as Error).message}`);
      answer = { status: 500, body: { error: { message: 'fake providers: internal error', code: 1 } } };
    }
    if (res.destroyed) return;
    const body =
      answer.bytes ?? (answer.body === undefined ? Buffer.alloc(0) : Buffer.from(JSON.stringify(answer.body)));
    res.writeHead(answer.status, {
      'content-type': answer.contentType ?? 'application/json; charset=utf-8',
      'content-length': body.length,
      'cache-control': 'no-store',
      ...answer.headers,
    });
    res.end(req.method === 'HEAD' ? undefined : body, () => answer.after?.());
  }

  private async route(req: IncomingMessage): Promise<Answer> {
    const now = Date.now();
    const method = req.method ?? 'GET';
    const url = new URL(req.url ?? '/', 'http://fake.local');
    if (method === 'GET' || method === 'HEAD') {
      if (url.pathname === '/')
        return {
          status: 200,
          bytes: Buffer.from(renderSentPage(this.sent(), { max: this.maxRecords, graphVersion: this.graphVersion })),
          contentType: 'text/html; charset=utf-8',
          headers: { 'content-security-policy': PAGE_CSP, 'x-content-type-options': 'nosniff' },
        };
      if (url.pathname === '/sent.json') return { status: 200, body: this.sent() };
      if (url.pathname === '/health') return { status: 200, body: { ok: true } };
    }
    const demo = parseDemoProviderPath(url.pathname);
    const raw = await readBody(req);
    if (!demo || !['whatsapp', 'messenger', 'instagram', 'telegram'].includes(demo.channel))
      return {
        status: 404,
        body: {
          error: {
            message: `not a fake provider path: expected /{whatsapp|messenger|instagram|telegram}/{inbox-id}/… (demoProviderBaseUrl), got ${url.pathname.slice(0, 200)}`,
            code: 404,
          },
        },
      };
    const ctx: Ctx = { inboxId: demo.inboxId, method, now };
    if (demo.channel === 'telegram') {
      const params = raw === null ? 'too large' : await parseParams(raw, req.headers['content-type'], url.searchParams);
      const [answer, what] = this.telegram(ctx, demo.rest, params);
      if (answer.status >= 400) this.refused('telegram', ctx, what, answer);
      return answer;
    }
    const channel = demo.channel as MetaChannel;
    const params = raw === null ? 'too large' : await parseParams(raw, req.headers['content-type'], url.searchParams);
    const token =
      /^Bearer\s+(\S+)\s*$/i.exec(req.headers.authorization ?? '')?.[1] ??
      url.searchParams.get('access_token') ??
      (typeof params === 'object' ? str(params.access_token) : undefined);
    const answer = this.meta(channel, ctx, demo.rest, token, params);
    if (answer.status >= 400) this.refused(channel, ctx, `${method} ${demo.rest.slice(0, 80)}`, answer);
    return answer;
  }

  private refused(channel: FakeChannel, ctx: Ctx, what: string, answer: Answer): void {
    const b = answer.body as { error?: { message?: string }; description?: string } | undefined;
    const why = b?.error?.message ?? b?.description ?? '';
    this.log(`${channel.padEnd(9)} ${ctx.inboxId.slice(0, 8)}  ${what} → ${answer.status} ${preview(why, 100)}`);
  }

  // ---- Meta Graph API

  private meta(
    channel: MetaChannel,
    ctx: Ctx,
    rest: string,
    token: string | undefined,
    params: Params | string,
  ): Answer {
    const version = /^\/(v\d+\.\d+)(\/.*)?$/.exec(rest);
    const download = /^\/media-download\/([^/]+)$/.exec(rest);
    let parts: string[] = [];
    try {
      parts = (version?.[2] ?? '')
        .split('/')
        .filter(Boolean)
        .map((p) => decodeURIComponent(p));
    } catch {
      return graphError(400, 2500, `Unknown path components: ${rest.slice(0, 200)}`);
    }
    // The access token is checked first, as the Graph API does: a wrong one is refused whatever the request.
    // For Meta channels the demo access token does not depend on the address (demoInboxSecrets), so `me/…` works too.
    if (!token) return graphError(401, 104, 'An access token is required to request this resource.');
    const expected = demoInboxSecrets(this.demoKey, channel, parts[0] ?? '').accessToken;
    if (!sameSecret(token, expected))
      return {
        ...graphError(401, 190, 'Invalid OAuth access token - Cannot parse access token'),
        headers: {
          'www-authenticate':
            'OAuth "Facebook Platform" "invalid_token" "Invalid OAuth access token - Cannot parse access token"',
        },
      };

    if (download && ctx.method === 'GET') {
      const m = channel === 'whatsapp' ? this.waMedia.get(download[1]) : undefined;
      if (!m || m.inboxId !== ctx.inboxId) return { status: 404, body: { error: { message: 'Not Found', code: 404 } } };
      return { status: 200, bytes: m.bytes, contentType: m.contentType };
    }
    if (!version) return graphError(400, 2500, `Unknown path components: ${rest.slice(0, 200)}`);
    if (version[1] !== this.graphVersion)
      return graphError(
        400,
        2500,
        `Unknown path components: /${version[1]} (this fake serves Graph API ${this.graphVersion}: check META_GRAPH_VERSION)`,
      );
    if (typeof params === 'string')
      return params === 'too large'
        ? graphError(413, 100, '(#100) The request body is too large')
        : graphError(400, 100, `(#100) Invalid parameter: ${params}`);

    const [account, edge] = parts;
    if (ctx.method === 'POST' && parts.length === 2 && edge === 'messages')
      return channel === 'whatsapp'
        ? this.whatsappMessages(ctx, account, params)
        : this.sendApi(channel, ctx, account, params);
    if (ctx.method === 'POST' && parts.length === 2 && edge === 'media' && channel === 'whatsapp')
      return this.whatsappUpload(ctx, params);
    if (ctx.method === 'GET' && parts.length === 1 && channel === 'whatsapp')
      return this.whatsappMediaInfo(ctx, account);
    return graphError(
      400,
      100,
      `Unsupported ${ctx.method.toLowerCase()} request. Object with ID '${(account ?? '').slice(0, 80)}' does not exist, cannot be loaded due to missing permissions, or does not support this operation. Please read the Graph API documentation at https://developers.facebook.com/docs/graph-api`,
      { error_subcode: 33 },
    );
  }

  /** WhatsApp Cloud API: POST /{phone-number-id}/media (multipart: messaging_product, type, file) → { id }. */
  private whatsappUpload(ctx: Ctx, p: Params): Answer {
    if (p.messaging_product !== 'whatsapp')
      return graphError(400, 100, '(#100) The parameter messaging_product is required.');
    const file = p.file;
    if (!(file instanceof UploadedFile)) return graphError(400, 100, '(#100) The parameter file is required.');
    const id = randomNumericId(16);
    const contentType = str(p.type) || file.contentType || 'application/octet-stream';
    this.waMedia.set(id, { id, inboxId: ctx.inboxId, filename: file.filename, contentType, bytes: file.bytes });
    return { status: 200, body: { id } };
  }

  /** WhatsApp Cloud API: GET /{media-id} → { messaging_product, url, mime_type, sha256, file_size, id }. */
  private whatsappMediaInfo(ctx: Ctx, id: string): Answer {
    const m = this.waMedia.get(id);
    if (!m || m.inboxId !== ctx.inboxId)
      return graphError(
        400,
        100,
        `Unsupported get request. Object with ID '${id.slice(0, 80)}' does not exist, cannot be loaded due to missing permissions, or does not support this operation.`,
        { error_subcode: 33 },
      );
    return {
      status: 200,
      body: {
        messaging_product: 'whatsapp',
        url: `${this.url}/whatsapp/${ctx.inboxId}/media-download/${id}`,
        mime_type: m.contentType,
        sha256: createHash('sha256').update(m.bytes).digest('base64'),
        file_size: m.bytes.length,
        id,
      },
    };
  }

  /** WhatsApp Cloud API: POST /{phone-number-id}/messages → { messaging_product, contacts: [{ input, wa_id }], messages: [{ id }] }. */
  private whatsappMessages(ctx: Ctx, phoneNumberId: string, p: Params): Answer {
    if (p.messaging_product !== 'whatsapp')
      return graphError(400, 100, '(#100) The parameter messaging_product is required.');
    if (p.status === 'read') {
      // Marking an inbound message read: no message is created, no webhook follows.
      if (!str(p.message_id)) return graphError(400, 100, '(#100) The parameter message_id is required.');
      return { status: 200, body: { success: true } };
    }
    const to = str(p.to)?.trim();
    if (!to) return graphError(400, 100, '(#100) The parameter to is required.');
    const waId = to.replace(/\D/g, '');
    if (waId.length < 5 || waId.length > 15)
      return graphError(400, 100, '(#100) Invalid parameter', {
        error_data: { messaging_product: 'whatsapp', details: `Param to is not a valid WhatsApp phone number` },
      });
    const type = str(p.type) ?? 'text';
    if (!WA_TYPES.includes(type))
      return graphError(
        400,
        100,
        `(#100) Param type must be one of {${WA_TYPES.map((t) => t.toUpperCase()).join(', ')}}`,
      );
    const obj = jsonObject(p[type]);
    if (!obj) return graphError(400, 100, `(#100) The parameter ${type} is required.`);

    let text: string | undefined;
    const attachments: SentAttachment[] = [];
    if (type === 'text') {
      text = str(obj.body);
      if (!text?.trim()) return graphError(400, 100, "(#100) The parameter text['body'] is required.");
      if (chars(text) > SOCIAL_TEXT_LIMITS.whatsapp)
        return graphError(
          400,
          100,
          `(#100) Param text['body'] must be at most ${SOCIAL_TEXT_LIMITS.whatsapp} characters long.`,
        );
    } else if (type === 'template') {
      const name = str(obj.name);
      const language = str(jsonObject(obj.language)?.code);
      if (!name || !language)
        return graphError(
          400,
          100,
          "(#100) The parameters template['name'] and template['language']['code'] are required.",
        );
      const values = (Array.isArray(obj.components) ? obj.components : [])
        .flatMap((c) => (Array.isArray(jsonObject(c)?.parameters) ? (jsonObject(c)!.parameters as unknown[]) : []))
        .map((x) => str(jsonObject(x)?.text))
        .filter(Boolean);
      text = `${name} (${language})${values.length ? `: ${values.join(' | ')}` : ''}`;
    } else if (WA_MEDIA.includes(type)) {
      const id = str(obj.id);
      const link = str(obj.link);
      if (!id && !link) return graphError(400, 100, `(#100) Param ${type} must contain either id or link`);
      if (id) {
        const m = this.waMedia.get(id);
        if (!m || m.inboxId !== ctx.inboxId)
          return graphError(400, 131009, '(#131009) Parameter value is not valid', {
            error_data: {
              messaging_product: 'whatsapp',
              details: `${type}['id'] is not a media id uploaded to this number`,
            },
          });
        attachments.push({
          filename: str(obj.filename) ?? m.filename,
          contentType: m.contentType,
          bytes: m.bytes.length,
        });
      } else attachments.push({ filename: str(obj.filename) ?? lastSegment(link!) });
      text = str(obj.caption);
    } else {
      const body = jsonObject(obj.body);
      text = str(body?.text) ?? str(obj.emoji) ?? str(obj.name) ?? str(obj.address);
    }

    const wamid = newWamid(waId);
    const rec = this.record({
      at: ctx.now,
      channel: 'whatsapp',
      inboxId: ctx.inboxId,
      account: phoneNumberId,
      recipient: waId,
      messageId: wamid,
      kind: type,
      text,
      attachments,
      receipts: [],
    });
    const display = `1555${phoneNumberId.replace(/\D/g, '').slice(-7).padStart(7, '0')}`;
    const waba = numericId(`waba:${ctx.inboxId}`);
    const conversation = {
      id: numericId(`conversation:${ctx.inboxId}:${waId}`, 32),
      origin: { type: type === 'template' ? 'utility' : 'service' },
    };
    const status = (s: ReceiptStatus, at: number) => ({
      object: 'whatsapp_business_account',
      entry: [
        {
          id: waba,
          changes: [
            {
              value: {
                messaging_product: 'whatsapp',
                metadata: { display_phone_number: display, phone_number_id: phoneNumberId },
                statuses: [
                  {
                    id: wamid,
                    status: s,
                    timestamp: String(Math.floor(at / 1000)),
                    recipient_id: waId,
                    ...(s === 'read'
                      ? {}
                      : {
                          conversation:
                            s === 'sent'
                              ? { ...conversation, expiration_timestamp: String(Math.floor(at / 1000) + 86400) }
                              : conversation,
                          pricing: { billable: true, pricing_model: 'CBP', category: conversation.origin.type },
                        }),
                  },
                ],
              },
              field: 'messages',
            },
          ],
        },
      ],
    });
    return {
      status: 200,
      body: {
        messaging_product: 'whatsapp',
        contacts: [{ input: to, wa_id: waId }],
        messages: [{ id: wamid, ...(type === 'template' ? { message_status: 'accepted' } : {}) }],
      },
      after: () =>
        this.receipts(rec, 'whatsapp', [
          { status: 'sent', dueAt: ctx.now, body: (at) => status('sent', at) },
          { status: 'delivered', dueAt: ctx.now + this.delays.delivered, body: (at) => status('delivered', at) },
          { status: 'read', dueAt: ctx.now + this.delays.read, body: (at) => status('read', at) },
        ]),
    };
  }

  /**
   * Messenger Send API / Instagram Messaging: POST /{page-or-ig-id}/messages (or /me/messages),
   * JSON or multipart with `filedata` → { recipient_id, message_id }.
   */
  private sendApi(channel: 'messenger' | 'instagram', ctx: Ctx, account: string, p: Params): Answer {
    const psid = str(jsonObject(p.recipient)?.id);
    if (!psid) return graphError(400, 100, '(#100) The parameter recipient is required');
    const messagingType = str(p.messaging_type);
    if (messagingType !== undefined && !['RESPONSE', 'UPDATE', 'MESSAGE_TAG'].includes(messagingType))
      return graphError(400, 100, '(#100) Param messaging_type must be one of {RESPONSE, UPDATE, MESSAGE_TAG}');
    if (messagingType === 'MESSAGE_TAG') {
      // Instagram accepts only HUMAN_AGENT (libs/contracts social-rules).
      const tags: readonly string[] = channel === 'instagram' ? ['HUMAN_AGENT'] : META_MESSAGE_TAGS;
      const tag = str(p.tag);
      if (!tag || !tags.includes(tag))
        return graphError(400, 100, `(#100) Param tag must be one of {${tags.join(', ')}}`);
    }
    const action = str(p.sender_action);
    if (action && p.message === undefined) {
      if (!['typing_on', 'typing_off', 'mark_seen'].includes(action))
        return graphError(400, 100, '(#100) Param sender_action must be one of {typing_on, typing_off, mark_seen}');
      return { status: 200, body: { recipient_id: psid } };
    }
    const message = jsonObject(p.message);
    if (!message) return graphError(400, 100, '(#100) Must send either message or state');
    const limit = SOCIAL_TEXT_LIMITS[channel];
    let kind = 'text';
    let text: string | undefined;
    const attachments: SentAttachment[] = [];
    let reusable = false;
    if (message.text !== undefined) {
      text = str(message.text);
      if (!text?.trim())
        return graphError(400, 100, '(#100) Param message[text] must be a non-empty UTF-8 encoded string');
      if (chars(text) > limit)
        return graphError(400, 100, `(#100) Length of param message[text] must be less than or equal to ${limit}`);
    } else {
      const attachment = jsonObject(message.attachment);
      const type = str(attachment?.type);
      if (!attachment || !type) return graphError(400, 100, '(#100) param message must be non-empty.');
      const types = ['image', 'audio', 'video', 'file', ...(channel === 'messenger' ? ['template'] : [])];
      if (!types.includes(type))
        return graphError(400, 100, `(#100) Param message[attachment][type] must be one of {${types.join(', ')}}`);
      const payload = jsonObject(attachment.payload) ?? {};
      const file = p.filedata instanceof UploadedFile ? p.filedata : undefined;
      const link = str(payload.url);
      const attachmentId = str(payload.attachment_id);
      if (type !== 'template') {
        if (file)
          attachments.push({ filename: file.filename, contentType: file.contentType, bytes: file.bytes.length });
        else if (link) attachments.push({ filename: lastSegment(link) });
        else if (attachmentId) attachments.push({ filename: `attachment ${attachmentId}` });
        else return graphError(400, 100, '(#100) Upload attachment failure.');
      }
      reusable = payload.is_reusable === true && !attachmentId && type !== 'template';
      kind = type;
    }

    const mid =
      channel === 'messenger'
        ? `m_${randomBytes(33).toString('base64url')}`
        : Buffer.from(`ig_message_item:1:IGMessageThread:${account}:${randomNumericId(39)}`).toString('base64url');
    const rec = this.record({
      at: ctx.now,
      channel,
      inboxId: ctx.inboxId,
      account,
      recipient: psid,
      messageId: mid,
      kind,
      text,
      attachments,
      receipts: [],
    });
    // `me/messages` names no page: the webhooks then carry an id derived from the inbox (our parsers do not compare it).
    const pageId = /^\d+$/.test(account) ? account : numericId(`page:${ctx.inboxId}`);
    const event = (at: number, receipt: Record<string, unknown>) => ({
      object: channel === 'messenger' ? 'page' : 'instagram',
      entry: [
        {
          id: pageId,
          time: at,
          messaging: [{ sender: { id: psid }, recipient: { id: pageId }, timestamp: at, ...receipt }],
        },
      ],
    });
    return {
      status: 200,
      body: { recipient_id: psid, message_id: mid, ...(reusable ? { attachment_id: randomNumericId(16) } : {}) },
      after: () =>
        this.receipts(rec, channel, [
          // Delivery names the mid, and its watermark is the send's stamp ("all messages up to here").
          {
            status: 'delivered',
            dueAt: ctx.now + this.delays.delivered,
            body: (at) => event(at, { delivery: { mids: [mid], watermark: ctx.now } }),
          },
          // Messenger reads carry only a watermark: everything the page sent this person up to that instant
          // (the send's stamp, so this message and the ones before it). Instagram's messaging_seen names the mid.
          {
            status: 'read',
            dueAt: ctx.now + this.delays.read,
            body: (at) => event(at, { read: channel === 'messenger' ? { watermark: ctx.now } : { mid } }),
          },
        ]),
    };
  }

  // ---- Telegram Bot API

  /** Returns the answer and what to name the call in the log (never the token). */
  private telegram(ctx: Ctx, rest: string, params: Params | string): [Answer, string] {
    const file = /^\/file\/bot([^/]+)\/(.+)$/.exec(rest);
    const call = file ? null : /^\/bot([^/]+)\/([A-Za-z]+)$/.exec(rest);
    const what = file ? 'file download' : (call?.[2] ?? rest.replace(/\/bot[^/]*/, '/bot…').slice(0, 60));
    const token = decodeToken((file ?? call)?.[1]);
    const botId = token && /^(\d+):[A-Za-z0-9_-]+$/.exec(token)?.[1];
    if (!token || !botId) return [telegramError(404, 'Not Found'), what];
    // The demo bot token is `<botId>:<secret derived from DEMO_KEY>`; the bot id is the token's own prefix.
    if (!sameSecret(token, demoInboxSecrets(this.demoKey, 'telegram', botId).botToken))
      return [telegramError(401, 'Unauthorized'), what];

    if (file) {
      const f = this.tgFiles.find((x) => x.botId === botId && x.path === file[2]);
      return [f ? { status: 200, bytes: f.bytes, contentType: f.contentType } : telegramError(404, 'Not Found'), what];
    }
    if (typeof params === 'string')
      return [
        params === 'too large'
          ? telegramError(413, 'Request Entity Too Large')
          : telegramError(400, `Bad Request: ${params}`),
        what,
      ];
    // Bot API method names are case-insensitive.
    const method = call![2].toLowerCase();
    return [this.telegramMethod(ctx, botId, method, params), what];
  }

  private telegramMethod(ctx: Ctx, botId: string, method: string, p: Params): Answer {
    const ok = (result: unknown, description?: string): Answer => ({
      status: 200,
      body: { ok: true, result, ...(description ? { description } : {}) },
    });
    switch (method) {
      case 'getme':
        return ok({
          id: Number(botId),
          is_bot: true,
          first_name: 'OneQueue demo',
          username: `oq_demo_${botId}_bot`,
          can_join_groups: false,
          can_read_all_group_messages: false,
          supports_inline_queries: false,
        });
      case 'getfile': {
        const f = this.tgFiles.get(str(p.file_id) ?? '');
        if (!f || f.botId !== botId) return telegramError(400, 'Bad Request: invalid file_id');
        return ok({ file_id: f.fileId, file_unique_id: f.fileUniqueId, file_size: f.bytes.length, file_path: f.path });
      }
      case 'setwebhook': {
        const url = str(p.url) ?? '';
        if (url && !/^https:\/\//i.test(url))
          return telegramError(400, 'Bad Request: bad webhook: An HTTPS URL must be provided for webhook');
        const secret = str(p.secret_token);
        if (secret !== undefined && !/^[A-Za-z0-9_-]{1,256}$/.test(secret))
          return telegramError(400, 'Bad Request: secret token contains unallowed characters');
        if (!url) {
          this.tgWebhooks.delete(botId);
          return ok(true, 'Webhook was deleted');
        }
        this.tgWebhooks.set(botId, { url, allowed_updates: p.allowed_updates });
        return ok(true, 'Webhook was set');
      }
      case 'deletewebhook':
        return ok(true, this.tgWebhooks.delete(botId) ? 'Webhook was deleted' : 'Webhook is already deleted');
      case 'getwebhookinfo': {
        const w = this.tgWebhooks.get(botId);
        return ok({
          url: w?.url ?? '',
          has_custom_certificate: false,
          pending_update_count: 0,
          ...(w?.allowed_updates ? { allowed_updates: jsonArray(w.allowed_updates) } : {}),
        });
      }
      case 'sendmessage': {
        const chat = telegramChat(p.chat_id);
        if ('error' in chat) return chat.error;
        const text = str(p.text) ?? '';
        if (!text.trim()) return telegramError(400, 'Bad Request: message text is empty');
        if (chars(text) > SOCIAL_TEXT_LIMITS.telegram) return telegramError(400, 'Bad Request: message is too long');
        return ok(this.telegramSent(ctx, botId, chat.chat, 'text', text, [], { text }));
      }
    }
    const media = TG_MEDIA[method];
    if (!media) return telegramError(404, 'Not Found');
    const chat = telegramChat(p.chat_id);
    if ('error' in chat) return chat.error;
    const caption = str(p.caption);
    if (caption && chars(caption) > 1024) return telegramError(400, 'Bad Request: message caption is too long');
    const input = p[media.field];
    let stored: TgFile | undefined;
    let attachment: SentAttachment;
    if (input instanceof UploadedFile) {
      const ext = /\.[A-Za-z0-9]{1,8}$/.exec(input.filename)?.[0] ?? '';
      const fileId = `${media.prefix}${randomBytes(30).toString('base64url')}`;
      stored = {
        botId,
        fileId,
        fileUniqueId: `AQAD${randomBytes(8).toString('base64url')}`,
        path: `${media.dir}/file_${++this.fileSeq}${ext}`,
        filename: input.filename,
        contentType: input.contentType || 'application/octet-stream',
        bytes: input.bytes,
      };
      this.tgFiles.set(fileId, stored);
      attachment = { filename: input.filename, contentType: stored.contentType, bytes: input.bytes.length };
    } else if (typeof input === 'string' && input) {
      stored = this.tgFiles.get(input);
      if (stored && stored.botId !== botId) stored = undefined;
      if (stored)
        attachment = { filename: stored.filename, contentType: stored.contentType, bytes: stored.bytes.length };
      else if (/^https?:\/\//i.test(input)) attachment = { filename: lastSegment(input) };
      else return telegramError(400, 'Bad Request: wrong file identifier/HTTP URL specified');
    } else return telegramError(400, `Bad Request: there is no ${media.field} in the request`);

    const fileId = stored?.fileId ?? `${media.prefix}${randomBytes(30).toString('base64url')}`;
    const base = {
      file_id: fileId,
      file_unique_id: stored?.fileUniqueId ?? `AQAD${randomBytes(8).toString('base64url')}`,
      ...(stored ? { file_size: stored.bytes.length } : {}),
    };
    const dims = (stored && imageSize(stored.bytes)) || { width: 512, height: 512 };
    const named = { file_name: attachment.filename, ...(stored ? { mime_type: stored.contentType } : {}) };
    const result =
      media.field === 'photo'
        ? [{ ...base, ...dims }]
        : media.field === 'document'
          ? { ...base, ...named }
          : media.field === 'voice'
            ? { ...base, duration: 1, ...(stored ? { mime_type: stored.contentType } : {}) }
            : media.field === 'audio'
              ? { ...base, ...named, duration: 1 }
              : { ...base, ...named, ...dims, duration: 1 };
    return ok(
      this.telegramSent(ctx, botId, chat.chat, media.field, caption, [attachment], {
        [media.field]: result,
        ...(caption ? { caption } : {}),
      }),
    );
  }

  /** Records a Telegram send and builds its Message. No receipts follow: the Bot API has none (no delivery or read updates for bots). */
  private telegramSent(
    ctx: Ctx,
    botId: string,
    chat: { id: number; type: string; title?: string },
    kind: string,
    text: string | undefined,
    attachments: SentAttachment[],
    content: Record<string, unknown>,
  ) {
    const key = `${botId}:${chat.id}`;
    const messageId = (this.tgMessageIds.get(key) ?? 100) + 1;
    this.tgMessageIds.set(key, messageId);
    this.record({
      at: ctx.now,
      channel: 'telegram',
      inboxId: ctx.inboxId,
      account: botId,
      recipient: String(chat.id),
      messageId: `${chat.id}:${messageId}`,
      kind,
      text,
      attachments,
      receipts: null,
    });
    return {
      message_id: messageId,
      from: { id: Number(botId), is_bot: true, first_name: 'OneQueue demo', username: `oq_demo_${botId}_bot` },
      chat,
      date: Math.floor(ctx.now / 1000),
      ...content,
    };
  }

  // ---- records and webhooks

  private record(r: Omit<SentRecord, 'seq' | 'at'> & { at: number }): SentRecord {
    const rec: SentRecord = { ...r, seq: ++this.seq, at: new Date(r.at).toISOString() };
    this.records.push(rec);
    if (this.records.length > this.maxRecords) this.records.splice(0, this.records.length - this.maxRecords);
    const files = rec.attachments.length
      ? `  📎 ${rec.attachments.map((a) => preview(a.filename, 40)).join(', ')}`
      : '';
    const text = rec.text ? ` "${preview(rec.text)}"` : '';
    this.log(
      `${rec.channel.padEnd(9)} ${rec.inboxId.slice(0, 8)} → ${preview(rec.recipient, 24)}  ${rec.kind}${text}${files}  ${preview(rec.messageId, 28)}`,
    );
    return rec;
  }

  /**
   * Posts a Meta send's status webhooks one after the other, each at its time: in order, so a late
   * `delivered` never overtakes `read`. Each is retried on its own (social-service down or non-2xx).
   */
  private receipts(
    rec: SentRecord,
    channel: MetaChannel,
    steps: { status: ReceiptStatus; dueAt: number; body: (at: number) => unknown }[],
  ): void {
    rec.receipts!.push(...steps.map((s) => ({ status: s.status, webhook: 'scheduled' as const, attempts: 0 })));
    const states = rec.receipts!;
    const run = async () => {
      for (const [i, step] of steps.entries()) {
        if (!(await this.wait(step.dueAt - Date.now()))) return;
        await this.postWebhook(rec, channel, states[i], JSON.stringify(step.body(Math.max(step.dueAt, Date.now()))));
      }
    };
    const chain: Promise<void> = run()
      .catch((err: Error) => this.log(`webhook ${channel} ${rec.messageId.slice(0, 24)}: ${err.message}`))
      .finally(() => this.chains.delete(chain));
    this.chains.add(chain);
  }

  /** As Meta does: POST /webhooks/meta/{inboxId}, X-Hub-Signature-256 = HMAC-SHA256 of the exact bytes with the app secret. */
  private async postWebhook(rec: SentRecord, channel: MetaChannel, state: ReceiptState, body: string): Promise<void> {
    const { appSecret } = demoInboxSecrets(this.demoKey, channel, rec.account);
    const signature = `sha256=${createHmac('sha256', appSecret).update(body, 'utf8').digest('hex')}`;
    const url = `${this.socialServiceUrl}/webhooks/meta/${rec.inboxId}`;
    const attempts = this.retryDelays.length + 1;
    const name = `webhook ${channel} ${state.status} ${preview(rec.messageId, 24)}`;
    state.postedAt = new Date().toISOString();
    for (let attempt = 1; ; attempt++) {
      state.attempts = attempt;
      state.webhook = 'posting';
      let problem: string;
      try {
        const res = await fetch(url, {
          method: 'POST',
          headers: {
            'content-type': 'application/json',
            'x-hub-signature-256': signature,
            'user-agent': 'facebookexternalua',
          },
          body,
          signal: AbortSignal.any([this.closing.signal, AbortSignal.timeout(10_000)]),
        });
        await res.arrayBuffer().catch(() => undefined);
        if (res.ok) {
          state.webhook = 'accepted';
          delete state.lastError;
          if (attempt > 1) this.log(`${name} → accepted on attempt ${attempt}`);
          return;
        }
        problem = `HTTP ${res.status}`;
      } catch (err) {
        if (this.closing.signal.aborted) return;
        const e = err as Error & { cause?: Error & { code?: string } };
        problem = e.cause?.code ?? e.cause?.message ?? e.message;
      }
      state.lastError = problem;
      if (attempt >= attempts) {
        state.webhook = 'failed';
        this.log(`${name} → ${problem}; gave up after ${attempt} attempts`);
        return;
      }
      const delay = this.retryDelays[attempt - 1];
      state.webhook = 'retrying';
      this.log(`${name} → ${problem}; retry ${attempt + 1}/${attempts} in ${delay} ms`);
      if (!(await this.wait(delay))) return;
    }
  }

  /** Waits unless the fake is closing; false when it is. */
  private async wait(ms: number): Promise<boolean> {
    if (this.closing.signal.aborted) return false;
    if (ms <= 0) return true;
    return sleep(ms, undefined, { signal: this.closing.signal }).then(
      () => true,
      () => false,
    );
  }
}

/** wamid.<base64>: the Cloud API's ids encode the recipient and a random part. */
function newWamid(waId: string): string {
  const id = Buffer.concat([
    Buffer.from([0x1c, 0x18, waId.length]),
    Buffer.from(waId),
    Buffer.from([0x15, 0x02, 0x00, 0x11, 0x18, 0x12]),
    Buffer.from(randomBytes(9).toString('hex').toUpperCase()),
    Buffer.from([0x00]),
  ]);
  return `wamid.${id.toString('base64')}`;
}

function telegramChat(value: unknown): { chat: { id: number; type: string; title?: string } } | { error: Answer } {
  const raw = str(value)?.trim();
  if (!raw) return { error: telegramError(400, 'Bad Request: chat_id is empty') };
  // Only numeric chats exist here: an @username cannot be resolved by the fake.
  if (!/^-?\d{1,16}$/.test(raw)) return { error: telegramError(400, 'Bad Request: chat not found') };
  const id = Number(raw);
  if (id > 0) return { chat: { id, type: 'private' } };
  return { chat: { id, type: raw.startsWith('-100') ? 'supergroup' : 'group', title: 'Demo group' } };
}

function decodeToken(token: string | undefined): string | undefined {
  if (!token) return undefined;
  try {
    return decodeURIComponent(token);
  } catch {
    return undefined;
  }
}

function jsonArray(value: unknown): unknown {
  if (typeof value !== 'string') return value;
  try {
    return JSON.parse(value);
  } catch {
    return value;
  }
}

function lastSegment(url: string): string {
  try {
    return decodeURIComponent(new URL(url).pathname.split('/').filter(Boolean).pop() ?? '') || url;
  } catch {
    return url.slice(0, 100);
  }
}
