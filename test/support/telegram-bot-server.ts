import { randomBytes } from 'node:crypto';
import { RecordedRequest, RecordingHttpServer, ScriptedResponse } from './recording-http-server';

/**
 * Stand-in for the Telegram Bot API (https://core.telegram.org/bots/api), in its
 * documented wire format: POST /bot<token>/<method> with JSON or multipart, answering
 * { ok: true, result } or { ok: false, error_code, description, parameters? };
 * files at /file/bot<token>/<file_path> after getFile.
 * Implements getFile, sendMessage, sendPhoto, sendDocument, setWebhook, getWebhookInfo.
 */
export class TelegramBotServer extends RecordingHttpServer {
  private readonly files = new Map<string, { path: string; bytes: Buffer; type: string }>();
  private messageId = 500;
  webhook: { url?: string; secret_token?: string; allowed_updates?: string[] } = {};

  constructor(readonly botToken: string) {
    super();
  }

  /** Registers a file the bot can download; returns its file_id. */
  addFile(bytes: Buffer, path: string, type = 'application/octet-stream'): string {
    const fileId = `AgAC${randomBytes(12).toString('base64url')}`;
    this.files.set(fileId, { path, bytes, type });
    return fileId;
  }

  calls(method: string): RecordedRequest[] {
    return this.find((r) => r.path === `/bot${this.botToken}/${method}`);
  }

  static error(code: number, description: string, retryAfter?: number): ScriptedResponse {
    return {
      status: code,
      body: {
        ok: false,
        error_code: code,
        description,
        ...(retryAfter ? { parameters: { retry_after: retryAfter } } : {}),
      },
    };
  }

  protected async handle(req: RecordedRequest): Promise<ScriptedResponse | { bytes: Buffer; type: string }> {
    const file = /^\/file\/bot([^/]+)\/(.+)$/.exec(req.path);
    if (file) {
      if (file[1] !== this.botToken) return TelegramBotServer.error(401, 'Unauthorized');
      const f = [...this.files.values()].find((x) => x.path === file[2]);
      return f ? { bytes: f.bytes, type: f.type } : TelegramBotServer.error(404, 'Not Found');
    }
    const call = /^\/bot([^/]+)\/(\w+)$/.exec(req.path);
    if (!call || call[1] !== this.botToken) return TelegramBotServer.error(401, 'Unauthorized');
    const params = { ...((req.json as Record<string, unknown>) ?? {}), ...(req.form ?? {}) } as Record<string, unknown>;
    const ok = (result: unknown): ScriptedResponse => ({ status: 200, body: { ok: true, result } });
    const message = (extra: Record<string, unknown>) => {
      if (!params.chat_id) return TelegramBotServer.error(400, 'Bad Request: chat_id is empty');
      return ok({
        message_id: ++this.messageId,
        from: { id: Number(this.botToken.split(':')[0]), is_bot: true, first_name: 'OneQueue' },
        chat: { id: Number(params.chat_id), type: 'private' },
        date: Math.floor(Date.now() / 1000),
        ...extra,
      });
    };
    switch (call[2]) {
      case 'getFile': {
        const f = this.files.get(String(params.file_id));
        if (!f) return TelegramBotServer.error(400, 'Bad Request: invalid file_id');
        return ok({ file_id: params.file_id, file_unique_id: 'u1', file_size: f.bytes.length, file_path: f.path });
      }
      case 'sendMessage':
        if (!params.text) return TelegramBotServer.error(400, 'Bad Request: message text is empty');
        if (String(params.text).length > 4096) return TelegramBotServer.error(400, 'Bad Request: message is too long');
        return message({ text: params.text });
      case 'sendPhoto':
        if (!params.photo) return TelegramBotServer.error(400, 'Bad Request: there is no photo in the request');
        return message({ photo: [{ file_id: 'p1', file_unique_id: 'p1', width: 1, height: 1 }] });
      case 'sendDocument':
        if (!params.document) return TelegramBotServer.error(400, 'Bad Request: there is no document in the request');
        return message({ document: { file_id: 'd1', file_unique_id: 'd1' } });
      case 'setWebhook':
        if (!params.url)
          return TelegramBotServer.error(400, 'Bad Request: bad webhook: An HTTPS URL must be provided for webhook');
        this.webhook = {
          url: String(params.url),
          secret_token: params.secret_token as string | undefined,
          allowed_updates: params.allowed_updates as string[] | undefined,
        };
        return ok(true);
      case 'getWebhookInfo':
        return ok({ url: this.webhook.url ?? '', has_custom_certificate: false, pending_update_count: 0 });
      default:
        return TelegramBotServer.error(404, 'Not Found: method not found');
    }
  }
}
