import { Inject, Injectable } from '@nestjs/common';
import { CONFIG, safeFetch } from '@oq/platform';
import { Readable } from 'node:stream';
import { Config } from '../config';
import { ProviderError, parseJsonText, providerFetch, readJson, telegramError } from './provider-error';

/**
 * Telegram Bot API (`{base}/bot<token>/<method>`, files at `{base}/file/bot<token>/<path>`).
 * The bot token is part of the URL by design of the API: URLs are never logged.
 * `base`: a demo inbox's own provider URL (SocialInbox.providerBase), else the configured one.
 */
@Injectable()
export class TelegramClient {
  constructor(@Inject(CONFIG) private readonly config: Config) {}

  async call<T>(botToken: string, method: string, body: Record<string, unknown> | FormData, base?: string): Promise<T> {
    const isForm = body instanceof FormData;
    const res = await providerFetch(
      'telegram',
      `${base ?? this.config.TELEGRAM_API_BASE_URL}/bot${botToken}/${method}`,
      {
        method: 'POST',
        headers: isForm ? {} : { 'content-type': 'application/json' },
        body: isForm ? body : JSON.stringify(body),
      },
      this.config.SOCIAL_HTTP_TIMEOUT_MS,
    );
    const json = (await readJson(res)) as { ok?: boolean; result?: T };
    if (!res.ok || json.ok !== true) throw telegramError(res.status, json, res.headers.get('retry-after'));
    return json.result as T;
  }

  /**
   * getFile, then the file download. The file URL is built from the configured API base and the
   * path Telegram answered; it is fetched through safeFetch like other media (size cap, redirects
   * re-checked, the inbox's mediaHosts), so a Bot API server on an internal address needs FETCH_ALLOW_HOSTS.
   */
  async downloadFile(
    botToken: string,
    fileId: string,
    mediaHosts?: readonly string[],
    base?: string,
  ): Promise<Readable> {
    const file = await this.call<{ file_path?: string }>(botToken, 'getFile', { file_id: fileId }, base);
    if (!file.file_path)
      throw new ProviderError('telegram', false, 'no_file_path', `file ${fileId} cannot be downloaded`);
    const res = await safeFetch(`${base ?? this.config.TELEGRAM_API_BASE_URL}/file/bot${botToken}/${file.file_path}`, {
      allowHosts: this.config.FETCH_ALLOW_HOSTS,
      onlyHosts: mediaHosts,
      maxBytes: this.config.SOCIAL_MEDIA_MAX_BYTES,
      timeoutMs: this.config.SOCIAL_HTTP_TIMEOUT_MS,
    });
    if (!res.ok) throw telegramError(res.status, parseJsonText(await res.text()), res.header('retry-after') ?? null);
    return res.body;
  }
}
