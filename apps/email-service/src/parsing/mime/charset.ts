import { isUtf8 } from 'node:buffer';
import { analyse } from 'chardet';
import { decode as iconvDecode, encodingExists } from 'iconv-lite';
import { CharsetHints } from './types';

/**
 * Bytes → text for mail headers and bodies whose charset label is missing, wrong or exotic.
 *
 * Engines: TextDecoder for UTF-8/16 and ISO-2022-JP; iconv-lite for the CJK double-byte sets, because
 * Node 20's ICU lacks UHC (cp949), HKSCS and the cp936 extras and silently DROPS such bytes even with
 * fatal: true, so a fatal TextDecoder cannot tell us a label is wrong; 256-entry tables for single-byte
 * sets (built once from ICU, which also drops 0x80–0x9F of windows-1252: patched by hand below).
 */

/** Detection and plausibility checks read at most this many bytes (bodies can be megabytes). */
const SAMPLE = 64 * 1024;

/** Labels TextDecoder rejects but mailers send (the WHATWG table already covers the rest). */
const ALIASES: Record<string, string> = {
  cp932: 'shift_jis',
  'x-ms-cp932': 'shift_jis',
  'shift-jis': 'shift_jis',
  cp949: 'euc-kr',
  uhc: 'euc-kr',
  ks_c_5601: 'euc-kr',
  'ks_c_5601-1989': 'euc-kr',
  'x-windows-949': 'euc-kr',
  'x-euc-kr': 'euc-kr',
  cp936: 'gbk',
  ms936: 'gbk',
  'windows-936': 'gbk',
  'euc-cn': 'gbk',
  'x-euc-cn': 'gbk',
  cp950: 'big5',
  ms950: 'big5',
  'x-big5': 'big5',
  big5hkscs: 'big5',
  'iso-2022-jp-1': 'iso-2022-jp',
  'iso-2022-jp-2': 'iso-2022-jp',
  'iso-2022-jp-3': 'iso-2022-jp',
  csiso2022jp2: 'iso-2022-jp',
  'utf-7': 'utf-7',
  utf7: 'utf-7',
  'unicode-1-1-utf-7': 'utf-7',
  csunicode11utf7: 'utf-7',
  'utf-32': 'utf-32le',
  'utf-32le': 'utf-32le',
  'utf-32be': 'utf-32be',
};

/** Decoded by iconv-lite: WHATWG name → iconv-lite codec (each the WHATWG superset: gb18030 ⊃ GBK, HKSCS ⊃ Big5…). */
const ICONV: Record<string, string> = {
  gbk: 'gb18030',
  gb18030: 'gb18030',
  big5: 'big5hkscs',
  'euc-kr': 'cp949',
  shift_jis: 'cp932',
  'euc-jp': 'eucjp',
  'utf-7': 'utf7',
  'utf-32le': 'utf32le',
  'utf-32be': 'utf32be',
};

/** Charsets that are not one byte per character (everything else is decoded by table). */
const MULTI_BYTE = new Set(['utf-8', 'utf-16le', 'utf-16be', 'iso-2022-jp', ...Object.keys(ICONV)]);
/** Double-byte sets with a plausibility score (cjkScore), in tie-break order: narrower "common" ranges first. */
const CJK = ['euc-kr', 'gbk', 'big5', 'shift_jis', 'euc-jp'];
/** Not ASCII-compatible: 7-bit bytes are not plain ASCII text in these. */
const NOT_ASCII = new Set(['utf-16le', 'utf-16be', 'utf-32le', 'utf-32be', 'utf-7', 'iso-2022-jp']);
/** Decoders that accept nearly any byte string: never a fallback guess for unlabelled bytes. */
const NO_GUESS = new Set(['utf-16le', 'utf-16be', 'utf-32le', 'utf-32be', 'utf-7', 'iso-2022-jp']);
/**
 * ISO-8859 text with bytes 0x80–0x9F (C1 controls, never meant in mail) is really the Windows sibling
 * — the rule WHATWG already applies to iso-8859-1 → windows-1252.
 */
const WINDOWS_SIBLING: Record<string, string> = {
  'iso-8859-2': 'windows-1250',
  'iso-8859-6': 'windows-1256',
  'iso-8859-7': 'windows-1253',
  'iso-8859-8': 'windows-1255',
  'iso-8859-8-i': 'windows-1255',
  'iso-8859-13': 'windows-1257',
  'iso-8859-15': 'windows-1252',
};

