/**
 * Loop safety: which mails are automatic (never answered automatically) and
 * which are delivery failure reports about our own outbound mail.
 */

export interface HeaderMap {
  get(key: string): string | undefined;
  has(key: string): boolean;
}

const OUT_OF_OFFICE =
  /^\s*(?:(?:re|aw|sv|fw|fwd):\s*)*(?:auto(?:matic)?[ -]?(?:reply|response|antwort)|automatische antwort|réponse automatique|respuesta automática|abwesenheit|absence|out of (?:the )?office|ooo\b|away from (?:the )?office|on vacation|vacation reply)/i;

/** Why a mail counts as automatic (RFC 3834 and the de-facto headers), or null for a human's mail. */
export function autoSubmittedReason(headers: HeaderMap, subject: string | undefined): string | null {
  const autoSubmitted = headers.get('auto-submitted');
  if (autoSubmitted && autoSubmitted.trim().toLowerCase() !== 'no') return `Auto-Submitted: ${autoSubmitted.trim()}`;
  const precedence = headers.get('precedence')?.trim().toLowerCase();
  if (precedence && ['bulk', 'junk', 'list', 'auto_reply'].includes(precedence)) return `Precedence: ${precedence}`;
  for (const h of ['x-autoreply', 'x-autorespond', 'x-auto-response-suppress', 'list-unsubscribe', 'list-id']) {
    if (headers.has(h)) return `${h} header`;
  }
  if (subject && OUT_OF_OFFICE.test(subject.slice(0, 200))) return 'out-of-office subject';
  return null;
}

export interface BounceInfo {
  originalMessageId?: string;
  diagnostic?: string;
}

/** A delivery-status report (RFC 3464) or a mail from a mailer daemon. */
export function isBounce(contentType: string | undefined, fromAddress: string | undefined): boolean {
  const ct = (contentType ?? '').toLowerCase();
  if (ct.startsWith('multipart/report') && /report-type\s*=\s*"?delivery-status/.test(ct)) return true;
  const local = (fromAddress ?? '').split('@')[0].toLowerCase();
  return local === 'mailer-daemon' || local === 'postmaster';
}

const SCAN_LIMIT = 512 * 1024;

/**
 * Reads the report parts straight from the raw source: the delivery-status part's
 * Diagnostic-Code/Status and the returned original's Message-ID. Linear regexes
 * over at most 512 KB, so a hostile "report" cannot stall the parser.
 */
export function bounceDetails(raw: Buffer, inReplyTo: string[]): BounceInfo {
  const source = raw.subarray(0, SCAN_LIMIT).toString('latin1');
  const headerEnd = source.search(/\r?\n\r?\n/);
  const body = headerEnd >= 0 ? source.slice(headerEnd) : '';
  const info: BounceInfo = {};

  const diag = /^Diagnostic-Code:[ \t]*([^\r\n]*(?:\r?\n[ \t]+[^\r\n]*)*)/im.exec(body);
  if (diag) {
    info.diagnostic = diag[1]
      .replace(/\r?\n[ \t]+/g, ' ')
      .replace(/^\s*smtp\s*;\s*/i, '')
      .trim()
      .slice(0, 2000);
  }
  if (!info.diagnostic) {
    const status = /^Status:[ \t]*(\d\.\d{1,3}\.\d{1,3})/im.exec(body);
    const action = /^Action:[ \t]*(\S+)/im.exec(body);
    if (status) info.diagnostic = `${action ? `${action[1]} ` : ''}status ${status[1]}`;
  }

  const original =
    /^Original-Message-ID:[ \t]*(<[^>\r\n]{1,990}>)/im.exec(body) ??
    /^Message-ID:[ \t]*(?:\r?\n[ \t]+)?(<[^>\r\n]{1,990}>)/im.exec(body);
  if (original) info.originalMessageId = original[1];
  else if (inReplyTo.length) info.originalMessageId = inReplyTo[0];
  return info;
}
