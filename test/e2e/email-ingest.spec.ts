import { NestFastifyApplication } from '@nestjs/platform-fastify';
import { IngestTestKit } from '../../apps/ticket-service/src/inbound/ingest-test-kit';
import {
  InboxApiStub,
  emailInbox,
  emailServiceEnv,
  startEmailService,
  until,
  waitForMailbox,
} from '../../apps/email-service/src/testing/email-test-kit';
import { DovecotServer } from '../support/dovecot';
import { bounceMail } from './email-stack';

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
  let api: InboxApiStub;
  let email: NestFastifyApplication;

  beforeAll(async () => {
    [kit, dovecot, api] = await Promise.all([
      IngestTestKit.start(),
      DovecotServer.start({ [ADDRESS]: PASS }),
      InboxApiStub.start(),
    ]);
    api.inboxes = [emailInbox(kit.inboxes.email, ADDRESS, { port: dovecot.port, user: ADDRESS, password: PASS })];
    email = await startEmailService(emailServiceEnv(kit.db, kit.prefix, api));
    await waitForMailbox(email);
  }, 60_000);

  afterAll(async () => {
    await email?.close();
    await Promise.all([kit?.stop(), dovecot?.destroy(), api?.stop()]);
  });

  const messageRow = async (externalId: string) =>
    (
      await kit.ds.query(
        `SELECT m.ticket_id, m.auto_submitted, m.text, t.number, t.follow_up_of_id, t.subject
         FROM messages m JOIN tickets t ON t.id = m.ticket_id WHERE m.external_id = $1`,
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
    await kit.ds.query(
      `INSERT INTO messages (ticket_id, inbox_id, channel, direction, text, email_message_id, delivery_status)
       VALUES ($1, $2, 'email', 'outbound', 'We are checking.', '<oq.reply-1@wallet.test>', 'sent')`,
      [first.ticket_id, kit.inboxes.email],
    );
    await dovecot.append(ADDRESS, [
      mail(
        {
          From: 'ana@customer.test',
          To: ADDRESS,
          Subject: 'Out of Office: Re: Card payment failed',
          'Auto-Submitted': 'auto-replied',
          'Message-ID': '<e2e-ooo@customer.test>',
          'In-Reply-To': '<oq.reply-1@wallet.test>',
        },
        'I am away until Monday.',
      ),
      bounceMail({
        to: ADDRESS,
        messageId: '<e2e-bounce@mx.customer.test>',
        recipient: 'ana@customer.test',
        status: '5.2.2',
        diagnostic: '552 5.2.2 Mailbox full',
        originalMessageId: '<oq.reply-1@wallet.test>',
      }),
    ]);
    const ooo = await waitRow('<e2e-ooo@customer.test>');
    expect(ooo.auto_submitted).toBe(true);
    expect(ooo.ticket_id).toBe(first.ticket_id);
    await until(
      async () =>
        (
          await kit.ds.query(
            `SELECT 1 FROM messages WHERE email_message_id = '<oq.reply-1@wallet.test>' AND delivery_status = 'failed'`,
          )
        ).length === 1,
      5000,
      'bounce applied',
    );
    const [row] = await kit.ds.query(
      `SELECT delivery_reason FROM messages WHERE email_message_id = '<oq.reply-1@wallet.test>'`,
    );
    expect(row.delivery_reason).toBe('552 5.2.2 Mailbox full');
    // The bounce itself opened no ticket.
    expect(await messageRow('<e2e-bounce@mx.customer.test>')).toBeUndefined();
  });
});
