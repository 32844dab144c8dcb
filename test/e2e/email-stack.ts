import { NestFastifyApplication } from '@nestjs/platform-fastify';
import {
  createTestDatabase,
  dropQueuePrefix,
  testQueuePrefix,
  testServiceEnv,
  TestDatabase,
} from '@oq/database/testing/test-env';
import { createHttpApp } from '@oq/platform';
import { DataSource } from 'typeorm';
import { AppModule as TicketService } from '../../apps/ticket-service/src/app.module';
import { call, insertAgent, loginToken } from '../../apps/ticket-service/src/auth/auth.testing';
import {
  InboxApiStub,
  emailInbox,
  emailServiceEnv,
  startEmailService,
  waitForMailbox,
} from '../../apps/email-service/src/testing/email-test-kit';
import { IngestTestKit } from '../../apps/ticket-service/src/inbound/ingest-test-kit';
import { DovecotServer } from '../support/dovecot';
import { SmtpSink } from '../support/smtp-sink';

export const THREADING_SECRET = 'test-threading-secret-0123456789abc';

/**
 * Mail → message without the HTTP API: ticket-service's ingest slice, a Dovecot with one mailbox and
 * email-service reading it (through a stand-in of the internal inbox API), on one database and prefix.
 */
export async function startMailIngest(
  address: string,
  password: string,
): Promise<{ kit: IngestTestKit; dovecot: DovecotServer; stop: () => Promise<void> }> {
  const [kit, dovecot, api] = await Promise.all([
    IngestTestKit.start(),
    DovecotServer.start({ [address]: password }),
    InboxApiStub.start(),
  ]);
  api.inboxes = [emailInbox(kit.inboxes.email, address, { port: dovecot.port, user: address, password })];
  const email = await startEmailService(emailServiceEnv(kit.db, kit.prefix, api));
  await waitForMailbox(email);
  return {
    kit,
    dovecot,
    async stop() {
      await email.close();
      await Promise.all([kit.stop(), dovecot.destroy(), api.stop()]);
    },
  };
}

/** A delivery-status report (RFC 3464) as an MTA sends it back for `originalMessageId`. */
export function bounceMail(o: {
  to: string;
  messageId: string;
  recipient: string;
  status: string;
  diagnostic: string;
  originalMessageId: string;
}): string {
  return [
    'From: MAILER-DAEMON@mx.customer.test',
    `To: ${o.to}`,
    'Subject: Undelivered Mail Returned to Sender',
    `Message-ID: ${o.messageId}`,
    'Content-Type: multipart/report; report-type=delivery-status; boundary="b"',
    '',
    '--b',
    'Content-Type: message/delivery-status',
    '',
    'Reporting-MTA: dns; mx.customer.test',
    '',
    `Final-Recipient: rfc822; ${o.recipient}`,
    'Action: failed',
    `Status: ${o.status}`,
    `Diagnostic-Code: smtp; ${o.diagnostic}`,
    '--b',
    'Content-Type: text/rfc822-headers',
    '',
    `Message-ID: ${o.originalMessageId}`,
    '--b--',
    '',
  ].join('\r\n');
}
const PASS = 'imap-pw';

/**
 * The whole email loop on the real services for the e2e specs: a Dovecot
 * mailbox, an SMTP server process as the sink, ticket-service with an admin
 * who creates the email inbox through the admin API (secrets sealed), and
 * email-service reading that inbox from ticket-service's internal API.
 */
export class EmailStack {
  db!: TestDatabase;
  readonly prefix = testQueuePrefix();
  dovecot!: DovecotServer;
  sink!: SmtpSink;
  ticket!: NestFastifyApplication;
  email?: NestFastifyApplication;
  ds!: DataSource;
  base!: string;
  token!: string;
  teamId!: string;
  inboxId!: string;
  /** The inbox settings as created (IMAP/SMTP pointing at the test servers, plus `extra`). */
  settings!: Record<string, unknown>;

  static async start(address: string, extra: Record<string, unknown> = {}): Promise<EmailStack> {
    const s = new EmailStack();
    [s.db, s.dovecot, s.sink] = await Promise.all([
      createTestDatabase(),
      DovecotServer.start({ [address]: PASS }),
      SmtpSink.start(),
    ]);
    const env = testServiceEnv(s.db, s.prefix, { EMAIL_THREADING_SECRET: THREADING_SECRET });
    s.ticket = await createHttpApp(TicketService, { title: 'ticket-service', env });
    await s.ticket.listen({ port: 0, host: '127.0.0.1' });
    s.base = await s.ticket.getUrl();
    s.ds = s.ticket.get(DataSource);
    const admin = `admin@${address.split('@')[1]}`;
    await insertAgent(s.ds, admin, 'admin');
    s.token = await loginToken(s.base, admin);
    [{ id: s.teamId }] = await s.ds.query(`INSERT INTO teams (name) VALUES ('Payments') RETURNING id`);
    s.settings = {
      imapHost: '127.0.0.1',
      imapPort: s.dovecot.port,
      imapSecure: false,
      imapUser: address,
      smtpHost: '127.0.0.1',
      smtpPort: s.sink.port,
      smtpSecure: false,
      fromName: 'Wallet Help',
      ...extra,
    };
    const created = await s.call('POST', '/v1/inboxes', {
      channel: 'email',
      name: 'Help',
      address,
      defaultTeamId: s.teamId,
      settings: s.settings,
      secrets: { imapPassword: PASS },
    });
    if (created.status !== 201) throw new Error(`inbox not created: ${JSON.stringify(created.body)}`);
    s.inboxId = created.body.id;

    s.email = await startEmailService({
      ...env,
      TICKET_SERVICE_URL: s.base,
      EMAIL_LEASE_TTL_MS: '3000',
      EMAIL_POLL_FALLBACK_MS: '600000',
    });
    await waitForMailbox(s.email);
    return s;
  }

  /** The agent API as the admin. */
  call(method: string, path: string, body?: unknown) {
    return call(this.base, this.token, method, path, body);
  }

  /** The ticket a stored message (by its external id, the mail's Message-ID) landed on. */
  async ticketOf(externalId: string) {
    const [row] = await this.ds.query(
      `SELECT t.id, t.number, t.status, t.agent_reply_count, t.first_reply_at
         FROM messages m JOIN tickets t ON t.id = m.ticket_id WHERE m.email_message_id = $1 AND m.direction = 'inbound'`,
      [externalId],
    );
    return row as
      | { id: string; number: string; status: string; agent_reply_count: number; first_reply_at: Date | null }
      | undefined;
  }

  async stop() {
    await this.email?.close();
    await this.ticket?.close();
    await Promise.all([this.sink?.stop(), this.dovecot?.destroy(), this.db?.drop(), dropQueuePrefix(this.prefix)]);
  }
}
