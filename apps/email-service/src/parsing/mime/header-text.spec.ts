import fc from 'fast-check';
import { parseAddressList } from './addresses';
import { detectCharset } from './charset';
import { MAX_FIELD, charsetHints, decodeHeaderText, parseStructuredHeader } from './header-text';
import { CharsetHints, RawHeader } from './types';
import { expectNoBlowUp } from './linear-time.testing';

// The real detector, observed: what charsetHints hands it is the bound under test (a wall-clock bound
// would fail on a slow machine and pass on a fast one whatever the code did).
jest.mock('./charset', () => {
  const actual = jest.requireActual<typeof import('./charset')>('./charset');
  return { ...actual, detectCharset: jest.fn(actual.detectCharset) };
});
const detect = jest.mocked(detectCharset);

// Legacy-charset bytes made with Python, e.g. `python3 -c "print('张伟'.encode('gb2312').hex())"`.
const hex = (h: string) => Buffer.from(h.replace(/\s/g, ''), 'hex');
const bytes = (...parts: (string | Buffer)[]) =>
  Buffer.concat(parts.map((p) => (typeof p === 'string' ? Buffer.from(p, 'latin1') : p)));
const none: CharsetHints = { declared: [] };
const text = (s: string | Buffer, hints = none) => decodeHeaderText(typeof s === 'string' ? Buffer.from(s) : s, hints);

describe('decodeHeaderText: RFC 2047 encoded words', () => {
  it.each([
    ['=?utf-8?B?R3LDvMOfZQ==?=', 'Grüße'],
    ['=?UTF-8?b?R3LDvMOfZQ==?=', 'Grüße'],
    ['=?utf-8?Q?Gr=C3=BC=C3=9Fe_aus_Z=C3=BCrich?=', 'Grüße aus Zürich'],
    ['=?utf-8?q?Gr=c3=bc=c3=9fe?=', 'Grüße'],
    ['=?ISO-8859-1?Q?M=FCller?=', 'Müller'],
    ['Re: =?utf-8?Q?caf=C3=A9?= time', 'Re: café time'],
    // Adjacent encoded words join without the whitespace between them (also a folded line).
    ['=?utf-8?Q?Gr=C3=BC?= =?utf-8?Q?=C3=9Fe?=', 'Grüße'],
    ['=?utf-8?Q?a?=\t  =?iso-8859-1?Q?=E9?=', 'aé'],
    ['=?utf-8?Q?a?= b =?utf-8?Q?c?=', 'a b c'],
    // RFC 2231 language suffix.
    ['=?utf-8*en?Q?Hello_w=C3=B6rld?=', 'Hello wörld'],
    ['=?US-ASCII*EN?Q?Keith_Moore?=', 'Keith Moore'],
    // A character split across two words: the bytes are joined before decoding.
    ['=?utf-8?B?5pel5pys6Kqe44Gn?= =?utf-8?B?44GZ?=', '日本語です'],
    ['=?utf-8?B?5pel5pys6A==?= =?utf-8?B?qp4=?=', '日本語'],
    ['=?utf-8?Q?=E6=97?= =?utf-8?Q?=A5?=', '日'],
    ['=?gb2312?B?1cU=?= =?GB2312?B?zrA=?=', '张伟'],
    ['=?iso-2022-jp?B?GyRCOzNFRBsoQg==?=', '山田'],
    // Also inside quoted strings and glued to words, as mailers send them.
    ['"=?utf-8?Q?M=C3=BCller?=" <a@b>', '"Müller" <a@b>'],
    ['Pre=?utf-8?Q?=C3=A9?=post', 'Preépost'],
    // Malformed words stay as they are.
    ['=?utf-8?X?abc?=', '=?utf-8?X?abc?='],
    ['=?utf-8?Q?unterminated', '=?utf-8?Q?unterminated'],
    ['=??Q?abc?=', '=??Q?abc?='],
    ['=?utf-8?Q?has space?=', '=?utf-8?Q?has space?='],
    ['=?utf-8?Q?bad=ZZescape?=', 'bad=ZZescape'],
    ['=?utf-8?Q??=', ''],
    // Unknown charset: decoded like unlabelled bytes.
    ['=?x-unknown?Q?caf=C3=A9?=', 'café'],
  ])('%s → %s', (raw, out) => expect(text(raw)).toBe(out));

  it('decodes mislabelled words: Shift_JIS as ISO-2022-JP, UTF-8 as iso-8859-1, GBK as gb2312', () => {
    expect(text('=?ISO-2022-JP?B?jlKTY5G+mFk=?=')).toBe('山田太郎');
    expect(text('=?iso-8859-1?Q?M=C3=BCller?=')).toBe('Müller');
    expect(text('=?gb2312?Q?=E9=46?=')).toBe('镕'); // GBK-only character
  });

  it('control characters become spaces, NUL never survives', () => {
    expect(text('=?utf-8?Q?a=0D=0Ab=00c?= d')).toBe('a b c d');
  });
});

