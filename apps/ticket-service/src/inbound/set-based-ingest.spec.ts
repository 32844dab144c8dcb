import { randomUUID } from 'node:crypto';
import { TicketEvent } from '@oq/contracts';
import { IngestBatchRepository } from '@oq/database';
import { MetricsService } from '@oq/platform';
import { DataSource } from 'typeorm';
import { until } from '../../../../test/support/until';
import { OutboxService, TicketEventBus } from '../outbox/outbox.service';
import { SlaClockService } from '../sla/sla-clock.service';
import { SlaIngestHook } from '../sla/sla-ingest.hook';
import { senderLockId } from './inbound.processor';
import { IngestHooks } from './ingest-hooks';
import { IngestTestKit } from './ingest-test-kit';

/**
 * The set-based batch (SetBasedIngest) against the per-message path's rules. Each test enqueues its
 * messages at once and the consumer waits up to 300 ms to collect them, so they land in one batch.
 */
describe('set-based ingest batches (real Postgres + Redis, booted ticket-service)', () => {
  let kit: IngestTestKit;
  const events: TicketEvent[] = [];
  beforeAll(async () => {
    kit = await IngestTestKit.start({ INGEST_BATCH_WAIT_MS: '300', INGEST_BATCH_SIZE: '50' });
    kit.app.get(TicketEventBus).events$.subscribe((e) => events.push(e));
  }, 30000);
  afterAll(async () => kit?.stop());

  const paths = async () => {
    const metric = await kit.app.get(MetricsService).registry.getSingleMetric('oq_ingest_paths_total')!.get();
    const of = (path: string) => metric.values.find((v) => v.labels.path === path)?.value ?? 0;
    return { set: of('set_based'), perMessage: of('per_message') };
  };
  /** Ingests `payloads` as one batch and returns how many went each way. */
  const batch = async (...payloads: unknown[]) => {
    const before = await paths();
    await kit.ingest(...payloads);
    const after = await paths();
    return { set: after.set - before.set, perMessage: after.perMessage - before.perMessage };
  };
  const messagesOf = (externalIds: string[]) =>
    kit.ds.query(
      `SELECT m.id, m.external_id, m.ticket_id, m.author_contact_id, m.revision, m.text, m.sender_name
         FROM messages m WHERE m.external_id = ANY($1)`,
      [externalIds],
    );
  const ticket = async (id: string) => (await kit.ds.query(`SELECT * FROM tickets WHERE id = $1`, [id]))[0];
  const eventsFor = (ticketId: string, type: string) =>
    events.filter((e) => e.ticketId === ticketId && e.type === type);

  it("writes a new sender's messages set-based: one contact, identity and ticket, the messages in order", async () => {
    const sender = { kind: 'telegram' as const, value: `tg-${randomUUID()}` };
    const msgs = [
      kit.message('telegram', sender, { text: 'my transfer failed' }),
      kit.message('telegram', { ...sender, displayName: 'Dewi Lestari' }, { text: 'it is TX-4402' }),
      kit.message('telegram', { ...sender, displayName: 'Someone Else' }, { text: 'please refund' }),
    ];
    // Other senders in the same batch, one of them on WhatsApp.
    const others = [
      kit.message('messenger', { kind: 'messenger', value: `psid-${randomUUID()}` }),
      kit.message('chat', { kind: 'app_user', value: `user-${randomUUID()}` }),
    ];
    expect(await batch(...msgs, ...others)).toEqual({ set: 5, perMessage: 0 });

    const rows = await messagesOf(msgs.map((m) => m.externalId));
    expect(rows).toHaveLength(3);
    const ticketIds = new Set(rows.map((r: { ticket_id: string }) => r.ticket_id));
    expect(ticketIds.size).toBe(1);
    const t = await ticket(rows[0].ticket_id);
    expect(t).toMatchObject({
      status: 'new',
      customer_message_count: 3,
      channel: 'telegram',
      subject: 'my transfer failed',
    });
    const identities = await kit.ds.query(
      `SELECT i.contact_id, i.verified, c.name FROM contact_identities i JOIN contacts c ON c.id = i.contact_id
        WHERE i.kind = 'telegram' AND i.value = $1`,
      [sender.value],
    );
    // The first name a message came with is the contact's; each message keeps its own.
    expect(identities).toEqual([{ contact_id: t.requester_id, verified: false, name: 'Dewi Lestari' }]);
    expect(rows.map((r: { sender_name: string | null }) => r.sender_name).sort()).toEqual(
      ['Dewi Lestari', 'Someone Else', null].sort(),
    );
    expect(await kit.count(`ticket_participants WHERE ticket_id = $1`, [t.id])).toBe(1);
    expect(await kit.count(`conversations WHERE ticket_id = $1`, [t.id])).toBe(1);
    expect(await kit.count(`ticket_audit WHERE ticket_id = $1 AND action = 'created'`, [t.id])).toBe(1);

    // Events as the per-message path writes them: one ticket.created, a message.created per message, in order.
    await until(() => eventsFor(t.id, 'message.created').length === 3, 10_000, 'message.created events');
    expect(eventsFor(t.id, 'ticket.created')).toHaveLength(1);
    expect(eventsFor(t.id, 'ticket.created')[0].data).toMatchObject({
      number: Number(t.number),
      via: 'new_conversation',
    });
    const byExternal = new Map(rows.map((r: { external_id: string; id: string }) => [r.external_id, r.id]));
    expect(eventsFor(t.id, 'message.created').map((e) => e.data.messageId)).toEqual(
      msgs.map((m) => byExternal.get(m.externalId)),
    );
  });

  it("lands a known sender's messages on the conversation's ticket and reopens a solved one once", async () => {
    const sender = { kind: 'messenger' as const, value: `psid-${randomUUID()}` };
    const first = kit.message('messenger', sender, { text: 'card blocked' });
    await kit.ingest(first);
    const [{ ticket_id: ticketId }] = await messagesOf([first.externalId]);
    await kit.ds.query(`UPDATE tickets SET status = 'solved', solved_at = now() WHERE id = $1`, [ticketId]);
    const before = await ticket(ticketId);

    const next = [kit.message('messenger', sender, { text: 'still blocked' }), kit.message('messenger', sender)];
    expect(await batch(...next)).toEqual({ set: 2, perMessage: 0 });
    const rows = await messagesOf(next.map((m) => m.externalId));
    expect(rows.map((r: { ticket_id: string }) => r.ticket_id)).toEqual([ticketId, ticketId]);
    const after = await ticket(ticketId);
    expect(after).toMatchObject({ status: 'open', solved_at: null, customer_message_count: 3 });
    expect(after.version).toBe(before.version + 1);
    await until(() => eventsFor(ticketId, 'message.created').length === 3, 10_000, 'message.created events');
    expect(eventsFor(ticketId, 'ticket.status_changed').map((e) => e.data)).toEqual([{ from: 'solved', to: 'open' }]);
    expect(await kit.count(`ticket_audit WHERE ticket_id = $1 AND action = 'status_changed'`, [ticketId])).toBe(1);
  });

  it('answers a redelivered message as a duplicate without writing, and sends two revisions per message', async () => {
    const sender = { kind: 'app_user' as const, value: `user-${randomUUID()}` };
    const stored = kit.message('chat', sender, { text: 'hello' });
    await kit.ingest(stored);
    const edited = kit.message('chat', sender, { text: 'first draft' });
    const revised = { ...edited, revision: 1, text: 'second draft' };
    // The duplicate rides the set-based path; the sender's other messages (two revisions of one) go one by one.
    const other = { kind: 'app_user' as const, value: `user-${randomUUID()}` };
    expect(await batch(stored, kit.message('chat', other))).toEqual({ set: 2, perMessage: 0 });
    expect(await kit.count(`messages WHERE external_id = $1`, [stored.externalId])).toBe(1);
    expect(await batch(edited, revised)).toEqual({ set: 0, perMessage: 2 });
    const [row] = await messagesOf([edited.externalId]);
    expect(row).toMatchObject({ revision: 1, text: 'second draft' });
  });

  it('sends a conversation on a closed ticket the per-message way: a follow-up ticket', async () => {
    const sender = { kind: 'telegram' as const, value: `tg-${randomUUID()}` };
    const first = kit.message('telegram', sender);
    await kit.ingest(first);
    const [{ ticket_id: closedId }] = await messagesOf([first.externalId]);
    await kit.ds.query(`UPDATE tickets SET status = 'closed', closed_at = now() WHERE id = $1`, [closedId]);
    const again = kit.message('telegram', sender, { text: 'me again' });
    const bystander = kit.message('telegram', { kind: 'telegram', value: `tg-${randomUUID()}` });
    expect(await batch(again, bystander)).toEqual({ set: 1, perMessage: 1 });
    const [row] = await messagesOf([again.externalId]);
    expect(row.ticket_id).not.toBe(closedId);
    expect((await ticket(row.ticket_id)).follow_up_of_id).toBe(closedId);
  });

  it('a new WhatsApp sender with a linked phone is set-based: it joins the contact known by that phone', async () => {
    const phone = `+4915${Math.floor(100000000 + Math.random() * 899999999)}`;
    await kit.ingest(
      kit.message('voice', { kind: 'phone', value: phone }, {
        kind: 'call_log',
        text: '',
        call: {
          callId: `call-${randomUUID()}`,
          direction: 'inbound',
          from: phone,
          to: '+4930999000',
          disposition: 'answered',
          startedAt: new Date(Date.now() - 60000).toISOString(),
          endedAt: new Date().toISOString(),
          durationSec: 30,
        },
      } as never),
    );
    const [phoneIdentity] = await kit.ds.query(
      `SELECT id, contact_id FROM contact_identities WHERE kind = 'phone' AND value = $1`,
      [phone],
    );
    const wa = {
      kind: 'whatsapp' as const,
      value: phone.slice(1),
      displayName: 'Budi',
      linked: [{ kind: 'phone' as const, value: phone }],
    };
    const w1 = kit.message('whatsapp', wa);
    const w2 = kit.message('whatsapp', wa);
    expect(await batch(w1, w2)).toEqual({ set: 2, perMessage: 0 });
    const rows = await messagesOf([w1.externalId, w2.externalId]);
    expect(new Set(rows.map((r: { ticket_id: string }) => r.ticket_id)).size).toBe(1);
    expect(rows.map((r: { author_contact_id: string }) => r.author_contact_id)).toEqual([
      phoneIdentity.contact_id,
      phoneIdentity.contact_id,
    ]);
    // As resolveSender records it: the wa_id stands for the phone, verified, on the phone's contact.
    const [waIdentity] = await kit.ds.query(
      `SELECT contact_id, verified, linked_identity_id FROM contact_identities WHERE kind = 'whatsapp' AND value = $1`,
      [wa.value],
    );
    expect(waIdentity).toEqual({
      contact_id: phoneIdentity.contact_id,
      verified: true,
      linked_identity_id: phoneIdentity.id,
    });
    // A later message is set-based too, on the same contact and ticket.
    const w3 = kit.message('whatsapp', wa);
    expect(await batch(w3)).toEqual({ set: 1, perMessage: 0 });
    expect((await messagesOf([w3.externalId]))[0].ticket_id).toBe(rows[0].ticket_id);
  });

  it('a new WhatsApp sender with an unknown phone gets one contact holding both identities, linked', async () => {
    const phone = `+4916${Math.floor(100000000 + Math.random() * 899999999)}`;
    const wa = {
      kind: 'whatsapp' as const,
      value: phone.slice(1),
      displayName: 'Sari',
      linked: [{ kind: 'phone' as const, value: phone }],
    };
    const w = kit.message('whatsapp', wa);
    expect(await batch(w)).toEqual({ set: 1, perMessage: 0 });
    const ids = await kit.ds.query(
      `SELECT i.kind, i.contact_id, i.verified, l.kind AS linked_kind, c.name
         FROM contact_identities i JOIN contacts c ON c.id = i.contact_id
         LEFT JOIN contact_identities l ON l.id = i.linked_identity_id
        WHERE (i.kind, i.value) IN (('whatsapp', $1), ('phone', $2)) ORDER BY i.kind`,
      [wa.value, phone],
    );
    expect(ids).toEqual([
      { kind: 'phone', contact_id: ids[1].contact_id, verified: expect.any(Boolean), linked_kind: null, name: 'Sari' },
      { kind: 'whatsapp', contact_id: ids[1].contact_id, verified: true, linked_kind: 'phone', name: 'Sari' },
    ]);
    const [{ author_contact_id }] = await messagesOf([w.externalId]);
    expect(author_contact_id).toBe(ids[1].contact_id);
  });

  it('two new senders of one batch linking the same phone go per message (one contact, as one at a time)', async () => {
    const phone = `+4917${Math.floor(100000000 + Math.random() * 899999999)}`;
    const linked = [{ kind: 'phone' as const, value: phone }];
    const a = kit.message('whatsapp', { kind: 'whatsapp', value: phone.slice(1), linked });
    const b = kit.message('whatsapp', { kind: 'whatsapp', value: `9${phone.slice(1)}`, linked });
    expect(await batch(a, b)).toEqual({ set: 0, perMessage: 2 });
    expect(await kit.count(`contact_identities WHERE kind = 'phone' AND value = $1`, [phone])).toBe(1);
  });

  it('when a set-based statement fails, the batch goes message by message and the bad message fails alone', async () => {
    const good = [
      kit.message('chat', { kind: 'app_user', value: `user-${randomUUID()}` }),
      kit.message('telegram', { kind: 'telegram', value: `tg-${randomUUID()}` }),
    ];
    // A revision beyond int4: the contract takes it, Postgres refuses it (22003) in any statement.
    const bad = kit.message('chat', { kind: 'app_user', value: `user-${randomUUID()}` }, { revision: 2 ** 33 });
    expect(await batch(good[0], bad, good[1])).toEqual({ set: 0, perMessage: 3 });
    expect(await kit.count(`messages WHERE external_id = ANY($1)`, [good.map((m) => m.externalId)])).toBe(2);
    expect(await kit.count(`messages WHERE external_id = $1`, [bad.externalId])).toBe(0);
    expect(
      await kit.count(
        `dead_letters WHERE convert_from(payload_bytes, 'UTF8')::jsonb->>'externalId' = $1 AND reason LIKE '%22003%'`,
        [bad.externalId],
      ),
    ).toBe(1);
    // Nothing of the rolled-back set-based writes stayed: one contact per good sender, none for the bad one.
    expect(
      await kit.count(`contact_identities WHERE value = ANY($1)`, [
        [good[0].sender.value, good[1].sender.value, bad.sender.value],
      ]),
    ).toBe(2);
  });

  it("takes every sender's lock in lock-id order, whatever order the batch lists them in", async () => {
    const ids = ['k-a', 'k-b', 'k-c'].map((k) => senderLockId(`${randomUUID()}|${k}`));
    const sorted = [...ids].sort((a, b) => (BigInt(a) < BigInt(b) ? -1 : 1));
    const ds = kit.app.get(DataSource);
    const holder = ds.createQueryRunner();
    const waiter = ds.createQueryRunner();
    try {
      await holder.startTransaction();
      // The holder has the smallest id only.
      await new IngestBatchRepository(holder.manager).lockSendersAndSavepoint([sorted[0]], 'hold');
      await waiter.startTransaction();
      const pid = (await waiter.query(`SELECT pg_backend_pid() AS pid`))[0].pid;
      const taking = new IngestBatchRepository(waiter.manager).lockSendersAndSavepoint([...sorted].reverse(), 'take');
      // The waiter waits on the smallest id holding none of the larger ones: taken in any other order,
      // it would hold them while it waits, and a batch holding those and waiting for it would deadlock.
      await until(
        async () =>
          (await ds.query(`SELECT 1 FROM pg_locks WHERE pid = $1 AND locktype = 'advisory' AND NOT granted`, [pid]))
            .length === 1,
        5000,
        'the waiter blocked',
      );
      const held = await ds.query(
        `SELECT ((classid::bigint << 32) | objid::bigint) AS id, granted FROM pg_locks WHERE pid = $1 AND locktype = 'advisory'`,
        [pid],
      );
      expect(held.filter((l: { granted: boolean }) => l.granted)).toEqual([]);
      await holder.commitTransaction();
      await taking;
      const granted = await ds.query(
        `SELECT count(*)::int AS n FROM pg_locks WHERE pid = $1 AND locktype = 'advisory' AND granted`,
        [pid],
      );
      expect(granted[0].n).toBe(3);
      await waiter.commitTransaction();
    } finally {
      await holder.release();
      await waiter.release();
    }
  });

  it('moves the SLA clocks of the whole batch once per ticket, as message by message would', async () => {
    const [{ id: policyId }] = await kit.ds.query(
      `INSERT INTO sla_policies (name, position, conditions, targets) VALUES ('Chat', 901, '{}', $1::jsonb) RETURNING id`,
      [
        JSON.stringify({
          first_reply: { normal: { seconds: 600 } },
          next_reply: { normal: { seconds: 900 } },
          resolution: { normal: { seconds: 86400 } },
        }),
      ],
    );
    // The kit boots the ingest slice without SlaModule: wire its hook as SlaModule does (last test: it stays).
    const clocks = new SlaClockService(kit.app.get(OutboxService));
    new SlaIngestHook(kit.app.get(IngestHooks), clocks).onModuleInit();
    try {
      const a = { kind: 'telegram' as const, value: `tg-${randomUUID()}` };
      const b = { kind: 'app_user' as const, value: `user-${randomUUID()}` };
      const msgs = [kit.message('telegram', a), kit.message('chat', b), kit.message('telegram', a)];
      expect(await batch(...msgs)).toEqual({ set: 3, perMessage: 0 });
      const rows = await messagesOf(msgs.map((m) => m.externalId));
      const ids = [...new Set(rows.map((r: { ticket_id: string }) => r.ticket_id))] as string[];
      expect(ids).toHaveLength(2);
      for (const id of ids) {
        const running = await kit.ds.query(
          `SELECT metric, state, started_at, due_at FROM ticket_sla WHERE ticket_id = $1 ORDER BY metric`,
          [id],
        );
        // Started once by the ticket's first message, not again by the second.
        expect(running.map((c: { metric: string; state: string }) => `${c.metric}:${c.state}`)).toEqual([
          'first_reply:active',
          'resolution:active',
        ]);
        const first = running[0];
        expect(first.due_at.getTime() - first.started_at.getTime()).toBe(600_000);
        expect((await ticket(id)).next_due_at).toEqual(first.due_at);
        await until(() => eventsFor(id, 'sla.changed').length > 0, 10_000, 'sla.changed');
        expect(eventsFor(id, 'sla.changed')).toHaveLength(1);
        expect(eventsFor(id, 'sla.changed')[0].data.clocks).toHaveLength(2);
      }
    } finally {
      await kit.ds.query(`UPDATE sla_policies SET active = false WHERE id = $1`, [policyId]);
      clocks.invalidatePolicies();
    }
  });
});
