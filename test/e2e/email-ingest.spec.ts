import { randomUUID } from 'node:crypto';
import { generateEmailMessageId, inboundJobId } from '@oq/contracts';
import { IngestTestKit } from '../../apps/ticket-service/src/inbound/ingest-test-kit';
import { until } from '../../apps/email-service/src/testing/email-test-kit';
import { mailContentHash, mailExternalId } from '../../apps/email-service/src/ingest/mail-identity';
import { DovecotServer } from '../support/dovecot';
import { THREADING_SECRET, bounceMail, startMailIngest } from './email-stack';

/**
 * Mail → ticket across the real pieces: Dovecot (APPEND), email-service (IDLE,
 * parsing, enqueue) and ticket-service's inbound consumer (threading,
 * participants, bounces) on one database and queue prefix.
 */
const ADDRESS = 'support@wallet.test';
const PASS = 'imap-pw';

describe('email → ticket end to end', () => {
  let kit: IngestTestKit;
  let dovecot: DovecotServer;
  let stop: (() => Promise<void>) | undefined;

  beforeAll(async () => {
    ({ kit, dovecot, stop } = await startMailIngest(ADDRESS, PASS));
  }, 60_000);

  afterAll(async () => stop?.());

  const messageRow = async (externalId: string) =>
    (
      await kit.ds.query(
        `SELECT m.ticket_id, m.auto_submitted, m.text, t.number, t.follow_up_of_id, t.subject
         FROM messages m JOIN tickets t ON t.id = m.ticket_id WHERE m.email_message_id = $1 AND m.direction = 'inbound'`,
        [externalId],
      )
    )[0] as
      | {
          ticket_id: string;
          auto_submitted: boolean;
          text: string;
          number: string;
          follow_up_of_id: string | null;
          subject: string;
        }
      | undefined;

  const waitRow = async (externalId: string, ms = 5000) => {
    await until(async () => !!(await messageRow(externalId)), ms, `message ${externalId} stored`);
    return (await messageRow(externalId))!;
  };

  const mail = (h: Record<string, string>, body = 'text') =>
    [...Object.entries(h).map(([k, v]) => `${k}: ${v}`), '', body, ''].join('\r\n');

  it('an appended mail becomes a ticket within seconds (IDLE); replies thread by headers and by subject token; a non-participant gets a linked ticket', async () => {
    const t0 = Date.now();
    await dovecot.append(ADDRESS, [
      mail(
        {
          From: 'Ana <ana@customer.test>',
          To: ADDRESS,
          Cc: 'bo@customer.test',
          Subject: 'Card payment failed',
          'Message-ID': '<e2e-1@customer.test>',
        },
        'My payment of 20 EUR failed.',
      ),
    ]);
    // IDLE (the polling fallback is 10 min): ~1 s to a stored ticket on a quiet machine; headroom for a loaded CI box.
    const first = await waitRow('<e2e-1@customer.test>', 5000);
    expect(Date.now() - t0).toBeLessThan(5000);
    expect(first.subject).toBe('Card payment failed');
    expect(first.text).toBe('My payment of 20 EUR failed.');

    await dovecot.append(ADDRESS, [
      mail({
        From: 'ana@customer.test',
        To: ADDRESS,
        Subject: 'Re: Card payment failed',
        'Message-ID': '<e2e-2@customer.test>',
        'In-Reply-To': '<e2e-1@customer.test>',
      }),
      // The CC'd participant writes a fresh mail carrying only the ticket number.
      mail({
        From: 'bo@customer.test',
        To: ADDRESS,
        Subject: `Question [#${first.number}]`,
        'Message-ID': '<e2e-3@customer.test>',
      }),
      // Someone else guesses the number: a new ticket linked to it, not an injection.
      mail({
        From: 'eve@attacker.test',
        To: ADDRESS,
        Subject: `Re: [#${first.number}]`,
        'Message-ID': '<e2e-4@attacker.test>',
      }),
    ]);
    expect((await waitRow('<e2e-2@customer.test>')).ticket_id).toBe(first.ticket_id);
    expect((await waitRow('<e2e-3@customer.test>')).ticket_id).toBe(first.ticket_id);
    const eve = await waitRow('<e2e-4@attacker.test>');
    expect(eve.ticket_id).not.toBe(first.ticket_id);
    expect(eve.follow_up_of_id).toBe(first.ticket_id);
  });

  it('stores auto-replies flagged and turns a bounce into a failed outbound message', async () => {
    const first = (await messageRow('<e2e-1@customer.test>'))!;
    // Signed as ticket-service signs every Message-ID it writes: a report about it is a bounce, not backscatter.
    const reply = generateEmailMessageId(first.ticket_id, randomUUID(), THREADING_SECRET, 'wallet.test');
    await kit.ds.query(
      `INSERT INTO messages (ticket_id, inbox_id, channel, direction, text, email_message_id, delivery_status)
       VALUES ($1, $2, 'email', 'outbound', 'We are checking.', $3, 'sent')`,
      [first.ticket_id, kit.inboxes.email, reply],
    );
    await dovecot.append(ADDRESS, [
      mail(
        {
          From: 'ana@customer.test',
          To: ADDRESS,
          Subject: 'Out of Office: Re: Card payment failed',
          'Auto-Submitted': 'auto-replied',
          'Message-ID': '<e2e-ooo@customer.test>',
          'In-Reply-To': reply,
        },
        'I am away until Monday.',
      ),
      bounceMail({
        to: ADDRESS,
        messageId: '<e2e-bounce@mx.customer.test>',
        recipient: 'ana@customer.test',
        status: '5.2.2',
        diagnostic: '552 5.2.2 Mailbox full',
        originalMessageId: reply,
      }),
    ]);
    const ooo = await waitRow('<e2e-ooo@customer.test>');
    expect(ooo.auto_submitted).toBe(true);
    expect(ooo.ticket_id).toBe(first.ticket_id);
    await until(
      async () =>
        (
          await kit.ds.query(`SELECT 1 FROM messages WHERE email_message_id = $1 AND delivery_status = 'failed'`, [
            reply,
          ])
        ).length === 1,
      5000,
      'bounce applied',
    );
    const [row] = await kit.ds.query(`SELECT delivery_reason FROM messages WHERE email_message_id = $1`, [reply]);
    expect(row.delivery_reason).toBe('552 5.2.2 Mailbox full');
    // The bounce itself opened no ticket.
    expect(await messageRow('<e2e-bounce@mx.customer.test>')).toBeUndefined();
  });

  it('keeps two different mails that share a Message-ID, collapses a copy that only gained trace headers, and recognises mail imported before content hashes', async () => {
    const shared = '<reused-id@phone.customer.test>';
    const first = mail(
      { From: 'ana@customer.test', To: ADDRESS, Subject: 'Transfer 1', 'Message-ID': shared },
      'Transfer 1 failed.',
    );
    const second = mail(
      { From: 'ana@customer.test', To: ADDRESS, Subject: 'Transfer 2', 'Message-ID': shared },
      'Transfer 2 failed too.',
    );
    const redelivered = `Received: from mx2.wallet.test by imap.wallet.test; Tue, 1 Dec 2026 10:00:00 +0000\r\nDelivered-To: ${ADDRESS}\r\n${first}`;
    await dovecot.append(ADDRESS, [first, second, redelivered]);
    const outcomes = async () =>
      Promise.all(
        [first, second, redelivered].map(async (m) => {
          const id = mailExternalId(shared, mailContentHash(Buffer.from(m)));
          const job = await kit.queue().getJob(inboundJobId(kit.inboxes.email, id, 0));
          return job && (await job.getState()) === 'completed' ? job.returnvalue?.status : undefined;
        }),
      );
    // The redelivered copy has the first one's id: one job for both, the second mail a job of its own.
    await until(async () => (await outcomes()).every((o) => o === 'created'), 10_000, 'both mails stored');
    const rows = await kit.ds.query(`SELECT text FROM messages WHERE email_message_id = $1 ORDER BY created_at`, [
      shared,
    ]);
    expect(rows.map((r: { text: string }) => r.text)).toEqual(['Transfer 1 failed.', 'Transfer 2 failed too.']);

    // Imported before this change under its bare Message-ID: the mail, read again (a resync), is not a second message.
    const legacy = mail(
      { From: 'bo@customer.test', To: ADDRESS, Subject: 'Old mail', 'Message-ID': '<legacy-1@customer.test>' },
      'Imported long ago.',
    );
    const internalDate = new Date('2026-11-01T08:00:00Z');
    const [contact] = await kit.ds.query(`INSERT INTO contacts DEFAULT VALUES RETURNING id`);
    const [{ id: ticketId }] = await kit.ds.query(
      `INSERT INTO tickets (subject, channel, inbox_id, team_id, requester_id, status)
       VALUES ('Old mail', 'email', $1, $2, $3, 'open') RETURNING id`,
      [kit.inboxes.email, kit.teamId, contact.id],
    );
    await kit.ds.query(
      `INSERT INTO messages (ticket_id, inbox_id, channel, direction, external_id, email_message_id, text, source_time)
       VALUES ($1, $2, 'email', 'inbound', '<legacy-1@customer.test>', '<legacy-1@customer.test>', 'Imported long ago.', $3)`,
      [ticketId, kit.inboxes.email, internalDate],
    );
    await dovecot.append(ADDRESS, [legacy], { internalDate });
    const legacyJob = inboundJobId(
      kit.inboxes.email,
      mailExternalId('<legacy-1@customer.test>', mailContentHash(Buffer.from(legacy))),
      0,
    );
    await until(
      async () =>
        (await kit
          .queue()
          .getJob(legacyJob)
          .then((j) => j?.getState())) === 'completed',
      10_000,
      'old mail read again',
    );
    expect((await kit.queue().getJob(legacyJob))!.returnvalue).toMatchObject({ status: 'duplicate' });
    expect(await kit.count(`messages WHERE email_message_id = '<legacy-1@customer.test>'`)).toBe(1);
  });
});
