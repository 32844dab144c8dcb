import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { IncomingMessage } from 'node:http';

/** A file part of a multipart request (WhatsApp `file`, Send API `filedata`, Telegram `photo`/`document`…). */
export class UploadedFile {
  constructor(
    readonly filename: string,
    readonly contentType: string,
    readonly bytes: Buffer,
  ) {}
}

/** Request parameters: query string, then the body (JSON, urlencoded or multipart) over it, as both APIs accept. */
export type Params = Record<string, unknown>;

/** What a handler answers: JSON (the default) or bytes; `after` runs once the response is flushed. */
export interface Answer {
  status: number;
  body?: unknown;
  bytes?: Buffer;
  contentType?: string;
  headers?: Record<string, string>;
  after?: () => void;
}

/** Largest request body read: WhatsApp documents go up to 100 MB, Telegram uploads to 50 MB. */
export const MAX_BODY_BYTES = 100 * 1024 * 1024 + 64 * 1024;

/** The body, or null when it is larger than `max` (read to the end anyway so a 413 can still be answered). */
export async function readBody(req: IncomingMessage, max = MAX_BODY_BYTES): Promise<Buffer | null> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size <= max) chunks.push(chunk as Buffer);
  }
  return size > max ? null : Buffer.concat(chunks);
}

/** Parses the body the way the provider would; a string is the reason it is malformed. */
export async function parseParams(raw: Buffer, contentType: string | undefined, query: URLSearchParams) {
  const params: Params = Object.fromEntries(query.entries());
  const type = (contentType ?? '').split(';')[0].trim().toLowerCase();
  if (!raw.length) return params;
  try {
    if (type === 'application/json') {
      const json: unknown = JSON.parse(raw.toString('utf8'));
      if (!json || typeof json !== 'object' || Array.isArray(json)) return 'the JSON body is not an object';
      return { ...params, ...(json as Params) };
    }
    if (type === 'application/x-www-form-urlencoded')
      return { ...params, ...Object.fromEntries(new URLSearchParams(raw.toString('utf8')).entries()) };
    if (type === 'multipart/form-data') {
      const form = await new Request('http://fake.local/', {
        method: 'POST',
        headers: { 'content-type': contentType! },
        body: new Uint8Array(raw),
      }).formData();
      for (const [key, value] of form.entries())
        params[key] =
          typeof value === 'string'
            ? value
            : new UploadedFile(value.name, value.type, Buffer.from(await value.arrayBuffer()));
      return params;
    }
  } catch (err) {
    return `the ${type} body cannot be parsed (${(err as Error).message})`;
  }
  return `unsupported content-type ${type || '(none)'}`;
}

/** A parameter that is a JSON object, sent as one (JSON body) or as a JSON string (multipart / urlencoded). */
export function jsonObject(value: unknown): Record<string, unknown> | undefined {
  let v = value;
  if (typeof v === 'string') {
    try {
      v = JSON.parse(v);
    } catch {
      return undefined;
    }
  }
  return v && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;
}

export function str(value: unknown): string | undefined {
  return typeof value === 'string' ? value : typeof value === 'number' ? String(value) : undefined;
}

/** Length in characters (code points), as the providers count their limits. */
export function chars(text: string): number {
  return [...text].length;
}

/** Constant-time comparison whatever the lengths. */
export function sameSecret(given: string, expected: string): boolean {
  const a = createHash('sha256').update(given).digest();
  const b = createHash('sha256').update(expected).digest();
  return timingSafeEqual(a, b);
}

/** A stable all-digits id (Graph object ids look like this) derived from a seed. */
export function numericId(seed: string, digits = 15): string {
  const n = BigInt(`0x${createHash('sha256').update(seed).digest('hex').slice(0, 16)}`);
  return (10n ** BigInt(digits - 1) + (n % (9n * 10n ** BigInt(digits - 1)))).toString();
}

export function randomNumericId(digits = 16): string {
  return numericId(randomBytes(16).toString('hex'), digits);
}

/** Graph API error body (https://developers.facebook.com/docs/graph-api/guides/error-handling). */
export function graphError(status: number, code: number, message: string, extra: Record<string, unknown> = {}): Answer {
  return {
    status,
    body: {
      error: { message, type: 'OAuthException', code, ...extra, fbtrace_id: randomBytes(9).toString('base64url') },
    },
  };
}

/** Bot API error body (https://core.telegram.org/bots/api#making-requests): HTTP status = error_code. */
export function telegramError(code: number, description: string): Answer {
  return { status: code, body: { ok: false, error_code: code, description } };
}

/** One line of a log, safe for a terminal: no control characters, long values cut. */
export function preview(text: string, max = 60): string {
  const flat = text.replace(/[\u0000-\u001f\u007f-\u009f\s]+/g, ' ').trim();
  return flat.length > max ? `${flat.slice(0, max - 1)}…` : flat;
}

/** Picks an image's size from its header (PNG, GIF, JPEG); undefined for anything else. */
export function imageSize(bytes: Buffer): { width: number; height: number } | undefined {
  if (bytes.length >= 24 && bytes.readUInt32BE(0) === 0x89504e47)
    return { width: bytes.readUInt32BE(16), height: bytes.readUInt32BE(20) };
  if (bytes.length >= 10 && bytes.toString('latin1', 0, 3) === 'GIF')
    return { width: bytes.readUInt16LE(6), height: bytes.readUInt16LE(8) };
  if (bytes.length >= 4 && bytes[0] === 0xff && bytes[1] === 0xd8) {
    let i = 2;
    while (i + 9 < bytes.length && bytes[i] === 0xff) {
      const marker = bytes[i + 1];
      const len = bytes.readUInt16BE(i + 2);
      if (marker >= 0xc0 && marker <= 0xcf && ![0xc4, 0xc8, 0xcc].includes(marker))
        return { width: bytes.readUInt16BE(i + 7), height: bytes.readUInt16BE(i + 5) };
      i += 2 + len;
    }
  }
  return undefined;
}
