import { randomUUID } from 'node:crypto';
import { NestFastifyApplication } from '@nestjs/platform-fastify';
import { DeliveryReport, JobName, OutboundMessage, OutboundMessageV1, jobOptions, outboundJobId } from '@oq/contracts';
import { createTestDatabase, dropQueuePrefix, testQueuePrefix, TestDatabase } from '@oq/database/testing/test-env';
import { BlobStore } from '@oq/platform';
import PostalMime from 'postal-mime';
import { z } from 'zod';
import { SmtpSink } from '../../../../test/support/smtp-sink';
import {
  InboxApiStub,
  QueueProbe,
  emailInbox,
  emailServiceEnv,
  startEmailService,
  until,
} from '../testing/email-test-kit';

const INBOX = randomUUID();
const ADDRESS = 'support@example.test';

describe('email-service outbound (real SMTP server process)', () => {
  let sink: SmtpSink;
  let api: InboxApiStub;
  let db: TestDatabase;
  let probe: QueueProbe;
  let app: NestFastifyApplication;
  const prefix = testQueuePrefix();

  beforeAll(async () => {
    [sink, api, db] = await Promise.all([SmtpSink.start(), InboxApiStub.start(), createTestDatabase()]);
    api.inboxes = [
      emailInbox(
        INBOX,
        ADDRESS,
        { port: 1, user: ADDRESS, password: 'x' },
        { smtpPort: sink.port, smtpUser: ADDRESS, fromName: 'Wallet Support' },
      ),
    ];
    api.inboxes[0].secrets.smtpPassword = 'smtp-secret';
    probe = new QueueProbe(prefix);
    app = await startEmailService(emailServiceEnv(db, prefix, api, { EMAIL_IMAP_ENABLED: 'false' }));
  });

  afterAll(async () => {
    await app?.close();
    await probe.close();
    await Promise.all([sink.stop(), api.stop(), db.drop(), dropQueuePrefix(prefix)]);
  });

  function reply(extra: Partial<z.input<typeof OutboundMessageV1>> = {}): OutboundMessage {
    const messageId = randomUUID();
    return OutboundMessageV1.parse({
      v: 1,
      messageId,
      ticketId: randomUUID(),
      ticketNumber: 10234,
      inboxId: INBOX,
      channel: 'email',
      to: { kind: 'email', value: 'customer@example.org' },
      cc: [{ kind: 'email', value: 'cc@example.org' }],
      subject: 'Re: refund [#10234]',
      text: 'Your refund is on its way.',
      html: '<p>Your refund is on its way.</p>',
      email: {
        messageId: `<oq.${messageId.replace(/-/g, '')}@example.test>`,
        inReplyTo: '<customer-1@example.org>',
        references: ['<customer-0@example.org>', '<customer-1@example.org>'],
      },
      createdAt: new Date().toISOString(),
      ...extra,
    });
  }

  const enqueue = (m: OutboundMessage) =>
    probe.outbound.add(
      JobName.OutboundMessage,
      m,
      jobOptions(JobName.OutboundMessage, { jobId: outboundJobId(m.messageId, m.attempt) }),
    );

  async function reportFor(messageId: string, status: string, timeoutMs = 10_000): Promise<DeliveryReport> {
    let found: DeliveryReport | undefined;
    await until(
      async () => {
        const jobs = await probe.delivery.getJobs(['waiting', 'prioritized', 'delayed']);
        found = jobs.map((j) => j.data as DeliveryReport).find((r) => r.messageId === messageId && r.status === status);
        return !!found;
      },
      timeoutMs,
      `${status} report for ${messageId}`,
    );
    return found!;
  }

  const mailWith = (messageId: string) => sink.mails.find((m) => m.raw.toString().includes(messageId));

  it('delivers an agent reply with threading headers, CC, HTML and a byte-identical attachment', async () => {
    const pdf = Buffer.from(Array.from({ length: 40_000 }, (_, i) => (i * 7) % 256));
    const blob = await app.get(BlobStore).put(pdf);
    const m = reply({
      attachments: [{ sha256: blob.sha256, size: blob.size, filename: 'receipt.pdf', contentType: 'application/pdf' }],
    });
    await enqueue(m);
    await sink.waitFor(() => !!mailWith(m.email!.messageId));
    const sent = mailWith(m.email!.messageId)!;
    expect(sent.to.sort()).toEqual(['cc@example.org', 'customer@example.org']);
    const parsed = await PostalMime.parse(sent.raw);
    expect(parsed.messageId).toBe(m.email!.messageId);
    expect(parsed.inReplyTo).toBe('<customer-1@example.org>');
    expect(parsed.references).toBe('<customer-0@example.org> <customer-1@example.org>');
    expect(parsed.subject).toBe('Re: refund [#10234]');
    expect(parsed.from).toMatchObject({ address: ADDRESS, name: 'Wallet Support' });
    expect(parsed.text?.trim()).toBe('Your refund is on its way.');
    expect(parsed.html).toContain('<p>Your refund is on its way.</p>');
    expect(parsed.headers.find((h) => h.key === 'auto-submitted')).toBeUndefined();
    expect(parsed.attachments).toHaveLength(1);
    expect(Buffer.from(parsed.attachments[0].content as ArrayBuffer).equals(pdf)).toBe(true);

    const report = await reportFor(m.messageId, 'sent');
    expect(report).toMatchObject({ inboxId: INBOX, providerMessageId: m.email!.messageId });
  });

  it('marks automatic mail Auto-Submitted: auto-replied', async () => {
    const m = reply({ automatic: true });
    await enqueue(m);
    await sink.waitFor(() => !!mailWith(m.email!.messageId));
    const parsed = await PostalMime.parse(mailWith(m.email!.messageId)!.raw);
    expect(parsed.headers.find((h) => h.key === 'auto-submitted')?.value).toBe('auto-replied');
  });

  it('retries after a 4xx and delivers with the same Message-ID, keeping the ticket order', async () => {
    const ticketId = randomUUID();
    const first = reply({ ticketId, createdAt: new Date(Date.now() - 1000).toISOString() });
    const second = reply({ ticketId });
    sink.failNext(1, 451);
    await enqueue(first);
    await until(() => sink.rejected >= 1, 5000, 'first attempt rejected');
    await enqueue(second);
    await sink.waitFor(() => !!mailWith(second.email!.messageId), 15_000);
    const order = sink.mails.map((x) => x.raw.toString());
    const i1 = order.findIndex((r) => r.includes(first.email!.messageId));
    const i2 = order.findIndex((r) => r.includes(second.email!.messageId));
    expect(i1).toBeGreaterThanOrEqual(0);
    expect(i1).toBeLessThan(i2);
    expect(sink.mails.filter((x) => x.raw.toString().includes(first.email!.messageId))).toHaveLength(1);
    await reportFor(first.messageId, 'sent');
  });

  it('fails at once on a 5xx and reports the SMTP response', async () => {
    const rejectedBefore = sink.rejected;
    const m = reply();
    sink.failNext(1, 550, 'Mailbox unavailable');
    await enqueue(m);
    const report = await reportFor(m.messageId, 'failed');
    expect(report.reason).toMatch(/550.*Mailbox unavailable/);
    expect(report.errorCode).toBe('550');
    const job = await probe.outbound.getJob(outboundJobId(m.messageId, 0));
    await until(async () => (await job!.getState()) === 'failed', 5000, 'job failed');
    expect((await probe.outbound.getJob(outboundJobId(m.messageId, 0)))!.attemptsMade).toBeLessThanOrEqual(1);
    expect(sink.rejected - rejectedBefore).toBe(1);
    expect(mailWith(m.email!.messageId)).toBeUndefined();
  });

  it('counts SMTP results on /metrics', async () => {
    const text = await (await fetch(`${await app.getUrl()}/metrics`)).text();
    const value = (result: string, automatic: string) =>
      Number(
        text
          .split('\n')
          .find(
            (l) =>
              l.startsWith('oq_email_smtp_sends_total{') &&
              l.includes(`result="${result}"`) &&
              l.includes(`automatic="${automatic}"`),
          )
          ?.split(' ')[1] ?? 0,
      );
    // The earlier tests: three plain replies and one automatic delivered, one 4xx retried, one 5xx failed.
    expect(value('sent', 'false')).toBe(3);
    expect(value('sent', 'true')).toBe(1);
    expect(value('retry', 'false')).toBeGreaterThanOrEqual(1);
    expect(value('failed', 'false')).toBe(1);
    expect(text).toMatch(/^oq_email_smtp_send_seconds_count\{[^}]*\} [1-9]/m);
  });
});
