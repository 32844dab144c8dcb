import { decodeUuBody } from './uuencode';

/** Content-Transfer-Encoding decoders (RFC 2045 §6). All linear, all total: any input decodes to something. */

const CR = 0x0d;
const LF = 0x0a;
const EQ = 0x3d;

const B64 = new Int8Array(256).fill(-1);
for (let i = 0; i < 64; i++) B64['ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/'.charCodeAt(i)] = i;

const HEX = new Int8Array(256).fill(-1);
for (let i = 0; i < 16; i++) {
  HEX['0123456789ABCDEF'.charCodeAt(i)] = i;
  HEX['0123456789abcdef'.charCodeAt(i)] = i;
}

/**
 * Lenient base64: characters outside the alphabet (line breaks, junk) are skipped, missing padding
 * is tolerated. `=` ends a quantum: what it completes is flushed and decoding goes on after it, so
 * concatenated padded chunks (some encoders pad every line) still decode.
 */
export function decodeBase64(src: Uint8Array): Buffer {
  const out = Buffer.allocUnsafe(Math.ceil((src.length * 3) / 4));
  let o = 0;
  let acc = 0;
  let n = 0;
  const flush = () => {
    // 2 sextets carry 1 byte, 3 carry 2; a single sextet carries nothing.
    if (n === 2) out[o++] = acc >> 4;
    else if (n === 3) {
      out[o++] = acc >> 10;
      out[o++] = (acc >> 2) & 0xff;
    }
    acc = n = 0;
  };
  for (let i = 0; i < src.length; i++) {
    const v = B64[src[i]];
    if (v >= 0) {
      acc = (acc << 6) | v;
      if (++n === 4) {
        out[o++] = acc >> 16;
        out[o++] = (acc >> 8) & 0xff;
        out[o++] = acc & 0xff;
        acc = n = 0;
      }
    } else if (src[i] === EQ) flush();
  }
  flush();
  return out.subarray(0, o);
}

/**
 * Quoted-printable. Soft breaks (`=` + optional trailing whitespace + line end) vanish; `=XX` is
 * decoded (either case); an invalid `=` stays literally. A hard line break stands for CRLF
 * (RFC 2045 §6.7) whatever the transport made of it, so it decodes to CRLF: a QP-encoded binary
 * file gets its CRLFs back. `text`: trailing whitespace of a line is transport padding (rule 3) and
 * is dropped; in binary content it is kept, since a sloppy encoder may have left real bytes there.
 */
export function decodeQuotedPrintable(src: Buffer, text: boolean): Buffer {
  let lines = 1;
  for (let i = src.indexOf(LF); i >= 0; i = src.indexOf(LF, i + 1)) lines++;
  const out = Buffer.allocUnsafe(src.length + lines);
  let o = 0;
  let pos = 0;
  while (pos < src.length) {
    const nl = src.indexOf(LF, pos);
    let end = nl < 0 ? src.length : nl;
    if (nl >= 0 && end > pos && src[end - 1] === CR) end--;
    let e = end;
    while (e > pos && (src[e - 1] === 0x20 || src[e - 1] === 0x09)) e--;
    const soft = e > pos && src[e - 1] === EQ;
    const stop = soft ? e - 1 : text ? e : end;
    for (let i = pos; i < stop; i++) {
      const c = src[i];
      if (c === EQ && i + 2 < stop && HEX[src[i + 1]] >= 0 && HEX[src[i + 2]] >= 0) {
        out[o++] = (HEX[src[i + 1]] << 4) | HEX[src[i + 2]];
        i += 2;
      } else out[o++] = c;
    }
    if (nl < 0) break;
    if (!soft) {
      out[o++] = CR;
      out[o++] = LF;
    }
    pos = nl + 1;
  }
  return out.subarray(0, o);
}

export interface Decoded {
  bytes: Buffer;
  /** x-uuencode: the file name bytes of the `begin` line. */
  uuName?: Buffer;
  warning?: string;
}

/**
 * Decodes a part body by its Content-Transfer-Encoding (raw header value). 7bit, 8bit, binary and
 * unknown encodings are returned verbatim (a view, no copy). `text`: see decodeQuotedPrintable.
 */
export function decodeTransfer(body: Buffer, cte: Buffer | undefined, text: boolean): Decoded {
  const enc = /^\s*([\w-]*)/.exec(cte?.toString('latin1') ?? '')![1].toLowerCase();
  switch (enc) {
    case 'base64':
      return { bytes: decodeBase64(body) };
    case 'quoted-printable':
      return { bytes: decodeQuotedPrintable(body, text) };
    case 'x-uuencode':
    case 'x-uue':
    case 'uuencode':
    case 'x-uuencoded': {
      const uu = decodeUuBody(body);
      return uu ? { bytes: uu.data, uuName: uu.name } : { bytes: body, warning: 'bad_uuencode' };
    }
    default:
      return { bytes: body };
  }
}
