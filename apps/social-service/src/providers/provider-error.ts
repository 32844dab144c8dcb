import { ProviderRateLimitedError, parseRetryAfterMs } from '@oq/platform/outbound';

/**
 * A provider call that failed. `transient` ones (5xx, network, timeouts, errors
 * the provider marks transient) are retried with backoff; the others fail the
 * message at once with the provider's code and message, which the agent sees.
 */
export class ProviderError extends Error {
  constructor(
    readonly provider: 'meta' | 'telegram',
    readonly transient: boolean,
    readonly code: string,
    readonly providerMessage: string,
    readonly httpStatus?: number,
  ) {
    super(`${provider} ${httpStatus ?? 'network'} error ${code}: ${providerMessage}`);
    this.name = 'ProviderError';
  }
}

/** Meta error codes that mean "slow down" even when the HTTP status is 400. */
const META_THROTTLE_CODES = new Set([4, 17, 32, 613, 80007, 130429, 131056]);

interface GraphErrorBody {
  error?: {
    message?: string;
    type?: string;
    code?: number;
    error_subcode?: number;
    is_transient?: boolean;
    error_data?: { details?: string };
  };
}

/** Maps a failed Graph API response to a rate-limit pause or a ProviderError. */
export function graphError(status: number, body: unknown, retryAfter: string | null): Error {
  const e = (body as GraphErrorBody)?.error;
  const code = e?.code;
  if (status === 429 || (code !== undefined && META_THROTTLE_CODES.has(code)))
    return new ProviderRateLimitedError(
      parseRetryAfterMs(retryAfter, 5000),
      `Graph API rate limit (code ${code ?? status})`,
    );
  const message = [e?.message, e?.error_data?.details].filter(Boolean).join(' — ') || `HTTP ${status}`;
  return new ProviderError('meta', status >= 500 || e?.is_transient === true, String(code ?? status), message, status);
}

interface TelegramErrorBody {
  ok?: boolean;
  error_code?: number;
  description?: string;
  parameters?: { retry_after?: number };
}

/** Telegram puts retry_after (seconds) in the body of a 429. */
export function telegramError(status: number, body: unknown, retryAfter: string | null): Error {
  const b = body as TelegramErrorBody;
  if (status === 429 || b?.error_code === 429) {
    const seconds = b?.parameters?.retry_after;
    return new ProviderRateLimitedError(
      seconds !== undefined ? seconds * 1000 : parseRetryAfterMs(retryAfter, 5000),
      `Telegram: ${b?.description ?? 'Too Many Requests'}`,
    );
  }
  return new ProviderError(
    'telegram',
    status >= 500,
    String(b?.error_code ?? status),
    b?.description ?? `HTTP ${status}`,
    status,
  );
}

/** fetch with a timeout; network failures become transient ProviderErrors. */
export async function providerFetch(
  provider: 'meta' | 'telegram',
  url: string,
  init: RequestInit,
  timeoutMs: number,
): Promise<Response> {
  try {
    return await fetch(url, { ...init, signal: AbortSignal.timeout(timeoutMs) });
  } catch (err) {
    const cause = (err as Error & { cause?: Error }).cause?.message ?? (err as Error).message;
    return Promise.reject(new ProviderError(provider, true, 'network', cause));
  }
}

export async function readJson(res: Response): Promise<unknown> {
  return parseJsonText(await res.text());
}

/** A provider's answer as JSON; what is not JSON is kept (truncated) as `raw`. */
export function parseJsonText(text: string): unknown {
  try {
    return text ? JSON.parse(text) : {};
  } catch {
    return { raw: text.slice(0, 500) };
  }
}
