import { CharsetHints, MailAddress } from './types';
import { decodeHeaderText, MAX_FIELD, readComment, readQuoted } from './header-text';

/**
 * RFC 5322 address lists, leniently. The raw bytes are tokenized FIRST and display names decoded after,
 * so neither a comma inside an encoded word (`=?iso-8859-1?Q?B=FCrling,=20Andreas?=`) nor a raw 8-bit
 * byte can split a mailbox.
 */

type Token = { kind: 'word' | 'quoted' | 'comment' | 'angle'; text: string } | { kind: 'space' | ',' | ';' | ':' };

/** An encoded word at the current position (sticky): one token, whatever it contains. */
const ENCODED_WORD = /=\?[^?\s]{1,64}\?[bq]\?[^?\s]*\?=/iy;
const WORD_END = new Set([' ', '\t', '\r', '\n', '"', '(', '<', ',', ';', ':']);

function tokenize(s: string): Token[] {
  const tokens: Token[] = [];
  for (let i = 0; i < s.length;) {
    const c = s[i];
    if (c === ' ' || c === '\t' || c === '\r' || c === '\n') {
      while (i < s.length && /[ \t\r\n]/.test(s[i])) i++;
      tokens.push({ kind: 'space' });
    } else if (c === '"') {
      const [text, end] = readQuoted(s, i);
      tokens.push({ kind: 'quoted', text });
      i = end;
    } else if (c === '(') {
      const [text, end] = readComment(s, i);
      tokens.push({ kind: 'comment', text });
      i = end;
    } else if (c === '<') {
      // Up to '>', quotes inside respected (`<"john doe"@example.com>`).
      let text = '';
      for (i++; i < s.length && s[i] !== '>';) {
        if (s[i] === '"') {
          const [q, end] = readQuoted(s, i);
          text += `"${q}"`;
          i = end;
        } else text += s[i++];
      }
      tokens.push({ kind: 'angle', text });
      i++;
    } else if (c === ',' || c === ';' || c === ':') {
      tokens.push({ kind: c });
      i++;
    } else {
      let text = '';
      while (i < s.length && !WORD_END.has(s[i])) {
        if (s[i] === '=') {
          ENCODED_WORD.lastIndex = i;
          const m = ENCODED_WORD.exec(s);
          if (m) {
            if (text) break; // the encoded word starts a token of its own
            text = m[0];
            i += m[0].length;
            break;
          }
        }
        if (s[i] === '[' && text.endsWith('@')) {
          // A domain literal may hold ':' (`a@[IPv6:::1]`). Only after '@': 0x5B is also a Shift_JIS trail byte (ー = 81 5B).
          const close = s.indexOf(']', i);
          const end = close < 0 ? s.length : close + 1;
          text += s.slice(i, end);
          i = end;
        } else text += s[i++];
      }
      tokens.push({ kind: 'word', text });
    }
  }
  return tokens;
}

/** addr-spec from an angle-addr: no whitespace or comments, source route and `mailto:` dropped. */
function angleAddress(text: string): string {
  const spec = text.replace(/\([^()]*\)|\s+/g, '').replace(/^mailto:/i, '');
  return spec.startsWith('@') && spec.includes(':') ? spec.slice(spec.lastIndexOf(':') + 1) : spec;
}