/** windows-1252 0x80–0x9F; -1: undefined in cp1252 (81 8D 8F 90 9D). */
const C1 = [
  0x20ac, -1, 0x201a, 0x0192, 0x201e, 0x2026, 0x2020, 0x2021, 0x02c6, 0x2030, 0x0160, 0x2039, 0x0152, -1, 0x017d, -1,
  -1, 0x2018, 0x2019, 0x201c, 0x201d, 0x2022, 0x2013, 0x2014, 0x02dc, 0x2122, 0x0161, 0x203a, 0x0153, -1, 0x017e,
  0x0178,
];

/** The canonical (WHATWG) name of a charset label, or undefined for unknown / unusable labels. */
export function canonicalCharset(label: string | undefined): string | undefined {
  const l = label
    ?.trim()
    .replace(/^["']+|["']+$/g, '')
    .trim()
    .toLowerCase();
  if (!l || l.length > 64) return undefined;
  if (ALIASES[l]) return ALIASES[l];
  const win = /^(?:win|cp|ms|windows)[-_]?(125\d|874)$/.exec(l);
  if (win) return `windows-${win[1]}`;
  for (const candidate of [l, l.replace(/_/g, '-')]) {
    try {
      return new TextDecoder(candidate).encoding;
    } catch {
      // not a WHATWG label
    }
  }
  // Old single-byte code pages WHATWG dropped (DOS cp850, iso-8859-16…): iconv-lite knows them.
  return /^(?:cp|ibm|iso-?8859|koi8|mac|x-mac)[\w-]*$/.test(l) && encodingExists(l) ? l : undefined;
}

/** True if some byte is 8-bit. */
export function hasHighBytes(bytes: Uint8Array): boolean {
  for (let i = 0; i < bytes.length; i++) if (bytes[i] >= 0x80) return true;
  return false;
}

const asBuffer = (b: Uint8Array): Buffer =>
  Buffer.isBuffer(b) ? b : Buffer.from(b.buffer, b.byteOffset, b.byteLength);

const decoders = new Map<string, TextDecoder>();
function textDecoder(cs: string, fatal: boolean): TextDecoder {
  const key = `${cs}/${fatal}`;
  let d = decoders.get(key);
  if (!d) decoders.set(key, (d = new TextDecoder(cs, { fatal })));
  return d;
}

const tables = new Map<string, Int32Array>();
/** Code point per byte for a single-byte charset; -1 where the charset leaves the byte undefined. */
function table(cs: string): Int32Array {
  let t = tables.get(cs);
  if (t) return t;
  t = new Int32Array(256);
  const whatwg = isWhatwg(cs);
  for (let b = 0; b < 256; b++) {
    if (cs === 'windows-1252') {
      t[b] = b >= 0x80 && b < 0xa0 ? C1[b - 0x80] : b;
      continue;
    }
    const s = whatwg ? textDecoder(cs, false).decode(Uint8Array.of(b)) : iconvDecode(Buffer.of(b), cs);
    // ICU drops ISO-8859's C1 bytes, which WHATWG maps to the C1 controls.
    if (s === '' && b >= 0x80 && b < 0xa0 && cs.startsWith('iso-8859')) t[b] = b;
    else t[b] = s.length === 1 && s !== '\ufffd' ? s.charCodeAt(0) : -1;
  }
  tables.set(cs, t);
  return t;
}

function isWhatwg(cs: string): boolean {
  try {
    return new TextDecoder(cs).encoding === cs;
  } catch {
    return false;
  }
}

/** Table decode; undefined bytes fail (strict) or become their windows-1252 character (never U+FFFD). */
function decodeTable(bytes: Uint8Array, cs: string, strict: boolean): string | undefined {
  const t = table(cs);
  const fallback = table('windows-1252');
  // All single-byte sets map into the BMP: fill UTF-16 code units, let the native decoder build the string.
  const units = new Uint16Array(bytes.length);
  for (let i = 0; i < bytes.length; i++) {
    const c = t[bytes[i]];
    if (c >= 0) units[i] = c;
    else if (strict) return undefined;
    else units[i] = fallback[bytes[i]] < 0 ? bytes[i] : fallback[bytes[i]];
  }
  return textDecoder('utf-16le', false).decode(units);
}

/** Length of the well-formed UTF-8 sequence at i (WHATWG rules: no overlongs, surrogates, > U+10FFFF), else 0. */
function utf8SequenceAt(b: Uint8Array, i: number): number {
  const c = b[i];
  if (c < 0x80) return 1;
  let n: number;
  let lo = 0x80;
  let hi = 0xbf;
  if (c >= 0xc2 && c <= 0xdf) n = 1;
  else if (c >= 0xe0 && c <= 0xef) {
    n = 2;
    if (c === 0xe0) lo = 0xa0;
    if (c === 0xed) hi = 0x9f;
  } else if (c >= 0xf0 && c <= 0xf4) {
    n = 3;
    if (c === 0xf0) lo = 0x90;
    if (c === 0xf4) hi = 0x8f;
  } else return 0;
  if (i + n >= b.length || b[i + 1] < lo || b[i + 1] > hi) return 0;
  for (let k = 2; k <= n; k++) if ((b[i + k] & 0xc0) !== 0x80) return 0;
  return n + 1;
}

/**
 * "Mostly UTF-8" (more well-formed multi-byte sequences than stray bytes: a UTF-8 text with a pasted
 * latin-1 fragment, a truncated body) decodes as UTF-8 with each stray byte as windows-1252.
 * Legacy double-byte text rarely looks like that: most of its pairs are not UTF-8 sequences.
 */
function decodeMostlyUtf8(b: Uint8Array): string | undefined {
  const scan = (bytes: Uint8Array) => {
    let multi = 0;
    const bad: number[] = [];
    for (let i = 0; i < bytes.length;) {
      const n = utf8SequenceAt(bytes, i);
      if (n === 0) bad.push(i++);
      else {
        if (n > 1) multi++;
        i += n;
      }
    }
    return multi > bad.length ? bad : undefined;
  };
  // The sample rules out legacy text cheaply; only a mostly-UTF-8 one is scanned whole.
  const head = scan(sampleOf(b));
  const bad = head && b.length > SAMPLE ? scan(b) : head;
  if (!bad) return undefined;
  const utf8 = textDecoder('utf-8', false);
  const w1252 = table('windows-1252');
  let out = '';
  let start = 0;
  for (const i of bad) {
    out += utf8.decode(b.subarray(start, i)) + String.fromCharCode(w1252[b[i]] < 0 ? b[i] : w1252[b[i]]);
    start = i + 1;
  }
  return out + utf8.decode(b.subarray(start));
}

/** Decodes with cs, or undefined if the bytes are not valid in cs (the label is wrong). */
function decodeStrict(bytes: Uint8Array, cs: string): string | undefined {
  if (cs === 'utf-8') return isUtf8(bytes) ? textDecoder('utf-8', false).decode(bytes) : undefined;
  if (ICONV[cs]) {
    if (cs === 'utf-7' && hasHighBytes(bytes)) return undefined;
    const s = iconvDecode(asBuffer(bytes), ICONV[cs]);
    return s.includes('\ufffd') ? undefined : s;
  }
  if (MULTI_BYTE.has(cs)) {
    // ISO-2022-JP is 7-bit: 8-bit bytes mean Shift_JIS / EUC-JP mislabelled (ICU would happily decode them).
    if (cs === 'iso-2022-jp' && hasHighBytes(bytes)) return undefined;
    try {
      return textDecoder(cs, true).decode(bytes);
    } catch {
      return undefined;
    }
  }
  return decodeTable(bytes, singleByte(bytes, cs), true);
}

/** The table for a single-byte cs: ISO-8859 text with C1 bytes is decoded as its Windows sibling. */
const singleByte = (bytes: Uint8Array, cs: string): string =>
  WINDOWS_SIBLING[cs] && bytes.some((b) => b >= 0x80 && b < 0xa0) ? WINDOWS_SIBLING[cs] : cs;

/** windows-1252 the way Microsoft decodes it (ICU drops 0x80–0x9F); its 5 undefined bytes pass as C1 controls. */
export const decodeWindows1252 = (bytes: Uint8Array): string => decodeTable(bytes, 'windows-1252', false)!;

/** Decodes with cs whatever the bytes hold: the last resort once every better reading failed. */
function decodeLoose(bytes: Uint8Array, cs: string): string {
  if (!MULTI_BYTE.has(cs)) return decodeTable(bytes, singleByte(bytes, cs), false)!;
  // 8-bit bytes in a 7-bit charset, or hopeless UTF-8: windows-1252 rather than a row of U+FFFD.
  if (cs === 'utf-8') return decodeMostlyUtf8(bytes) ?? decodeWindows1252(bytes);
  if ((cs === 'iso-2022-jp' || cs === 'utf-7') && hasHighBytes(bytes)) return decodeWindows1252(bytes);
  if (ICONV[cs]) return iconvDecode(asBuffer(bytes), ICONV[cs]);
  return textDecoder(cs, false).decode(bytes);
}

/**
 * How plausible bytes are as text in a CJK double-byte set, 0–1: the share of its characters in the set's
 * everyday range (GB2312 level-1 hanzi, Big5 common hanzi, KS X 1001 hangul, JIS level-1 kanji and kana,
 * CJK punctuation) and not glued to a Latin letter (`Łukasz` read as Big5 pairs Ł with the `u`). Short names
 * give chardet nothing to count; this catches e.g. latin-1 "Müller" read as GBK or Cyrillic read as Big5.
 */
export function cjkScore(b: Uint8Array, cs: string): number {
  const letter = (c: number) => (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a);
  let common = 0;
  let total = 0;
  let afterLetter = false;
  for (let i = 0; i < b.length; i++) {
    const c = b[i];
    if (c < 0x80) {
      afterLetter = letter(c);
      continue;
    }
    const d = i + 1 < b.length ? b[i + 1] : 0;
    let width = 2;
    let everyday = false;
    if (cs === 'shift_jis') {
      if (c >= 0xa1 && c <= 0xdf)
        width = 1; // half-width katakana: one byte, all but extinct in mail
      else everyday = (c >= 0x81 && c <= 0x83) || (c >= 0x88 && c <= 0x98);
    } else if (cs === 'gbk' || cs === 'gb18030') {
      if (d >= 0x30 && d <= 0x39)
        width = 4; // GB18030 four-byte sequence: rare
      else everyday = ((c >= 0xb0 && c <= 0xd7) || (c >= 0xa1 && c <= 0xa3)) && d >= 0xa1;
    } else if (cs === 'big5') everyday = ((c >= 0xa4 && c <= 0xc6) || (c >= 0xa1 && c <= 0xa3)) && d >= 0x40;
    else if (cs === 'euc-kr') everyday = ((c >= 0xb0 && c <= 0xc8) || c === 0xa1) && d >= 0xa1;
    else if (cs === 'euc-jp') {
      if (c === 0x8f)
        width = 3; // JIS X 0212: rare
      else everyday = (c === 0xa1 || c === 0xa4 || c === 0xa5 || (c >= 0xb0 && c <= 0xcf)) && d >= 0xa1;
    } else return 0;
    total++;
    if (everyday && !afterLetter && !(i + width < b.length && letter(b[i + width]))) common++;
    afterLetter = false;
    i += width - 1;
  }
  return total ? common / total : 0;
}

/**
 * A leading slice for detection, not ending inside a multi-byte character: it ends after a byte below 0x40
 * (space, newline, digit, punctuation), which is never a lead or trail byte in any of these charsets.
 */
function sampleOf(bytes: Uint8Array): Uint8Array {
  if (bytes.length <= SAMPLE) return bytes;
  let end = SAMPLE;
  while (end > SAMPLE - 1024 && bytes[end - 1] >= 0x40) end--;
  return bytes.subarray(0, end > SAMPLE - 1024 ? end : SAMPLE);
}

/** chardet names → canonical; the ones we never guess (UTF-16/32, ASCII, generic "mbcs") fall out. */
function chardetCharset(name: string): string | undefined {
  const cs = canonicalCharset(name);
  return cs && !NO_GUESS.has(cs) && cs !== 'utf-8' ? (cs === 'gb18030' ? 'gbk' : cs) : undefined;
}

/**
 * The charset of 8-bit, non-UTF-8 bytes (≤ 64 KB sampled), or undefined when nothing decodes them. chardet
 * decides when it has seen enough double-byte characters (> 10, confidence above its "can't tell" 10) or for
 * single-byte text; for short samples the CJK plausibility score decides, unless a single-byte reading is all
 * letters (Cyrillic, Greek) — then that one.
 */
export function detectCharset(bytes: Uint8Array): string | undefined {
  const sample = sampleOf(bytes);
  if (!hasHighBytes(sample)) return undefined;
  const matches = analyse(sample).flatMap((m) => {
    const cs = chardetCharset(m.name);
    return cs ? [{ cs, confidence: m.confidence }] : [];
  });
  for (const m of matches)
    if (m.confidence > 10 && CJK.includes(m.cs) && decodeStrict(sample, m.cs) && cjkScore(sample, m.cs) >= 0.5)
      return m.cs;
  let cjk: string | undefined;
  let best = 0.75;
  for (const cs of CJK) {
    const score = cjkScore(sample, cs);
    if (score > best && decodeStrict(sample, cs) !== undefined) [cjk, best] = [cs, score];
  }
  for (const m of matches) {
    if (MULTI_BYTE.has(m.cs)) continue;
    const text = decodeStrict(sample, m.cs);
    if (text === undefined) continue;
    if (!cjk || letterShare(text) >= 0.9) return m.cs;
    break;
  }
  return cjk;
}

/** Share of letters among the non-ASCII characters of a text (single-byte readings of CJK bytes are mostly symbols). */
function letterShare(text: string): number {
  const high = text.replace(/[\0-\x7f]/g, '');
  return high.length ? (high.match(/\p{L}/gu)?.length ?? 0) / high.length : 1;
}

/**
 * Bytes whose own label failed or is missing: UTF-8 (whole or mostly), then the charsets declared elsewhere
 * in the mail, then the detected one — for short bytes (header values) the mail-wide header detection, and
 * the bytes' own only when nothing else fits; for long ones (bodies) the bytes' own first. Double-byte
 * guesses must also look plausible (cjkScore); single-byte ones decode anything, so each phase tries the
 * double-byte ones first, and a failed single-byte label is never replaced by another single-byte guess.
 */
function fallback(bytes: Uint8Array, hints: CharsetHints, failed?: string): string | undefined {
  if (isUtf8(bytes)) return textDecoder('utf-8', false).decode(bytes);
  const mostly = decodeMostlyUtf8(bytes);
  if (mostly !== undefined) return mostly;
  let local: string | undefined | null = null;
  const own = () => (local === null ? (local = detectCharset(bytes)) : local);
  // Mislabelled Japanese: "ISO-2022-JP" with 8-bit bytes is Shift_JIS (or EUC-JP) in practice.
  const family = (cs: string) => (cs === 'iso-2022-jp' ? ['shift_jis', 'euc-jp'] : [cs]);
  const declared = () => [...family(failed ?? ''), ...hints.declared.flatMap(family)];
  const detected = () => (bytes.length >= 512 ? [own(), hints.detected] : [hints.detected]);
  const phases = [declared, detected, ...(bytes.length >= 512 ? [] : [() => [own()]])];
  const singleByte = !failed || MULTI_BYTE.has(failed);
  const tried = new Set([failed, 'utf-8', ...NO_GUESS]);
  for (const candidates of phases)
    for (const multi of singleByte ? [true, false] : [true])
      for (const cs of candidates()) {
        if (!cs || tried.has(cs) || MULTI_BYTE.has(cs) !== multi) continue;
        tried.add(cs);
        if ((CJK.includes(cs) || cs === 'gb18030') && cjkScore(sampleOf(bytes), cs) < 0.5) continue;
        const s = decodeStrict(bytes, cs);
        if (s !== undefined) return s;
      }
  return undefined;
}

/**
 * Decodes body or header bytes that declare `label` (or none), using the mail's hints when the label is
 * missing or wrong. Never throws; never yields U+FFFD for single-byte data (windows-1252 is the last resort).
 */
export function decodeBytes(bytes: Uint8Array, label: string | undefined, hints: CharsetHints): string {
  const cs = canonicalCharset(label);
  const high = hasHighBytes(bytes);
  if (!high && !(cs && NOT_ASCII.has(cs))) {
    // Unlabelled 7-bit ISO-2022-JP (old Japanese mailers put it raw into headers): ESC $ @, ESC $ B.
    if (!cs && /\x1b\$[@B]/.test(asBuffer(bytes).toString('latin1'))) return decodeLoose(bytes, 'iso-2022-jp');
    return asBuffer(bytes).toString('latin1');
  }
  if (cs) {
    const s = decodeStrict(bytes, cs);
    // Single-byte labels decode anything; 8-bit bytes that are valid UTF-8 were UTF-8 mislabelled.
    if (s !== undefined) return !MULTI_BYTE.has(cs) && isUtf8(bytes) ? textDecoder('utf-8', false).decode(bytes) : s;
    // A double-byte text with a few broken characters (≤ 2 %) keeps its label: it is damaged, not mislabelled.
    if (ICONV[cs] && !NO_GUESS.has(cs)) {
      const loose = decodeLoose(bytes, cs);
      if (badShare(loose) <= 0.02) return loose;
    }
    return fallback(bytes, hints, cs) ?? decodeLoose(bytes, cs);
  }
  return fallback(bytes, hints) ?? decodeWindows1252(bytes);
}

function badShare(text: string): number {
  let bad = 0;
  for (let i = text.indexOf('\ufffd'); i >= 0; i = text.indexOf('\ufffd', i + 1)) bad++;
  return text.length ? bad / text.length : 0;
}
