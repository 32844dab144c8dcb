import { isUtf8 } from 'node:buffer';
import { CharsetHints, RawHeader, StructuredHeader } from './types';
import { canonicalCharset, decodeBytes, detectCharset, hasHighBytes } from './charset';

/**
 * Header field values → text. Headers can be hostile: every scan here is linear and reads at most
 * MAX_FIELD bytes of a field (a longer one is truncated — no legitimate Subject or filename is 64 KB).
 */
export const MAX_FIELD = 64 * 1024;

/**
 * One RFC 2047 encoded word: charset (with an optional RFC 2231 `*language`), B or Q, text. The classes
 * exclude `?` and whitespace, so a failed match never scans past the next `?`: linear overall.
 */
const ENCODED_WORD = /=\?([^?\s*]{1,64})(?:\*[^?\s]{0,32})?\?([bq])\?([^?\s]*)\?=/gi;

/** The latin1 view of bytes: one char per byte, so indexes and slices carry over to the Buffer. */
const latin1 = (raw: Buffer): string => raw.subarray(0, MAX_FIELD).toString('latin1');

/** Charsets labels meaning "7-bit": they say nothing about a mail's 8-bit bytes. */
const ASCII_LABELS = new Set(['us-ascii', 'ascii', 'ansi_x3.4-1968', 'ansi_x3.4-1986', 'iso646-us', 'us', 'csascii']);

/**
 * Hints for one mail from its raw header fields (all parts) and the charsets its Content-Types declare:
 * `declared` = the declared labels canonicalised (unknown and us-ascii dropped, deduplicated), then the
 * charsets of the mail's encoded words; `detected` = chardet over the 8-bit, non-UTF-8 field values together
 * (≤ 64 KB, addresses left out), since a single name is too short to detect on its own.
 */
export function charsetHints(headers: RawHeader[], declared: string[]): CharsetHints {
  const out: string[] = [];
  const add = (label: string) => {
    const cs = ASCII_LABELS.has(label.trim().toLowerCase()) ? undefined : canonicalCharset(label);
    if (cs && !out.includes(cs)) out.push(cs);
  };
  declared.forEach(add);
  const eightBit: Buffer[] = [];
  let size = 0;
  for (const h of headers) {
    const text = latin1(h.value);
    if (text.includes('=?')) for (const m of text.matchAll(ENCODED_WORD)) add(m[1]);
    if (size < MAX_FIELD && hasHighBytes(h.value) && !isUtf8(h.value)) {
      // Text only: addresses and encoded words are ASCII noise that tips chardet towards latin-1.
      const words = text.split(/[ \t\r\n]+/).filter((w) => !w.includes('@') && !w.startsWith('=?'));
      const sample = Buffer.from(words.join(' ') + '\n', 'latin1');
      eightBit.push(sample.subarray(0, MAX_FIELD - size));
      size += sample.length;
    }
  }
  const detected = eightBit.length ? detectCharset(Buffer.concat(eightBit)) : undefined;
  return detected ? { declared: out, detected } : { declared: out };
}

/** The bytes of an encoded word's text (lenient: bad Q escapes stay literal, base64 ignores junk). */
function wordBytes(encoding: string, text: string): Buffer {
  if (encoding === 'b' || encoding === 'B') return Buffer.from(text, 'base64');
  const out = Buffer.alloc(text.length);
  let n = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    const hex = c === 0x3d ? /^[0-9a-f]{2}$/i.exec(text.slice(i + 1, i + 3)) : null;
    if (hex) {
      out[n++] = parseInt(hex[0], 16);
      i += 2;
    } else out[n++] = c === 0x5f ? 0x20 : c; // '_' is a space
  }
  return out.subarray(0, n);
}

/**
 * Text with RFC 2047 encoded words decoded (anywhere, also inside quoted strings and glued to words, as
 * mailers send them) and raw 8-bit bytes decoded through the hints. Adjacent encoded words separated only
 * by whitespace join without it; consecutive words of the same charset are decoded as one byte string, so a
 * character split across two words survives. Malformed words stay as they are.
 */
export function decodeWords(raw: Buffer, hints: CharsetHints): string {
  const s = latin1(raw);
  if (!s.includes('=?')) return decodeBytes(raw.subarray(0, MAX_FIELD), undefined, hints);
  let out = '';
  let pending: { label: string; bytes: Buffer[] } | undefined;
  const flush = () => {
    if (pending) out += decodeBytes(Buffer.concat(pending.bytes), pending.label, hints);
    pending = undefined;
  };
  let last = 0;
  for (const m of s.matchAll(ENCODED_WORD)) {
    const gap = s.slice(last, m.index);
    const label = m[1].toLowerCase();
    if (!pending || !/^[ \t\r\n]*$/.test(gap)) {
      flush();
      out += decodeBytes(raw.subarray(last, m.index), undefined, hints);
    } else if (pending.label !== label && canonicalCharset(pending.label) !== canonicalCharset(label)) flush();
    pending ??= { label, bytes: [] };
    pending.bytes.push(wordBytes(m[2], m[3]));
    last = m.index + m[0].length;
  }
  flush();
  return out + decodeBytes(raw.subarray(last, s.length), undefined, hints);
}

/** Line breaks, tabs and other controls as a single space; NUL never reaches the database. */
const clean = (text: string): string => text.replace(/[\0-\x1f\x7f]+/g, ' ').trim();

/** Unstructured header text (Subject, display names): RFC 2047 encoded words and raw 8-bit bytes decoded. */
export function decodeHeaderText(raw: Buffer, hints: CharsetHints): string {
  return clean(decodeWords(raw, hints));
}

