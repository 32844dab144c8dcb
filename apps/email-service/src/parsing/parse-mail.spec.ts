import { createHash } from 'node:crypto';
import { parseMail, quickHeaders } from './parse-mail';
import { ParseTimeoutError, ParserPool } from './parser-pool';

const opts = { attachmentUrlBase: '/v1/attachments/' };
const crlf = (lines: string[]) => Buffer.from(lines.join('\r\n'), 'latin1');

describe('parseMail', () => {
  it('decodes ISO-8859-1, windows-1252 and encoded-word UTF-8 headers to UTF-8', async () => {
    const latin1 = Buffer.concat([
      crlf([
        'From: =?UTF-8?B?SsO8cmdlbiBNw7xsbGVy?= <jm@example.test>',
        'Subject: =?UTF-8?Q?R=C3=BCckerstattung_f=C3=BCr_=E2=82=AC20?=',
        'Message-ID: <latin@example.test>',
        'Content-Type: text/plain; charset=ISO-8859-1',
        'Content-Transfer-Encoding: 8bit',
        '',
        '',
      ]),
      Buffer.from('Grüße aus Köln, café', 'latin1'),
    ]);
    const a = await parseMail(latin1, opts);
    expect(a.subject).toBe('Rückerstattung für €20');
    expect(a.from).toEqual({ address: 'jm@example.test', name: 'Jürgen Müller' });
    expect(a.text).toBe('Grüße aus Köln, café');

    const cp1252 = Buffer.concat([
      crlf(['From: a@example.test', 'Content-Type: text/plain; charset=windows-1252', '', '']),
      Buffer.from([0x93, 0x51, 0x75, 0x6f, 0x74, 0x65, 0x94, 0x20, 0x80, 0x35]),
    ]);
    expect((await parseMail(cp1252, opts)).text).toBe('“Quote” €5');
  });

  it('decodes ISO-2022-JP', async () => {
    // "こんにちは" in ISO-2022-JP
    const body = Buffer.from('1b244224332473244b2441244f1b2842', 'hex');
    const raw = Buffer.concat([
      crlf([
        'From: jp@example.test',
        'Subject: =?ISO-2022-JP?B?GyRCJDMkcyRLJEEkTxsoQg==?=',
        'Content-Type: text/plain; charset=ISO-2022-JP',
        'Content-Transfer-Encoding: 7bit',
        '',
        '',
      ]),
      body,
    ]);
    const m = await parseMail(raw, opts);
    expect(m.subject).toBe('こんにちは');
    expect(m.text).toBe('こんにちは');
  });

  it('sanitizes HTML, blocks remote images, rewrites cid: and derives text', async () => {
    const png = Buffer.from('89504e470d0a1a0a0000000d49484452', 'hex');
    const sha = createHash('sha256').update(png).digest('hex');
    const raw = crlf([
      'From: h@example.test',
      'Message-ID: <html@example.test>',
      'Content-Type: multipart/related; boundary="b1"',
      '',
      '--b1',
      'Content-Type: text/html; charset=utf-8',
      '',
      '<p onclick="x()">Hello <b>there</b><script>alert(1)</script></p>',
      '<img src="https://tracker.example/p.gif"><img src="cid:logo@x"><a href="javascript:alert(1)">j</a>',
      '<p>card 4111 1111 1111 1111</p>',
      '--b1',
      'Content-Type: image/png',
      'Content-ID: <logo@x>',
      'Content-Disposition: inline; filename="logo.png"',
      'Content-Transfer-Encoding: base64',
      '',
      png.toString('base64'),
      '--b1--',
      '',
    ]);
    const m = await parseMail(raw, opts);
    expect(m.html).not.toMatch(/script|onclick|tracker\.example|javascript:/);
    expect(m.html).toContain(`src="/v1/attachments/${sha}"`);
    expect(m.html).toContain('data-oq-blocked="remote-image"');
    expect(m.html).toContain('•••• •••• •••• 1111');
    expect(m.text).toContain('Hello there');
    expect(m.text).not.toContain('4111 1111 1111 1111');
    expect(m.attachments).toHaveLength(1);
    expect(m.attachments[0]).toMatchObject({ sha256: sha, contentId: 'logo@x', inline: true, size: png.length });
  });

  it('separates quoted history and the signature, keeping the full body', async () => {
    const raw = crlf([
      'From: c@example.test',
      'In-Reply-To: <oq.1@x>',
      'References: <a@x> <oq.1@x>',
      '',
      'Still no refund.',
      '',
      '-- ',
      'Carla',
      '',
      'On Tue, 24 Nov 2026 at 10:00, Support <support@example.test> wrote:',
      '> We are on it.',
    ]);
    const m = await parseMail(raw, opts);
    expect(m.text).toBe('Still no refund.');
    expect(m.signature).toBe('Carla');
    expect(m.quoted).toMatch(/^On Tue.*wrote:\n> We are on it\.$/);
    expect(m.fullText).toContain('> We are on it.');
    expect(m.inReplyTo).toEqual(['<oq.1@x>']);
    expect(m.references).toEqual(['<a@x>', '<oq.1@x>']);
  });

  it.each([
    ['Auto-Submitted: auto-replied', 'Subject: hello'],
    ['Precedence: bulk', 'Subject: hello'],
    ['X-Autoreply: yes', 'Subject: hello'],
    ['X-Auto-Response-Suppress: All', 'Subject: hello'],
    ['List-Unsubscribe: <mailto:u@x>', 'Subject: hello'],
    ['X-Other: 1', 'Subject: Out of Office: back Monday'],
    ['X-Other: 1', 'Subject: Automatische Antwort: Urlaub'],
  ])('flags %s / %s as automatic', async (header, subject) => {
    const m = await parseMail(crlf(['From: a@example.test', header, subject, '', 'away']), opts);
    expect(m.autoSubmittedReason).toBeTruthy();
  });

  it('does not flag a human mail or Auto-Submitted: no', async () => {
    const m = await parseMail(
      crlf(['From: a@example.test', 'Auto-Submitted: no', 'Subject: my refund', '', 'hi']),
      opts,
    );
    expect(m.autoSubmittedReason).toBeUndefined();
    expect(m.bounce).toBeUndefined();
  });

  it('reads a delivery-status report: original Message-ID and diagnostic', async () => {
    const raw = crlf([
      'From: Mail Delivery System <MAILER-DAEMON@mx.example.test>',
      'To: support@example.test',
      'Subject: Undelivered Mail Returned to Sender',
      'Content-Type: multipart/report; report-type=delivery-status; boundary="r"',
      '',
      '--r',
      'Content-Type: text/plain',
      '',
      'I could not deliver your message.',
      '--r',
      'Content-Type: message/delivery-status',
      '',
      'Reporting-MTA: dns; mx.example.test',
      '',
      'Final-Recipient: rfc822; nobody@example.test',
      'Action: failed',
      'Status: 5.1.1',
      'Diagnostic-Code: smtp; 550 5.1.1 <nobody@example.test>: Recipient address',
      '    rejected: User unknown',
      '--r',
      'Content-Type: text/rfc822-headers',
      '',
      'From: support@example.test',
      'Message-ID: <oq.abc.def.123@example.test>',
      'Subject: Re: refund [#10001]',
      '--r--',
      '',
    ]);
    const m = await parseMail(raw, opts);
    expect(m.bounce).toEqual({
      originalMessageId: '<oq.abc.def.123@example.test>',
      diagnostic: '550 5.1.1 <nobody@example.test>: Recipient address rejected: User unknown',
    });
    expect(m.autoSubmittedReason).toBeTruthy();
  });

  it('reads headers cheaply for mails the parser cannot take', () => {
    const h = quickHeaders(
      crlf(['Subject: =?UTF-8?Q?gro=C3=9F?=', 'From: "X" <X@Example.test>', 'Message-ID: <q@x>', '', 'body']),
    );
    expect(h).toEqual({ subject: 'groß', from: 'x@example.test', messageId: '<q@x>' });
  });
});

