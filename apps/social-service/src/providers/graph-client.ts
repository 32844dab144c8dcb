import { Inject, Injectable } from '@nestjs/common';
import { CONFIG } from '@oq/platform';
import { Readable } from 'node:stream';
import { Config } from '../config';
import { ProviderError, graphError, providerFetch, readJson } from './provider-error';

/**
 * Meta Graph API over plain fetch: base URL and version come from config so
 * tests point them at a local server speaking the same wire format.
 * The access token travels in the Authorization header, never in URLs or logs.
 */
@Injectable()
export class GraphClient {
  constructor(@Inject(CONFIG) private readonly config: Config) {}

  url(path: string): string {
    return `${this.config.META_GRAPH_BASE_URL}/${this.config.META_GRAPH_VERSION}/${path.replace(/^\//, '')}`;
  }

  async postJson<T>(path: string, token: string, body: unknown): Promise<T> {
    const res = await providerFetch(
      'meta',
      this.url(path),
      {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: JSON.stringify(body),
      },
      this.config.SOCIAL_HTTP_TIMEOUT_MS,
    );
    return this.handle<T>(res);
  }

  async postForm<T>(path: string, token: string, form: FormData): Promise<T> {
    const res = await providerFetch(
      'meta',
      this.url(path),
      { method: 'POST', headers: { authorization: `Bearer ${token}` }, body: form },
      this.config.SOCIAL_HTTP_TIMEOUT_MS,
    );
    return this.handle<T>(res);
  }

  /** WhatsApp media: GET /{media-id} → a short-lived URL, then GET that URL with the same token. */
  async downloadWhatsAppMedia(
    mediaId: string,
    token: string,
  ): Promise<{ stream: Readable; mimeType?: string; sha256?: string }> {
    const res = await providerFetch(
      'meta',
      this.url(encodeURIComponent(mediaId)),
      { headers: { authorization: `Bearer ${token}` } },
      this.config.SOCIAL_HTTP_TIMEOUT_MS,
    );
    const info = await this.handle<{ url?: string; mime_type?: string; sha256?: string }>(res);
    if (!info.url) throw new ProviderError('meta', false, 'no_url', `media ${mediaId} has no download url`);
    const file = await this.download(info.url, token);
    return { stream: file, mimeType: info.mime_type, sha256: info.sha256 };
  }

  /** Downloads a media URL (Messenger attachment CDN URLs need no token; WhatsApp's need one). */
  async download(url: string, token?: string): Promise<Readable> {
    const res = await providerFetch(
      'meta',
      url,
      { headers: token ? { authorization: `Bearer ${token}` } : {} },
      this.config.SOCIAL_HTTP_TIMEOUT_MS,
    );
    if (!res.ok || !res.body) throw graphError(res.status, await readJson(res), res.headers.get('retry-after'));
    return Readable.fromWeb(res.body as import('node:stream/web').ReadableStream);
  }

  private async handle<T>(res: Response): Promise<T> {
    const body = await readJson(res);
    if (!res.ok) throw graphError(res.status, body, res.headers.get('retry-after'));
    return body as T;
  }
}
