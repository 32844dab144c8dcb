import { ticketIdFromEmailMessageId } from '@oq/contracts';
import PostalMime from 'postal-mime';
import { until } from '../../apps/email-service/src/testing/email-test-kit';
import { bounceMail, EmailStack, THREADING_SECRET } from './email-stack';

/**
 * The acknowledgement mail on the real services: an inbox with acknowledgements
 * on (configured through the admin API), customer mail appended to a real
 * Dovecot, the acknowledgement accepted by a real SMTP server. Auto-replies,
 * bounces and a sender over the hourly limit get none.
 */
const ADDRESS = 'help@ack.test';

function mail(headers: Record<string, string>, body = 'Hello'): string {
  return [...Object.entries(headers).map(([k, v]) => `${k}: ${v}`), '', body].join('\r\n');
}

describe('acknowledgement mail on a new email ticket (ticket-service + email-service)', () => {
  let stack: EmailStack;

  beforeAll(async () => {
    stack = await EmailStack.start(ADDRESS, {
      acknowledgement: {
        enabled: true,
        text: 'We received your request {{number}} ("{{subject}}").',
        maxPerSenderPerHour: 1,
      },
    });
    // A first-reply clock, so the test can show the acknowledgement does not fulfil it.
    const policy = await stack.call('POST', '/v1/admin/sla/policies', {
      name: 'Email',
      position: 1,
      conditions: { channel: ['email'] },
      targets: { first_reply: { normal: { seconds: 3600 } } },
    });
    expect(policy.status).toBe(201);
  }, 90_000);

  afterAll(async () => {
    await stack?.stop();
  });

  const ticketOf = (externalId: string) => stack.ticketOf(externalId);
  const waitTicket = async (externalId: string) => {
    await until(async () => !!(await ticketOf(externalId)), 10_000, `ticket of ${externalId}`);
    return (await ticketOf(externalId))!;
  };
  const outboundOn = (ticketId: string) =>
    stack.ds.query(
      `SELECT id, author_agent_id, auto_submitted, delivery_status, subject, text, metadata
         FROM messages WHERE ticket_id = $1 AND direction = 'outbound'`,
      [ticketId],
    );

  it('rejects an invalid acknowledgement template with a 400 naming the field', async () => {
    const res = await stack.call('PATCH', `/v1/inboxes/${stack.inboxId}`, {
      settings: { ...stack.settings, acknowledgement: { enabled: true, maxPerSenderPerHour: 0 } },
    });
    expect(res.status).toBe(400);
    expect(JSON.stringify(res.body)).toContain('settings.acknowledgement.maxPerSenderPerHour');
  });

  it('a new mail opens a ticket and the sender gets an acknowledgement with its number, threaded and Auto-Submitted', async () => {
    await stack.dovecot.append(ADDRESS, [
      mail(
        {
          From: 'Ann <ann@customer.test>',
          To: ADDRESS,
          Subject: 'Card blocked',
          'Message-ID': '<ann-1@customer.test>',
        },
        'My card is blocked.',
      ),
    ]);
    const t = await waitTicket('<ann-1@customer.test>');
    await stack.sink.waitFor((mails) => mails.some((m) => m.to.includes('ann@customer.test')), 10_000);
    const sent = stack.sink.mails.filter((m) => m.to.includes('ann@customer.test'));
    expect(sent).toHaveLength(1);
    const raw = sent[0].raw.toString();
    expect(raw).toMatch(/^Auto-Submitted: auto-replied\r?$/im);
    const parsed = await PostalMime.parse(sent[0].raw);
    expect(parsed.subject).toBe(`Re: Card blocked [#${t.number}]`);
    expect(parsed.text?.trim()).toBe(`We received your request ${t.number} ("Card blocked").`);
    expect(parsed.inReplyTo).toBe('<ann-1@customer.test>');
    expect(parsed.references).toBe('<ann-1@customer.test>');
    expect(parsed.from).toMatchObject({ address: ADDRESS, name: 'Wallet Help' });
    expect(ticketIdFromEmailMessageId(parsed.messageId!, THREADING_SECRET)).toBe(t.id);

    // On the ticket as an automatic outbound message; not an agent reply: no SLA fulfilment, still new.
    await until(
      async () => (await outboundOn(t.id)).some((m: { delivery_status: string }) => m.delivery_status === 'sent'),
      5000,
      'acknowledgement marked sent',
    );
    const [ack] = await outboundOn(t.id);
    expect(ack).toMatchObject({ author_agent_id: null, auto_submitted: true, subject: parsed.subject });
    const after = (await ticketOf('<ann-1@customer.test>'))!;
    expect(after).toMatchObject({ status: 'new', agent_reply_count: 0, first_reply_at: null });
    const clocks = await stack.ds.query(
      `SELECT state FROM ticket_sla WHERE ticket_id = $1 AND metric = 'first_reply'`,
      [t.id],
    );
    expect(clocks).toEqual([{ state: 'active' }]);
  });

  it('auto-replies, bounces and a second new ticket from the same sender within the hour get none', async () => {
    await stack.dovecot.append(ADDRESS, [
      mail(
        {
          From: 'bob@customer.test',
          To: ADDRESS,
          Subject: 'Out of Office',
          'Auto-Submitted': 'auto-replied',
          'Message-ID': '<bob-ooo@customer.test>',
        },
        'I am away until Monday.',
      ),
      bounceMail({
        to: ADDRESS,
        messageId: '<bounce-1@mx.customer.test>',
        recipient: 'zed@customer.test',
        status: '5.1.1',
        diagnostic: '550 5.1.1 No such user',
        originalMessageId: '<someone-elses@other.test>',
      }),
      mail(
        { From: 'ann@customer.test', To: ADDRESS, Subject: 'Another thing', 'Message-ID': '<ann-2@customer.test>' },
        'Also my address changed.',
      ),
      // Another sender right after: still acknowledged (the limit is per sender).
      mail({ From: 'cid@customer.test', To: ADDRESS, Subject: 'Fees', 'Message-ID': '<cid-1@customer.test>' }),
    ]);
    const ooo = await waitTicket('<bob-ooo@customer.test>');
    // A report about mail we never sent is backscatter: suppressed mail, no ticket, no acknowledgement.
    await until(
      async () =>
        (
          await stack.ds.query(
            `SELECT 1 FROM suppressed_mails WHERE reason = 'backscatter' AND message->'email'->>'messageId' = $1`,
            ['<bounce-1@mx.customer.test>'],
          )
        ).length === 1,
      10_000,
      'backscatter suppressed',
    );
    const ann2 = await waitTicket('<ann-2@customer.test>');
    const cid = await waitTicket('<cid-1@customer.test>');
    expect(await outboundOn(cid.id)).toHaveLength(1);
    // Ann's second mail is a ticket of its own (no thread, no token): only the hourly limit holds it back.
    expect(ann2.id).not.toBe((await ticketOf('<ann-1@customer.test>'))!.id);
    // The acknowledgement commits with its ticket: no row now means none will be sent.
    expect(await outboundOn(ooo.id)).toHaveLength(0);
    expect(await ticketOf('<bounce-1@mx.customer.test>')).toBeUndefined();
    expect(await outboundOn(ann2.id)).toHaveLength(0);
    await stack.sink.waitFor((mails) => mails.some((m) => m.to.includes('cid@customer.test')), 10_000);
    expect(stack.sink.mails.filter((m) => m.to.includes('ann@customer.test'))).toHaveLength(1);
    expect(stack.sink.mails.some((m) => m.to.some((to) => /bob@|mailer-daemon@/i.test(to)))).toBe(false);
  });
});