describe('decodeHeaderText: raw 8-bit bytes', () => {
  it('valid UTF-8 first', () =>
    expect(text(Buffer.from('Grüße 张伟', 'utf8'), { declared: ['gbk'] })).toBe('Grüße 张伟'));
  it('windows-1252 as last resort, never U+FFFD', () =>
    expect(text(hex('4dfc6c6c6572 20 93 80 94'))).toBe('Müller “€”'));
  it('raw 8-bit next to an encoded word', () =>
    expect(text(bytes(hex('d5c5ceb0'), ' =?utf-8?Q?=E2=82=AC?='), { declared: ['gbk'] })).toBe('张伟 €'));
});

/** [declared label, name, name bytes, subject, subject bytes] — bytes from Python's codecs. */
const CASES: [string, string, string, string, string][] = [
  ['gb2312', '张伟', 'd5c5ceb0', '关于发票的问题，请尽快回复', 'b9d8d3dab7a2c6b1b5c4cecacce2a3acc7ebbea1bfecbbd8b8b4'],
  [
    'big5',
    '陳大文',
    'b3afa46aa4e5',
    '關於發票的問題，請盡快回覆',
    'c3f6a9f3b56fb2bcaabab0ddc344a141bdd0bac9a7d6a65ec2d0',
  ],
  [
    'shift_jis',
    '山田太郎',
    '8e52936391be9859',
    '請求書についてのお問い合わせ',
    '90bf8b818f9182c982c282a282c482cc82a896e282a28d8782ed82b9',
  ],
  [
    'ks_c_5601-1987',
    '김철수',
    'b1e8c3b6bcf6',
    '청구서 관련 문의드립니다',
    'c3bbb1b8bcad20b0fcb7c320b9aec0c7b5e5b8b3b4cfb4d9',
  ],
  [
    'euc-jp',
    '山田花子',
    'bbb3c5c4b2d6bbd2',
    '請求書についてのお問い合わせ',
    'c0c1b5e1bdf1a4cba4c4a4a4a4c6a4cea4aacce4a4a4b9e7a4efa4bb',
  ],
  ['koi8-r', 'Иван Петров', 'e9d7c1ce20f0c5d4d2cfd7', 'Вопрос по счёту', 'f7cfd0d2cfd320d0cf20d3dea3d4d5'],
  ['windows-1251', 'Иван Петров', 'c8e2e0ed20cfe5f2f0eee2', 'Вопрос по счёту', 'c2eeeff0eef120efee20f1f7b8f2f3'],
  ['windows-1250', 'Łukasz Żółć', 'a3756b61737a20aff3b3e6', 'Pytanie o fakturę', '507974616e6965206f2066616b747572ea'],
  [
    'windows-1253',
    'Ελένη',
    'c5ebddede7',
    'Ερώτηση για το τιμολόγιο',
    'c5f1fef4e7f3e720e3e9e120f4ef20f4e9ecefebfce3e9ef',
  ],
  [
    'windows-1254',
    'Çağrı Yılmaz',
    'c761f072fd2059fd6c6d617a',
    'Fatura hakkında soru',
    '4661747572612068616b6bfd6e646120736f7275',
  ],
  [
    'windows-1252',
    'Jürgen Müller',
    '4afc7267656e204dfc6c6c6572',
    'Frage zur Rechnung – „dringend“ 20 €',
    '4672616765207a757220526563686e756e67209620846472696e67656e64932032302080',
  ],
];

