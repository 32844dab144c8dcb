import fc from 'fast-check';
import { IngestTestKit } from '../../apps/ticket-service/src/inbound/ingest-test-kit';
import { DovecotServer } from '../support/dovecot';
import { startMailIngest } from './email-stack';
import { MarkerScanner } from '../support/hostile-harness';
import { newMarker } from '../support/hostile-inputs';

/**
 * Acknowledged means stored, for mail: every mail the IMAP server accepted (the mailbox holds it,
 * so email-service will move its cursor past it) becomes exactly one message — parsed, or kept as
 * its raw source — or a dead letter, found by the marker in its Message-ID. Generated with
 * fast-check (fixed seed): NUL and raw 8-bit bytes in headers and bodies, invalid UTF-8 in a
 * declared charset, lone-surrogate-shaped encoded words, RTL and zero-width marks, a megabyte
 * line, MIME nested hundreds of levels, a thousand headers, broken boundaries and base64, missing
 * or garbage From.
 */
const RUNS = Number(process.env.HOSTILE_MAIL_RUNS ?? 120);
const SEED = Number(process.env.HOSTILE_MAIL_SEED ?? 20261201);
const ADDRESS = 'support@wallet.test';
const PASS = 'imap-pw';

const CRLF = '\r\n';
const bytes = (...parts: (string | Buffer)[]) =>
  Buffer.concat(parts.map((p) => (typeof p === 'string' ? Buffer.from(p, 'latin1') : p)));

/** Raw pieces of a header or body, as bytes: what mailers and attackers really send. */
const piece = fc.constantFrom<Buffer>(
  Buffer.from([0x00]),
  Buffer.from([0xc3, 0x28]),
  Buffer.from([0xff, 0xfe]),
  Buffer.from([0xed, 0xa0, 0x80]),
  Buffer.from('\u202e\u200b\ufeff', 'utf8'),
  Buffer.from('退款', 'utf8'),
  Buffer.from([0xcd, 0xcb, 0xbf, 0xee]), // GB2312 退款
  Buffer.from('=?utf-8?B?7aCA?='), // an encoded word whose bytes are a lone surrogate
  Buffer.from('=?x-unknown?Q?caf=E9?='),
  Buffer.from('4111 1111 1111 1111 / +49 151 1234 5678'),
  Buffer.from('plain words'),
);
const raw = fc.array(piece, { maxLength: 8 }).map((p) => Buffer.concat(p));

type Shape = 'plain' | 'deep-mime' | 'many-headers' | 'megabyte-line' | 'broken-mime' | 'no-from';
const shape = fc.constantFrom<Shape>(
  'plain',
  'plain',
  'deep-mime',
  'many-headers',
  'megabyte-line',
  'broken-mime',
  'no-from',
);

const hostileMail = fc.record({ from: raw, subject: raw, body: raw, shape }).map(({ from, subject, body, shape }) => {
  const marker = newMarker();
  const head = [
    shape === 'no-from' ? bytes('X-No-From: yes') : bytes('From: ', from, ` <c-${marker}@customer.test>`),
    bytes(`To: ${ADDRESS}`),
    bytes('Subject: ', subject, ` ${marker}`),
    bytes(`Message-ID: <${marker}@fuzz.test>`),
    bytes('Date: Tue, 01 Dec 2026 10:00:00 +0000'),
    bytes('MIME-Version: 1.0'),
  ];
  if (shape === 'many-headers')
    for (let i = 0; i < 1000; i++) head.push(bytes(`X-Filler-${i}: `, subject.subarray(0, 20)));
  let content: Buffer;
  if (shape === 'deep-mime') {
    const depth = 300;
    const open: Buffer[] = [];
    const close: Buffer[] = [];
    for (let i = 0; i < depth; i++) {
      open.push(bytes(`Content-Type: multipart/mixed; boundary="b${i}"${CRLF}${CRLF}--b${i}${CRLF}`));
      close.unshift(bytes(`${CRLF}--b${i}--${CRLF}`));
    }
    content = bytes(...open, `Content-Type: text/plain; charset=utf-8${CRLF}${CRLF}`, body, ` ${marker}`, ...close);
    head.push(bytes('X-Shape: deep'));
  } else if (shape === 'broken-mime') {
    content = bytes(
      `Content-Type: multipart/mixed; boundary="never-closed"${CRLF}${CRLF}--never-closed${CRLF}`,
      `Content-Type: application/pdf; name="a.pdf"${CRLF}Content-Transfer-Encoding: base64${CRLF}${CRLF}`,
      '%%%not base64%%%',
      body,
      ` ${marker}`,
    );
  } else {
    const line = shape === 'megabyte-line' ? Buffer.alloc(1_000_000, 0x41) : Buffer.alloc(0);
    content = bytes(`Content-Type: text/plain; charset=utf-8${CRLF}${CRLF}`, body, line, ` ${marker}`);
  }
  const mail = bytes(...head.flatMap((h) => [h, CRLF]), content, CRLF);
  return { marker, shape, mail };
});

describe('acknowledged means stored: hostile mail through a real IMAP server (property-based)', () => {
  let kit: IngestTestKit;
  let dovecot: DovecotServer;
  let stop: (() => Promise<void>) | undefined;

  beforeAll(async () => {
    ({ kit, dovecot, stop } = await startMailIngest(ADDRESS, PASS));
  }, 60_000);

  afterAll(async () => stop?.());

  it(`stores or dead-letters every mail of ${RUNS} the IMAP server accepted (seed ${SEED})`, async () => {
    const mails = fc.sample(hostileMail, { seed: SEED, numRuns: RUNS });
    const accepted: typeof mails = [];
    const refused: { shape: Shape; reason: string }[] = [];
    for (const m of mails) {
      // The IMAP server may refuse some bytes (NUL in a literal): those were never ours to acknowledge.
      try {
        await dovecot.append(ADDRESS, [m.mail]);
        accepted.push(m);
      } catch (err) {
        refused.push({ shape: m.shape, reason: (err as Error).message });
      }
    }
    expect(accepted.length).toBeGreaterThan(RUNS / 2);
    const scanner = new MarkerScanner((sql, params) => kit.ds.query(sql, params));
    const missing = await scanner.waitFor(
      accepted.map((m) => m.marker),
      30_000,
    );
    const counts = await scanner.counts(accepted.map((m) => m.marker));
    const shapeOf = new Map(accepted.map((m) => [m.marker, m.shape]));
    expect({
      lost: missing.map((m) => `${shapeOf.get(m)} ${m}`),
      duplicated: accepted.filter((m) => counts.get(m.marker)!.messages > 1).map((m) => `${m.shape} ${m.marker}`),
    }).toEqual({ lost: [], duplicated: [] });
  }, 300_000);
});