/**
 * A quoted string starting at s[i] === '"': its unescaped content and the index after the closing quote
 * (the end of s if unterminated). A backslash right after an 8-bit byte is kept literally: it is the second
 * byte of a Shift_JIS / Big5 / GBK character (表 = 95 5C), not an escape — a "5C problem" classic.
 */
export function readQuoted(s: string, i: number): [string, number] {
  let out = '';
  for (i++; i < s.length; i++) {
    const c = s[i];
    if (c === '"') return [out, i + 1];
    if (c === '\\' && i + 1 < s.length && !(s.charCodeAt(i - 1) >= 0x80)) out += s[++i];
    else out += c;
  }
  return [out, i];
}

/** A comment starting at s[i] === '(' (nested, with escapes — the same 0x5C rule): its content and the index after it. */
export function readComment(s: string, i: number): [string, number] {
  let depth = 0;
  const start = i + 1;
  for (; i < s.length; i++) {
    const c = s[i];
    if (c === '\\' && !(s.charCodeAt(i - 1) >= 0x80)) i++;
    else if (c === '(') depth++;
    else if (c === ')' && --depth === 0) return [s.slice(start, i), i + 1];
  }
  return [s.slice(start), s.length];
}

/** Decodes `%XX` escapes (RFC 2231) to bytes; a `%` not followed by two hex digits stays literal. */
function percentBytes(text: string): Buffer {
  return Buffer.from(
    text.replace(/%([0-9a-f]{2})/gi, (_, h: string) => String.fromCharCode(parseInt(h, 16))),
    'latin1',
  );
}

/** Params whose value must stay byte-exact (the MIME reader matches the boundary literally). */
const VERBATIM = new Set(['boundary']);

/**
 * Content-Type / Content-Disposition: value and decoded params. RFC 2045 tokens and quoted strings,
 * comments ignored; RFC 2231 `name*=charset'lang'%XX` and continuations `name*0*=`, `name*1=` (joined in
 * index order, encoded and plain segments mixed); encoded words in quoted values (Outlook's
 * `name="=?utf-8?B?…?="`); raw 8-bit values through the hints. Duplicate params: the first wins, but an
 * RFC 2231 value beats a plain one of the same name (it is the precise one, the plain one a fallback).
 */
export function parseStructuredHeader(raw: Buffer | undefined, hints: CharsetHints): StructuredHeader {
  if (!raw) return { value: '', params: {} };
  const s = latin1(raw);
  const plain = new Map<string, string>();
  const extended = new Map<string, Map<number, { text: string; encoded: boolean }>>();
  let value = '';
  let i = 0;
  // The value, then `; name=value` pairs; comments are skipped wherever a token may stand.
  let first = true;
  while (i < s.length) {
    let name = '';
    for (; i < s.length && s[i] !== ';' && (first || s[i] !== '='); i++) {
      if (s[i] === '(') i = readComment(s, i)[1] - 1;
      else if (s[i] === '"') i = readQuoted(s, i)[1] - 1;
      else name += s[i];
    }
    if (first) {
      value = name.trim().toLowerCase();
      first = false;
      i++;
      continue;
    }
    let text: string | undefined;
    if (s[i] === '=') {
      for (i++; s[i] === ' ' || s[i] === '\t'; i++);
      if (s[i] === '"') [text, i] = readQuoted(s, i);
      else {
        const semi = s.indexOf(';', i);
        const end = semi < 0 ? s.length : semi;
        text = s.slice(i, end).trimEnd();
        // A trailing comment, `charset=us-ascii (Plain text)`; `report (1).pdf` keeps its parentheses.
        const open = text.endsWith(')') ? text.lastIndexOf('(') : -1;
        if (open > 0 && /\s/.test(text[open - 1])) text = text.slice(0, open);
        i = end;
      }
      while (i < s.length && s[i] !== ';') i++; // junk after a quoted string
    }
    i++;
    name = name.trim().toLowerCase();
    if (!name || text === undefined) continue;
    const m = /^([^*]+)\*(?:(\d{1,4})(\*)?|())$/.exec(name);
    if (!m) {
      if (!plain.has(name)) plain.set(name, text);
      continue;
    }
    const [, base, index, star, bare] = m;
    const segments = extended.get(base) ?? new Map<number, { text: string; encoded: boolean }>();
    extended.set(base, segments);
    const n = index === undefined ? 0 : Number(index);
    if (!segments.has(n)) segments.set(n, { text, encoded: bare !== undefined || star !== undefined });
  }
  const params: Record<string, string> = {};
  for (const [name, text] of plain)
    params[name] = VERBATIM.has(name) ? text : decodeHeaderText(Buffer.from(text, 'latin1'), hints);
  for (const [name, segments] of extended) {
    const ordered = [...segments.entries()].sort((a, b) => a[0] - b[0]).map(([, seg]) => seg);
    let label: string | undefined;
    const bytes = ordered.map((seg, k) => {
      let text = seg.text;
      if (k === 0 && seg.encoded) {
        const q = /^([^']*)'[^']*'/.exec(text); // charset'language'
        if (q) [label, text] = [q[1] || undefined, text.slice(q[0].length)];
      }
      return seg.encoded ? percentBytes(text) : Buffer.from(text, 'latin1');
    });
    const joined = Buffer.concat(bytes);
    // All-plain continuations are ordinary header text (encoded words and raw 8-bit included).
    params[name] = ordered.some((seg) => seg.encoded)
      ? clean(decodeBytes(joined, label, hints))
      : decodeHeaderText(joined, hints);
  }
  return { value, params };
}
