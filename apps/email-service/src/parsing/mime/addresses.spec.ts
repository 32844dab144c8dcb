import fc from 'fast-check';
import { parseAddressList, trueSender } from './addresses';
import { MAX_FIELD, charsetHints } from './header-text';
import { CharsetHints } from './types';
import { expectNoBlowUp } from './linear-time.testing';

const hex = (h: string) => Buffer.from(h.replace(/\s/g, ''), 'hex');
const bytes = (...parts: (string | Buffer)[]) =>
  Buffer.concat(parts.map((p) => (typeof p === 'string' ? Buffer.from(p, 'latin1') : p)));
const none: CharsetHints = { declared: [] };
const list = (s: string | Buffer, hints = none) => parseAddressList(typeof s === 'string' ? Buffer.from(s) : s, hints);

describe('parseAddressList', () => {
  it.each<[string, { address: string; name?: string }[]]>([
    ['a@example.com', [{ address: 'a@example.com' }]],
    ['Ann <Ann@Example.COM>', [{ address: 'ann@example.com', name: 'Ann' }]],
    [
      '"Smith, Ann" <ann@example.com>, bob@example.com',
      [{ address: 'ann@example.com', name: 'Smith, Ann' }, { address: 'bob@example.com' }],
    ],
    ['"Ann \\"The Boss\\" Smith" <ann@example.com>', [{ address: 'ann@example.com', name: 'Ann "The Boss" Smith' }]],
    ["'Ann Smith' <ann@example.com>", [{ address: 'ann@example.com', name: 'Ann Smith' }]],
    ['Ann (work) <ann@example.com> (comment, with comma)', [{ address: 'ann@example.com', name: 'Ann' }]],
    // Obsolete forms.
    ['ann@example.com (Ann Smith)', [{ address: 'ann@example.com', name: 'Ann Smith' }]],
    ['<ann@example.com> (Ann Smith)', [{ address: 'ann@example.com', name: 'Ann Smith' }]],
    ['Ann <@relay1.example,@relay2.example:ann@example.com>', [{ address: 'ann@example.com', name: 'Ann' }]],
    ['Ann < ann @ example.com >', [{ address: 'ann@example.com', name: 'Ann' }]],
    ['Ann ann@example.com', [{ address: 'ann@example.com', name: 'Ann' }]],
    ['<mailto:ann@example.com>', [{ address: 'ann@example.com' }]],
    ['"john doe"@example.com', [{ address: '"john doe"@example.com' }]],
    ['root@[IPv6:::1]', [{ address: 'root@[ipv6:::1]' }]],
    // Groups, flattened.
    ['undisclosed-recipients:;', []],
    [
      'Team: ann@example.com, "Bob" <bob@example.com>; carol@example.com',
      [{ address: 'ann@example.com' }, { address: 'bob@example.com', name: 'Bob' }, { address: 'carol@example.com' }],
    ],
    // Encoded words: decoded after tokenizing, so a comma inside one does not split the mailbox.
    ['=?iso-8859-1?Q?B=FCrling,=20Andreas?= <a@b.example>', [{ address: 'a@b.example', name: 'Bürling, Andreas' }]],
    [
      '=?utf-8?B?QsO8cmxpbmcsIEFuZHJlYXM=?= <a@b.example>, c@d.example',
      [{ address: 'a@b.example', name: 'Bürling, Andreas' }, { address: 'c@d.example' }],
    ],
    ['"=?utf-8?Q?M=C3=BCller,_Hans?=" <hans@example.com>', [{ address: 'hans@example.com', name: 'Müller, Hans' }]],
    [
      '=?utf-8?Q?J=C3=BCrgen?= =?utf-8?Q?_M=C3=BCller?= <j@example.com>',
      [{ address: 'j@example.com', name: 'Jürgen Müller' }],
    ],
    ['Dr.=?utf-8?Q?_M=C3=BCller?= <m@example.com>', [{ address: 'm@example.com', name: 'Dr. Müller' }]],
    ['=?utf-8?Q?=22Ann=22?= <ann@example.com>', [{ address: 'ann@example.com', name: 'Ann' }]],
    // The name equal to the address is no name.
    ['"ann@example.com" <Ann@Example.com>', [{ address: 'ann@example.com' }]],
    ["'ann@example.com' <ann@example.com>", [{ address: 'ann@example.com' }]],
    // Invalid mailboxes are skipped.
    ['"Name" <>', []],
    ['Name Only', []],
    ['', []],
    [' , ,, ', []],
    ['<not-an-address>, ok@example.com', [{ address: 'ok@example.com' }]],
    ['a@, @b, a@b', [{ address: 'a@b' }]],
    ['"unterminated <a@example.com>', []],
  ])('%s', (raw, out) => expect(list(raw)).toEqual(out));

  it('raw 8-bit display names decode through the hints', () => {
    expect(list(bytes('"', hex('d5c5ceb0'), '" <zhang@example.cn>'), { declared: ['gbk'] })).toEqual([
      { address: 'zhang@example.cn', name: '张伟' },
    ]);
    expect(list(bytes(hex('4dfc6c6c6572'), ', Hans <h@example.de>'))).toEqual([
      { address: 'h@example.de', name: 'Hans' },
    ]);
    expect(list(bytes(hex('4dfc6c6c6572'), ' <m@example.de>, Hans <h@example.de>'))).toEqual([
      { address: 'm@example.de', name: 'Müller' },
      { address: 'h@example.de', name: 'Hans' },
    ]);
    // 表 is 95 5C in Shift_JIS: its backslash byte does not escape the closing quote.
    expect(list(bytes('"', hex('955c'), '" <hyo@example.jp>'), { declared: ['shift_jis'] })).toEqual([
      { address: 'hyo@example.jp', name: '表' },
    ]);
    expect(list(bytes('hyo@example.jp (', hex('955c'), ')'), { declared: ['shift_jis'] })).toEqual([
      { address: 'hyo@example.jp', name: '表' },
    ]);
    // ー is 81 5B: no domain literal '['.
    expect(list(bytes(hex('834a815b835e815b'), ' <carter@example.jp>'), { declared: ['shift_jis'] })).toEqual([
      { address: 'carter@example.jp', name: 'カーター' },
    ]);
  });

  it('UTF-8 raw names need no hints', () => {
    expect(list(Buffer.from('Jürgen Müller <j@example.com>', 'utf8'))).toEqual([
      { address: 'j@example.com', name: 'Jürgen Müller' },
    ]);
  });

  it('never throws, and a 64 KB list parses in linear time', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 200 }), (s) => {
        expect(Array.isArray(list(s))).toBe(true);
      }),
      { numRuns: 500 },
    );
    const mailbox = '"A, B" <a@example.com>, ';
    const mailboxes = (n: number) => Buffer.from(mailbox.repeat(n));
    expect(list(mailboxes(3000)).length).toBeGreaterThan(2000);
    // As many mailboxes as a field holds below its cap, in one list and in 64 short ones.
    expectNoBlowUp(mailboxes, list, Math.floor(MAX_FIELD / mailbox.length));
  });
});

