import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import MailComposer from 'nodemailer/lib/mail-composer';

/**
 * The email fidelity corpus (see README.md): real-world-shaped mails written by build.py with
 * what an agent should see for each. The 20 MB-attachment mail is built here at test time
 * (bigAttachmentMail) instead of being committed.
 */

export type SenderHeader = 'from' | 'sender' | 'reply-to' | 'x-original-from' | 'none';
export type Suppression = 'backscatter' | 'spam';

export interface ExpectedAttachment {
  filename: string;
  /** Of the source file the mail was built from (never of a parse of the mail). */
  sha256: string;
  size: number;
}

export interface ExpectedMail {
  file: string;
  /** Which mailer or case the mail imitates. */
  shape: string;
  sender: { address: string; name: string | null; header: SenderHeader };
  subject: string | null;
  /** Every file an agent should see, in any order. */
  attachments: ExpectedAttachment[];
  /** Kept out of the agent queue (no ticket), listed by the admin suppressed-mail API. */
  suppressed: Suppression | null;
  /** A short snippet the stored body text contains. */
  bodyIncludes: string | null;
  /** The other corpus file that carries the same Message-ID (both must land). */
  sameMessageIdAs: string | null;
}

export interface CorpusMail {
  file: string;
  /** The fixture's bytes: what is APPENDed to the mailbox. */
  raw: Buffer;
  /**
   * The bytes an IMAP client fetches back (imapCanonical(raw)): servers hand out CRLF line ends,
   * so a bare LF in the fixture arrives as CRLF. The expected attachment hashes describe what
   * arrives over IMAP; a benchmark that parses without a server should parse these bytes.
   */
  delivered: Buffer;
  expected: ExpectedMail;
}

export const CORPUS_DIR = __dirname;

export function loadCorpus(dir: string = CORPUS_DIR): CorpusMail[] {
  const expected = JSON.parse(readFileSync(join(dir, 'expected.json'), 'utf8')) as ExpectedMail[];
  return expected.map((e) => {
    const raw = readFileSync(join(dir, 'mails', e.file));
    return { file: e.file, raw, delivered: imapCanonical(raw), expected: e };
  });
}

/** A line break as an IMAP server delivers it: every bare LF becomes CRLF (a bare CR stays). */
export function imapCanonical(raw: Buffer): Buffer {
  let bare = 0;
  for (let i = 0; i < raw.length; i++) if (raw[i] === 0x0a && (i === 0 || raw[i - 1] !== 0x0d)) bare++;
  if (!bare) return raw;
  const out = Buffer.allocUnsafe(raw.length + bare);
  let o = 0;
  for (let i = 0; i < raw.length; i++) {
    if (raw[i] === 0x0a && (i === 0 || raw[i - 1] !== 0x0d)) out[o++] = 0x0d;
    out[o++] = raw[i];
  }
  return out;
}

export const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

/** Deterministic pseudo-random bytes (xorshift128, fixed seed): the same buffer on every run. */
export function seededBytes(size: number, seed: number): Buffer {
  const out = Buffer.allocUnsafe(size);
  let x = seed >>> 0 || 1;
  let y = 362436069;
  let z = 521288629;
  let w = 88675123;
  let i = 0;
  while (i < size) {
    const t = x ^ (x << 11);
    x = y;
    y = z;
    z = w;
    w = (w ^ (w >>> 19) ^ (t ^ (t >>> 8))) >>> 0;
    for (let k = 0; k < 4 && i < size; k++, i++) out[i] = (w >>> (8 * k)) & 0xff;
  }
  return out;
}

export const BIG_ATTACHMENT_FILE = '900-big-20mb-attachment.eml';

/**
 * The 20 MB-attachment mail (≈ 27 MB encoded), composed by nodemailer's MailComposer from
 * seeded bytes; the expectation's hash is computed from those bytes.
 */
export async function bigAttachmentMail(size = 20 * 1024 * 1024, seed = 20260320): Promise<CorpusMail> {
  const content = seededBytes(size, seed);
  const filename = 'datenexport-2026-03.bin';
  const subject = 'Datenexport März (20 MB)';
  const root = new MailComposer({
    from: '"Datenexport Buchhaltung" <export.buchhaltung@example-erp.de>',
    to: 'support@wallet.test',
    subject,
    date: new Date('2026-03-20T10:00:00Z'),
    messageId: '<big-20mb-attachment.20260320@example-erp.de>',
    text: 'Hallo,\n\nanbei der Datenexport, den Sie angefordert haben (20 MB).\n\nGruß\nBuchhaltung\n',
    headers: { 'X-Mailer': 'Nodemailer (fidelity corpus)' },
    attachments: [{ filename, content, contentType: 'application/octet-stream' }],
  }).compile();
  root.baseBoundary = 'oq-corpus-20mb';
  const raw = await new Promise<Buffer>((resolve, reject) =>
    root.build((err, message) => (err ? reject(err) : resolve(message))),
  );
  return {
    file: BIG_ATTACHMENT_FILE,
    raw,
    delivered: imapCanonical(raw),
    expected: {
      file: BIG_ATTACHMENT_FILE,
      shape: 'nodemailer MailComposer mail with one 20 MB binary attachment (≈ 27 MB base64), built at test time',
      sender: { address: 'export.buchhaltung@example-erp.de', name: 'Datenexport Buchhaltung', header: 'from' },
      subject,
      attachments: [{ filename, sha256: sha256(content), size }],
      suppressed: null,
      bodyIncludes: 'anbei der Datenexport',
      sameMessageIdAs: null,
    },
  };
}
