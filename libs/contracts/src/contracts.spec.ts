import { randomUUID } from 'node:crypto';
import {
  generateEmailMessageId,
  replySubject,
  ticketIdFromEmailMessageId,
  ticketNumberFromSubject,
  DEFAULT_QUEUE_PREFIX,
  InvalidPayloadError,
  JobName,
  QUEUE_JOBS,
  QueueName,
  deliveryReportJobId,
  redisKey,
  EVENT_SUBSCRIPTIONS,
  subscriberQueues,
  TICKET_EVENTS,
  ticketEventEntry,
  ticketEventJobId,
  isTicketEventRow,
  inboundJobId,
  maskCardNumbers,
  parseJob,
  slaTimerJobId,
} from './index';

const inbox = randomUUID();
const now = new Date().toISOString();

const validInbound = {
  v: 1,
  inboxId: inbox,
  channel: 'whatsapp',
  externalId: 'wamid.HBgLMTY1MDM4Nzk0MzkVAgASGBQzQTRBNjU5OUFFRTAzODEwMTQ0RgA=',
  revision: 0,
  sourceTime: now,
  receivedAt: now,
  sender: { kind: 'whatsapp', value: '16505551234', linked: [{ kind: 'phone', value: '+16505551234' }] },
  text: 'My transfer failed',
};

describe('contracts', () => {
  it('keeps every queue under one hash-tagged prefix and lists jobs for each queue', () => {
    expect(DEFAULT_QUEUE_PREFIX).toMatch(/^\{[a-z]+\}$/);
    for (const q of Object.values(QueueName)) expect(QUEUE_JOBS[q].length).toBeGreaterThan(0);
  });

  it('accepts a valid InboundMessage and fills defaults', () => {
    const msg = parseJob(JobName.InboundMessage, validInbound);
    expect(msg.kind).toBe('message');
    expect(msg.attachments).toEqual([]);
    expect(msg.cc).toEqual([]);
  });

  it('rejects a malformed InboundMessage with a readable reason naming the field', () => {
    const bad = { ...validInbound, inboxId: 'not-a-uuid', revision: -1 };
    expect(() => parseJob(JobName.InboundMessage, bad)).toThrow(InvalidPayloadError);
    try {
      parseJob(JobName.InboundMessage, bad);
    } catch (e) {
      expect((e as Error).message).toMatch(/inboxId: /);
      expect((e as Error).message).toMatch(/revision: /);
    }
  });

  it('lifts a v1 InboundMessage queued before the v2 deploy, and reads v2 email fields', () => {
    expect(parseJob(JobName.InboundMessage, validInbound).v).toBe(2);
    const email = parseJob(JobName.InboundMessage, {
      ...validInbound,
      v: 2,
      channel: 'email',
      sender: { kind: 'email', value: 'ann@example.com' },
      email: {
        senderHeader: 'reply-to',
        suppressed: { reason: 'spam', detail: 'X-Spam-Flag: YES', raw: { sha256: 'a'.repeat(64), size: 10 } },
      },
    });
    expect(email.email?.senderHeader).toBe('reply-to');
    expect(email.email?.suppressed?.reason).toBe('spam');
    // A v1 payload cannot smuggle in v2 fields: they are stripped before the lift.
    const old = parseJob(JobName.InboundMessage, { ...validInbound, email: { senderHeader: 'none' } });
    expect(old.email?.senderHeader).toBeUndefined();
  });

  it('rejects an unknown schema version', () => {
    expect(() => parseJob(JobName.InboundMessage, { ...validInbound, v: 7 })).toThrow(
      /v: unsupported schema version 7 \(accepts 1 or 2\)/,
    );
  });

  it('validates the other payloads', () => {
    const messageId = randomUUID();
    expect(
      parseJob(JobName.OutboundMessage, {
        v: 1,
        messageId,
        ticketId: randomUUID(),
        ticketNumber: 10234,
        inboxId: inbox,
        channel: 'email',
        to: { kind: 'email', value: 'customer@example.com' },
        text: 'Your refund is on its way',
        email: { messageId: '<x@oq>' },
        createdAt: now,
      }).attempt,
    ).toBe(0);
    expect(() =>
      parseJob(JobName.DeliveryReport, { v: 1, inboxId: inbox, status: 'failed', occurredAt: now, messageId }),
    ).toThrow(/reason: a failed report needs a reason/);
    expect(() => parseJob(JobName.DeliveryReport, { v: 1, inboxId: inbox, status: 'sent', occurredAt: now })).toThrow(
      /messageId: either messageId or providerMessageId/,
    );
    expect(
      parseJob(JobName.TicketEvent, {
        v: 1,
        eventId: randomUUID(),
        type: 'message.created',
        ticketId: randomUUID(),
        teamId: null,
        assigneeId: null,
        occurredAt: now,
      }).data,
    ).toEqual({});
    expect(() =>
      parseJob(JobName.TicketCommand, {
        v: 1,
        commandId: 'c1',
        ticketId: randomUUID(),
        reason: 'breach',
        actions: [{ kind: 'raise_priority', priority: 'critical' }],
        issuedAt: now,
      }),
    ).toThrow(/actions\.0\.priority/);
    expect(() =>
      parseJob(JobName.InboundMessage, {
        ...validInbound,
        kind: 'call_log',
        call: {
          callId: 'CA1',
          direction: 'inbound',
          from: '+1',
          to: '+2',
          disposition: 'answered',
          startedAt: '2026-01-01T10:00:00Z',
          endedAt: '2026-01-01T09:00:00Z',
          durationSec: 0,
        },
      }),
    ).toThrow(/call\.endedAt: endedAt must not be before startedAt/);
  });

  it('derives deterministic job ids without ":"', () => {
    const a = inboundJobId(inbox, 'm1', 0);
    expect(a).toBe(inboundJobId(inbox, 'm1', 0));
    expect(a).not.toBe(inboundJobId(inbox, 'm1', 1));
    expect(a).not.toContain(':');
    expect(slaTimerJobId(randomUUID(), 'first_reply', 'breach')).toHaveLength(24);
  });

  it('gives every channel service one delivery-report job id per report, distinct across kinds', () => {
    const messageId = randomUUID();
    const attempt = { kind: 'attempt', inboxId: inbox, messageId, attempt: 0, status: 'sent' } as const;
    const ids = [
      deliveryReportJobId(attempt),
      deliveryReportJobId({ ...attempt, attempt: 1 }),
      deliveryReportJobId({ ...attempt, status: 'failed' }),
      deliveryReportJobId({ kind: 'read', inboxId: inbox, messageId }),
      deliveryReportJobId({
        kind: 'provider',
        inboxId: inbox,
        providerMessageId: messageId,
        status: 'sent',
        occurredAt: 'x',
      }),
      deliveryReportJobId({
        kind: 'watermark',
        inboxId: inbox,
        to: 'psid|1',
        watermark: '5',
        status: 'read',
        occurredAt: 'x',
      }),
    ];
    expect(new Set(ids).size).toBe(ids.length);
    expect(deliveryReportJobId({ ...attempt })).toBe(ids[0]);
    for (const id of ids) expect(id).toMatch(/^[0-9a-f]{64}$/);
  });

  it('masks Luhn-valid card numbers only', () => {
    expect(maskCardNumbers('card 4111 1111 1111 1111 declined')).toBe('card •••• •••• •••• 1111 declined');
    expect(maskCardNumbers('pan 5500-0000-0000-0004.')).toBe('pan ••••-••••-••••-0004.');
    expect(maskCardNumbers('order 1234567890123 ok')).toBe('order 1234567890123 ok');
    expect(maskCardNumbers('phone +14155552671')).toBe('phone +14155552671');
  });
});

