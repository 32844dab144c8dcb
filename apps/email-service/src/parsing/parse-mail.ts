import { createHash } from 'node:crypto';
import { maskCardNumbers } from '@oq/contracts';
import { htmlToText, sanitizeMailHtml, splitQuotedText } from './body';
import { BounceInfo, HeaderMap, autoSubmittedReason, bounceDetails, isBounce } from './loop-safety';
import { SenderHeader, parseAddressList, trueSender } from './mime/addresses';
import { charsetHints, decodeHeaderText } from './mime/header-text';
import { readMail } from './mime/read-mail';
import { MailAddress, RawHeader } from './mime/types';

export type { MailAddress } from './mime/types';

/** Contract limits of InboundMessage.text / .html: longer bodies are cut and the raw mail kept. */
export const TEXT_LIMIT = 1_000_000;
export const HTML_LIMIT = 5_000_000;

export interface ParsedAttachment {
  filename: string;
  contentType: string;
  contentId?: string;
  inline: boolean;
  sha256: string;
  size: number;
  /** The bytes; absent once the parser thread has put them in the blob store (ParseOptions.blobDir). */
  content?: Uint8Array;
}

/** Everything ingest needs from one mail; produced in a worker thread and posted back. */
export interface ParsedMail {
  messageId?: string;
  inReplyTo: string[];
  references: string[];
  subject?: string;
  /** The true sender (trueSender): From, else Sender, else Reply-To, DMARC list rewriting undone. */
  from?: MailAddress;
  /** Which header gave `from` ('none' when no header gave an address). */
  senderHeader: SenderHeader;
  to: MailAddress[];
  cc: MailAddress[];
  replyTo: MailAddress[];
  /** New text (without quoted history and signature). */
  text: string;
  /** The whole plain-text body. */
  fullText: string;
  quoted?: string;
  signature?: string;
  html?: string;
  autoSubmittedReason?: string;
  /** A delivery failure report or a mailer daemon's mail (ours or backscatter: ingest tells). */
  bounce?: BounceInfo;
  /** An upstream filter marked the mail as spam: the header that says so. */
  spamFlag?: string;
  /** Return-Path: <> — the null sender of reports and auto-replies. */
  nullSender: boolean;
  attachments: ParsedAttachment[];
  /** A body part was over the contract limit and was cut: keep the raw mail. */
  truncated: boolean;
  /** Malformations the reader tolerated (unterminated multipart, depth limit …), for the log. */
  warnings: string[];
}

export interface ParseOptions {
  /** Prefix of the URL ticket-service serves attachments at; the sha256 is appended. */
  attachmentUrlBase: string;
  /**
   * The blob store's directory: the parser thread stores attachments itself and hands back
   * only their hashes, so attachment bytes never pass through the main thread's heap.
   */
  blobDir?: string;
}

/** Message-IDs from an In-Reply-To / References value, in order, with their angle brackets. */
export function messageIds(value: string | undefined): string[] {
  if (!value) return [];
  const ids = value.match(/<[^<>\s]{1,990}>/g);
  if (ids) return ids;
  const bare = value.trim();
  return bare && !/\s/.test(bare) ? [`<${bare.replace(/^<|>$/g, '')}>`] : [];
}

function cut(s: string, limit: number): { value: string; cut: boolean } {
  return s.length > limit ? { value: s.slice(0, limit), cut: true } : { value: s, cut: false };
}

const SPAM_FLAG = /^\s*yes\b/i;

