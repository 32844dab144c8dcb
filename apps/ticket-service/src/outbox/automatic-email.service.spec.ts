import { randomUUID } from 'node:crypto';
import { ticketIdFromEmailMessageId } from '@oq/contracts';
import { emailEnvelope } from './automatic-email.service';

const config = {
  EMAIL_THREADING_SECRET: 'envelope-spec-secret-0123456789abcdef',
  EMAIL_MESSAGE_ID_DOMAIN: 'mail.test',
};

describe('emailEnvelope', () => {
  const message = { ticketId: randomUUID(), id: randomUUID() };

  it('signs the Message-ID for the ticket and names no thread when there is none', () => {
    const e = emailEnvelope(config, message);
    expect(e).toEqual({ messageId: expect.stringMatching(/^<oq\.[0-9a-f.]+@mail\.test>$/), references: [] });
    expect(e.inReplyTo).toBeUndefined();
    expect(ticketIdFromEmailMessageId(e.messageId, config.EMAIL_THREADING_SECRET)).toBe(message.ticketId);
  });

  it('keeps the first and the latest 199 References once the thread outgrows the job schema', () => {
    const ids = Array.from({ length: 250 }, (_, i) => `<m${i}@customer.test>`);
    const e = emailEnvelope(config, message, { inReplyTo: ids[249], references: ids });
    expect(e.inReplyTo).toBe('<m249@customer.test>');
    expect(e.references).toEqual([ids[0], ...ids.slice(51)]);
    expect(e.references).toHaveLength(200);
    expect(emailEnvelope(config, message, { references: ids.slice(0, 200) }).references).toEqual(ids.slice(0, 200));
  });
});
