/**
 * The shapes shared by the MIME reader (structure and transfer encodings: tree.ts, transfer.ts,
 * attachments.ts) and the header decoder (header-text.ts, charset.ts, addresses.ts). The tree
 * keeps bytes; text is decoded in a second pass once the whole mail's charset hints are known.
 */

/** One header field as it appeared: lowercased name, value bytes unfolded (CRLF+WSP → WSP). */
export interface RawHeader {
  name: string;
  value: Buffer;
}

/**
 * What the rest of the mail says about its charsets, used to decode header bytes that carry
 * no (or a wrong) label: charsets declared anywhere in the mail first, then one detected over
 * all of the mail's raw 8-bit header bytes together.
 */
export interface CharsetHints {
  /** Canonical (WHATWG) names of charsets declared in Content-Type params and encoded words, in order seen. */
  declared: string[];
  /** Canonical name detected over all raw 8-bit header bytes, if any were present. */
  detected?: string;
}

/** A Content-Type / Content-Disposition style value: `value; name=param; …`. */
export interface StructuredHeader {
  /** The lowercased token before the first `;` (`text/plain`, `attachment`); '' if absent. */
  value: string;
  /** Parameters by lowercased name; RFC 2231 continuations joined, all values decoded to text. */
  params: Record<string, string>;
}

export interface MailAddress {
  /** Lowercased addr-spec. */
  address: string;
  name?: string;
}
