import { execFileSync } from 'node:child_process';
import { decodeBase64, decodeQuotedPrintable, decodeTransfer } from './transfer';

const b = (s: string) => Buffer.from(s, 'latin1');
const py = (script: string, input?: Buffer) => execFileSync('python3', ['-c', script], { input, maxBuffer: 1 << 26 });

/** PDF-like bytes: CRLF, bare CR, bare LF, NUL, 0xFF, '=', trailing blanks before line ends, long lines. */
const binarySample = Buffer.concat([
  b('%PDF-1.4\r\n%\xe2\xe3\xcf\xd3\r\n1 0 obj <</Length 42>> \r\nstream\r\n'),
  Buffer.from([0, 0xff, 0x0d, 0x41, 0x0a, 0x0d, 0x0d, 0x0a, 0x0a, 0x20, 0x09, 0x0d, 0x0a, 0x3d, 0x20]),
  noise(3000),
  b('\r\nendstream =3D literal\t \r\n%%EOF\r\n'),
]);

describe('decodeBase64', () => {
  it('matches Buffer for valid input, wrapped or not', () => {
    for (const n of [0, 1, 2, 3, 4, 57, 1000]) {
      const data = noise(n);
      const enc = data.toString('base64');
      expect(decodeBase64(b(enc)).equals(data)).toBe(true);
      expect(decodeBase64(b(enc.replace(/.{1,76}/g, '$&\r\n'))).equals(data)).toBe(true);
    }
  });

  it('skips junk, tolerates missing padding, goes on after padded chunks', () => {
    expect(str(decodeBase64(b('SGVs*bG8\x00gd29y!bGQ')))).toBe('Hello world');
    expect(str(decodeBase64(b('SGk=\r\nSGk=\r\nIQ')))).toBe('HiHi!');
    expect(str(decodeBase64(b('SGk===')))).toBe('Hi');
    expect(decodeBase64(b('S')).length).toBe(0);
  });
});

describe('decodeQuotedPrintable', () => {
  it('removes soft breaks (with trailing whitespace) and decodes =XX in either case', () => {
    expect(str(decodeQuotedPrintable(b('ab=\r\ncd= \t\r\nef=3d=3D=c3=A4'), true))).toBe('abcdef==\xc3\xa4');
    expect(str(decodeQuotedPrintable(b('last='), true))).toBe('last');
  });

  it('keeps invalid = sequences literally', () => {
    expect(str(decodeQuotedPrintable(b('a=XY=4 =\tb=4'), true))).toBe('a=XY=4 =\tb=4');
  });

  it('decodes hard breaks to CRLF; strips trailing blanks only in text', () => {
    const src = b('one  \ntwo=20\r\nthree\t');
    expect(str(decodeQuotedPrintable(src, true))).toBe('one\r\ntwo \r\nthree');
    expect(str(decodeQuotedPrintable(src, false))).toBe('one  \r\ntwo \r\nthree\t');
  });

  it('gives back binary bytes encoded by Python, with CRLF or LF transport line ends', () => {
    // Canonical QP of binary data (RFC 2045 §6.7): the source's CRLFs are hard breaks, every
    // other CR or LF is =0D / =0A. Python's quopri would write a CRLF as "=0D" + hard break
    // (which by the RFC decodes to CR CR LF), so each CRLF-separated segment is encoded alone.
    const encoded = py(
      [
        'import sys, binascii',
        'data = sys.stdin.buffer.read()',
        "segs = [binascii.b2a_qp(s, quotetabs=False, istext=False) for s in data.split(b'\\r\\n')]",
        "sys.stdout.buffer.write(b'\\n'.join(segs).replace(b'\\n', b'\\r\\n'))",
      ].join('\n'),
      binarySample,
    );
    expect(encoded.toString('latin1')).toMatch(/=\r\n/); // soft breaks present
    expect(encoded.toString('latin1')).toContain('=00=FF=0DA=0A=0D\r\n'); // CR before a CRLF
    expect(decodeQuotedPrintable(encoded, false).equals(binarySample)).toBe(true);
    const lfOnly = Buffer.from(encoded.toString('latin1').replace(/\r\n/g, '\n'), 'latin1');
    expect(decodeQuotedPrintable(lfOnly, false).equals(binarySample)).toBe(true);
  });
});

describe('decodeTransfer', () => {
  it('returns 7bit, 8bit, binary and unknown bodies verbatim', () => {
    const body = b('a\r\nb\nc\r');
    for (const cte of [undefined, '7bit', '8BIT', 'binary', 'x-weird', ''])
      expect(decodeTransfer(body, cte === undefined ? undefined : b(cte), false).bytes).toBe(body);
  });

  it('dispatches base64 and quoted-printable case-insensitively', () => {
    expect(str(decodeTransfer(b('aGk='), b(' Base64 (comment)'), false).bytes)).toBe('hi');
    expect(str(decodeTransfer(b('h=69'), b('Quoted-Printable'), false).bytes)).toBe('hi');
  });

  it('decodes x-uuencode bodies with the begin line name', () => {
    const d = decodeTransfer(b('begin 644 a.txt\r\n#:&D*\r\n`\r\nend\r\n'), b('x-uuencode'), false);
    expect(str(d.bytes)).toBe('hi\n');
    expect(str(d.uuName!)).toBe('a.txt');
    expect(decodeTransfer(b('nothing here'), b('x-uue'), false).warning).toBe('bad_uuencode');
  });
});

/** Deterministic bytes of every value. */
function noise(n: number): Buffer {
  const out = Buffer.alloc(n);
  for (let i = 0, x = 1; i < n; i++) out[i] = (x = (x * 1103515245 + 12345) >>> 0) >>> 24;
  return out;
}

function str(buf: Buffer): string {
  return buf.toString('latin1');
}