/** Parses one raw RFC 5322 mail; every charset ends up as UTF-8 JS strings. */
export async function parseMail(raw: Buffer, options: ParseOptions): Promise<ParsedMail> {
  const mail = readMail(raw);
  const hints = mail.hints;
  // Identifiers are ASCII; reading them as latin1 keeps every byte without a charset guess.
  const ascii = (name: string) => mail.header(name)?.toString('latin1');
  const text1 = (name: string) => {
    const v = mail.header(name);
    return v ? decodeHeaderText(v, hints) : undefined;
  };
  const headers: HeaderMap = { get: (k) => text1(k), has: (k) => mail.header(k) !== undefined };
  const addresses = (name: string) => mail.headerAll(name).flatMap((v) => parseAddressList(v, hints));

  const attachments: ParsedAttachment[] = [];
  const cidUrls = new Map<string, string>();
  for (const a of mail.attachments) {
    const sha256 = createHash('sha256').update(a.content).digest('hex');
    if (a.contentId) cidUrls.set(a.contentId, `${options.attachmentUrlBase}${sha256}`);
    attachments.push({
      filename: a.filename,
      contentType: a.contentType.slice(0, 255),
      contentId: a.contentId,
      inline: a.inline,
      sha256,
      size: a.content.byteLength,
      content: a.content,
    });
  }

  const subjectText = text1('subject');
  const subject = subjectText !== undefined ? maskCardNumbers(subjectText).slice(0, 998) : undefined;
  const fullTextRaw = maskCardNumbers(mail.text || (mail.html ? htmlToText(mail.html) : ''));
  const split = splitQuotedText(fullTextRaw);
  const text = cut(split.text, TEXT_LIMIT);
  const fullText = cut(fullTextRaw, TEXT_LIMIT);
  let html: string | undefined;
  let htmlCut = false;
  if (mail.html) {
    const clean = maskCardNumbers(sanitizeMailHtml(mail.html, { cidUrls }));
    const c = cut(clean, HTML_LIMIT);
    // A cut HTML document may end inside a tag; the raw mail is kept instead.
    html = c.cut ? undefined : c.value;
    htmlCut = c.cut;
  }

  const sender = trueSender((name) => mail.headerAll(name), hints);
  const inReplyTo = messageIds(ascii('in-reply-to'));
  const reportLike =
    isBounce(ascii('content-type'), sender.from?.address) || mail.header('x-failed-recipients') !== undefined;
  const bounce = reportLike ? bounceDetails(raw, inReplyTo) : undefined;
  const auto = autoSubmittedReason(headers, subject);
  const spam = ascii('x-spam-flag');

  return {
    messageId: messageIds(ascii('message-id'))[0],
    inReplyTo,
    references: messageIds(
      mail
        .headerAll('references')
        .map((v) => v.toString('latin1'))
        .join(' '),
    ).slice(-200),
    subject,
    from: sender.from,
    senderHeader: sender.header,
    to: addresses('to'),
    cc: addresses('cc'),
    replyTo: addresses('reply-to'),
    text: text.value,
    fullText: fullText.value,
    quoted: split.quoted ? split.quoted.slice(0, TEXT_LIMIT) : undefined,
    signature: split.signature?.slice(0, 10_000),
    html,
    autoSubmittedReason: auto ?? (bounce ? 'delivery status report' : undefined),
    bounce,
    spamFlag: spam !== undefined && SPAM_FLAG.test(spam) ? `X-Spam-Flag: ${spam.trim().slice(0, 100)}` : undefined,
    nullSender: /^\s*<\s*>\s*$/.test(ascii('return-path') ?? ''),
    attachments,
    truncated: text.cut || fullText.cut || htmlCut,
    warnings: mail.warnings,
  };
}

/**
 * Subject, From and Message-ID read cheaply from the header block, for mails the
 * full parser could not handle (over the size limit, or timed out).
 */
export function quickHeaders(rawHead: Buffer): { messageId?: string; subject?: string; from?: string } {
  const head = rawHead.subarray(0, 64 * 1024);
  const text = head.toString('latin1');
  const end = text.search(/\r?\n\r?\n/);
  const block = end >= 0 ? head.subarray(0, end) : head;
  const fields: RawHeader[] = [];
  for (const line of block
    .toString('latin1')
    .replace(/\r?\n[ \t]+/g, ' ')
    .split(/\r?\n/)) {
    const colon = line.indexOf(':');
    if (colon > 0)
      fields.push({
        name: line.slice(0, colon).trim().toLowerCase(),
        value: Buffer.from(line.slice(colon + 1).trim(), 'latin1'),
      });
  }
  const hints = charsetHints(fields, []);
  const get = (name: string) => fields.find((f) => f.name === name)?.value;
  const subjectRaw = get('subject');
  const subject = subjectRaw ? decodeHeaderText(subjectRaw, hints) : undefined;
  const from = trueSender((name) => fields.filter((f) => f.name === name).map((f) => f.value), hints).from;
  return {
    messageId: messageIds(get('message-id')?.toString('latin1'))[0],
    subject: subject ? maskCardNumbers(subject).slice(0, 998) : undefined,
    from: from?.address,
  };
}
