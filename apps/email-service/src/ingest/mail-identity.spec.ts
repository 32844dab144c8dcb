import { createHash } from 'node:crypto';
import { legacyMailExternalId, mailContentHash, mailExternalId } from './mail-identity';

const mail = (headers: string[], body: string, eol = '\r\n') => Buffer.from([...headers, '', body].join(eol), 'latin1');
const base = [
  'From: Ana <ana@customer.test>',
  'To: help@wallet.test',
  'Subject: Refund',
  'Message-ID: <a-1@customer.test>',
];

describe('mail identity (Message-ID + content without trace headers)', () => {
  it('is the same for a re-delivery that only gained trace headers, folded ones included', () => {
    const original = mail(base, 'My transfer failed.');
    const redelivered = mail(
      [
        'Return-Path: <ana@customer.test>',
        'Received: from mx1.wallet.test (mx1.wallet.test [10.0.0.1])',
        '\tby imap.wallet.test with LMTP; Tue, 1 Dec 2026 10:00:00 +0000',
        'Delivered-To: help@wallet.test',
        'X-Spam-Status: No, score=-1.0',
        'ARC-Seal: i=1; a=rsa-sha256; cv=none; d=wallet.test',
        'Authentication-Results: mx1.wallet.test; spf=pass',
        ...base,
      ],
      'My transfer failed.',
    );
    expect(mailContentHash(redelivered)).toBe(mailContentHash(original));
    expect(mailExternalId('<a-1@customer.test>', mailContentHash(original))).toMatch(
      /^<a-1@customer\.test>#[0-9a-f]{32}$/,
    );
  });

  it('differs for a different mail that reuses the Message-ID, or any other header', () => {
    const a = mailContentHash(mail(base, 'My transfer failed.'));
    expect(mailContentHash(mail(base, 'Please close my account.'))).not.toBe(a);
    expect(mailContentHash(mail([...base.slice(0, 2), 'Subject: Refund!', base[3]], 'My transfer failed.'))).not.toBe(
      a,
    );
    // A header that merely starts like a trace field is content.
    expect(mailContentHash(mail([...base, 'Received-By-Agent: bob'], 'My transfer failed.'))).not.toBe(a);
  });

  it('handles LF-only mail and mail without a body or a header block', () => {
    const lf = mail(['Received: by x', ...base], 'hi', '\n');
    expect(mailContentHash(lf)).toBe(mailContentHash(mail(base, 'hi', '\n')));
    expect(mailContentHash(Buffer.from('no headers at all'))).toMatch(/^[0-9a-f]{64}$/);
  });

  it('falls back to the content hash without a usable Message-ID, and names the id mail had before', () => {
    const h = 'ab'.repeat(32);
    expect(mailExternalId(undefined, h)).toBe(`sha256:${h}`);
    expect(mailExternalId(`<${'x'.repeat(500)}@y>`, h)).toBe(`sha256:${h}`);
    const raw = createHash('sha256').update('raw').digest('hex');
    expect(legacyMailExternalId('<a-1@customer.test>', raw)).toBe('<a-1@customer.test>');
    expect(legacyMailExternalId(undefined, raw)).toBe(`sha256:${raw}`);
  });
});
