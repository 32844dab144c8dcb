import { createHash, randomUUID } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { NestFastifyApplication } from '@nestjs/platform-fastify';
import { InboundMessage, generateEmailMessageId, inboundJobId } from '@oq/contracts';
import { createTestDatabase, dropQueuePrefix, testQueuePrefix, TestDatabase } from '@oq/database/testing/test-env';
import { BlobStore } from '@oq/platform';
import { DataSource } from 'typeorm';
import { DovecotServer } from '../../../../test/support/dovecot';
import { InboxDirectory } from '../inboxes/inbox-directory.service';
import {
  InboxApiStub,
  QueueProbe,
  emailInbox,
  emailServiceEnv,
  startEmailService,
  until,
  waitForMailbox,
} from '../testing/email-test-kit';

const USER = 'support@example.test';
const PASS = 'secret-pw';
const INBOX = randomUUID();
/** Another address of the same mailbox (inbox settings `aliases`). */
const ALIAS = 'billing@example.test';

function mail(n: string, extra: string[] = [], body = `Hello ${n}`): string {
  return [
    `From: Customer ${n} <customer${n}@example.org>`,
    `To: ${USER}`,
    `Subject: Refund ${n}`,
    `Message-ID: <m${n}.${INBOX}@example.org>`,
    'Date: Wed, 25 Nov 2026 10:00:00 +0000',
    ...extra,
    '',
    body,
    '',
  ].join('\r\n');
}

