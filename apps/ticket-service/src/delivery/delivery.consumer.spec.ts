import { randomUUID } from 'node:crypto';
import { QueueName } from '@oq/contracts';
import { IngestTestKit } from '../inbound/ingest-test-kit';
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
    const id = await outbound('queued');
    await deliver(report({ messageId: id, providerMessageId: `wamid.${randomUUID()}`, status: 'sent' }));
    const deadline = Date.now() + 5000;
    let found = false;
    while (!found && Date.now() < deadline) {
      const jobs = await kit.queue(QueueName.Sla).getJobs(['waiting', 'completed', 'delayed'], 0, 5000);
      found = jobs.some((j) => j.data.type === 'message.delivery' && j.data.data?.messageId === id);
      if (!found) await new Promise((r) => setTimeout(r, 50));
    }
    expect(found).toBe(true);
  });

  it('dead-letters an invalid report and one for an unknown message', async () => {
    const before = await kit.count('dead_letters');
    await deliver(report({ status: 'sent' }), report({ messageId: randomUUID(), status: 'sent' }));
    const rows = await kit.ds.query(`SELECT reason FROM dead_letters ORDER BY created_at DESC LIMIT 2`);
    expect(await kit.count('dead_letters')).toBe(before + 2);
    expect(rows.map((r: { reason: string }) => r.reason).join('\n')).toMatch(/either messageId or providerMessageId/);
    expect(rows.map((r: { reason: string }) => r.reason).join('\n')).toMatch(/^no message /m);
  });
});
