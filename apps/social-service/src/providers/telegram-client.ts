import { Inject, Injectable } from '@nestjs/common';
import { CONFIG } from '@oq/platform';
import { Readable } from 'node:stream';
import { Config } from '../config';
import { ProviderError, providerFetch, readJson, telegramError } from './provider-error';

/**
 * Telegram Bot API (`{base}/bot<token>/<method>`, files at `{base}/file/bot<token>/<path>`).
 * The bot token is part of the URL by design of the API: URLs are never logged.
 */
@Injectable()
export class TelegramClient {
  constructor(@Inject(CONFIG) private readonly config: Config) {}

  async call<T>(botToken: string, method: string, body: Record<string, unknown> | FormData): Promise<T> {
    const isForm = body instanceof FormData;
    const res = await providerFetch(
      'telegram',
      `${this.config.TELEGRAM_API_BASE_URL}/bot${botToken}/${method}`,
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

  /** getFile, then the file download. */
  async downloadFile(botToken: string, fileId: string): Promise<Readable> {
    const file = await this.call<{ file_path?: string }>(botToken, 'getFile', { file_id: fileId });
    if (!file.file_path)
      throw new ProviderError('telegram', false, 'no_file_path', `file ${fileId} cannot be downloaded`);
    const res = await providerFetch(
      'telegram',
      `${this.config.TELEGRAM_API_BASE_URL}/file/bot${botToken}/${file.file_path}`,
      {},
      this.config.SOCIAL_HTTP_TIMEOUT_MS,
    );
    if (!res.ok || !res.body) throw telegramError(res.status, await readJson(res), res.headers.get('retry-after'));
    return Readable.fromWeb(res.body as import('node:stream/web').ReadableStream);
  }
}
