import { createHash } from 'node:crypto';
import { maskCardNumbers } from '@oq/contracts';
import PostalMime from 'postal-mime';
import { htmlToText, sanitizeMailHtml, splitQuotedText } from './body';
import { installWindows1252Decoder } from './charsets';
import { BounceInfo, HeaderMap, autoSubmittedReason, bounceDetails, isBounce } from './loop-safety';

installWindows1252Decoder();

/** Contract limits of InboundMessage.text / .html: longer bodies are cut and the raw mail kept. */
export const TEXT_LIMIT = 1_000_000;
export const HTML_LIMIT = 5_000_000;

export interface MailAddress {
  address: string;
  name?: string;
}

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
  from?: MailAddress;
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
  bounce?: BounceInfo;
  attachments: ParsedAttachment[];
  /** A body part was over the contract limit and was cut: keep the raw mail. */
  truncated: boolean;
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

function mailboxes(list: PostalMime.Address[] | undefined): MailAddress[] {
  const out: MailAddress[] = [];
  for (const a of list ?? []) {
    if (a.group) out.push(...mailboxes(a.group));
    else if (a.address) out.push({ address: a.address.toLowerCase(), name: a.name || undefined });
  }
  return out;
}

function cut(s: string, limit: number): { value: string; cut: boolean } {
  return s.length > limit ? { value: s.slice(0, limit), cut: true } : { value: s, cut: false };
}

/** Parses one raw RFC 5322 mail; every charset ends up as UTF-8 JS strings. */
export async function parseMail(raw: Buffer, options: ParseOptions): Promise<ParsedMail> {
  const email = await PostalMime.parse(raw, { attachmentEncoding: 'arraybuffer' });
  const headerMap = new Map<string, string>();
  for (const h of email.headers) if (!headerMap.has(h.key)) headerMap.set(h.key, h.value);
  const headers: HeaderMap = { get: (k) => headerMap.get(k), has: (k) => headerMap.has(k) };

  const attachments: ParsedAttachment[] = [];
  const cidUrls = new Map<string, string>();
  for (const a of email.attachments) {
    const content =
      a.content instanceof Uint8Array
        ? a.content
        : typeof a.content === 'string'
          ? new Uint8Array(Buffer.from(a.content))
          : new Uint8Array(a.content);
    const sha256 = createHash('sha256').update(content).digest('hex');
    const contentId = a.contentId?.replace(/^<|>$/g, '') || undefined;
    if (contentId) cidUrls.set(contentId, `${options.attachmentUrlBase}${sha256}`);
    attachments.push({
      filename: (a.filename || defaultName(a.mimeType, attachments.length)).slice(0, 255),
      contentType: (a.mimeType || 'application/octet-stream').slice(0, 255),
      contentId,
      inline: a.disposition === 'inline' || (!!contentId && a.related === true),
      sha256,
      size: content.byteLength,
      content,
    });
  }

  const subject = email.subject !== undefined ? maskCardNumbers(email.subject).slice(0, 998) : undefined;
  const fullTextRaw = maskCardNumbers(email.text || (email.html ? htmlToText(email.html) : ''));
  const split = splitQuotedText(fullTextRaw);
  const text = cut(split.text, TEXT_LIMIT);
  const fullText = cut(fullTextRaw, TEXT_LIMIT);
  let html: string | undefined;
  let htmlCut = false;
  if (email.html) {
    const clean = maskCardNumbers(sanitizeMailHtml(email.html, { cidUrls }));
    const c = cut(clean, HTML_LIMIT);
    // A cut HTML document may end inside a tag; the raw mail is kept instead.
    html = c.cut ? undefined : c.value;
    htmlCut = c.cut;
  }

  const from = mailboxes(email.from ? [email.from] : undefined)[0];
  const inReplyTo = messageIds(email.inReplyTo);
  const bounce = isBounce(headers.get('content-type'), from?.address) ? bounceDetails(raw, inReplyTo) : undefined;
  const auto = autoSubmittedReason(headers, subject);

  return {
    messageId: messageIds(email.messageId)[0],
    inReplyTo,
    references: messageIds(email.references).slice(-200),
    subject,
    from,
    to: mailboxes(email.to),
    cc: mailboxes(email.cc),
    replyTo: mailboxes(email.replyTo),
    text: text.value,
    fullText: fullText.value,
    quoted: split.quoted ? split.quoted.slice(0, TEXT_LIMIT) : undefined,
    signature: split.signature?.slice(0, 10_000),
    html,
    autoSubmittedReason: auto ?? (bounce ? 'delivery status report' : undefined),
    bounce,
    attachments,
    truncated: text.cut || fullText.cut || htmlCut,
  };
}

function defaultName(mimeType: string | undefined, index: number): string {
  const ext = (mimeType ?? '').split('/')[1]?.replace(/[^a-z0-9]/gi, '') || 'bin';
  return `attachment-${index + 1}.${ext}`;
}

/**
 * Subject, From and Message-ID read cheaply from the header block, for mails the
 * full parser could not handle (over the size limit, or timed out).
 */
export function quickHeaders(rawHead: Buffer): { messageId?: string; subject?: string; from?: string } {
  const head = rawHead.subarray(0, 64 * 1024).toString('latin1');
  const end = head.search(/\r?\n\r?\n/);
  const block = (end >= 0 ? head.slice(0, end) : head).replace(/\r?\n[ \t]+/g, ' ');
  const get = (name: string) => new RegExp(`^${name}:[ \\t]*(.*)$`, 'im').exec(block)?.[1]?.trim();
  const subjectRaw = get('Subject');
  let subject: string | undefined;
  try {
    subject = subjectRaw ? PostalMime.decodeWords(subjectRaw) : undefined;
  } catch {
    subject = subjectRaw;
  }
  const fromRaw = get('From');
  const fromAddr = fromRaw
    ? (/<([^<>\s]+@[^<>\s]+)>/.exec(fromRaw)?.[1] ?? /[^\s<>"]+@[^\s<>"]+/.exec(fromRaw)?.[0])
    : undefined;
  return {
    messageId: messageIds(get('Message-ID'))[0],
    subject: subject ? maskCardNumbers(subject).slice(0, 998) : undefined,
    from: fromAddr?.toLowerCase(),
  };
}
