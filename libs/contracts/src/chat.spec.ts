import { ChatAgentTyping, ChatCustomerTyping, ChatHistoryPage } from './chat';

describe('chat contracts', () => {
  const inboxId = '6f1c1c1e-8d1f-4c53-9a7e-2b7f4f0e9a10';

  it('accepts typing events and refuses an identity kind that does not exist', () => {
    expect(ChatAgentTyping.parse({ inboxId, to: { kind: 'visitor', value: 'v1' }, typing: true }).typing).toBe(true);
    const bad = ChatCustomerTyping.safeParse({
      inboxId,
      identity: { kind: 'fax', value: '1' },
      typing: true,
      at: new Date().toISOString(),
    });
    expect(bad.success).toBe(false);
  });

  it('history pages carry direction and a nullable cursor, defaulting attachments', () => {
    const page = ChatHistoryPage.parse({
      messages: [
        {
          id: inboxId,
          ticketId: inboxId,
          direction: 'outbound',
          text: 'hi',
          externalId: null,
          deliveryStatus: 'delivered',
          createdAt: '2026-11-25T10:00:00.000Z',
        },
      ],
      nextCursor: null,
    });
    expect(page.messages[0].attachments).toEqual([]);
    expect(
      ChatHistoryPage.safeParse({ messages: [{ ...page.messages[0], direction: 'internal' }], nextCursor: null })
        .success,
    ).toBe(false);
  });
});
