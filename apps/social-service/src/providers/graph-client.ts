import { Inject, Injectable } from '@nestjs/common';
import { CONFIG, safeFetch } from '@oq/platform';
import { Readable } from 'node:stream';
import { Config } from '../config';
import { ProviderError, graphError, parseJsonText, providerFetch, readJson } from './provider-error';

/**
 * Meta Graph API over plain fetch: base URL and version come from config so
 * tests point them at a local server speaking the same wire format.
 * The access token travels in the Authorization header, never in URLs or logs.
 * `base`: a demo inbox's own provider URL (SocialInbox.providerBase), else the configured one.
 */
@Injectable()
export class GraphClient {
  constructor(@Inject(CONFIG) private readonly config: Config) {}

  url(path: string, base?: string): string {
    return `${base ?? this.config.META_GRAPH_BASE_URL}/${this.config.META_GRAPH_VERSION}/${path.replace(/^\//, '')}`;
  }

  async postJson<T>(path: string, token: string, body: unknown, base?: string): Promise<T> {
    const res = await providerFetch(
      'meta',
      this.url(path, base),
      {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: JSON.stringify(body),
      },
      this.config.SOCIAL_HTTP_TIMEOUT_MS,
    );
    return this.handle<T>(res);
  }

  async postForm<T>(path: string, token: string, form: FormData, base?: string): Promise<T> {
    const res = await providerFetch(
      'meta',
      this.url(path, base),
      { method: 'POST', headers: { authorization: `Bearer ${token}` }, body: form },
      this.config.SOCIAL_HTTP_TIMEOUT_MS,
    );
    return this.handle<T>(res);
  }

  /**
   * WhatsApp media: GET /{media-id} → a short-lived URL, then GET that URL with the same token.
   * The lookup goes to the configured Graph API; the URL it answers is fetched like any URL from a payload.
   */
  async downloadWhatsAppMedia(
    mediaId: string,
    token: string,
    mediaHosts?: readonly string[],
    base?: string,
  ): Promise<{ stream: Readable; mimeType?: string; sha256?: string }> {
    const res = await providerFetch(
      'meta',
      this.url(encodeURIComponent(mediaId), base),
      { headers: { authorization: `Bearer ${token}` } },
      this.config.SOCIAL_HTTP_TIMEOUT_MS,
    );
    const info = await this.handle<{ url?: string; mime_type?: string; sha256?: string }>(res);
    if (!info.url) throw new ProviderError('meta', false, 'no_url', `media ${mediaId} has no download url`);
    const file = await this.download(info.url, mediaHosts, token);
    return { stream: file, mimeType: info.mime_type, sha256: info.sha256 };
  }

  /**
   * Downloads a media URL named by a payload (a Messenger/Instagram attachment CDN URL needs no token,
   * WhatsApp's needs one) through safeFetch: refusals are SafeFetchErrors, a body over
   * SOCIAL_MEDIA_MAX_BYTES fails while streaming. `mediaHosts`: the inbox's settings.mediaHosts.
   * The token goes to the URL's origin only.
   */
  async download(url: string, mediaHosts?: readonly string[], token?: string): Promise<Readable> {
    const res = await safeFetch(url, {
      headers: token ? { authorization: `Bearer ${token}` } : {},
      allowHosts: this.config.FETCH_ALLOW_HOSTS,
      onlyHosts: mediaHosts,
      maxBytes: this.config.SOCIAL_MEDIA_MAX_BYTES,
      timeoutMs: this.config.SOCIAL_HTTP_TIMEOUT_MS,
    });
    if (!res.ok) throw graphError(res.status, parseJsonText(await res.text()), res.header('retry-after') ?? null);
    return res.body;
  }

  private async handle<T>(res: Response): Promise<T> {
    const body = await readJson(res);
    if (!res.ok) throw graphError(res.status, body, res.headers.get('retry-after'));
    return body as T;
  }
}
