import { randomUUID } from 'node:crypto';
import { InvalidPayloadError, JobName, parseJob } from './index';

const now = new Date().toISOString();
const bounce = {
  v: 1,
  inboxId: randomUUID(),
  channel: 'email',
  externalId: '<report-1@mx.example.net>',
  sourceTime: now,
  receivedAt: now,
  sender: { kind: 'email', value: 'mailer-daemon@mx.example.net' },
  subject: 'Undelivered Mail Returned to Sender',
  bounce: { originalMessageId: '<oq.abc@onequeue.local>', diagnostic: '550 5.1.1 user unknown' },
};

describe('InboundMessage bounce field', () => {
  it('carries the original Message-ID and the diagnostic of a delivery-status report', () => {
    const msg = parseJob(JobName.InboundMessage, bounce);
    expect(msg.bounce).toEqual({ originalMessageId: '<oq.abc@onequeue.local>', diagnostic: '550 5.1.1 user unknown' });
  });

  it('stays optional so older producers keep validating', () => {
    const { bounce: _omit, ...plain } = bounce;
    expect(parseJob(JobName.InboundMessage, plain).bounce).toBeUndefined();
  });

  it('rejects a bounce without a diagnostic, naming the field', () => {
    expect(() =>
      parseJob(JobName.InboundMessage, { ...bounce, bounce: { originalMessageId: '<x@y>', diagnostic: '' } }),
    ).toThrow(InvalidPayloadError);
    expect(() =>
      parseJob(JobName.InboundMessage, { ...bounce, bounce: { originalMessageId: '<x@y>', diagnostic: '' } }),
    ).toThrow(/bounce\.diagnostic/);
  });
});
