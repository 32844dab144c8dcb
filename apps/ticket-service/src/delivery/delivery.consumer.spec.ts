import { randomUUID } from 'node:crypto';
import { JobName, QueueName, TicketEvent, jobOptions } from '@oq/contracts';
import { until } from '../../../../test/support/until';
import { IngestTestKit } from '../inbound/ingest-test-kit';
import { TicketEventBus } from '../outbox/outbox.service';
import { deliveryMoves } from './delivery.consumer';

describe('delivery reports (real Postgres + Redis)', () => {
  let kit: IngestTestKit;
  let ticketId: string;
  beforeAll(async () => {
    kit = await IngestTestKit.start();
    const first = kit.message('whatsapp', { kind: 'whatsapp', value: '4917000000001' });
    await kit.ingest(first);
    [{ ticket_id: ticketId }] = await kit.ds.query(`SELECT ticket_id FROM messages WHERE external_id = $1`, [
      first.externalId,
    ]);
  }, 30000);
  afterAll(async () => kit?.stop());

  async function outbound(status = 'queued', providerId: string | null = null): Promise<string> {
    const [m] = await kit.ds.query(
      `INSERT INTO messages (ticket_id, inbox_id, channel, direction, text, delivery_status, provider_message_id)
       VALUES ($1, $2, 'whatsapp', 'outbound', 'reply', $3, $4) RETURNING id`,
      [ticketId, kit.inboxes.whatsapp, status, providerId],
    );
    return m.id;
  }
  const report = (fields: Record<string, unknown>) => ({
    v: 1,
    inboxId: kit.inboxes.whatsapp,
    occurredAt: new Date().toISOString(),
    ...fields,
  });
  async function deliver(...reports: unknown[]) {
    // One at a time, in order: ordering across reports is what these tests are about.
    for (const r of reports) {
      await kit.enqueue([r], QueueName.Delivery);
      await kit.drained(QueueName.Delivery);
    }
  }
  const statusOf = async (id: string) =>
    (await kit.ds.query(`SELECT delivery_status, delivery_reason FROM messages WHERE id = $1`, [id]))[0];

  it('orders statuses forward only; failed from any state but read', () => {
    expect(deliveryMoves('queued', 'sent')).toBe(true);
    expect(deliveryMoves('delivered', 'sent')).toBe(false);
    expect(deliveryMoves('read', 'delivered')).toBe(false);
    expect(deliveryMoves('delivered', 'failed')).toBe(true);
    expect(deliveryMoves('read', 'failed')).toBe(false);
    expect(deliveryMoves('failed', 'delivered')).toBe(false);
  });

  it('ignores late reports that would move a message backwards', async () => {
    const id = await outbound('queued', `wamid.${randomUUID()}`);
    const [{ provider_message_id: pid }] = await kit.ds.query(
      `SELECT provider_message_id FROM messages WHERE id = $1`,
      [id],
    );
    await deliver(
      report({ providerMessageId: pid, status: 'delivered' }),
      report({ messageId: id, providerMessageId: pid, status: 'sent' }),
    );
    expect(await statusOf(id)).toEqual({ delivery_status: 'delivered', delivery_reason: null });
    await deliver(report({ providerMessageId: pid, status: 'read' }));
    await deliver(report({ providerMessageId: pid, status: 'failed', reason: 'too late' }));
    expect(await statusOf(id)).toEqual({ delivery_status: 'read', delivery_reason: null });

    const failing = await outbound('sent', `wamid.${randomUUID()}`);
    await deliver(report({ messageId: failing, status: 'failed', reason: '131047 re-engagement required' }));
    expect(await statusOf(failing)).toEqual({
      delivery_status: 'failed',
      delivery_reason: '131047 re-engagement required',
    });
  });

  it('parks a provider callback that outruns the send result and applies it when the id is recorded', async () => {
    const id = await outbound('queued');
    const pid = `wamid.${randomUUID()}`;
    await deliver(
      report({ providerMessageId: pid, status: 'delivered' }),
      report({ providerMessageId: pid, status: 'read' }),
    );
    expect(await kit.count('parked_delivery_reports WHERE provider_message_id = $1', [pid])).toBe(2);
    expect((await statusOf(id)).delivery_status).toBe('queued');

    await deliver(report({ messageId: id, providerMessageId: pid, status: 'sent' }));
    expect(await statusOf(id)).toEqual({ delivery_status: 'read', delivery_reason: null });
    expect(await kit.count('parked_delivery_reports WHERE provider_message_id = $1', [pid])).toBe(0);
    const [{ provider_message_id }] = await kit.ds.query(`SELECT provider_message_id FROM messages WHERE id = $1`, [
      id,
    ]);
    expect(provider_message_id).toBe(pid);
  });

  it('emits message.delivery events through the outbox', async () => {
    const seen: TicketEvent[] = [];
    const sub = kit.app.get(TicketEventBus).events$.subscribe((e) => seen.push(e));
    const id = await outbound('queued');
    await deliver(report({ messageId: id, providerMessageId: `wamid.${randomUUID()}`, status: 'sent' }));
    try {
      await until(
        () => seen.some((e) => e.type === 'message.delivery' && e.data.messageId === id),
        5000,
        'message.delivery published',
      );
    } finally {
      sub.unsubscribe();
    }
  });

  it('dead-letters an invalid report and one for an unknown message', async () => {
    const before = await kit.count('dead_letters');
    await deliver(report({ status: 'sent' }), report({ messageId: randomUUID(), status: 'sent' }));
    const rows = await kit.ds.query(`SELECT reason FROM dead_letters ORDER BY created_at DESC LIMIT 2`);
    expect(await kit.count('dead_letters')).toBe(before + 2);
    expect(rows.map((r: { reason: string }) => r.reason).join('\n')).toMatch(/either messageId or providerMessageId/);
    expect(rows.map((r: { reason: string }) => r.reason).join('\n')).toMatch(/^no message /m);
  });

  describe('watermarks (Messenger: "everything sent up to T is read")', () => {
    const psid = '6600000000000001';
    let identityId: string;
    let fbTicket: string;
    beforeAll(async () => {
      const first = kit.message('messenger', { kind: 'messenger', value: psid });
      await kit.ingest(first);
      [{ ticket_id: fbTicket, author_contact_id: identityId }] = await kit.ds.query(
        `SELECT m.ticket_id, ci.id AS author_contact_id FROM messages m
           JOIN contact_identities ci ON ci.contact_id = m.author_contact_id AND ci.kind = 'messenger'
          WHERE m.external_id = $1`,
        [first.externalId],
      );
    });

    /** An outbound Messenger reply handed to the provider at `sentAt` (null: still queued). */
    async function sentReply(status: string, sentAt: Date | null, inbox = kit.inboxes.messenger, to = identityId) {
      const [m] = await kit.ds.query(
        `INSERT INTO messages (ticket_id, inbox_id, channel, direction, text, delivery_status, provider_message_id,
                               to_identity_id, metadata)
         VALUES ($1, $2, 'messenger', 'outbound', 'reply', $3, $4, $5, $6::jsonb) RETURNING id`,
        [
          fbTicket,
          inbox,
          status,
          sentAt ? `m_${randomUUID()}` : null,
          to,
          JSON.stringify(sentAt ? { delivery: { sent: sentAt.toISOString() } } : {}),
        ],
      );
      return m.id as string;
    }
    async function watermark(status: 'read' | 'delivered', at: Date, fields: Record<string, unknown> = {}) {
      const data = {
        v: 1,
        inboxId: kit.inboxes.messenger,
        to: { kind: 'messenger', value: psid },
        status,
        watermark: at.toISOString(),
        occurredAt: new Date().toISOString(),
        ...fields,
      };
      await kit
        .queue(QueueName.Delivery)
        .add(JobName.DeliveryWatermark, data, jobOptions(JobName.DeliveryWatermark, { jobId: randomUUID() }));
      await kit.drained(QueueName.Delivery);
    }

    it('moves our sent/delivered messages of that conversation up to the instant forward, and nothing else', async () => {
      const t0 = Date.now() - 60_000;
      const at = (s: number) => new Date(t0 + s * 1000);
      const early = await sentReply('sent', at(1));
      const delivered = await sentReply('delivered', at(2));
      const atWatermark = await sentReply('sent', at(10));
      const later = await sentReply('sent', at(11));
      const queued = await sentReply('queued', null);
      const failed = await sentReply('failed', at(3));
      const otherInbox = await sentReply('sent', at(1), kit.inboxes.whatsapp);
      const [other] = await kit.ds.query(
        `INSERT INTO contact_identities (contact_id, kind, value)
         SELECT contact_id, 'messenger', '6600000000000002' FROM contact_identities WHERE id = $1 RETURNING id`,
        [identityId],
      );
      const otherCustomer = await sentReply('sent', at(1), kit.inboxes.messenger, other.id);

      await watermark('read', at(10));
      const status = async (id: string) => (await statusOf(id)).delivery_status;
      expect(await status(early)).toBe('read');
      expect(await status(delivered)).toBe('read');
      expect(await status(atWatermark)).toBe('read'); // "before or at this timestamp"
      expect(await status(later)).toBe('sent');
      expect(await status(queued)).toBe('queued');
      expect(await status(failed)).toBe('failed');
      expect(await status(otherInbox)).toBe('sent');
      expect(await status(otherCustomer)).toBe('sent');

      // Forward only: a delivery watermark after the read leaves read messages read, moves the later one.
      await watermark('delivered', at(20));
      expect(await status(early)).toBe('read');
      expect(await status(later)).toBe('delivered');
      const [{ metadata }] = await kit.ds.query(`SELECT metadata FROM messages WHERE id = $1`, [early]);
      expect(Object.keys(metadata.delivery).sort()).toEqual(['read', 'sent']);

      // A conversation we never wrote to is a no-op; a malformed watermark is dead-lettered.
      const before = await kit.count('dead_letters');
      await watermark('read', at(30), { to: { kind: 'messenger', value: '6600000000000999' } });
      await watermark('read', at(30), { watermark: 'yesterday' });
      expect(await kit.count('dead_letters')).toBe(before + 1);
      const [dl] = await kit.ds.query(`SELECT job_name, reason FROM dead_letters ORDER BY created_at DESC LIMIT 1`);
      expect(dl).toEqual({ job_name: JobName.DeliveryWatermark, reason: expect.stringMatching(/^watermark: /) });
    });
  });
});
