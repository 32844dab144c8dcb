import { lookup as dnsLookup } from 'node:dns/promises';
import * as http from 'node:http';
import * as https from 'node:https';
import { LookupFunction, isIP } from 'node:net';
import { Readable, Transform, pipeline } from 'node:stream';
import { HostPattern, canonicalHost, hostMatches, parseHostList } from '@oq/contracts';
import { refusedAddressKind } from './address-policy';

/**
 * GET for URLs that arrive in payloads (call recordings, media attachments):
 * such a URL is chosen by whoever wrote the payload, so it must not reach our
 * own network (SSRF). Every hop (the URL and each of at most `maxRedirects`
 * redirects) is checked before anything is sent:
 *
 * - http or https only;
 * - when `onlyHosts` is given (an inbox's recording/media hosts), the host must be on it;
 * - the host name is resolved once and EVERY address must be public
 *   (see address-policy.ts), unless the host is on `allowHosts` (FETCH_ALLOW_HOSTS);
 * - the connection goes to the address that was checked (the socket's lookup is
 *   pinned to it), so a DNS answer that changes in between (rebinding) is never used.
 *
 * The body is streamed and fails with `too_large` past `maxBytes`; the whole
 * exchange, body included, fails with `timeout` after `timeoutMs`. Caller
 * headers (credentials) are sent only to the origin of the URL the caller gave,
 * never to a redirect elsewhere. Errors name the host, never the path or query
 * (a recording URL may carry a signature, a Telegram file URL carries the bot token).
 */
export type SafeFetchErrorCode =
  | 'invalid_url'
  | 'unsupported_protocol'
  | 'host_not_allowed'
  | 'blocked_address'
  | 'dns_failed'
  | 'too_many_redirects'
  | 'too_large'
  | 'timeout'
  | 'network';

const TRANSIENT: ReadonlySet<SafeFetchErrorCode> = new Set(['dns_failed', 'timeout', 'network']);

export class SafeFetchError extends Error {
  /** Worth retrying later (DNS, network, timeout); the others will fail again the same way. */
  readonly transient: boolean;

  constructor(
    readonly code: SafeFetchErrorCode,
    detail: string,
    /** Host of the hop that failed (no path, no query). */
    readonly host?: string,
    /** The refused address, for logs (kept out of the message, which agents may see). */
    readonly address?: string,
  ) {
    super(`${code}: ${detail}`);
    this.name = 'SafeFetchError';
    this.transient = TRANSIENT.has(code);
  }
}

export type SafeFetchResolver = (hostname: string) => Promise<{ address: string; family: number }[]>;

export interface SafeFetchOptions {
  /** Largest body accepted (bytes). */
  maxBytes: number;
  /** The whole exchange: DNS, connect, redirects and reading the body. */
  timeoutMs: number;
  /** Sent only to the origin of the URL given (not to a redirect to another origin). */
  headers?: Record<string, string>;
  /** FETCH_ALLOW_HOSTS: hosts allowed to resolve to internal addresses (tests, local fakes, an internal PBX). */
  allowHosts?: string | readonly string[];
  /** When given, every hop's host must be on this list (an inbox's recording/media hosts), even a public one. */
  onlyHosts?: readonly string[];
  /** Redirects followed (each one checked like the first URL). Default 3. */
  maxRedirects?: number;
  /** Name resolution; tests inject one to simulate DNS answers. Default: the system resolver (all addresses). */
  lookup?: SafeFetchResolver;
}

export interface SafeResponse {
  status: number;
  ok: boolean;
  /** Lower-cased header names. */
  headers: http.IncomingHttpHeaders;
  header(name: string): string | undefined;
  /** The body, byte-capped and under the deadline. Read it, or call discard(). */
  body: Readable;
  /** Reads the body as UTF-8 text (same cap). */
  text(): Promise<string>;
  discard(): void;
}

const REDIRECTS = new Set([301, 302, 303, 307, 308]);

