import { decodeWindows1252 } from './charset';

/**
 * TNEF (winmail.dat, [MS-OXTNEF]) reader: the files Outlook wraps into application/ms-tnef.
 * Bounded: every read is checked against the buffer; malformed input returns what was read so far.
 */

const SIGNATURE = 0x223e9f78;
const ATT_RENDDATA = 0x00069002; // starts an attachment
const ATT_TITLE = 0x00018010; // 8-bit file name
const ATT_DATA = 0x0006800f; // the file's bytes
const ATT_ATTACHMENT = 0x00069005; // MAPI properties of the attachment
export const MAX_TNEF_FILES = 200;

const PR_DISPLAY_NAME = 0x3001;
const PR_ATTACH_DATA = 0x3701;
const PR_ATTACH_FILENAME = 0x3704;
const PR_ATTACH_LONG_FILENAME = 0x3707;
const PR_ATTACH_MIME_TAG = 0x370e;

const PT_STRING8 = 0x001e;
const PT_UNICODE = 0x001f;
const PT_BINARY = 0x0102;
const PT_OBJECT = 0x000d;
/** Sizes of fixed-length MAPI types in a TNEF stream (2-byte ones are padded to 4). */
const FIXED: Record<number, number> = {
  0x0001: 4, // PT_NULL
  0x0002: 4, // PT_SHORT
  0x0003: 4, // PT_LONG
  0x0004: 4, // PT_FLOAT
  0x0005: 8, // PT_DOUBLE
  0x0006: 8, // PT_CURRENCY
  0x0007: 8, // PT_APPTIME
  0x000a: 4, // PT_ERROR
  0x000b: 4, // PT_BOOLEAN
  0x0014: 8, // PT_I8
  0x0040: 8, // PT_SYSTIME
  0x0048: 16, // PT_CLSID
};

export interface TnefFile {
  name?: string;
  /** PR_ATTACH_MIME_TAG as given (unvalidated). */
  mimeType?: string;
  data: Buffer;
}

interface Att {
  title?: string;
  longName?: string;
  shortName?: string;
  displayName?: string;
  mimeType?: string;
  data?: Buffer;
  dataBin?: Buffer;
}

const cstr = (b: Buffer) => {
  const nul = b.indexOf(0);
  return decodeWindows1252(nul < 0 ? b : b.subarray(0, nul));
};

function mapiString(type: number, v: Buffer): string {
  return type === PT_UNICODE ? v.toString('utf16le').replace(/\0+$/, '') : cstr(v);
}

/** Reads an attAttachment MAPI property list into `att`; false when it could not be read to the end. */
function readProps(b: Buffer, att: Att): boolean {
  let p = 0;
  const has = (n: number) => n >= 0 && p + n <= b.length;
  if (!has(4)) return false;
  const count = b.readUInt32LE(0);
  p = 4;
  for (let i = 0; i < count; i++) {
    if (!has(4)) return false;
    const type = b.readUInt16LE(p);
    const id = b.readUInt16LE(p + 2);
    p += 4;
    if (id >= 0x8000) {
      // Named property: GUID, kind, then a numeric id or a (padded) UTF-16 name.
      if (!has(20)) return false;
      const kind = b.readUInt32LE(p + 16);
      p += 20;
      if (!has(4)) return false;
      const len = kind === 0 ? 0 : b.readUInt32LE(p);
      p += 4;
      if (!has(pad4(len))) return false;
      p += pad4(len);
    }
    const base = type & 0x0fff;
    const variable = base === PT_STRING8 || base === PT_UNICODE || base === PT_BINARY || base === PT_OBJECT;
    if (!variable && !FIXED[base]) return false; // unknown size: the rest cannot be located
    // Variable-length and multi-valued properties carry a value count (1 for single values).
    let n = 1;
    if (variable || type & 0x1000) {
      if (!has(4)) return false;
      n = b.readUInt32LE(p);
      p += 4;
    }
    for (let j = 0; j < n; j++) {
      let value: Buffer;
      if (variable) {
        if (!has(4)) return false;
        const size = b.readUInt32LE(p);
        p += 4;
        if (!has(pad4(size))) return false;
        value = b.subarray(p, p + size);
        p += pad4(size);
      } else {
        if (!has(FIXED[base])) return false;
        value = b.subarray(p, p + FIXED[base]);
        p += FIXED[base];
      }
      if (type & 0x1000) continue;
      if (id === PR_ATTACH_LONG_FILENAME && base !== PT_BINARY) att.longName = mapiString(base, value);
      else if (id === PR_ATTACH_FILENAME && base !== PT_BINARY) att.shortName = mapiString(base, value);
      else if (id === PR_DISPLAY_NAME && base !== PT_BINARY) att.displayName = mapiString(base, value);
      else if (id === PR_ATTACH_MIME_TAG && base !== PT_BINARY) att.mimeType = mapiString(base, value);
      // PT_OBJECT here is an embedded message or OLE object, not a file: skipped.
      else if (id === PR_ATTACH_DATA && base === PT_BINARY) att.dataBin = value;
    }
  }
  return true;
}

const pad4 = (n: number) => n + ((4 - (n % 4)) % 4);

export function readTnef(buf: Buffer): { files: TnefFile[]; warnings: string[] } {
  const warnings = new Set<string>();
  const atts: Att[] = [];
  if (buf.length < 6 || buf.readUInt32LE(0) !== SIGNATURE) return { files: [], warnings: ['tnef_signature'] };
  let p = 6; // signature, uint16 key
  let cur: Att | undefined;
  while (p < buf.length) {
    if (p + 9 > buf.length) {
      warnings.add('tnef_truncated');
      break;
    }
    const id = buf.readUInt32LE(p + 1);
    const size = buf.readUInt32LE(p + 5);
    const d = p + 9;
    if (size > buf.length - d - 2) {
      warnings.add('tnef_truncated');
      break;
    }
    const data = buf.subarray(d, d + size);
    let sum = 0;
    for (let i = 0; i < data.length; i++) sum += data[i];
    // A wrong checksum is a sloppy writer more often than damage: warn, keep going.
    if ((sum & 0xffff) !== buf.readUInt16LE(d + size)) warnings.add('tnef_checksum');
    p = d + size + 2;
    if (id === ATT_RENDDATA || (!cur && (id === ATT_TITLE || id === ATT_DATA || id === ATT_ATTACHMENT))) {
      if (atts.length >= MAX_TNEF_FILES) {
        warnings.add('tnef_attachment_limit');
        break;
      }
      atts.push((cur = {}));
    }
    if (!cur) continue;
    if (id === ATT_TITLE) cur.title = cstr(data);
    else if (id === ATT_DATA) cur.data = data;
    else if (id === ATT_ATTACHMENT && !readProps(data, cur)) warnings.add('tnef_bad_mapi_props');
  }
  const files = atts
    .filter((a) => a.data ?? a.dataBin)
    .map((a) => ({
      name: a.longName || a.title || a.shortName || a.displayName || undefined,
      mimeType: a.mimeType,
      data: (a.data ?? a.dataBin)!,
    }));
  return { files, warnings: [...warnings] };
}