describe.each(CASES)('raw 8-bit %s Subject and From display name', (label, name, nameHex, subject, subjectHex) => {
  const mail = (fromValue: Buffer): RawHeader[] => [
    { name: 'subject', value: hex(subjectHex) },
    { name: 'from', value: fromValue },
    { name: 'content-type', value: Buffer.from('text/plain') },
  ];
  const quoted = bytes('"', hex(nameHex), '" <Sender@Example.COM>');
  const bare = bytes(hex(nameHex), ' <sender@example.com>');

  it('with the charset declared elsewhere in the mail (a body part)', () => {
    for (const from of [quoted, bare]) {
      const hints = charsetHints(mail(from), [label]);
      expect(decodeHeaderText(hex(subjectHex), hints)).toBe(subject);
      expect(parseAddressList(from, hints)).toEqual([{ address: 'sender@example.com', name }]);
    }
    // The name alone (no 8-bit Subject to detect on): the declaration decides.
    const hints = charsetHints([{ name: 'from', value: quoted }], [label]);
    expect(parseAddressList(quoted, hints)[0].name).toBe(name);
  });

  it('without any declaration: detected over the Subject and From bytes together', () => {
    for (const from of [quoted, bare]) {
      const hints = charsetHints(mail(from), []);
      expect(decodeHeaderText(hex(subjectHex), hints)).toBe(subject);
      expect(parseAddressList(from, hints)).toEqual([{ address: 'sender@example.com', name }]);
    }
  });

  it('never U+FFFD, even for the name alone without hints', () => {
    expect(decodeHeaderText(hex(nameHex), none)).not.toContain('\ufffd');
  });
});

describe('charsetHints', () => {
  const h = (name: string, value: string | Buffer): RawHeader => ({
    name,
    value: typeof value === 'string' ? Buffer.from(value) : value,
  });

  it('canonicalises the declared labels: deduplicated, unknown and us-ascii dropped', () => {
    expect(charsetHints([], ['GB2312', 'gbk', 'x-unknown', 'us-ascii', 'ISO-8859-1', 'utf-8'])).toEqual({
      declared: ['gbk', 'windows-1252', 'utf-8'],
    });
  });

  it("adds the charsets of the mail's encoded words", () => {
    const hints = charsetHints([h('subject', '=?Big5?B?s6+kaqTl?='), h('to', '=?utf-8*en?Q?x?=')], ['gbk']);
    expect(hints.declared).toEqual(['gbk', 'big5', 'utf-8']);
  });

  it('detects only when 8-bit, non-UTF-8 header bytes exist', () => {
    expect(charsetHints([h('subject', 'plain')], []).detected).toBeUndefined();
    expect(charsetHints([h('subject', Buffer.from('Grüße', 'utf8'))], []).detected).toBeUndefined();
    // A UTF-8 field does not spoil the sample of the legacy ones.
    const hints = charsetHints(
      [h('subject', Buffer.from('Grüße', 'utf8')), h('subject', hex(CASES[0][4])), h('from', hex(CASES[0][2]))],
      [],
    );
    expect(hints.detected).toBe('gbk');
  });

  it('hands detection at most 64 KB, however long the fields', () => {
    const big = Buffer.alloc(1 << 20, hex('d5c5ceb0'));
    detect.mockClear();
    expect(charsetHints([h('subject', big), h('from', big)], []).detected).toBe('gbk');
    expect(detect).toHaveBeenCalledTimes(1);
    expect(detect.mock.calls[0][0].length).toBe(MAX_FIELD);
  });
});

