import { randomUUID } from 'node:crypto';
import { JobName, TicketEvent, generateEmailMessageId } from '@oq/contracts';
import { until } from '../../../../test/support/until';
import { ContactMergeService } from '../contacts/contact-merge.service';
import { DeadLetterService } from '../dead-letters/dead-letter.service';
import { TicketEventBus } from '../outbox/outbox.service';
import { IngestTestKit } from './ingest-test-kit';

const SECRET = 'test-threading-secret-0123456789abc';

describe('inbound ingest (real Postgres + Redis, booted ticket-service)', () => {
  let kit: IngestTestKit;
  beforeAll(async () => (kit = await IngestTestKit.start()), 30000);
  afterAll(async () => kit?.stop());

  const ticketOf = async (externalId: string) => {
    const [row] = await kit.ds.query(
      `SELECT t.*, m.author_contact_id FROM messages m JOIN tickets t ON t.id = m.ticket_id WHERE m.external_id = $1`,
      [externalId],
    );
    return row;
  };
  const call = (from: string, disposition: string, extra: Record<string, unknown> = {}) => ({
    callId: `call-${randomUUID()}`,
    direction: 'inbound',
    from,
    to: '+4930999000',
    disposition,
    startedAt: new Date(Date.now() - 60000).toISOString(),
    endedAt: new Date().toISOString(),
    durationSec: disposition === 'answered' ? 42 : 0,
    ...extra,
  });

  it('binds WhatsApp, voice and email of one customer to one contact across channels', async () => {
    const phone = '+4915112345678';
    // 1. A missed call from an unknown number opens a high-priority call-back ticket.
    const missed = call(phone, 'missed');
    const voice1 = kit.message('voice', { kind: 'phone', value: phone }, {
      kind: 'call_log',
      externalId: missed.callId,
      text: '',
      call: missed,
    } as never);
    await kit.ingest(voice1);
    const callback = await ticketOf(missed.callId);
    expect(callback).toMatchObject({ subject: `Missed call from ${phone}`, priority: 'high', channel: 'voice' });
    const contactId = callback.requester_id;

    // 2. WhatsApp from the same number: the wa_id joins the phone's contact, its own conversation → own ticket.
    const wa = {
      kind: 'whatsapp' as const,
      value: '4915112345678',
      linked: [{ kind: 'phone' as const, value: phone }],
    };
    const w1 = kit.message('whatsapp', wa, { text: 'my transfer failed' });
    await kit.ingest(w1);
    const waTicket = await ticketOf(w1.externalId);
    expect(waTicket.requester_id).toBe(contactId);
    expect(waTicket.id).not.toBe(callback.id);
    // The next WhatsApp message threads by conversation binding.
    const w2 = kit.message('whatsapp', wa, { text: 'still waiting' });
    await kit.ingest(w2);
    expect((await ticketOf(w2.externalId)).id).toBe(waTicket.id);
    expect((await ticketOf(w2.externalId)).customer_message_count).toBe(2);

    // 3. Email from an unknown address: a new contact (From is spoofable, never auto-linked) …
    const e1 = kit.message('email', { kind: 'email', value: 'Jana@Example.com' }, {
      subject: 'Refund',
      email: { messageId: '<e1@example.com>' },
    } as never);
    await kit.ingest(e1);
    const mailTicket = await ticketOf(e1.externalId);
    expect(mailTicket.requester_id).not.toBe(contactId);
    // … until an agent merges; afterwards the reply threads by In-Reply-To and everything is one contact.
    await kit.ds.transaction((m) =>
      kit.app.get(ContactMergeService).merge(m, mailTicket.requester_id, contactId, { type: 'system' }),
    );
    const e2 = kit.message('email', { kind: 'email', value: 'jana@example.com' }, {
      subject: 'Re: Refund',
      email: { messageId: '<e2@example.com>', inReplyTo: ['<e1@example.com>'] },
    } as never);
    await kit.ingest(e2);
    expect((await ticketOf(e2.externalId)).id).toBe(mailTicket.id);
    expect((await ticketOf(e2.externalId)).author_contact_id).toBe(contactId);

    // 4. An answered call lands on the contact's most recently updated open ticket (the email one).
    const answered = call(phone, 'answered');
    const voice2 = kit.message('voice', { kind: 'phone', value: phone }, {
      kind: 'call_log',
      externalId: answered.callId,
      text: '',
      call: answered,
    } as never);
    await kit.ingest(voice2);
    expect((await ticketOf(answered.callId)).id).toBe(mailTicket.id);

    const identities = await kit.ds.query(
      `SELECT kind, value FROM contact_identities WHERE contact_id = $1 ORDER BY kind`,
      [contactId],
    );
    expect(identities).toEqual([
      { kind: 'email', value: 'jana@example.com' },
      { kind: 'phone', value: phone },
      { kind: 'whatsapp', value: '4915112345678' },
    ]);
    const tickets = await kit.ds.query(`SELECT DISTINCT requester_id FROM tickets WHERE id = ANY($1::uuid[])`, [
      [callback.id, waTicket.id, mailTicket.id],
    ]);
    expect(tickets).toEqual([{ requester_id: contactId }]);
    const conv = await kit.ds.query(
      `SELECT c.ticket_id FROM conversations c JOIN contact_identities i ON i.id = c.identity_id
       WHERE i.kind = 'whatsapp' AND c.last_inbound_at IS NOT NULL`,
    );
    expect(conv).toEqual([{ ticket_id: waTicket.id }]);
  });

  it('stores the same 1,000 messages enqueued twice concurrently exactly once, one ticket per conversation', async () => {
    const channels = ['whatsapp', 'telegram', 'chat', 'messenger'] as const;
    const kinds = { whatsapp: 'whatsapp', telegram: 'telegram', chat: 'visitor', messenger: 'messenger' } as const;
    const msgs = Array.from({ length: 1000 }, (_, i) => {
      const channel = channels[i % 4];
      return kit.message(
        channel,
        { kind: kinds[channel], value: `bulk-${i % 200}` },
        {
          externalId: `bulk-${i}`,
          text: `message ${i}`,
        },
      );
    });
    const before = await kit.count('tickets');
    await Promise.all([kit.enqueue(msgs), kit.enqueue([...msgs].reverse())]);
    await kit.drained(undefined, 60000);
    expect(await kit.count(`messages WHERE external_id LIKE 'bulk-%'`)).toBe(1000);
    // 200 senders, each always on the same channel → 200 conversations → 200 tickets.
    expect((await kit.count('tickets')) - before).toBe(200);
    expect(await kit.count(`contact_identities WHERE value LIKE 'bulk-%'`)).toBe(200);
    const [{ max }] = await kit.ds.query(
      `SELECT max(customer_message_count) AS max FROM tickets t JOIN ticket_participants p ON p.ticket_id = t.id
       JOIN contact_identities i ON i.contact_id = p.contact_id WHERE i.value LIKE 'bulk-%'`,
    );
    expect(max).toBe(5);
  }, 60000);

  it('applies a higher revision in place; equal or lower revisions change nothing', async () => {
    const sender = { kind: 'telegram' as const, value: 'rev-user' };
    const base = kit.message('telegram', sender, { externalId: 'tg-rev-1', text: 'first' });
    await kit.ingest(base);
    await kit.ingest({ ...base, revision: 2, text: 'edited twice' });
    await kit.ingest({ ...base, revision: 1, text: 'stale edit' }, { ...base, revision: 2, text: 'replayed' });
    const rows = await kit.ds.query(`SELECT text, revision FROM messages WHERE external_id = 'tg-rev-1'`);
    expect(rows).toEqual([{ text: 'edited twice', revision: 2 }]);
    const [t] = await kit.ds.query(
      `SELECT customer_message_count FROM tickets t JOIN messages m ON m.ticket_id = t.id WHERE m.external_id = 'tg-rev-1'`,
    );
    expect(t.customer_message_count).toBe(1);
  });

  it('reopens pending, on-hold and solved tickets; a closed ticket gets a linked follow-up', async () => {
    const sender = { kind: 'messenger' as const, value: 'psid-reopen' };
    const first = kit.message('messenger', sender);
    await kit.ingest(first);
    const ticket = await ticketOf(first.externalId);
    for (const status of ['pending', 'on_hold', 'solved']) {
      await kit.ds.query(`UPDATE tickets SET status = $2, solved_at = now() WHERE id = $1`, [ticket.id, status]);
      const m = kit.message('messenger', sender);
      await kit.ingest(m);
      expect(await ticketOf(m.externalId)).toMatchObject({ id: ticket.id, status: 'open', solved_at: null });
    }
    const audit = await kit.ds.query(
      `SELECT changes->'status' AS s FROM ticket_audit WHERE ticket_id = $1 AND action = 'status_changed' ORDER BY id`,
      [ticket.id],
    );
    expect(audit.map((a: { s: string[] }) => a.s[0])).toEqual(['pending', 'on_hold', 'solved']);

    await kit.ds.query(`UPDATE tickets SET status = 'closed', closed_at = now() WHERE id = $1`, [ticket.id]);
    const late = kit.message('messenger', sender, { text: 'one more thing' });
    await kit.ingest(late);
    const follow = await ticketOf(late.externalId);
    expect(follow.id).not.toBe(ticket.id);
    expect(follow).toMatchObject({ follow_up_of_id: ticket.id, status: 'new' });
    const [closed] = await kit.ds.query(`SELECT status, customer_message_count FROM tickets WHERE id = $1`, [
      ticket.id,
    ]);
    expect(closed).toEqual({ status: 'closed', customer_message_count: 4 });
    // The conversation now binds to the follow-up.
    const next = kit.message('messenger', sender);
    await kit.ingest(next);
    expect((await ticketOf(next.externalId)).id).toBe(follow.id);
  });

  it('threads email only for participants and only on genuine Message-IDs', async () => {
    const original = kit.message('email', { kind: 'email', value: 'alice@example.com' }, {
      subject: 'Card blocked',
      email: { messageId: '<orig@example.com>' },
      cc: [
        { kind: 'email', value: 'carol@example.com' },
        { kind: 'email', value: 'support@wallet.test' },
      ],
    } as never);
    await kit.ingest(original);
    const ticket = await ticketOf(original.externalId);
    const parts = await kit.ds.query(
      `SELECT i.value, p.role FROM ticket_participants p JOIN contact_identities i ON i.contact_id = p.contact_id
       WHERE p.ticket_id = $1 ORDER BY i.value`,
      [ticket.id],
    );
    expect(parts).toEqual([
      { value: 'alice@example.com', role: 'requester' },
      { value: 'carol@example.com', role: 'cc' },
    ]);

    const reply = (from: string, extra: object) =>
      kit.message('email', { kind: 'email', value: from }, { subject: 'Re: Card blocked', ...extra } as never);
    const carol = reply('carol@example.com', { email: { inReplyTo: ['<orig@example.com>'] } });
    const mallory = reply('mallory@evil.test', { email: { inReplyTo: ['<orig@example.com>'] } });
    const token = reply('alice@example.com', { subject: `Re: Card blocked [#${ticket.number}]` });
    const signed = reply('alice@example.com', {
      email: { references: [generateEmailMessageId(ticket.id, randomUUID(), SECRET, 'wallet.test')] },
    });
    const forged = reply('alice@example.com', {
      email: { inReplyTo: [generateEmailMessageId(ticket.id, randomUUID(), 'attacker-guess-0123456789abcdef', 'x')] },
    });
    await kit.ingest(carol, mallory, token, signed, forged);

    expect((await ticketOf(carol.externalId)).id).toBe(ticket.id);
    expect((await ticketOf(token.externalId)).id).toBe(ticket.id);
    expect((await ticketOf(signed.externalId)).id).toBe(ticket.id);
    const injected = await ticketOf(mallory.externalId);
    expect(injected.id).not.toBe(ticket.id);
    expect(injected.follow_up_of_id).toBe(ticket.id);
    const forgedTicket = await ticketOf(forged.externalId);
    expect(forgedTicket.id).not.toBe(ticket.id);
    expect(forgedTicket.follow_up_of_id).toBeNull();
  });

  it('stores auto-replies flagged and without reopening; masks card numbers before storing', async () => {
    const first = kit.message('email', { kind: 'email', value: 'ooo@example.com' }, {
      subject: 'Card 4111 1111 1111 1111 declined',
      text: 'my card 4111-1111-1111-1111 and order 1234567890123',
      html: '<p>4111111111111111</p>',
      email: { messageId: '<ooo1@example.com>' },
    } as never);
    await kit.ingest(first);
    const [stored] = await kit.ds.query(`SELECT subject, text, html FROM messages WHERE external_id = $1`, [
      first.externalId,
    ]);
    expect(stored.subject).toBe('Card •••• •••• •••• 1111 declined');
    expect(stored.text).toBe('my card ••••-••••-••••-1111 and order 1234567890123');
    expect(stored.html).toBe('<p>••••••••••••1111</p>');
    expect((await ticketOf(first.externalId)).subject).toBe('Card •••• •••• •••• 1111 declined');
    const all = JSON.stringify(await kit.ds.query(`SELECT * FROM messages m JOIN tickets t ON t.id = m.ticket_id`));
    expect(all).not.toContain('4111 1111 1111 1111');

    const ticket = await ticketOf(first.externalId);
    await kit.ds.query(`UPDATE tickets SET status = 'pending' WHERE id = $1`, [ticket.id]);
    const auto = kit.message('email', { kind: 'email', value: 'ooo@example.com' }, {
      subject: 'Out of office',
      email: { inReplyTo: ['<ooo1@example.com>'], autoSubmitted: true },
    } as never);
    await kit.ingest(auto);
    const [row] = await kit.ds.query(`SELECT auto_submitted, ticket_id FROM messages WHERE external_id = $1`, [
      auto.externalId,
    ]);
    expect(row).toEqual({ auto_submitted: true, ticket_id: ticket.id });
    expect((await ticketOf(auto.externalId)).status).toBe('pending');
  });

  it('updates one call log per call id by revision and raises priority when a call turns out missed', async () => {
    const phone = '+14155550123';
    const c = call(phone, 'answered');
    const m0 = kit.message('voice', { kind: 'phone', value: phone }, {
      kind: 'call_log',
      externalId: c.callId,
      text: '',
      call: c,
    } as never);
    await kit.ingest(m0);
    const t0 = await ticketOf(c.callId);
    expect(t0).toMatchObject({ subject: `Call from ${phone}`, priority: 'normal' });
    await kit.ingest({ ...m0, revision: 1, call: { ...c, transcript: 'I need a refund for card 4111111111111111' } });
    const [msg] = await kit.ds.query(`SELECT text, revision FROM messages WHERE external_id = $1`, [c.callId]);
    expect(msg).toEqual({ text: 'I need a refund for card ••••••••••••1111', revision: 1 });
    await kit.ingest({ ...m0, revision: 2, call: { ...c, disposition: 'voicemail', durationSec: 0 } });
    expect(await kit.count('messages WHERE external_id = $1', [c.callId])).toBe(1);
    expect((await ticketOf(c.callId)).priority).toBe('high');
  });

  it('marks the original outbound mail failed on a bounce instead of opening a ticket', async () => {
    const first = kit.message('email', { kind: 'email', value: 'bounce-me@example.com' });
    await kit.ingest(first);
    const ticket = await ticketOf(first.externalId);
    const [out] = await kit.ds.query(
      `INSERT INTO messages (ticket_id, inbox_id, channel, direction, text, email_message_id, delivery_status)
       VALUES ($1, $2, 'email', 'outbound', 'our reply', '<out-1@wallet.test>', 'sent') RETURNING id`,
      [ticket.id, kit.inboxes.email],
    );
    const tickets = await kit.count('tickets');
    const bounce = kit.message('email', { kind: 'email', value: 'mailer-daemon@mx.example.com' }, {
      subject: 'Undelivered Mail Returned to Sender',
      bounce: { originalMessageId: 'out-1@wallet.test', diagnostic: '550 5.1.1 mailbox unknown' },
    } as never);
    await kit.ingest(bounce);
    expect(await kit.count('tickets')).toBe(tickets);
    const [row] = await kit.ds.query(`SELECT delivery_status, delivery_reason FROM messages WHERE id = $1`, [out.id]);
    expect(row).toEqual({ delivery_status: 'failed', delivery_reason: '550 5.1.1 mailbox unknown' });
  });

  it('dead-letters invalid payloads and unknown inboxes with the reason, writes nothing else, and replays', async () => {
    const snapshot = async () =>
      Promise.all(['tickets', 'messages', 'contacts', 'contact_identities', 'conversations'].map((t) => kit.count(t)));
    const before = await snapshot();
    const invalid = { ...kit.message('telegram', { kind: 'telegram', value: 'dl-user' }), inboxId: 'nope' };
    const ghostInbox = randomUUID();
    const unknown = { ...kit.message('telegram', { kind: 'telegram', value: 'dl-user' }), inboxId: ghostInbox };
    await kit.ingest(invalid, unknown);
    expect(await snapshot()).toEqual(before);

    const letters = await kit.app.get(DeadLetterService).list({ limit: 10 });
    const reasons = letters.items.map((l) => l.reason);
    expect(reasons).toContainEqual(expect.stringMatching(/^inboxId: /));
    expect(reasons).toContain(`unknown inbox ${ghostInbox}`);
    expect(letters.items.every((l) => l.jobId)).toBe(true);

    // Once the inbox exists, replaying the dead letter ingests the message.
    await kit.ds.query(
      `INSERT INTO inboxes (id, name, channel, address, default_team_id) VALUES ($1, 'tg2', 'telegram', 'bot2', $2)`,
      [ghostInbox, kit.teamId],
    );
    const letter = letters.items.find((l) => l.reason.startsWith('unknown inbox'))!;
    const replayed = await kit.app.get(DeadLetterService).replay(letter.id);
    expect(replayed.jobId).toBe(`dl-${letter.id}-1`);
    await kit.drained();
    expect(await kit.count('messages WHERE inbox_id = $1', [ghostInbox])).toBe(1);
    const after = await kit.app.get(DeadLetterService).get(letter.id);
    expect(after.replayCount).toBe(1);
    expect(after.replayedAt).not.toBeNull();
    expect((await kit.app.get(DeadLetterService).list()).items.map((l) => l.id)).not.toContain(letter.id);
  });

  it('dead-letters a message that loses its race on every attempt instead of leaving it failed', async () => {
    // A trigger stands in for a race lost each time: unique_violation is what a concurrent writer causes.
    await kit.ds.query(`CREATE FUNCTION always_race() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN IF NEW.text = 'loses every race' THEN
        RAISE EXCEPTION 'duplicate key value violates unique constraint' USING ERRCODE = '23505'; END IF;
      RETURN NEW; END $$`);
    await kit.ds.query(
      `CREATE TRIGGER always_race BEFORE INSERT ON messages FOR EACH ROW EXECUTE FUNCTION always_race()`,
    );
    try {
      const msg = { ...kit.message('telegram', { kind: 'telegram', value: 'racer' }), text: 'loses every race' };
      const job = await kit.queue().add(JobName.InboundMessage, msg, {
        jobId: `race-${randomUUID()}`,
        attempts: 2,
        backoff: { type: 'fixed', delay: 10 },
      });
      await kit.drained();
      const letters = await kit.app.get(DeadLetterService).list({ limit: 50 });
      const letter = letters.items.find((l) => l.jobId === job.id);
      expect(letter?.reason).toMatch(/^processing failed \(23505\): duplicate key/);
      expect(await kit.queue().getJobState(job.id!)).toBe('completed');
      expect(await kit.count('messages WHERE external_id = $1', [msg.externalId])).toBe(0);
    } finally {
      await kit.ds.query(`DROP TRIGGER always_race ON messages; DROP FUNCTION always_race()`);
    }
  });

  it('writes outbox events in the ingest transaction and the relay publishes them', async () => {
    const seen: TicketEvent[] = [];
    const sub = kit.app.get(TicketEventBus).events$.subscribe((e) => seen.push(e));
    const m = kit.message('chat', { kind: 'visitor', value: 'outbox-visitor' });
    await kit.ingest(m);
    const ticket = await ticketOf(m.externalId);
    const types = () => seen.filter((e) => e.ticketId === ticket.id).map((e) => e.type);
    try {
      await until(() => types().length >= 2, 5000, 'ticket.created and message.created published');
    } finally {
      sub.unsubscribe();
    }
    expect(types().sort()).toEqual(['message.created', 'ticket.created']);
    expect(await kit.count('outbox')).toBe(0);

    const metrics = await (await fetch(`${await kit.app.getUrl()}/metrics`)).text();
    expect(metrics).toMatch(/oq_ingest_messages_total\{outcome="created",service="ticket-service"\} [1-9]/);
    expect(metrics).toMatch(/oq_ingest_lag_seconds_count\{service="ticket-service"\} [1-9]/);
    expect(metrics).toMatch(/oq_ticket_events_total\{type="ticket.created",service="ticket-service"\} [1-9]/);
    expect(metrics).toMatch(/oq_outbox_lag_seconds\{service="ticket-service"\} 0/);
    // The service's own DataSource: ingest ran on it, so the count moved.
    expect(metrics).toMatch(/oq_db_round_trips_total\{service="ticket-service"\} [1-9]/);
  });
});
