import sanitizeHtml from 'sanitize-html';

/**
 * The body of a mail as agents see it: sanitized HTML and the new text
 * separated from quoted history and the signature.
 */

export interface SplitText {
  /** What the sender wrote now. */
  text: string;
  quoted?: string;
  signature?: string;
}

// Only lines up to this length are tested against the reply-header patterns: a
// 5 MB single-line body must not be fed to a regex.
const MAX_PATTERN_LINE = 400;
const QUOTE_HEADERS = [
  /^On .{1,300}wrote:\s*$/i,
  /^Am .{1,300}schrieb.{0,100}:\s*$/i,
  /^Le .{1,300}a écrit\s*:\s*$/i,
  /^El .{1,300}escribió\s*:\s*$/i,
  /^-{2,}\s*(?:Original Message|Ursprüngliche Nachricht|Message d'origine)\s*-{2,}\s*$/i,
  /^_{20,}\s*$/,
];

export function splitQuotedText(full: string): SplitText {
  const lines = full.split(/\r?\n/);
  let quoteAt = -1;
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i];
    if (line.startsWith('>')) {
      quoteAt = i;
      break;
    }
    if (line.length <= MAX_PATTERN_LINE && QUOTE_HEADERS.some((re) => re.test(line.trim()))) {
      quoteAt = i;
      break;
    }
    // Outlook: "From: …" followed by "Sent:"/"Date:" starts the quoted original.
    if (/^From: /.test(line) && i + 1 < lines.length && /^(Sent|Date|Gesendet): /.test(lines[i + 1])) {
      quoteAt = i;
      break;
    }
  }
  const head = quoteAt >= 0 ? lines.slice(0, quoteAt) : lines;
  const quoted = quoteAt >= 0 ? lines.slice(quoteAt).join('\n').trim() : undefined;
  // RFC 3676 signature delimiter "-- "; plain "--" is common too.
  const sigAt = head.findIndex((l) => l === '-- ' || l === '--');
  const own = sigAt >= 0 ? head.slice(0, sigAt) : head;
  const signature =
    sigAt >= 0
      ? head
          .slice(sigAt + 1)
          .join('\n')
          .trim()
      : undefined;
  const text = own.join('\n').trim();
  return {
    // A mail that is nothing but a quote (a forward) keeps its full body as the text.
    text: text || full.trim(),
    quoted: quoted || undefined,
    signature: signature || undefined,
  };
}

export interface HtmlOptions {
  /** contentId (without <>) → URL the ticket-service serves the inline image at. */
  cidUrls: Map<string, string>;
}

const ALLOWED_TAGS = [
  ...sanitizeHtml.defaults.allowedTags,
  'img',
  'span',
  'font',
  'center',
  'u',
  's',
  'del',
  'ins',
  'sub',
  'sup',
];

/**
 * Allow-list sanitizing: no scripts, styles, forms or event handlers. Remote
 * images are blocked (they are trackers: loading one tells the sender the mail
 * was read, and from where); `cid:` images point at the attachment URL.
 */
export function sanitizeMailHtml(html: string, options: HtmlOptions): string {
  return sanitizeHtml(html, {
    allowedTags: ALLOWED_TAGS,
    allowedAttributes: {
      a: ['href', 'name', 'title', 'target', 'rel'],
      img: ['src', 'alt', 'title', 'width', 'height', 'data-oq-blocked'],
      td: ['colspan', 'rowspan', 'align', 'valign'],
      th: ['colspan', 'rowspan', 'align', 'valign'],
      table: ['border', 'cellpadding', 'cellspacing', 'width'],
      '*': ['dir', 'lang'],
    },
    allowedSchemes: ['http', 'https', 'mailto', 'tel'],
    allowedSchemesByTag: { img: [] },
    allowProtocolRelative: false,
    transformTags: {
      a: (tagName, attribs) => ({
        tagName,
        attribs: { ...attribs, target: '_blank', rel: 'noopener noreferrer nofollow' },
      }),
      img: (tagName, attribs) => {
        const src = (attribs.src ?? '').trim();
        const { src: _drop, ...rest } = attribs;
        void _drop;
        if (/^cid:/i.test(src)) {
          const url = options.cidUrls.get(src.slice(4).replace(/^<|>$/g, ''));
          return url ? { tagName, attribs: { ...rest, src: url } } : { tagName, attribs: rest };
        }
        if (src) return { tagName, attribs: { ...rest, 'data-oq-blocked': 'remote-image' } };
        return { tagName, attribs: rest };
      },
    },
  });
}

const ENTITIES: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'", nbsp: ' ' };

/** Plain text for mails that only have HTML: block elements become line breaks. */
export function htmlToText(html: string): string {
  const marked = html
    .replace(/<(?:br|\/p|\/div|\/li|\/tr|\/h[1-6]|\/blockquote|\/table)\b[^>]*>/gi, '\n')
    .replace(/<li\b[^>]*>/gi, '\n- ');
  const stripped = sanitizeHtml(marked, {
    allowedTags: [],
    allowedAttributes: {},
    nonTextTags: ['style', 'script', 'head', 'title'],
  });
  return stripped
    .replace(/&(#x[0-9a-f]+|#\d+|[a-z]+);/gi, (m, e: string) => {
      if (e[0] === '#') {
        const code = e[1] === 'x' || e[1] === 'X' ? parseInt(e.slice(2), 16) : parseInt(e.slice(1), 10);
        return Number.isFinite(code) && code > 0 && code < 0x110000 ? String.fromCodePoint(code) : m;
      }
      return ENTITIES[e.toLowerCase()] ?? m;
    })
    .replace(/[ \t]+\n/g, '\n')
    .replace(/\n{3,}/g, '\n\n')
    .trim();
}