describe('email threading ids', () => {
  const ticketId = randomUUID();
  const messageId = randomUUID();

  it('round-trips the ticket id through a generated Message-ID and rejects forgeries', () => {
    const mid = generateEmailMessageId(ticketId, messageId, 'secret-1', 'mail.example.com');
    expect(mid).toMatch(/^<oq\.[0-9a-f]{32}\.[0-9a-f]{32}\.[0-9a-f]{16}@mail\.example\.com>$/);
    expect(ticketIdFromEmailMessageId(mid, 'secret-1')).toBe(ticketId);
    expect(ticketIdFromEmailMessageId(mid, 'other-secret')).toBeNull();
    expect(ticketIdFromEmailMessageId(mid.replace(/\.([0-9a-f]{16})@/, '.0000000000000000@'), 'secret-1')).toBeNull();
    expect(ticketIdFromEmailMessageId('<random@gmail.com>', 'secret-1')).toBeNull();
  });

  it('reads and writes the subject token', () => {
    expect(ticketNumberFromSubject('Re: refund [#10234]')).toBe(10234);
    expect(ticketNumberFromSubject('no token')).toBeNull();
    expect(replySubject('Refund please', 10234)).toBe('Re: Refund please [#10234]');
    expect(replySubject('RE: Refund please [#10234]', 10234)).toBe('RE: Refund please [#10234]');
  });
});

describe('redisKey', () => {
  it('builds <prefix>:<area>:<name>[:<id>…] under a hash tag and refuses anything else', () => {
    expect(redisKey('{oq}', 'chat', 'rl', 'conn:ip:::1')).toBe('{oq}:chat:rl:conn:ip:::1');
    expect(redisKey('{oq}', 'sla', 'reconciler-lock')).toBe('{oq}:sla:reconciler-lock');
    expect(() => redisKey('oq', 'chat', 'rl')).toThrow(/not a hash tag/);
    expect(() => redisKey('{oq}', 'Chat', 'rl')).toThrow(/bad Redis key word/);
    expect(() => redisKey('{oq}', 'chat', 'rl', '')).toThrow(/empty id/);
  });
});

describe('ticket event subscriptions', () => {
  it('give each consumer its own queue that carries ticket events, and only the types it asked for', () => {
    const queues = EVENT_SUBSCRIPTIONS.map((s) => s.queue);
    expect(new Set(queues).size).toBe(queues.length);
    for (const q of queues) expect(QUEUE_JOBS[q]).toContain(JobName.TicketEvent);
    expect(subscriberQueues('sla.changed')).toEqual([QueueName.SlaEvents]);
    expect(subscriberQueues('ticket.updated')).toEqual([]);
    // The outbox address is not a queue: nothing can consume it by mistake.
    expect(Object.values(QueueName) as string[]).not.toContain(TICKET_EVENTS);
    const entry = ticketEventEntry('sla.changed', { id: randomUUID(), teamId: null, assigneeId: null }, { n: 1 });
    expect(entry).toMatchObject({
      queue: QueueName.Sla,
      jobName: JobName.TicketEvent,
      payload: { v: 1, data: { n: 1 } },
    });
    // This release writes `sla` (the previous release's relays still run during a deploy); both addresses are events.
    expect(isTicketEventRow({ queue: entry.queue, job_name: entry.jobName })).toBe(true);
    expect(isTicketEventRow({ queue: TICKET_EVENTS, job_name: JobName.TicketEvent })).toBe(true);
    expect(isTicketEventRow({ queue: QueueName.Sla, job_name: JobName.SlaTimer })).toBe(false);
    expect(ticketEventJobId(entry.payload)).toBe(`event-${entry.payload.eventId}`);
  });
});
