import { randomUUID } from 'node:crypto';
import { JobName } from './queues';
import { parseJob } from './jobs';

describe('OutboundMessage.conversation (24-hour window input for social channels)', () => {
  const base = {
    v: 1,
    messageId: randomUUID(),
    ticketId: randomUUID(),
    ticketNumber: 7,
    inboxId: randomUUID(),
    channel: 'whatsapp',
    to: { kind: 'whatsapp', value: '16505551234' },
    text: 'Your refund was sent',
    createdAt: '2026-11-25T10:00:00.000Z',
  };

  it('is optional, so jobs written before it existed still parse', () => {
    expect(parseJob(JobName.OutboundMessage, base).conversation).toBeUndefined();
  });

  it('carries the last inbound time and rejects a malformed one', () => {
    const at = '2026-11-25T09:30:00.000Z';
    expect(parseJob(JobName.OutboundMessage, { ...base, conversation: { lastInboundAt: at } }).conversation).toEqual({
      lastInboundAt: at,
    });
    expect(() => parseJob(JobName.OutboundMessage, { ...base, conversation: { lastInboundAt: 'yesterday' } })).toThrow(
      /conversation\.lastInboundAt/,
    );
  });
});