describe('parseStructuredHeader', () => {
  const parse = (s: string | Buffer, hints = none) =>
    parseStructuredHeader(typeof s === 'string' ? Buffer.from(s, 'latin1') : s, hints);

  it('value and params, lowercased names and value', () => {
    expect(parse('Text/HTML; Charset=UTF-8; format=flowed')).toEqual({
      value: 'text/html',
      params: { charset: 'UTF-8', format: 'flowed' },
    });
    expect(parseStructuredHeader(undefined, none)).toEqual({ value: '', params: {} });
    expect(parse('')).toEqual({ value: '', params: {} });
    expect(parse('attachment')).toEqual({ value: 'attachment', params: {} });
  });

  it('quoted strings with backslash escapes and semicolons, comments', () => {
    expect(parse('attachment; filename="a \\"b\\"; c.pdf"; size=12').params).toEqual({
      filename: 'a "b"; c.pdf',
      size: '12',
    });
    expect(parse('text/plain (Plain text); charset=us-ascii (comment)').params).toEqual({ charset: 'us-ascii' });
    expect(parse('text/plain (Plain text); charset=us-ascii (comment)').value).toBe('text/plain');
    expect(parse('attachment; filename=report (1).pdf').params.filename).toBe('report (1).pdf');
    expect(parse('attachment; filename="unterminated.pdf').params.filename).toBe('unterminated.pdf');
    expect(parse('attachment; filename = "spaced.pdf" ; x').params).toEqual({ filename: 'spaced.pdf' });
  });

  it('the boundary stays byte-exact', () => {
    expect(parse('multipart/mixed; boundary="  =?x?q?y?= ="').params.boundary).toBe('  =?x?q?y?= =');
  });

  it('duplicate params: the first wins; an RFC 2231 value beats a plain one', () => {
    expect(parse('a; x=1; X=2').params.x).toBe('1');
    expect(parse("a; filename=fallback.pdf; filename*=utf-8''%E2%82%AC.pdf").params.filename).toBe('€.pdf');
  });

  it("RFC 2231: charset'lang'%XX, continuations in index order, encoded and plain segments mixed", () => {
    expect(parse("attachment; filename*=UTF-8''%E8%AF%B7%E6%B1%82%E4%B9%A6.pdf").params.filename).toBe('请求书.pdf');
    expect(parse("attachment; filename*=iso-8859-1'de'M%FCller.txt").params.filename).toBe('Müller.txt');
    expect(
      parse(
        "message/external-body; title*2=\"isn't it!\"; title*0*=us-ascii'en'This%20is%20even%20more%20; title*1*=%2A%2A%2Afun%2A%2A%2A%20",
      ).params.title,
    ).toBe("This is even more ***fun*** isn't it!");
    // A character split across segments.
    expect(parse("a; name*0*=utf-8''%E8%AF; name*1*=%B7.pdf").params.name).toBe('请.pdf');
    // Plain continuations are ordinary text (an encoded word split over them, even).
    expect(parse('a; name*0="long "; name*1="name.pdf"').params.name).toBe('long name.pdf');
    expect(parse('a; name*0="=?utf-8?B?6K+35rGC"; name*1="5Lmm?="').params.name).toBe('请求书');
    // Quoted (non-standard) and charset-less extended values.
    expect(parse('a; filename*="utf-8\'\'%E2%82%AC.pdf"').params.filename).toBe('€.pdf');
    expect(parse('a; filename*=%E2%82%AC.pdf').params.filename).toBe('€.pdf');
    // Wrong charset in the extended value: decoded anyway.
    expect(parse("a; filename*=iso-2022-jp''%8E%52%93%63.txt").params.filename).toBe('山田.txt');
  });

  it('encoded words in quoted params (Outlook\'s name="=?utf-8?B?…?=")', () => {
    const h = 'application/pdf; name="=?utf-8?B?6KuL5rGC5pu4LnBkZg==?="';
    expect(parse(h).params.name).toBe('請求書.pdf');
    expect(
      parse('attachment; filename="=?ISO-8859-1?Q?M=FCller?= =?ISO-8859-1?Q?_Rechnung.pdf?="').params.filename,
    ).toBe('Müller Rechnung.pdf');
  });

  it('raw 8-bit filenames through the hints, 0x5C trail bytes kept', () => {
    const gbk = bytes('attachment; filename="', hex('d5c5ceb0'), '.pdf"');
    expect(parse(gbk, { declared: ['gb2312'] }).params.filename).toBe('张伟.pdf');
    // 表 is 95 5C in Shift_JIS: the backslash is no escape.
    const sjis = bytes('attachment; filename="', hex('955c8ea6'), '.pdf"; size=3');
    expect(parse(sjis, { declared: ['shift_jis'] }).params).toEqual({ filename: '表示.pdf', size: '3' });
    expect(parse(bytes('attachment; filename=', hex('4dfc6c6c6572'), '.txt')).params.filename).toBe('Müller.txt');
  });
});