const systemResolver: SafeFetchResolver = (hostname) => dnsLookup(hostname, { all: true, verbatim: true });

/** The error a stream or request failed with, as a SafeFetchError. */
function asSafeError(err: unknown, host: string): SafeFetchError {
  if (err instanceof SafeFetchError) return err;
  const e = err as NodeJS.ErrnoException;
  return new SafeFetchError('network', e.code ? `${e.code} talking to ${host}` : `${e.message} (${host})`, host);
}

export async function safeFetch(input: string, options: SafeFetchOptions): Promise<SafeResponse> {
  const allow = parseHostList(options.allowHosts);
  const only = options.onlyHosts ? parseHostList(options.onlyHosts) : undefined;
  const maxRedirects = options.maxRedirects ?? 3;
  const resolve = options.lookup ?? systemResolver;

  let url: URL;
  try {
    url = new URL(input);
  } catch {
    throw new SafeFetchError('invalid_url', 'not an absolute URL');
  }
  const firstOrigin = url.origin;

  // One deadline for everything: whatever is in flight when it passes fails with `timeout`.
  const deadline = new AbortController();
  const timer = setTimeout(
    () => deadline.abort(new SafeFetchError('timeout', `no complete answer within ${options.timeoutMs} ms`, url.host)),
    options.timeoutMs,
  );
  const expired = new Promise<never>((_, reject) =>
    deadline.signal.addEventListener('abort', () => reject(deadline.signal.reason), { once: true }),
  );
  expired.catch(() => undefined);
  const inTime = <T>(p: Promise<T>): Promise<T> => Promise.race([p, expired]);

  try {
    for (let hop = 0; ; hop++) {
      const target = await inTime(checkHop(url, allow, only, resolve));
      const headers = url.origin === firstOrigin ? options.headers : undefined;
      const res = await inTime(request(url, target, headers, deadline.signal));
      if (REDIRECTS.has(res.statusCode ?? 0) && res.headers.location) {
        res.destroy();
        if (hop >= maxRedirects)
          throw new SafeFetchError('too_many_redirects', `more than ${maxRedirects} redirects`, url.host);
        try {
          url = new URL(res.headers.location, url);
        } catch {
          throw new SafeFetchError('invalid_url', `${url.host} redirected to an invalid URL`, url.host);
        }
        continue;
      }
      const length = Number(res.headers['content-length']);
      if (Number.isFinite(length) && length > options.maxBytes) {
        res.destroy();
        throw new SafeFetchError(
          'too_large',
          `${url.host} announced ${length} bytes (limit ${options.maxBytes})`,
          url.host,
        );
      }
      return wrap(res, url.host, options.maxBytes, deadline.signal, () => clearTimeout(timer));
    }
  } catch (err) {
    clearTimeout(timer);
    throw deadline.signal.aborted ? (deadline.signal.reason as SafeFetchError) : asSafeError(err, url.host);
  }
}

/** Checks one hop; returns the address to connect to (null for an IP literal, which needs no lookup). */
async function checkHop(
  url: URL,
  allow: HostPattern[],
  only: HostPattern[] | undefined,
  resolve: SafeFetchResolver,
): Promise<{ address: string; family: number } | null> {
  if (url.protocol !== 'http:' && url.protocol !== 'https:')
    throw new SafeFetchError('unsupported_protocol', `${url.protocol.replace(/:$/, '')} URLs are not fetched`);
  const host = canonicalHost(url.hostname);
  if (!host) throw new SafeFetchError('invalid_url', 'the URL has no usable host');
  if (only && !hostMatches(only, url))
    throw new SafeFetchError('host_not_allowed', `${url.host} is not one of the inbox's allowed hosts`, url.host);
  const allowed = hostMatches(allow, url);
  if (isIP(host)) {
    const kind = refusedAddressKind(host);
    if (kind && !allowed)
      throw new SafeFetchError('blocked_address', `${url.host} is a ${kind} address`, url.host, host);
    return null;
  }
  let addresses: { address: string; family: number }[];
  try {
    addresses = await resolve(host);
  } catch (err) {
    throw new SafeFetchError(
      'dns_failed',
      `${host} did not resolve (${(err as NodeJS.ErrnoException).code ?? 'error'})`,
      url.host,
    );
  }
  if (!addresses.length) throw new SafeFetchError('dns_failed', `${host} has no addresses`, url.host);
  if (!allowed)
    for (const a of addresses) {
      const kind = refusedAddressKind(a.address);
      // One refused answer refuses the host: a mixed answer is how rebinding is usually set up.
      if (kind)
        throw new SafeFetchError('blocked_address', `${host} resolves to a ${kind} address`, url.host, a.address);
    }
  return addresses[0];
}