describe('email-service IMAP ingest (real Dovecot)', () => {
  let dovecot: DovecotServer;
  let api: InboxApiStub;
  let db: TestDatabase;
  let probe: QueueProbe;
  let app: NestFastifyApplication | undefined;
  const prefix = testQueuePrefix();

  const payloads = async (): Promise<InboundMessage[]> =>
    (await probe.inboundJobs()).map((j) => j.data as InboundMessage);
  // The externalId is the Message-ID with a content hash (mail-identity.ts); tests find mail by its Message-ID.
  const byExternal = async (id: string) => (await payloads()).find((p) => p.email?.messageId === id);

  beforeAll(async () => {
    [dovecot, api, db] = await Promise.all([
      DovecotServer.start({ [USER]: PASS }),
      InboxApiStub.start(),
      createTestDatabase(),
    ]);
    api.inboxes = [emailInbox(INBOX, USER, { port: dovecot.port, user: USER, password: PASS }, { aliases: [ALIAS] })];
    probe = new QueueProbe(prefix);
  });

  afterAll(async () => {
    await app?.close();
    await probe.close();
    await Promise.all([dovecot.destroy(), api.stop(), db.drop(), dropQueuePrefix(prefix)]);
  });

  /** A counter of this replica's /metrics: oq_email_mails_total with the given labels. */
  const mailsCounted = async (result: string, reason: string) => {
    const text = await (await fetch(`${await app!.getUrl()}/metrics`)).text();
    const line = text
      .split('\n')
      .find(
        (l) =>
          l.startsWith('oq_email_mails_total{') && l.includes(`result="${result}"`) && l.includes(`reason="${reason}"`),
      );
    return Number(line?.split(' ')[1] ?? 0);
  };

  const start = async (extra: Record<string, string> = {}) => {
    // Tiny batches so the backlog and the resync run through several pipelined chunks.
    app = await startEmailService(emailServiceEnv(db, prefix, api, { EMAIL_FETCH_BATCH: '2', ...extra }));
    await waitForMailbox(app);
  };

  it('imports the backlog, then picks up an appended mail by IDLE within 2 s', async () => {
    await dovecot.append(USER, [mail('1'), mail('2')]);
    await start();
    await until(async () => (await payloads()).length === 2, 10_000, 'backlog imported');

    const internalDate = new Date('2026-11-25T09:30:00Z');
    const appendedAt = Date.now();
    await dovecot.append(USER, [mail('3')], { internalDate });
    await until(async () => !!(await byExternal(`<m3.${INBOX}@example.org>`)), 2000, 'IDLE pickup');
    const elapsed = Date.now() - appendedAt;
    expect(elapsed).toBeLessThan(2000);

    const m3 = (await byExternal(`<m3.${INBOX}@example.org>`))!;
    expect(m3).toMatchObject({
      inboxId: INBOX,
      channel: 'email',
      sender: { kind: 'email', value: 'customer3@example.org', displayName: 'Customer 3' },
      subject: 'Refund 3',
      text: 'Hello 3',
      sourceTime: internalDate.toISOString(),
      email: { messageId: `<m3.${INBOX}@example.org>`, autoSubmitted: false },
    });
    const job = (await probe.inboundJobs()).find((j) => (j.data as InboundMessage).externalId === m3.externalId)!;
    expect(job.id).toBe(inboundJobId(INBOX, m3.externalId, 0));

    const ds = app!.get(DataSource);
    const [cursor] = await ds.query('SELECT last_uid FROM email_imap_cursors WHERE inbox_id = $1', [INBOX]);
    expect(Number(cursor.last_uid)).toBe(3);
  });

  it('resumes after a restart from the cursor without duplicates', async () => {
    await app!.close();
    app = undefined;
    await dovecot.append(USER, [mail('4')]);
    await start();
    await until(async () => (await payloads()).length === 4, 10_000, 'mail appended while down');
    const ids = (await payloads()).map((p) => p.externalId);
    expect(new Set(ids).size).toBe(4);
  });

  it('resynchronises after a UIDVALIDITY change without duplicating anything', async () => {
    await app!.close();
    app = undefined;
    await dovecot.changeUidValidity(USER);
    await dovecot.append(USER, [mail('5')]);
    await start();
    await until(async () => (await payloads()).length === 5, 10_000, 'resync');
    // Every old mail was read again but collapsed onto its existing job id.
    expect(new Set((await payloads()).map((p) => p.externalId)).size).toBe(5);
    const ds = app!.get(DataSource);
    const [cursor] = await ds.query('SELECT uidvalidity, last_uid FROM email_imap_cursors WHERE inbox_id = $1', [
      INBOX,
    ]);
    expect(Number(cursor.last_uid)).toBe(5);
  });

  it('decodes charsets and stores attachments byte-identical', async () => {
    const pdf = Buffer.from(Array.from({ length: 70_000 }, (_, i) => (i * 31) % 256));
    const raw = Buffer.concat([
      Buffer.from(
        [
          'From: =?ISO-8859-1?Q?Ren=E9e?= <renee@example.org>',
          `To: ${USER}`,
          'Subject: =?UTF-8?B?w5xiZXJ3ZWlzdW5nIGZlaGxnZXNjaGxhZ2Vu?=',
          `Message-ID: <charset.${INBOX}@example.org>`,
          'Content-Type: multipart/mixed; boundary="mix"',
          '',
          '--mix',
          'Content-Type: text/plain; charset=ISO-8859-1',
          'Content-Transfer-Encoding: quoted-printable',
          '',
          'Mein Konto zeigt =E4=F6=FC und 4111 1111 1111 1111.',
          '--mix',
          'Content-Type: application/pdf; name="statement.pdf"',
          'Content-Disposition: attachment; filename="statement.pdf"',
          'Content-Transfer-Encoding: base64',
          '',
          pdf.toString('base64').replace(/.{76}/g, '$&\r\n'),
          '--mix--',
          '',
        ].join('\r\n'),
      ),
    ]);
    await dovecot.append(USER, [raw]);
    await until(async () => !!(await byExternal(`<charset.${INBOX}@example.org>`)), 5000, 'charset mail');
    const m = (await byExternal(`<charset.${INBOX}@example.org>`))!;
    expect(m.subject).toBe('Überweisung fehlgeschlagen');
    expect(m.sender.displayName).toBe('Renée');
    expect(m.text).toBe('Mein Konto zeigt äöü und •••• •••• •••• 1111.');
    expect(m.attachments).toHaveLength(1);
    const a = m.attachments[0];
    expect(a).toMatchObject({ filename: 'statement.pdf', contentType: 'application/pdf', size: pdf.length });
    const stored = await readFile(app!.get(BlobStore).pathOf(a.sha256));
    expect(stored.equals(pdf)).toBe(true);
    expect(a.sha256).toBe(createHash('sha256').update(pdf).digest('hex'));
  });

  it('flags auto-replies, turns bounces of our mail into a bounce payload, suppresses backscatter and spam, skips our own mail', async () => {
    // Signed like every Message-ID ticket-service writes, with the secret the test env shares.
    const secret = emailServiceEnv(db, prefix, api).EMAIL_THREADING_SECRET!;
    const ours = generateEmailMessageId(randomUUID(), randomUUID(), secret, 'example.test');
    const auto = mail('auto', ['Auto-Submitted: auto-replied'], 'I am away');
    const bounce = [
      'From: Mail Delivery System <MAILER-DAEMON@mx.example.org>',
      `To: ${USER}`,
      'Subject: Undelivered Mail Returned to Sender',
      `Message-ID: <bounce.${INBOX}@mx.example.org>`,
      'Content-Type: multipart/report; report-type=delivery-status; boundary="r"',
      '',
      '--r',
      'Content-Type: text/plain',
      '',
      'Delivery failed.',
      '--r',
      'Content-Type: message/delivery-status',
      '',
      'Reporting-MTA: dns; mx.example.org',
      '',
      'Final-Recipient: rfc822; gone@example.org',
      'Action: failed',
      'Status: 5.1.1',
      'Diagnostic-Code: smtp; 550 5.1.1 User unknown',
      '--r',
      'Content-Type: text/rfc822-headers',
      '',
      `From: ${USER}`,
      `Message-ID: ${ours}`,
      '--r--',
      '',
    ].join('\r\n');
    // The same report shape for a mail we never sent: spam backscatter.
    const backscatter = bounce
      .replace(`Message-ID: ${ours}`, `Message-ID: <forged.${INBOX}@spammer.example>`)
      .replace(`<bounce.${INBOX}@mx.example.org>`, `<backscatter.${INBOX}@mx.example.org>`);
    const spam = mail('spam', ['X-Spam-Flag: YES', 'X-Spam-Status: Yes, score=12.1'], 'Cheap pills');
    const own = [`From: ${USER}`, 'To: someone@example.org', `Message-ID: <own.${INBOX}@x>`, '', 'copy'].join('\r\n');
    const before = (await payloads()).length;
    await dovecot.append(USER, [auto, bounce, own, backscatter, spam]);
    await until(async () => !!(await byExternal(`<mspam.${INBOX}@example.org>`)), 5000, 'spam');
    expect((await byExternal(`<mauto.${INBOX}@example.org>`))!.email!.autoSubmitted).toBe(true);
    expect((await byExternal(`<bounce.${INBOX}@mx.example.org>`))!.bounce).toEqual({
      originalMessageId: ours,
      diagnostic: '550 5.1.1 User unknown',
    });
    expect((await byExternal(`<bounce.${INBOX}@mx.example.org>`))!.email!.suppressed).toBeUndefined();
    const bs = (await byExternal(`<backscatter.${INBOX}@mx.example.org>`))!;
    expect(bs.bounce).toBeUndefined();
    expect(bs.email!.suppressed).toMatchObject({
      reason: 'backscatter',
      detail: expect.stringContaining(`<forged.${INBOX}@spammer.example>, which we never sent`),
    });
    const rawBackscatter = await readFile(app!.get(BlobStore).pathOf(bs.email!.suppressed!.raw.sha256));
    expect(rawBackscatter.toString()).toBe(backscatter);
    expect((await byExternal(`<mspam.${INBOX}@example.org>`))!.email!.suppressed).toMatchObject({ reason: 'spam' });
    expect(await mailsCounted('suppressed', 'backscatter')).toBe(1);
    expect(await mailsCounted('suppressed', 'spam')).toBe(1);
    await until(
      async () => {
        const [c] = await app!
          .get(DataSource)
          .query('SELECT last_uid FROM email_imap_cursors WHERE inbox_id = $1', [INBOX]);
        return Number(c.last_uid) === 11;
      },
      5000,
      'cursor past our own mail',
    );
    expect((await payloads()).length).toBe(before + 4);
    expect(await byExternal(`<own.${INBOX}@x>`)).toBeUndefined();
    expect(await mailsCounted('own_address', '')).toBe(1);
    expect(await mailsCounted('imported', '')).toBeGreaterThanOrEqual(2);
  });

  it('never makes the inbox address or an alias a CC, and skips mail sent from an alias', async () => {
    const withCc = mail('cc', [`Cc: Billing <${ALIAS.toUpperCase()}>, Friend <friend@example.org>, ${USER}`]);
    const fromAlias = [`From: ${ALIAS}`, `To: customer@example.org`, `Message-ID: <alias.${INBOX}@x>`, '', 'hi'].join(
      '\r\n',
    );
    const skipped = await mailsCounted('own_address', '');
    await dovecot.append(USER, [withCc, fromAlias]);
    await until(async () => (await mailsCounted('own_address', '')) === skipped + 1, 5000, 'alias mail skipped');
    await until(async () => !!(await byExternal(`<mcc.${INBOX}@example.org>`)), 5000, 'cc mail');
    expect((await byExternal(`<mcc.${INBOX}@example.org>`))!.cc).toEqual([
      { kind: 'email', value: 'friend@example.org', displayName: 'Friend' },
    ]);
    expect(await byExternal(`<alias.${INBOX}@x>`)).toBeUndefined();
  });

  it('counts a second copy of a mail as a duplicate naming the first, and two different mails sharing a Message-ID as two', async () => {
    const copy = mail('dup');
    const sameIdOtherContent = mail('dup', [], 'A different mail that reuses the Message-ID');
    const before = (await payloads()).length;
    const duplicatesBefore = await mailsCounted('duplicate', '');
    await dovecot.append(USER, [copy, copy, sameIdOtherContent]);
    await until(async () => (await mailsCounted('duplicate', '')) === duplicatesBefore + 1, 5000, 'duplicate counted');
    // The third mail may come in a later fetch than the copy it follows: wait for all three accounted.
    await until(async () => (await payloads()).length >= before + 2, 5000, 'both different mails enqueued');
    const sameId = (await payloads()).filter((p) => p.email?.messageId === `<mdup.${INBOX}@example.org>`);
    expect(sameId.map((p) => p.text).sort()).toEqual(['A different mail that reuses the Message-ID', 'Hello dup']);
    expect((await payloads()).length).toBe(before + 2);
  });

  it('ingests a pathological mail (2,000 links, 5 MB of text) without blocking the mail behind it', async () => {
    const links = Array.from({ length: 2000 }, (_, i) => `<a href="https://x.example/${i}">l${i}</a>`).join(' ');
    const huge = [
      `From: p@example.org`,
      `To: ${USER}`,
      'Subject: pathological',
      `Message-ID: <patho.${INBOX}@example.org>`,
      'Content-Type: multipart/alternative; boundary="p"',
      '',
      '--p',
      'Content-Type: text/plain; charset=utf-8',
      '',
      'lorem ipsum dolor sit amet '.repeat(200_000),
      '--p',
      'Content-Type: text/html; charset=utf-8',
      '',
      `<p>${links}</p>`,
      '--p--',
      '',
    ].join('\r\n');
    await dovecot.append(USER, [huge, mail('after')]);
    const base = await app!.getUrl();
    await until(async () => !!(await byExternal(`<mafter.${INBOX}@example.org>`)), 15_000, 'mail after it');
    expect((await fetch(`${base}/health`)).status).toBe(200);
    const m = (await byExternal(`<patho.${INBOX}@example.org>`))!;
    expect(m.subject).toBe('pathological');
    // Parsed in time → cut to the contract limit; past the parse timeout → a notice. Either way the raw mail is kept.
    expect(m.attachments.map((a) => a.filename)).toContain('original.eml');
    expect(m.text.length).toBeGreaterThan(0);
  });

  it('moves imported mail to the configured folder (afterImport move:<folder>)', async () => {
    const user2 = 'archive@example.test';
    const inbox2 = randomUUID();
    await dovecot.addUser(user2, PASS);
    await dovecot.append(user2, [mail('mv1')]);
    api.inboxes.push(
      emailInbox(inbox2, user2, { port: dovecot.port, user: user2, password: PASS }, { afterImport: 'move:Processed' }),
    );
    await app!.get(InboxDirectory).announce(inbox2);
    await until(async () => !!(await byExternal(`<mmv1.${INBOX}@example.org>`)), 10_000, 'second inbox imported');
    const client = await dovecot.client(user2);
    const count = async (folder: string) => {
      const status = await client.status(folder, { messages: true });
      return status ? status.messages : -1;
    };
    try {
      await until(async () => (await count('INBOX')) === 0, 5000, 'moved away');
      expect(await count('Processed')).toBe(1);
    } finally {
      await client.logout();
    }
  });

  it('turns an oversized mail into a message that says so, keeping the raw source', async () => {
    await app!.close();
    app = undefined;
    await start({ EMAIL_MAX_MESSAGE_BYTES: String(200 * 1024) });
    const big = mail('big', [], 'x'.repeat(300 * 1024));
    await dovecot.append(USER, [big]);
    await until(async () => !!(await byExternal(`<mbig.${INBOX}@example.org>`)), 5000, 'oversized mail');
    const m = (await byExternal(`<mbig.${INBOX}@example.org>`))!;
    expect(m.text).toMatch(/^This email \(30\d KB\) is larger than the 200 KB limit and was not imported\./);
    expect(m.subject).toBe('Refund big');
    expect(m.attachments).toEqual([
      expect.objectContaining({ filename: 'original.eml', contentType: 'message/rfc822' }),
    ]);
    const stored = await readFile(app!.get(BlobStore).pathOf(m.attachments[0].sha256));
    expect(stored.toString()).toBe(big);
    expect(await mailsCounted('raw_kept', 'oversized')).toBe(1);
  });
});