describe('trueSender', () => {
  const headers = (h: Record<string, string | string[] | Buffer>) => (name: string) => {
    const v = h[name];
    if (v === undefined) return [];
    return (Array.isArray(v) ? v : [v]).map((x) => (typeof x === 'string' ? Buffer.from(x) : x));
  };
  const sender = (h: Record<string, string | string[] | Buffer>, hints = none) => trueSender(headers(h), hints);

  it('the first valid From mailbox', () => {
    expect(sender({ from: 'Ann <ann@example.com>, bob@example.com', sender: 'x@example.com' })).toEqual({
      from: { address: 'ann@example.com', name: 'Ann' },
      header: 'from',
    });
    expect(sender({ from: '"Name" <>, bob@example.com' })).toEqual({
      from: { address: 'bob@example.com' },
      header: 'from',
    });
  });

  it('duplicated From headers: the first that yields a mailbox', () => {
    expect(sender({ from: ['undisclosed', 'Ann <ann@example.com>', 'bob@example.com'] })).toEqual({
      from: { address: 'ann@example.com', name: 'Ann' },
      header: 'from',
    });
  });

  it('an empty or unparseable From falls back to Sender, then Reply-To', () => {
    for (const from of ['"Name" <>', 'MAILER-DAEMON', '', '<>']) {
      expect(sender({ from, sender: 'Ann <ann@example.com>', 'reply-to': 'r@example.com' })).toEqual({
        from: { address: 'ann@example.com', name: 'Ann' },
        header: 'sender',
      });
      expect(sender({ from, sender: 'garbage', 'reply-to': 'Rob <r@example.com>' })).toEqual({
        from: { address: 'r@example.com', name: 'Rob' },
        header: 'reply-to',
      });
    }
    expect(sender({ 'reply-to': ['', 'r@example.com'] })).toEqual({
      from: { address: 'r@example.com' },
      header: 'reply-to',
    });
  });

  it("nothing gives an address: header 'none'", () => {
    expect(sender({})).toEqual({ header: 'none' });
    expect(sender({ from: 'nobody', sender: '<>', 'reply-to': 'Name' })).toEqual({ header: 'none' });
  });

  it('Google Groups DMARC rewriting: X-Original-From is the sender', () => {
    expect(
      sender({
        from: "'Ann Smith' via Support List <support@lists.example>",
        'x-original-from': 'Ann Smith <ann@customer.example>',
        'reply-to': 'support@lists.example',
      }),
    ).toEqual({
      from: { address: 'ann@customer.example', name: 'Ann Smith' },
      header: 'x-original-from',
      viaList: { address: 'support@lists.example', name: 'Support List' },
    });
    // X-Original-From without a name: the part before ' via '.
    expect(
      sender({
        from: '"Ann Smith via Support List" <support@lists.example>',
        'x-original-from': 'ann@customer.example',
      }),
    ).toEqual({
      from: { address: 'ann@customer.example', name: 'Ann Smith' },
      header: 'x-original-from',
      viaList: { address: 'support@lists.example', name: 'Support List' },
    });
  });

  it('Mailman from_is_list munging: a Reply-To differing from From is the sender', () => {
    expect(
      sender({ from: '"Ann Smith via Support-list" <support-list@lists.example>', 'reply-to': 'ann@customer.example' }),
    ).toEqual({
      from: { address: 'ann@customer.example', name: 'Ann Smith' },
      header: 'reply-to',
      viaList: { address: 'support-list@lists.example', name: 'Support-list' },
    });
    expect(
      sender({
        from: '"Ann Smith via Support-list" <support-list@lists.example>',
        'reply-to': '"A. Smith" <ann@customer.example>',
      }).from,
    ).toEqual({ address: 'ann@customer.example', name: 'A. Smith' });
  });

  it("a ' via ' name without a different original stays From", () => {
    const from = '"Ann via Support" <support@lists.example>';
    expect(sender({ from })).toEqual({
      from: { address: 'support@lists.example', name: 'Ann via Support' },
      header: 'from',
    });
    expect(sender({ from, 'reply-to': 'support@lists.example' }).header).toBe('from');
    // No ' via ' in the name: Reply-To is just a reply address.
    expect(sender({ from: 'Ann <ann@example.com>', 'reply-to': 'desk@example.com' }).header).toBe('from');
    expect(sender({ from: 'Ann <ann@example.com>', 'x-original-from': 'x@example.com' }).header).toBe('from');
    // An unusable X-Original-From: Reply-To is next.
    expect(sender({ from, 'x-original-from': 'garbage', 'reply-to': 'ann@customer.example' }).from?.address).toBe(
      'ann@customer.example',
    );
  });

  it('decodes encoded and raw 8-bit names', () => {
    const from = bytes('=?utf-8?Q?J=C3=BCrgen_via_Kunden?= <list@lists.example>');
    expect(sender({ from, 'x-original-from': '=?utf-8?Q?J=C3=BCrgen_M=C3=BCller?= <j@example.de>' })).toEqual({
      from: { address: 'j@example.de', name: 'Jürgen Müller' },
      header: 'x-original-from',
      viaList: { address: 'list@lists.example', name: 'Kunden' },
    });
    const raw = bytes('"', hex('d5c5ceb0'), '" <zhang@example.cn>');
    const hints = charsetHints([{ name: 'from', value: raw }], ['gb2312']);
    expect(sender({ from: raw }, hints)).toEqual({
      from: { address: 'zhang@example.cn', name: '张伟' },
      header: 'from',
    });
  });
});
