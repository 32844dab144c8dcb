import { createHash, randomBytes } from 'node:crypto';
import { RecordedRequest, RecordingHttpServer, ScriptedResponse } from './recording-http-server';

/**
 * Stand-in for the Meta Graph API (https://developers.facebook.com/docs/graph-api),
 * speaking its documented wire format:
 * - WhatsApp Cloud API: POST /{version}/{phone-number-id}/messages →
 *   { messaging_product, contacts: [{ input, wa_id }], messages: [{ id: "wamid…" }] };
 *   POST /{version}/{phone-number-id}/media (multipart) → { id };
 *   GET /{version}/{media-id} → { messaging_product, url, mime_type, sha256, file_size, id },
 *   then GET url with the same bearer token → the bytes.
 * - Messenger / Instagram Send API: POST /{version}/{page-id}/messages → { recipient_id, message_id };
 *   messaging_type MESSAGE_TAG needs one of the documented tags. WhatsApp `type: template` needs a name and language code.
 * - Errors as the Graph API sends them: { error: { message, type, code, error_subcode?, fbtrace_id } },
 *   401 + code 190 for a wrong token; tests script others (429 with Retry-After, 5xx, 131047…).
 */
/** Send API tags (Messenger Platform, "Message tags"); anything else with MESSAGE_TAG is refused. */
const MESSAGE_TAGS = new Set(['HUMAN_AGENT', 'ACCOUNT_UPDATE', 'CONFIRMED_EVENT_UPDATE', 'POST_PURCHASE_UPDATE']);

export class MetaGraphServer extends RecordingHttpServer {
  private readonly media = new Map<string, { bytes: Buffer; mimeType: string }>();
  private readonly files = new Map<string, { bytes: Buffer; mimeType: string }>();
  private seq = 0;

  constructor(
    readonly version: string,
    /** Access tokens this Graph API accepts. */
    readonly tokens: Set<string>,
  ) {
    super();
  }

  /** Registers WhatsApp media the webhook will reference by id. */
  addMedia(bytes: Buffer, mimeType: string): { id: string; sha256: string } {
    const id = String(1000000000000000 + Math.floor(Math.random() * 1e14));
    this.media.set(id, { bytes, mimeType });
    return { id, sha256: createHash('sha256').update(bytes).digest('base64') };
  }

  /** A public CDN file (Messenger attachment URLs need no token). */
  addCdnFile(name: string, bytes: Buffer, mimeType: string): string {
    this.files.set(name, { bytes, mimeType });
    return `${this.baseUrl}/cdn/${name}`;
  }

  /** Send API / Cloud API calls that reached the server (any outcome). */
  sends(): RecordedRequest[] {
    return this.find((r) => r.method === 'POST' && /\/messages$/.test(r.path));
  }

  static graphError(
    status: number,
    code: number,
    message: string,
    extra: Record<string, unknown> = {},
  ): ScriptedResponse {
    return {
      status,
      body: { error: { message, type: 'OAuthException', code, fbtrace_id: randomBytes(8).toString('hex'), ...extra } },
    };
  }

  protected async handle(req: RecordedRequest): Promise<ScriptedResponse | { bytes: Buffer; type: string }> {
    if (req.method === 'GET' && req.path.startsWith('/cdn/')) {
      const f = this.files.get(req.path.slice('/cdn/'.length));
      return f ? { bytes: f.bytes, type: f.mimeType } : { status: 404, body: {} };
    }
    const token = /^Bearer (.+)$/.exec(req.headers.authorization ?? '')?.[1];
    if (!token || !this.tokens.has(token))
      return MetaGraphServer.graphError(401, 190, 'Invalid OAuth access token - Cannot parse access token');

    if (req.method === 'GET' && req.path.startsWith('/media-download/')) {
      const m = this.media.get(req.path.slice('/media-download/'.length));
      return m ? { bytes: m.bytes, type: m.mimeType } : { status: 404, body: {} };
    }
    const prefix = `/${this.version}/`;
    if (!req.path.startsWith(prefix))
      return MetaGraphServer.graphError(400, 2500, `Unknown path components: ${req.path}`);
    const parts = req.path.slice(prefix.length).split('/');

    if (req.method === 'GET' && parts.length === 1) {
      const m = this.media.get(parts[0]);
      if (!m)
        return MetaGraphServer.graphError(400, 100, 'Unsupported get request. Object does not exist', {
          error_subcode: 33,
        });
      return {
        status: 200,
        body: {
          messaging_product: 'whatsapp',
          url: `${this.baseUrl}/media-download/${parts[0]}`,
          mime_type: m.mimeType,
          sha256: createHash('sha256').update(m.bytes).digest('base64'),
          file_size: m.bytes.length,
          id: parts[0],
        },
      };
    }
    if (req.method === 'POST' && parts[1] === 'media') {
      const file = req.form?.file;
      if (!file || typeof file === 'string' || req.form?.messaging_product !== 'whatsapp')
        return MetaGraphServer.graphError(400, 100, '(#100) The parameter file is required.');
      const id = String(2000000000000000 + ++this.seq);
      this.media.set(id, { bytes: file.bytes, mimeType: file.type });
      return { status: 200, body: { id } };
    }
    if (req.method === 'POST' && parts[1] === 'messages') {
      const body = (req.json ?? {}) as Record<string, unknown>;
      if (body.messaging_product === 'whatsapp') {
        if (!body.to || !body.type) return MetaGraphServer.graphError(400, 100, '(#100) Invalid parameter');
        if (body.type === 'template') {
          const t = body.template as { name?: unknown; language?: { code?: unknown } } | undefined;
          if (typeof t?.name !== 'string' || typeof t.language?.code !== 'string')
            return MetaGraphServer.graphError(
              400,
              100,
              '(#100) The parameter template[name] and template[language][code] are required.',
            );
        }
        return {
          status: 200,
          body: {
            messaging_product: 'whatsapp',
            contacts: [{ input: body.to, wa_id: body.to }],
            messages: [{ id: `wamid.${Buffer.from(`${Date.now()}-${++this.seq}`).toString('base64')}` }],
          },
        };
      }
      const messagingType = req.form?.messaging_type ?? body.messaging_type;
      const tag = req.form?.tag ?? body.tag;
      if (messagingType === 'MESSAGE_TAG' && (typeof tag !== 'string' || !MESSAGE_TAGS.has(tag)))
        return MetaGraphServer.graphError(
          400,
          100,
          '(#100) Param tag must be one of {HUMAN_AGENT, ACCOUNT_UPDATE, CONFIRMED_EVENT_UPDATE, POST_PURCHASE_UPDATE}',
        );
      const recipient = req.form?.recipient ?? JSON.stringify(body.recipient ?? {});
      const id = (JSON.parse(String(recipient)) as { id?: string }).id;
      if (!id) return MetaGraphServer.graphError(400, 100, '(#100) The parameter recipient is required');
      return { status: 200, body: { recipient_id: id, message_id: `m_${randomBytes(12).toString('base64url')}` } };
    }
    return MetaGraphServer.graphError(400, 100, `Unsupported ${req.method} request`);
  }
}
