import { QueueName, outboundJobId } from '@oq/contracts';
import { ApiHarness, waitForJob } from '../tickets/api-test-harness';

/**
 * What an agent sends is never altered: a reply or note with a card number is a 422
 * `card_number_in_reply` and nothing is stored or queued. The customer's words an
 * agent records when opening a ticket are customer content, masked like inbound mail.
 */
describe('card numbers in what agents write', () => {
  const h = new ApiHarness();
  beforeAll(() => h.start(), 30_000);
  afterAll(() => h.stop());

  const post = (ticketId: string, body: Record<string, unknown>) =>
    h.call('alice', 'POST', `/v1/tickets/${ticketId}/messages`, body);
  const messageCount = async (ticketId: string) =>
    (await h.ds.query(`SELECT count(*)::int AS n FROM messages WHERE ticket_id = $1`, [ticketId]))[0].n;
  const refused = {
    statusCode: 422,
    reason: 'card_number_in_reply',
    message: expect.stringMatching(/contains a card number/),
  };

  it('refuses a reply or note with a card number in its text or HTML, storing and queuing nothing', async () => {
    const t = await h.createTicket();
    const before = await messageCount(t.id);
    for (const body of [
      { text: 'Refunded to your card 4111 1111 1111 1111' },
      { text: 'Refunded to your card', html: '<p>Refunded to <b>5555-5555-5555-4444</b></p>' },
      { text: 'Amex 378282246310005 on file', status: 'solved' },
      { kind: 'note', text: 'Checked the ledger for card 4111111111111111' },
    ]) {
      const res = await post(t.id, body);
      expect(res.status).toBe(422);
      expect(res.body).toEqual(refused);
    }
    expect(await messageCount(t.id)).toBe(before);
    expect((await h.call('alice', 'GET', `/v1/tickets/${t.id}`)).body).toMatchObject({
      status: 'new',
      agentReplyCount: 0,
    });
  });

  it('refuses a WhatsApp template whose parameters carry a card number', async () => {
    const t = await h.createTicket('alice', {
      requester: { kind: 'whatsapp', value: `49151${Date.now() % 1e7}` },
      channel: 'whatsapp',
    });
    const before = await messageCount(t.id);
    const res = await post(t.id, {
      template: { name: 'refund_update', language: 'en_US', parameters: ['€42.00', 'card 4111 1111 1111 1111'] },
    });
    expect(res.status).toBe(422);
    expect(res.body).toEqual(refused);
    expect(await messageCount(t.id)).toBe(before);
  });

  it('sends phone numbers and last-four references exactly as typed', async () => {
    const t = await h.createTicket();
    const text = 'Call our fraud line +49 151 1234 5678 (or 004915112345678) about the card ending 1111.';
    const res = await post(t.id, { text });
    expect(res.status).toBe(201);
    expect(res.body.text).toBe(text);
    const job = await waitForJob(h, QueueName.OutboundEmail, outboundJobId(res.body.id, 0));
    expect(job.data.text).toBe(text);
  });

  it("masks the customer's words an agent records when opening a ticket", async () => {
    const t = await h.createTicket('alice', {
      subject: 'Card 4111 1111 1111 1111 charged twice',
      message: { text: 'Customer says 5555555555554444 was charged twice; call back on +49 151 1234 5678' },
    });
    const [msg] = await h.ds.query(`SELECT subject, text FROM messages WHERE ticket_id = $1`, [t.id]);
    expect(msg).toEqual({
      subject: 'Card •••• •••• •••• 1111 charged twice',
      text: 'Customer says ••••••••••••4444 was charged twice; call back on +49 151 1234 5678',
    });
    expect(t.subject).toBe('Card •••• •••• •••• 1111 charged twice');
  });
});
