/**
 * uuencode: `begin NNN name` … data lines … a zero-length line … `end`. A data line starts with
 * its length character c (n = (c - 32) & 63 bytes, backtick = 0) and carries ceil(n / 3) * 4
 * characters. Blocks pasted into a text body are only taken when every line is well-formed: a
 * plain text that merely looks like one is left alone.
 */

const CR = 0x0d;
const LF = 0x0a;
const BEGIN = /^begin [0-7]{3,4} +(\S.*?)[ \t]*$/;
const BEGIN_BYTES = Buffer.from('begin ');
/** Per text body; further blocks stay in the text. */
export const MAX_UU_FILES = 200;

export interface UuBlock {
  /** Byte range in the scanned buffer: from the `begin` line through the `end` line's line break. */
  start: number;
  end: number;
  /** File name bytes from the `begin` line (charset unknown, decoded by the caller). */
  name: Buffer;
  data: Buffer;
}

type Scan = { size: number; next: number } | { fail: number };

const sextet = (c: number) => (c - 0x20) & 0x3f;
const isUu = (c: number) => c >= 0x20 && c <= 0x60;

/** Padding after a line's data: whitespace and up to 2 more characters (some encoders add a checksum). */
function extrasOk(buf: Buffer, from: number, end: number): boolean {
  let extra = 0;
  for (let i = from; i < end; i++) {
    const c = buf[i];
    if (c === 0x20 || c === 0x09) continue;
    if (!isUu(c) || ++extra > 2) return false;
  }
  return true;
}

function isEndLine(buf: Buffer, pos: number, end: number): boolean {
  if (end - pos < 3 || buf.toString('latin1', pos, pos + 3) !== 'end') return false;
  for (let i = pos + 3; i < end; i++) if (buf[i] !== 0x20 && buf[i] !== 0x09) return false;
  return true;
}

/**
 * Data lines from `pos` through the `end` line: measures (no `out`) or decodes into `out`.
 * strict: any malformed line fails the block (at that line, so the caller can resume there);
 * otherwise (a body declared x-uuencode) missing characters count as zero and junk is decoded as is.
 */
function scan(buf: Buffer, pos: number, strict: boolean, out?: Buffer): Scan {
  let size = 0;
  let zero = false;
  while (pos < buf.length) {
    const nl = buf.indexOf(LF, pos);
    const next = nl < 0 ? buf.length : nl + 1;
    let end = nl < 0 ? buf.length : nl;
    if (end > pos && buf[end - 1] === CR) end--;
    if (isEndLine(buf, pos, end)) return zero || !strict ? { size, next } : { fail: pos };
    if (zero && strict) return { fail: pos };
    // An empty line is a zero-length line whose space a transport stripped.
    const n = end > pos ? sextet(buf[pos]) : 0;
    if (n === 0) {
      if (strict && end > pos && (!isUu(buf[pos]) || !extrasOk(buf, pos + 1, end))) return { fail: pos };
      zero = true;
      pos = next;
      continue;
    }
    const need = 1 + Math.ceil(n / 3) * 4;
    if (strict) {
      if (!isUu(buf[pos]) || end - pos < need || !extrasOk(buf, pos + need, end)) return { fail: pos };
      for (let i = pos + 1; i < pos + need; i++) if (!isUu(buf[i])) return { fail: pos };
    }
    if (out) {
      const at = (i: number) => (i < end ? sextet(buf[i]) : 0);
      for (let k = 0; k < n; k += 3) {
        const q = pos + 1 + (k / 3) * 4;
        const a = at(q);
        const b = at(q + 1);
        const c = at(q + 2);
        out[size + k] = (a << 2) | (b >> 4);
        if (k + 1 < n) out[size + k + 1] = ((b & 15) << 4) | (c >> 2);
        if (k + 2 < n) out[size + k + 2] = ((c & 3) << 6) | at(q + 3);
      }
    }
    size += n;
    pos = next;
  }
  return strict ? { fail: pos } : { size, next: pos };
}

/** The `begin` line at `pos` (a line start): its file name and where the data starts. */
function beginAt(buf: Buffer, pos: number): { name: Buffer; next: number } | undefined {
  const nl = buf.indexOf(LF, pos);
  const end = nl < 0 ? buf.length : nl;
  if (end - pos > 1100) return undefined;
  const m = BEGIN.exec(buf.toString('latin1', pos, end).replace(/\r$/, ''));
  return m ? { name: Buffer.from(m[1], 'latin1'), next: nl < 0 ? buf.length : nl + 1 } : undefined;
}

function decodeBlock(buf: Buffer, begin: { name: Buffer; next: number }, start: number, strict: boolean) {
  const r = scan(buf, begin.next, strict);
  if ('fail' in r) return r;
  const data = Buffer.alloc(r.size);
  scan(buf, begin.next, strict, data);
  return { start, end: r.next, name: begin.name, data };
}

/** The well-formed uuencoded blocks in a text body, in order (at most `max`). Linear: a failed candidate resumes the search where it failed. */
export function findUuBlocks(buf: Buffer, max = MAX_UU_FILES): UuBlock[] {
  const blocks: UuBlock[] = [];
  let pos = buf.indexOf(BEGIN_BYTES);
  while (pos >= 0 && blocks.length < max) {
    let resume = pos + 1;
    const begin = pos === 0 || buf[pos - 1] === LF ? beginAt(buf, pos) : undefined;
    if (begin) {
      const r = decodeBlock(buf, begin, pos, true);
      if ('fail' in r) resume = r.fail;
      else {
        blocks.push(r);
        resume = r.end;
      }
    }
    pos = buf.indexOf(BEGIN_BYTES, resume);
  }
  return blocks;
}

/** A body with Content-Transfer-Encoding x-uuencode: its first block, decoded leniently. */
export function decodeUuBody(buf: Buffer): { name: Buffer; data: Buffer } | undefined {
  for (let pos = buf.indexOf(BEGIN_BYTES); pos >= 0; pos = buf.indexOf(BEGIN_BYTES, pos + 1)) {
    const begin = pos === 0 || buf[pos - 1] === LF ? beginAt(buf, pos) : undefined;
    if (!begin) continue;
    const r = decodeBlock(buf, begin, pos, false);
    return 'fail' in r ? undefined : r;
  }
  return undefined;
}
