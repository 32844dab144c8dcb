import { NestFastifyApplication } from '@nestjs/platform-fastify';
import { ticketIdFromEmailMessageId } from '@oq/contracts';
import {
  createTestDatabase,
  dropQueuePrefix,
  testQueuePrefix,
  testServiceEnv,
  TestDatabase,
} from '@oq/database/testing/test-env';
import { createHttpApp } from '@oq/platform';
import PostalMime from 'postal-mime';
import { DataSource } from 'typeorm';
import { AppModule as TicketService } from '../../apps/ticket-service/src/app.module';
import { call, insertAgent, loginToken } from '../../apps/ticket-service/src/auth/auth.testing';
import { startEmailService, until, waitForMailbox } from '../../apps/email-service/src/testing/email-test-kit';
import { DovecotServer } from '../support/dovecot';
import { SmtpSink } from '../support/smtp-sink';

/**
 * The whole email loop on the real services: an admin creates the inbox through
 * the admin API (secrets sealed), email-service reads it from the internal API,
 * a customer mail arrives by IMAP APPEND and becomes a ticket, the agent's reply
 * goes out through the outbox to a real SMTP server with the thread's headers,
 * and the customer's answer to it threads back by our signed Message-ID.
 */
const ADDRESS = 'help@wallet.test';
const PASS = 'imap-pw';
const THREADING_SECRET = 'test-threading-secret-0123456789abc';

describe('email reply loop end to end (ticket-service + email-service)', () => {
  let db: TestDatabase;
  const prefix = testQueuePrefix();
  let dovecot: DovecotServer;
  let sink: SmtpSink;
  let ticket: NestFastifyApplication;
  let email: NestFastifyApplication;
  let base: string;
  let token: string;
  let ds: DataSource;

  beforeAll(async () => {
    [db, dovecot, sink] = await Promise.all([
      createTestDatabase(),
      DovecotServer.start({ [ADDRESS]: PASS }),
      SmtpSink.start(),
    ]);
    const env = testServiceEnv(db, prefix, { EMAIL_THREADING_SECRET: THREADING_SECRET });
    ticket = await createHttpApp(TicketService, { title: 'ticket-service', env });
    await ticket.listen({ port: 0, host: '127.0.0.1' });
    base = await ticket.getUrl();
    ds = ticket.get(DataSource);
    await insertAgent(ds, 'admin@wallet.test', 'admin');
    token = await loginToken(base, 'admin@wallet.test');
    const [{ id: teamId }] = await ds.query(`INSERT INTO teams (name) VALUES ('Payments') RETURNING id`);
    const created = await call(base, token, 'POST', '/v1/inboxes', {
      channel: 'email',
      name: 'Help',
      address: ADDRESS,
      defaultTeamId: teamId,
      settings: {
        imapHost: '127.0.0.1',
        imapPort: dovecot.port,
        imapSecure: false,
        imapUser: ADDRESS,
        smtpHost: '127.0.0.1',
        smtpPort: sink.port,
        smtpSecure: false,
        fromName: 'Wallet Help',
      },
      secrets: { imapPassword: PASS },
    });
    expect(created.status).toBe(201);

    email = await startEmailService({
      ...env,
      TICKET_SERVICE_URL: base,
      EMAIL_LEASE_TTL_MS: '3000',
      EMAIL_POLL_FALLBACK_MS: '600000',
    });
    await waitForMailbox(email);
  }, 90_000);

  afterAll(async () => {
    await email?.close();
    await ticket?.close();
    await Promise.all([sink?.stop(), dovecot?.destroy(), db?.drop(), dropQueuePrefix(prefix)]);
  });

  const ticketOf = async (externalId: string) =>
    (
      await ds.query(
        'SELECT t.id, t.number FROM messages m JOIN tickets t ON t.id = m.ticket_id WHERE m.external_id = $1',
        [externalId],
      )
    )[0] as { id: string; number: string } | undefined;

  it('customer mail → ticket → agent reply at the SMTP server with thread headers → customer answer threads back', async () => {
    await dovecot.append(ADDRESS, [
      [
        'From: Kim <kim@customer.test>',
        `To: ${ADDRESS}`,
        'Subject: Refund missing',
        'Message-ID: <kim-1@customer.test>',
        '',
        'Where is my refund?',
      ].join('\r\n'),
    ]);
    await until(async () => !!(await ticketOf('<kim-1@customer.test>')), 5000, 'ticket created');
    const t = (await ticketOf('<kim-1@customer.test>'))!;

    const sent = await call(base, token, 'POST', `/v1/tickets/${t.id}/messages`, { text: 'It was sent today.' });
    expect(sent.status).toBe(201);
    await sink.waitFor((mails) => mails.some((m) => m.to.includes('kim@customer.test')), 10_000);
    const mail = sink.mails.find((m) => m.to.includes('kim@customer.test'))!;
    const parsed = await PostalMime.parse(mail.raw);
    expect(parsed.inReplyTo).toBe('<kim-1@customer.test>');
    expect(parsed.references).toContain('<kim-1@customer.test>');
    expect(parsed.subject).toBe(`Re: Refund missing [#${t.number}]`);
    expect(parsed.from).toMatchObject({ address: ADDRESS, name: 'Wallet Help' });
    expect(parsed.text?.trim()).toBe('It was sent today.');
    expect(ticketIdFromEmailMessageId(parsed.messageId!, THREADING_SECRET)).toBe(t.id);

    await until(
      async () =>
        (
          await ds.query(
            `SELECT 1 FROM messages WHERE ticket_id = $1 AND direction = 'outbound' AND delivery_status = 'sent' AND provider_message_id = $2`,
            [t.id, parsed.messageId],
          )
        ).length === 1,
      5000,
      'reply marked sent',
    );

    // The customer answers our reply from another client: our signed Message-ID threads it.
    await dovecot.append(ADDRESS, [
      [
        'From: kim@customer.test',
        `To: ${ADDRESS}`,
        'Subject: thanks',
        'Message-ID: <kim-2@customer.test>',
        `In-Reply-To: ${parsed.messageId}`,
        '',
        'Got it, thanks.',
      ].join('\r\n'),
    ]);
    await until(async () => !!(await ticketOf('<kim-2@customer.test>')), 5000, 'answer stored');
    expect((await ticketOf('<kim-2@customer.test>'))!.id).toBe(t.id);
  });

  it('a 5xx from the SMTP server is visible on the message with the server reason', async () => {
    const t = (await ticketOf('<kim-1@customer.test>'))!;
    sink.failNext(1, 550, 'No such user here');
    const sent = await call(base, token, 'POST', `/v1/tickets/${t.id}/messages`, { text: 'Second reply.' });
    expect(sent.status).toBe(201);
    await until(
      async () =>
        (await ds.query(`SELECT 1 FROM messages WHERE ticket_id = $1 AND delivery_status = 'failed'`, [t.id]))
          .length === 1,
      10_000,
      'reply marked failed',
    );
    const [row] = await ds.query(
      `SELECT delivery_reason, delivery_error_code FROM messages WHERE ticket_id = $1 AND delivery_status = 'failed'`,
      [t.id],
    );
    expect(row.delivery_reason).toMatch(/550.*No such user here/);
  });
});
