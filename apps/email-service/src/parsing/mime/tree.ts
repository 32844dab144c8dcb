import { parseStructuredHeader } from './header-text';
import { CharsetHints, RawHeader } from './types';

/**
 * Structural MIME reader (RFC 2045/2046), bytes only: header blocks, body byte ranges and the
 * multipart tree. Nothing is decoded to text here; read-mail.ts does that in a second pass once
 * the charset hints of the whole mail are known. Bodies are views into the raw mail (no copies).
 */

/** Against hostile input: deeper multiparts are not descended into, parts beyond the total are dropped. */
export const MAX_DEPTH = 50;
export const MAX_PARTS = 2000;

export interface MimePart {
  headers: RawHeader[];
  /** Lowercased type/subtype: the default when Content-Type is absent, application/octet-stream when unparseable. */
  contentType: string;
  /** Content-Type params read without hints: final for the ASCII ones (boundary, charset, start). */
  params: Record<string, string>;
  /** The body bytes, still transfer-encoded; for a multipart the whole body including preamble. */
  body: Buffer;
  /** Set for a multipart that was split (possibly empty: depth limit). */
  children?: MimePart[];
}

export interface MimeTree {
  root: MimePart;
  warnings: string[];
}

const NO_HINTS: CharsetHints = { declared: [] };
/** A syntactically valid, lowercased type/subtype. */
export const MEDIA_TYPE = /^[a-z0-9][a-z0-9!#$&^_.+-]*\/[a-z0-9][a-z0-9!#$&^_.+-]*$/;
const CR = 0x0d;
const LF = 0x0a;
const isWsp = (c: number) => c === 0x20 || c === 0x09;

/** The first field of that (lowercase) name. */
export function headerOf(headers: RawHeader[], name: string): Buffer | undefined {
  return headers.find((h) => h.name === name)?.value;
}

/**
 * Header block up to the first empty line (CRLF or bare LF), continuation lines unfolded.
 * Lines that are no header field (an mbox `From ` line, garbage) are skipped. No empty line:
 * everything is header. `inPart`: a body part whose first line is no header field has no header
 * block at all (its sender forgot the empty line), so its body is kept rather than read as headers.
 */
export function parseHeaderBlock(buf: Buffer, inPart = false): { headers: RawHeader[]; bodyStart: number } {
  const headers: RawHeader[] = [];
  // The current field's value as a byte range; continuation lines only move its end (no per-line objects).
  let name: string | undefined;
  let start = 0;
  let stop = 0;
  let folded = false;
  const flush = () => {
    if (name !== undefined)
      headers.push({ name, value: trimWsp(folded ? unfold(buf, start, stop) : buf.subarray(start, stop)) });
    name = undefined;
  };
  let pos = 0;
  while (pos < buf.length) {
    const nl = buf.indexOf(LF, pos);
    const next = nl < 0 ? buf.length : nl + 1;
    let end = nl < 0 ? buf.length : nl;
    if (end > pos && buf[end - 1] === CR) end--;
    if (end === pos) {
      flush();
      return { headers, bodyStart: next };
    }
    if (isWsp(buf[pos])) {
      if (inPart && pos === 0) return { headers, bodyStart: 0 };
      stop = end;
      folded = true;
    } else {
      flush();
      // Search the colon within this line only: indexOf over the rest of the buffer would be quadratic.
      const colon = buf.subarray(pos, end).indexOf(0x3a);
      const field = colon > 0 ? buf.toString('latin1', pos, pos + colon).replace(/[ \t]+$/, '') : '';
      if (/^[!-9;-~]+$/.test(field)) {
        name = field.toLowerCase();
        [start, stop, folded] = [pos + colon + 1, end, false];
      } else if (inPart && pos === 0) return { headers, bodyStart: 0 };
    }
    pos = next;
  }
  flush();
  return { headers, bodyStart: buf.length };
}

/** Unfolding: CRLF+WSP → WSP, i.e. the line breaks go and the WSP stays. */
function unfold(buf: Buffer, start: number, stop: number): Buffer {
  const out = Buffer.allocUnsafe(stop - start);
  let o = 0;
  for (let i = start; i < stop; i++) {
    const c = buf[i];
    if (c !== LF && !(c === CR && buf[i + 1] === LF)) out[o++] = c;
  }
  return out.subarray(0, o);
}

function trimWsp(b: Buffer): Buffer {
  let s = 0;
  let e = b.length;
  while (s < e && isWsp(b[s])) s++;
  while (e > s && (isWsp(b[e - 1]) || b[e - 1] === CR)) e--;
  return b.subarray(s, e);
}

interface Ctx {
  parts: number;
  warnings: Set<string>;
}

export function parseTree(raw: Buffer): MimeTree {
  const ctx: Ctx = { parts: 1, warnings: new Set() };
  const root = buildPart(raw, 0, 'text/plain', ctx);
  return { root, warnings: [...ctx.warnings] };
}

function buildPart(buf: Buffer, depth: number, defaultType: string, ctx: Ctx): MimePart {
  const { headers, bodyStart } = parseHeaderBlock(buf, depth > 0);
  const ctRaw = headerOf(headers, 'content-type');
  let ct: { value: string; params: Record<string, string> } = { value: '', params: {} };
  try {
    ct = parseStructuredHeader(ctRaw, NO_HINTS);
  } catch {
    ctx.warnings.add('bad_content_type');
  }
  const value = ct.value.trim().toLowerCase();
  const part: MimePart = {
    headers,
    contentType: !value ? defaultType : MEDIA_TYPE.test(value) ? value : 'application/octet-stream',
    params: ct.params,
    body: buf.subarray(bodyStart),
  };
  if (!part.contentType.startsWith('multipart/')) return part;
  if (depth >= MAX_DEPTH) {
    ctx.warnings.add('depth_limit');
    part.children = [];
    return part;
  }
  const boundary = ct.params.boundary;
  const split = boundary ? splitMultipart(part.body, boundary, MAX_PARTS - ctx.parts) : undefined;
  if (!split || (!split.parts.length && !split.limited)) {
    // A multipart without a usable boundary: its body is all there is, shown as text rather than lost.
    ctx.warnings.add('multipart_without_parts');
    part.contentType = 'text/plain';
    return part;
  }
  if (!split.closed) ctx.warnings.add('unterminated_multipart');
  if (split.limited) ctx.warnings.add('part_limit');
  // RFC 2046 §5.1.5: in a digest the default type is message/rfc822.
  const childDefault = part.contentType === 'multipart/digest' ? 'message/rfc822' : 'text/plain';
  ctx.parts += split.parts.length;
  part.children = split.parts.map((p) => buildPart(p, depth + 1, childDefault, ctx));
  return part;
}

/**
 * Body parts between delimiter lines `--boundary` (trailing transport padding allowed). The line
 * break before a delimiter belongs to the delimiter (RFC 2046 §5.1.1), so it is not part of the
 * preceding body. Linear: one Buffer.indexOf scan; at most `max` parts.
 */
export function splitMultipart(
  body: Buffer,
  boundary: string,
  max: number,
): { parts: Buffer[]; closed: boolean; limited: boolean } {
  const delim = Buffer.from('--' + boundary, 'latin1');
  const parts: Buffer[] = [];
  let partStart = -1;
  let pos = 0;
  for (;;) {
    const i = body.indexOf(delim, pos);
    if (i < 0) break;
    pos = i + 1;
    if (i > 0 && body[i - 1] !== LF) continue;
    let j = i + delim.length;
    const close = body[j] === 0x2d && body[j + 1] === 0x2d;
    if (close) j += 2;
    while (j < body.length && isWsp(body[j])) j++;
    if (j < body.length && body[j] === CR) j++;
    if (j < body.length && body[j] !== LF) continue; // `--boundaryX…`: not our delimiter
    const lineEnd = j < body.length ? j + 1 : j;
    if (partStart >= 0) {
      const breakStart = i === 0 ? 0 : i >= 2 && body[i - 2] === CR ? i - 2 : i - 1;
      if (parts.length >= max) return { parts, closed: true, limited: true };
      parts.push(body.subarray(partStart, Math.max(partStart, breakStart)));
    }
    if (close) return { parts, closed: true, limited: false };
    partStart = pos = lineEnd;
  }
  if (partStart < 0) return { parts, closed: false, limited: false };
  if (parts.length >= max) return { parts, closed: true, limited: true };
  parts.push(body.subarray(partStart));
  return { parts, closed: false, limited: false };
}