/** A plausible addr-spec: something@something, no whitespace or angle brackets outside a quoted local part. */
const valid = (address: string): boolean => {
  const at = address.lastIndexOf('@');
  return (
    at > 0 && at < address.length - 1 && address.length <= 320 && !/[\s<>,]/.test(address.replace(/"[^"]*"/g, '""'))
  );
};

/** Surrounding quotes off (`'Ann Smith'`, `"Ann"` after decoding), trimmed; the address itself is no name. */
function cleanName(name: string | undefined, address: string): string | undefined {
  const n = name
    ?.trim()
    .replace(/^(["'])(.*)\1$/s, '$2')
    .trim();
  return n && n.toLowerCase() !== address ? n : undefined;
}

/** The raw display-name bytes of tokens (quoted content unescaped), for decodeHeaderText. */
function phrase(tokens: Token[]): Buffer {
  let s = '';
  for (const t of tokens) {
    if (t.kind === 'word' || t.kind === 'quoted') s += t.text;
    else if (t.kind === 'space') s += ' ';
    else if (t.kind === ':') s += ':';
  }
  return Buffer.from(s, 'latin1');
}

function mailbox(tokens: Token[], hints: CharsetHints): MailAddress | undefined {
  const angle = tokens.find((t) => t.kind === 'angle');
  const comment = tokens.find((t) => t.kind === 'comment');
  let address: string;
  let name: Buffer;
  if (angle && angle.kind === 'angle') {
    address = angleAddress(angle.text);
    name = phrase(tokens.filter((t) => t !== angle));
  } else {
    // addr-spec: the whitespace-delimited run holding '@'; anything else is a (non-standard) name.
    const runs: Token[][] = [[]];
    for (const t of tokens) {
      if (t.kind === 'space') runs.push([]);
      else if (t.kind !== 'comment') runs[runs.length - 1].push(t);
    }
    const spec = runs.find((run) => run.some((t) => t.kind === 'word' && t.text.includes('@')));
    if (!spec) return undefined;
    address = spec.map((t) => (t.kind === 'quoted' ? `"${t.text}"` : t.kind === 'word' ? t.text : '')).join('');
    name = phrase(runs.filter((r) => r !== spec && r.length).flatMap((r) => [...r, { kind: 'space' } as Token]));
  }
  address = address.toLowerCase();
  if (!valid(address)) return undefined;
  // Obsolete `user@host (Name)`: the comment is the name when there is no phrase.
  let text = name.length ? decodeHeaderText(name, hints) : '';
  if (!text && comment && comment.kind === 'comment')
    text = decodeHeaderText(Buffer.from(comment.text, 'latin1'), hints);
  const n = cleanName(text, address);
  return n ? { address, name: n } : { address };
}

/** An address-list header (From, To, Cc, Reply-To): valid mailboxes in order, groups flattened. */
export function parseAddressList(raw: Buffer | undefined, hints: CharsetHints): MailAddress[] {
  if (!raw) return [];
  const out: MailAddress[] = [];
  let current: Token[] = [];
  let inGroup = false;
  const flush = () => {
    const box = current.length ? mailbox(current, hints) : undefined;
    if (box) out.push(box);
    current = [];
  };
  for (const t of tokenize(raw.subarray(0, MAX_FIELD).toString('latin1'))) {
    if (t.kind === ',') flush();
    else if (t.kind === ';') {
      flush();
      inGroup = false;
    } else if (
      t.kind === ':' &&
      !inGroup &&
      !current.some((c) => c.kind === 'angle' || (c.kind === 'word' && c.text.includes('@')))
    ) {
      current = []; // `Group name:` — the members follow, the name is dropped
      inGroup = true;
    } else current.push(t);
  }
  flush();
  return out;
}

export type SenderHeader = 'from' | 'sender' | 'reply-to' | 'x-original-from' | 'none';

export interface TrueSender {
  from?: MailAddress;
  /** Which header gave the address ('none': no header did). */
  header: SenderHeader;
  /** Set when From was a mailing list rewriting the sender (DMARC munging): the list's address and name. */
  viaList?: MailAddress;
}

/**
 * The mail's true sender: the first valid From mailbox (of the first From header yielding one: duplicated
 * From headers happen), then Sender, then Reply-To. DMARC list rewriting is undone: Google Groups and
 * Mailman (`from_is_list`) send `"Ann Smith via Support" <list@…>` — then X-Original-From, else a
 * Reply-To differing from From, is the sender, named by its own name or else the part before ' via '.
 */
export function trueSender(get: (name: string) => Buffer[], hints: CharsetHints): TrueSender {
  const first = (header: string): MailAddress | undefined => {
    for (const raw of get(header)) {
      const box = parseAddressList(raw, hints)[0];
      if (box) return box;
    }
    return undefined;
  };
  const from = first('from');
  if (from) {
    const via = from.name ? /^(.*\S)\s+via\s+(\S.*)$/is.exec(from.name) : null;
    if (via) {
      const person = cleanName(via[1], from.address);
      const viaList: MailAddress = { address: from.address, name: via[2].trim() };
      for (const header of ['x-original-from', 'reply-to'] as const) {
        const original = first(header);
        if (original && original.address !== from.address)
          return { from: { address: original.address, name: original.name ?? person }, header, viaList };
      }
    }
    return { from, header: 'from' };
  }
  for (const header of ['sender', 'reply-to'] as const) {
    const box = first(header);
    if (box) return { from: box, header };
  }
  return { header: 'none' };
}
