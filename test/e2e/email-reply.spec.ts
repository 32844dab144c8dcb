import { TicketEvent, ticketIdFromEmailMessageId } from '@oq/contracts';
import PostalMime from 'postal-mime';
import { io } from 'socket.io-client';
import { until } from '../../apps/email-service/src/testing/email-test-kit';
import { EmailStack, THREADING_SECRET } from './email-stack';

/**
 * The whole email loop on the real services: an admin creates the inbox through
 * the admin API (secrets sealed), email-service reads it from the internal API,
 * a customer mail arrives by IMAP APPEND and becomes a ticket, the agent's reply
 * goes out through the outbox to a real SMTP server with the thread's headers,
 * and the customer's answer to it threads back by our signed Message-ID.
 */
const ADDRESS = 'help@wallet.test';

describe('email reply loop end to end (ticket-service + email-service)', () => {
  let stack: EmailStack;

  beforeAll(async () => {
    stack = await EmailStack.start(ADDRESS);
  }, 90_000);

  afterAll(async () => {
    await stack?.stop();
  });

  const ticketOf = (externalId: string) => stack.ticketOf(externalId);

  it('customer mail → ticket → agent reply at the SMTP server with thread headers → customer answer threads back', async () => {
    await stack.dovecot.append(ADDRESS, [
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

    const sent = await stack.call('POST', `/v1/tickets/${t.id}/messages`, { text: 'It was sent today.' });
    expect(sent.status).toBe(201);
    await stack.sink.waitFor((mails) => mails.some((m) => m.to.includes('kim@customer.test')), 10_000);
    const mail = stack.sink.mails.find((m) => m.to.includes('kim@customer.test'))!;
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
          await stack.ds.query(
            `SELECT 1 FROM messages WHERE ticket_id = $1 AND direction = 'outbound' AND delivery_status = 'sent' AND provider_message_id = $2`,
            [t.id, parsed.messageId],
          )
        ).length === 1,
      5000,
      'reply marked sent',
    );

    // The customer answers our reply from another client: our signed Message-ID threads it.
    await stack.dovecot.append(ADDRESS, [
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

  it('a 4xx from the SMTP server keeps the reply queued with attempts, the server words and the next try, in the API and live', async () => {
    const t = (await ticketOf('<kim-1@customer.test>'))!;
    const socket = io(stack.base, { path: '/realtime', auth: { token: stack.token }, transports: ['websocket'] });
    const events: TicketEvent[] = [];
    socket.on('ticket.event', (e: TicketEvent) => events.push(e));
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', () => resolve());
      socket.once('connect_error', reject);
    });
    try {
      stack.sink.failNext(1, 451, 'Greylisted, please try again in 2 seconds');
      const sent = await stack.call('POST', `/v1/tickets/${t.id}/messages`, { text: 'Your refund is on its way.' });
      expect(sent.status).toBe(201);
      const replyId: string = sent.body.id;
      // The retry notice is the event that proves the agent can see it.
      await until(
        () => events.some((e) => e.type === 'message.delivery' && e.data.messageId === replyId && !!e.data.retry),
        10_000,
        'retry event',
      );
      const live = events.find((e) => e.data.messageId === replyId && e.data.retry)!;
      expect(live.data).toMatchObject({ status: 'queued', retry: { attempts: 1 } });
      const view = await stack.call('GET', `/v1/tickets/${t.id}`);
      const msg = view.body.messages.find((m: { id: string }) => m.id === replyId);
      expect(msg.deliveryStatus === 'queued' || msg.deliveryStatus === 'sent').toBe(true);
      expect(msg.deliveryRetry).toMatchObject({
        attempts: 1,
        lastError: expect.stringMatching(/451.*Greylisted/),
      });
      // BullMQ's backoff for outbound mail (2 s, exponential): the next try is announced, not guessed.
      const next = Date.parse(msg.deliveryRetry.nextAttemptAt) - Date.parse(msg.deliveryRetry.at);
      expect(next).toBeGreaterThanOrEqual(1900);
      expect(next).toBeLessThanOrEqual(2500);
      // The second try goes through; the retry history stays on the message.
      await until(
        async () =>
          (await stack.ds.query(`SELECT delivery_status FROM messages WHERE id = $1`, [replyId]))[0]
            ?.delivery_status === 'sent',
        15_000,
        'sent after the retry',
      );
    } finally {
      socket.close();
    }
  });

  it('a 5xx from the SMTP server is visible on the message with the server reason', async () => {
    const t = (await ticketOf('<kim-1@customer.test>'))!;
    stack.sink.failNext(1, 550, 'No such user here');
    const sent = await stack.call('POST', `/v1/tickets/${t.id}/messages`, { text: 'Second reply.' });
    expect(sent.status).toBe(201);
    await until(
      async () =>
        (await stack.ds.query(`SELECT 1 FROM messages WHERE ticket_id = $1 AND delivery_status = 'failed'`, [t.id]))
          .length === 1,
      10_000,
      'reply marked failed',
    );
    const [row] = await stack.ds.query(
      `SELECT delivery_reason, delivery_error_code FROM messages WHERE ticket_id = $1 AND delivery_status = 'failed'`,
      [t.id],
    );
    expect(row.delivery_reason).toMatch(/550.*No such user here/);
  });
});
