import { createHash } from 'node:crypto';

/**
 * The identity of a mail (its InboundMessage externalId). A bare Message-ID is not one: broken
 * mailers, list software, forwarding tools and some phones reuse Message-IDs, and two different
 * mails that share one collapsed into a single message — the second silently lost. So the id is the
 * Message-ID plus a hash of the content, where the content is the source without the trace headers
 * that change when the same mail is delivered again (Received, Return-Path, Delivered-To, spam and
 * ARC stamps…): an exact re-delivery — a UIDVALIDITY resync, the same mail in two folders, a retried
 * fetch, a copy that only gained trace headers — still collapses. The Message-ID itself stays the
 * (non-unique) threading column.
 */
const TRACE_FIELD =
  /^(received|x-received|return-path|delivered-to|x-original-to|envelope-to|x-envelope-(from|to)|received-spf|authentication-results|arc-[a-z-]+|x-spam[a-z0-9-]*|x-virus[a-z0-9-]*|x-ms-exchange-organization-[a-z0-9-]+)$/i;

/** Longest Message-ID kept in the id: `#` + 32 hex after it must still fit the contract's 512. */
const MAX_MESSAGE_ID = 512 - 33;

/** sha256 (hex) of the mail without its trace header fields; line endings of the header block as sent. */
export function mailContentHash(source: Buffer): string {
  const end = headerEnd(source);
  const hash = createHash('sha256');
  let keep = true;
  // Fields are lines that do not start with white space; continuation lines belong to the field before.
  for (let i = 0; i < end;) {
    const nl = source.indexOf(0x0a, i);
    const lineEnd = nl === -1 || nl >= end ? end : nl + 1;
    const first = source[i];
    if (i === 0 || (first !== 0x20 && first !== 0x09)) {
      const colon = source.indexOf(0x3a, i);
      const name = colon > i && colon < lineEnd ? source.toString('latin1', i, colon).trim() : '';
      keep = !TRACE_FIELD.test(name);
    }
    if (keep) hash.update(source.subarray(i, lineEnd));
    i = lineEnd;
  }
  hash.update(source.subarray(end));
  return hash.digest('hex');
}

/** Where the header block ends (the index of the empty line's first byte), or the whole source. */
function headerEnd(source: Buffer): number {
  const crlf = source.indexOf('\r\n\r\n');
  const lf = source.indexOf('\n\n');
  const candidates = [crlf === -1 ? -1 : crlf + 2, lf === -1 ? -1 : lf + 1].filter((n) => n >= 0);
  return candidates.length ? Math.min(...candidates) : source.length;
}

export function mailExternalId(messageId: string | undefined, contentHash: string): string {
  if (messageId && messageId.length <= MAX_MESSAGE_ID) return `${messageId}#${contentHash.slice(0, 32)}`;
  return `sha256:${contentHash}`;
}

/**
 * The id this mail had before content hashes (the bare Message-ID, or the sha256 of the whole raw
 * source), so ticket-service recognises mail imported before the change instead of importing a
 * mailbox again on its first resync.
 */
export function legacyMailExternalId(messageId: string | undefined, rawSha256: string): string {
  if (messageId && messageId.length <= 512) return messageId;
  return `sha256:${rawSha256}`;
}
