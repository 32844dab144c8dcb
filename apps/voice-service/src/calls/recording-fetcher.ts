import { Inject, Injectable } from '@nestjs/common';
import { AttachmentRef, InboxConfig } from '@oq/contracts';
import { BlobStore, CONFIG, safeFetch } from '@oq/platform';
import { Config } from '../config';
import { recordingHosts } from './voice-inbox-settings';

/** The recording is gone or forbidden: retrying will not help. */
export class RecordingUnavailableError extends Error {}

const EXTENSIONS: Record<string, string> = {
  'audio/mpeg': 'mp3',
  'audio/mp3': 'mp3',
  'audio/wav': 'wav',
  'audio/x-wav': 'wav',
  'audio/wave': 'wav',
  'audio/ogg': 'ogg',
  'audio/webm': 'webm',
  'audio/mp4': 'm4a',
};

/**
 * Downloads a call recording into the blob store. The URL comes from the
 * provider's payload, so it goes through safeFetch: no internal addresses
 * (unless FETCH_ALLOW_HOSTS names the host), only the inbox's
 * `settings.recordingHosts` when it has some, redirects re-checked, size and time
 * capped (a refusal is a SafeFetchError). Twilio recordings need the account's
 * credentials (HTTP Basic, AccountSid:AuthToken); they are sent only to the
 * configured Twilio API origin, never to a URL a payload merely names nor to
 * where that origin redirects.
 */
@Injectable()
export class RecordingFetcher {
  private readonly twilioOrigin: string;

  constructor(
    @Inject(CONFIG) private readonly config: Config,
    private readonly blobs: BlobStore,
  ) {
    this.twilioOrigin = new URL(config.TWILIO_API_BASE_URL).origin;
  }

  async fetch(url: string, callId: string, inbox: InboxConfig | null): Promise<AttachmentRef> {
    const headers: Record<string, string> = {};
    const sid = inbox?.secrets.accountSid;
    const token = inbox?.secrets.authToken;
    if (new URL(url).origin === this.twilioOrigin && sid && token)
      headers.authorization = `Basic ${Buffer.from(`${sid}:${token}`).toString('base64')}`;
    const res = await safeFetch(url, {
      headers,
      allowHosts: this.config.FETCH_ALLOW_HOSTS,
      onlyHosts: recordingHosts(inbox),
      maxBytes: this.config.VOICE_RECORDING_MAX_BYTES,
      timeoutMs: this.config.VOICE_RECORDING_TIMEOUT_MS,
    });
    if ([401, 403, 404, 410].includes(res.status)) {
      res.discard();
      throw new RecordingUnavailableError(`recording answered ${res.status}`);
    }
    if (!res.ok) {
      res.discard();
      throw new Error(`recording answered ${res.status}`);
    }
    const contentType = (res.header('content-type') ?? 'application/octet-stream').split(';')[0].trim();
    const stored = await this.blobs.putStream(res.body, this.config.VOICE_RECORDING_MAX_BYTES);
    const safeId = callId.replace(/[^A-Za-z0-9_-]/g, '_').slice(0, 100);
    return {
      sha256: stored.sha256,
      size: stored.size,
      filename: `call-${safeId}.${EXTENSIONS[contentType] ?? 'bin'}`,
      contentType,
    };
  }
}
