import { randomUUID } from 'node:crypto';
import { ApiHarness } from '../tickets/api-test-harness';

/** Each message keeps the name and address it came with; a contact's name is its first one. */
describe('the sender each message came with (real Postgres + Redis, booted ticket-service)', () => {
  const h = new ApiHarness();
  beforeAll(() => h.start(), 30_000);
  afterAll(() => h.stop());

  const mail = (address: string, displayName: string | undefined, extra: Record<string, unknown> = {}) =>
    h.ingest({
      inboxId: h.ids.inbox_email,
      channel: 'email',
      externalId: `<${randomUUID()}@example.com>`,
      sender: { kind: 'email', value: address, displayName },
      subject: 'Card blocked',
      text: 'please help',
      ...extra,
    } as never);
  const whatsapp = (waId: string, displayName?: string) =>
    h.ingest({
      inboxId: h.ids.inbox_whatsapp,
      channel: 'whatsapp',
      externalId: `wamid.${randomUUID()}`,
      sender: { kind: 'whatsapp', value: waId, displayName },
      text: 'hi',
    } as never);
  const ticket = async (id: string) => (await h.call('alice', 'GET', `/v1/tickets/${id}`)).body;
  const contactName = async (ticketId: string) =>
    (
      await h.ds.query(`SELECT c.name FROM tickets t JOIN contacts c ON c.id = t.requester_id WHERE t.id = $1`, [
        ticketId,
      ])
    )[0].name as string | null;

  it('stores and shows each message’s own name and address; a later name never replaces the contact’s', async () => {
    const first = await mail('Jana.Novak@Example.com', 'Jana Novak', {
      email: { messageId: '<jana-1@example.com>', senderHeader: 'from' },
    });
    const second = await mail('jana.novak@example.com', 'Accounts Payable', {
      subject: 'Re: Card blocked',
      email: { messageId: '<jana-2@example.com>', inReplyTo: ['<jana-1@example.com>'], senderHeader: 'reply-to' },
    });
    expect(second).toBe(first);
    expect(await contactName(first)).toBe('Jana Novak');

    const t = await ticket(first);
    const inbound = t.messages.filter((m: { direction: string }) => m.direction === 'inbound');
    expect(inbound.map((m: Record<string, unknown>) => [m.sender, m.senderHeader, m.senderUnknown])).toEqual([
      [{ name: 'Jana Novak', address: 'Jana.Novak@Example.com' }, 'from', false],
      [{ name: 'Accounts Payable', address: 'jana.novak@example.com' }, 'reply-to', false],
    ]);
    expect(t.participants.find((p: { role: string }) => p.role === 'requester').name).toBe('Jana Novak');
    const rows = await h.ds.query(
      `SELECT sender_name, sender_address, sender_header FROM messages WHERE ticket_id = $1 ORDER BY created_at`,
      [first],
    );
    expect(rows).toEqual([
      { sender_name: 'Jana Novak', sender_address: 'Jana.Novak@Example.com', sender_header: 'from' },
      { sender_name: 'Accounts Payable', sender_address: 'jana.novak@example.com', sender_header: 'reply-to' },
    ]);
  });

  it('a nameless contact takes the first name it gets (not a blank one), then keeps it', async () => {
    const waId = `4917${Math.floor(Math.random() * 1e8)}`;
    const t1 = await whatsapp(waId);
    expect(await contactName(t1)).toBeNull();
    await whatsapp(waId, '   ');
    expect(await contactName(t1)).toBeNull();
    const t3 = await whatsapp(waId, 'Ola');
    expect(t3).toBe(t1);
    expect(await contactName(t1)).toBe('Ola');
    await whatsapp(waId, 'Ola Nordmann (work phone)');
    expect(await contactName(t1)).toBe('Ola');

    // Every channel keeps the sender it carried; only email says which header gave it.
    const shown = (await ticket(t1)).messages.map((m: Record<string, unknown>) => [m.sender, m.senderHeader]);
    expect(shown).toEqual([
      [{ name: null, address: waId }, null],
      [{ name: null, address: waId }, null],
      [{ name: 'Ola', address: waId }, null],
      [{ name: 'Ola Nordmann (work phone)', address: waId }, null],
    ]);
  });

  it('marks mail that named no sender address: tagged ticket, senderUnknown, no name on the placeholder', async () => {
    const ghost = await mail('unknown-sender@invalid', 'Ghost Writer', {
      subject: 'no from header',
      email: { messageId: '<ghost-1@example.com>', senderHeader: 'none' },
    });
    const t = await ticket(ghost);
    expect(t.tags).toEqual(['unknown-sender']);
    expect(t.messages[0]).toMatchObject({
      sender: { name: 'Ghost Writer', address: 'unknown-sender@invalid' },
      senderHeader: 'none',
      senderUnknown: true,
    });
    // The name is that message's: the placeholder contact, shared by every senderless mail, stays unnamed.
    expect(await contactName(ghost)).toBeNull();
    const { body: list } = await h.call('alice', 'GET', '/v1/tickets?tag=unknown-sender');
    expect(list.items.map((i: { id: string }) => i.id)).toEqual([ghost]);

    // Another senderless mail naming that ticket is nobody proven to be on it: a linked ticket.
    const other = await mail('unknown-sender@invalid', 'Someone Else', {
      subject: `Re: no from header [#${t.number}]`,
      email: { messageId: '<ghost-2@example.com>', inReplyTo: ['<ghost-1@example.com>'], senderHeader: 'none' },
    });
    expect(other).not.toBe(ghost);
    expect((await ticket(other)).followUpOfId).toBe(ghost);

    // A mail with an address says it is known.
    const known = await mail('someone@example.com', undefined, { email: { senderHeader: 'sender' } });
    expect((await ticket(known)).tags).toEqual([]);
    expect((await ticket(known)).messages[0]).toMatchObject({ senderHeader: 'sender', senderUnknown: false });
  });

  it('an agent-logged ticket’s first message carries the requester the agent named', async () => {
    const t = await h.createTicket('alice', {
      requester: { kind: 'email', value: 'walkin@example.com', name: 'Walk In' },
    });
    expect(t.messages[0]).toMatchObject({
      sender: { name: 'Walk In', address: 'walkin@example.com' },
      senderUnknown: false,
    });
  });
});