function pinnedLookup(target: { address: string; family: number }): LookupFunction {
  return ((_host: string, opts: { all?: boolean }, cb: (...args: unknown[]) => void) => {
    if (opts?.all) cb(null, [{ address: target.address, family: target.family }]);
    else cb(null, target.address, target.family);
  }) as unknown as LookupFunction;
}

function request(
  url: URL,
  target: { address: string; family: number } | null,
  headers: Record<string, string> | undefined,
  deadline: AbortSignal,
): Promise<http.IncomingMessage> {
  return new Promise((resolve, reject) => {
    // Credentials in the URL itself count as caller headers: only for the caller's origin.
    const auth =
      headers && (url.username || url.password)
        ? `${decodeURIComponent(url.username)}:${decodeURIComponent(url.password)}`
        : undefined;
    const req = (url.protocol === 'https:' ? https : http).request({
      protocol: url.protocol,
      hostname: url.hostname.replace(/^\[(.*)\]$/, '$1'),
      port: url.port || (url.protocol === 'https:' ? 443 : 80),
      path: `${url.pathname}${url.search}`,
      method: 'GET',
      headers: { ...headers, 'accept-encoding': 'identity' },
      auth,
      // A fresh connection per hop: a pooled socket may have been opened to another address.
      agent: false,
      ...(target ? { lookup: pinnedLookup(target) } : {}),
    });
    const onAbort = () => req.destroy(deadline.reason as Error);
    deadline.addEventListener('abort', onAbort, { once: true });
    req.once('close', () => deadline.removeEventListener('abort', onAbort));
    req.once('response', resolve);
    req.once('error', reject);
    req.end();
  });
}

function wrap(
  res: http.IncomingMessage,
  host: string,
  maxBytes: number,
  deadline: AbortSignal,
  done: () => void,
): SafeResponse {
  let size = 0;
  const body = new Transform({
    transform(chunk: Buffer, _enc, cb) {
      size += chunk.length;
      if (size > maxBytes) return cb(new SafeFetchError('too_large', `${host} sent more than ${maxBytes} bytes`, host));
      cb(null, chunk);
    },
    // Whatever ends the body early (reset, premature close) reaches readers as a SafeFetchError.
    destroy(err, cb) {
      cb(err ? asSafeError(err, host) : null);
    },
  });
  const onAbort = () => body.destroy(deadline.reason as Error);
  deadline.addEventListener('abort', onAbort, { once: true });
  pipeline(res, body, () => {
    deadline.removeEventListener('abort', onAbort);
    done();
  });
  const status = res.statusCode ?? 0;
  return {
    status,
    ok: status >= 200 && status < 300,
    headers: res.headers,
    header: (name) => {
      const v = res.headers[name.toLowerCase()];
      return Array.isArray(v) ? v.join(', ') : v;
    },
    body,
    async text() {
      const chunks: Buffer[] = [];
      for await (const c of body) chunks.push(c as Buffer);
      return Buffer.concat(chunks).toString('utf8');
    },
    discard: () => void body.destroy(),
  };
}