describe('hostile headers', () => {
  const patterns = [
    '=?',
    '=?utf-8?q?',
    '=?utf-8?q?=',
    '=?a?b?=?a?q?',
    '"\\',
    '(',
    '((\\',
    '<',
    '; a*0*=',
    "; a*=utf-8''%",
    ' ',
    'a=?x*',
    'x via ',
  ];

  const field = (p: string) => (size: number) => Buffer.from(p.repeat(Math.ceil(size / p.length)));
  const all = (value: Buffer) => {
    decodeHeaderText(value, none);
    parseStructuredHeader(value, none);
    parseAddressList(value, none);
  };

  it.each(patterns)('64 KB of %j decode in linear time', (p) => {
    expectNoBlowUp(field(p), all, MAX_FIELD);
  });

  it.each(patterns)('a 1 MB field of %j is read only up to the 64 KB cap', (p) => {
    // Every scan starts from the field as text: no string longer than the cap means no scan past it.
    const toString = jest.spyOn(Buffer.prototype, 'toString');
    try {
      all(field(p)(1 << 20));
      const longest = toString.mock.results.reduce((n, r) => Math.max(n, (r.value as string).length), 0);
      expect(longest).toBe(MAX_FIELD);
    } finally {
      toString.mockRestore();
    }
  });

  // Bounded by its number of runs; blow-ups are the hostile patterns' business (timed as a ratio above).
  it('random bytes never throw', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ maxLength: 400 }),
        fc.constantFrom(none, { declared: ['gbk'], detected: 'big5' }),
        (raw, hints) => {
          const buf = Buffer.from(raw);
          expect(typeof decodeHeaderText(buf, hints)).toBe('string');
          expect(parseStructuredHeader(buf, hints).params).toBeDefined();
          expect(Array.isArray(parseAddressList(buf, hints))).toBe(true);
          expect(charsetHints([{ name: 'subject', value: buf }], ['utf-8']).declared).toBeDefined();
        },
      ),
      { numRuns: 500 },
    );
  });

  it('random MIME-ish strings never throw', () => {
    const alphabet = fc.constantFrom(...'=?*\'"\\();:,<>@ %bBqQ_0123456789abcdef\r\n\t\x80\xff'.split(''));
    fc.assert(
      fc.property(fc.array(alphabet, { maxLength: 200 }), (chars) => {
        const buf = Buffer.from(chars.join(''), 'latin1');
        decodeHeaderText(buf, none);
        parseStructuredHeader(buf, none);
        parseAddressList(buf, none);
      }),
      { numRuns: 500 },
    );
  });
});