describe('ParserPool', () => {
  let pool: ParserPool;
  afterEach(async () => pool?.close());

  it('parses a pathological mail (2,000 links, 5 MB of text) without blocking the event loop', async () => {
    // The service's nursery cap: a small young generation still parses the big mail.
    pool = new ParserPool(2, 10_000, opts, { youngGenerationMb: 8 });
    const links = Array.from({ length: 2000 }, (_, i) => `<a href="https://x.example/${i}">link ${i}</a>`).join(' ');
    const text = 'lorem ipsum dolor sit amet '.repeat(200_000);
    const raw = crlf([
      'From: p@example.test',
      'Content-Type: multipart/alternative; boundary="p"',
      '',
      '--p',
      'Content-Type: text/plain; charset=utf-8',
      '',
      text,
      '--p',
      'Content-Type: text/html; charset=utf-8',
      '',
      `<p>${links}</p>`,
      '--p--',
    ]);
    let ticks = 0;
    const timer = setInterval(() => ticks++, 10);
    const started = Date.now();
    const m = await pool.parse(raw);
    clearInterval(timer);
    expect(m.truncated).toBe(true);
    expect(m.text.length).toBe(1_000_000);
    expect(m.html!.match(/<a /g)).toHaveLength(2000);
    // The main thread kept ticking while the worker parsed.
    expect(ticks).toBeGreaterThan((Date.now() - started) / 10 / 3);
  });

  it('terminates a parse that runs past the timeout and keeps serving', async () => {
    pool = new ParserPool(1, 50, opts);
    const huge = crlf(['From: p@example.test', '', 'x'.repeat(30_000_000)]);
    await expect(pool.parse(huge)).rejects.toBeInstanceOf(ParseTimeoutError);
    // The replacement worker needs a moment to start; the small mail then parses normally.
    const ok = await pool.parse(crlf(['From: a@example.test', 'Subject: fine', '', 'ok']));
    expect(ok.subject).toBe('fine');
  });

  it('starts a spare thread only when a slow parse holds mails up', async () => {
    pool = new ParserPool(2, 10_000, opts, { spareAfterMs: 100 });
    expect(pool.threads).toBe(1);
    const fast = crlf(['From: a@example.test', 'Subject: fine', '', 'ok']);
    await Promise.all(Array.from({ length: 50 }, () => pool.parse(fast)));
    expect(pool.threads).toBe(1);
    // A slow mail (tens of MB of text) with one behind it: the one behind does not wait for it.
    const slow = pool.parse(crlf(['From: p@example.test', '', 'lorem ipsum '.repeat(4_000_000)]));
    const behind = pool.parse(fast);
    await behind;
    expect(pool.threads).toBe(2);
    await slow;
  });
});
