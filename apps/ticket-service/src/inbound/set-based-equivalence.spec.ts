import { generateEmailMessageId, TicketEvent } from '@oq/contracts';
import { MetricsService } from '@oq/platform';
import { until } from '../../../../test/support/until';
import { TicketEventBus } from '../outbox/outbox.service';
import { IngestTestKit } from './ingest-test-kit';

const SECRET = 'test-threading-secret-0123456789abc';
const T0 = Date.parse('2026-11-30T09:00:00Z');
const at = (minutes: number) => new Date(T0 + minutes * 60_000).toISOString();

/** One ticket-service ingesting the scenario: set-based (the default) or with INGEST_SET_BASED off. */
interface Side {
  kit: IngestTestKit;
  events: TicketEvent[];
  /** Values only this side has (a signed Message-ID holds its ticket's id), and what both call them. */
  aliases: Map<string, string>;
}

async function side(setBased: boolean): Promise<Side> {
  const kit = await IngestTestKit.start({
    INGEST_BATCH_WAIT_MS: '300',
    INGEST_BATCH_SIZE: '50',
    INGEST_SET_BASED: String(setBased),
  });
  const events: TicketEvent[] = [];
  kit.app.get(TicketEventBus).events$.subscribe((e) => events.push(e));
  return { kit, events, aliases: new Map() };
}

async function paths(kit: IngestTestKit) {
  const metric = await kit.app.get(MetricsService).registry.getSingleMetric('oq_ingest_paths_total')!.get();
  const of = (path: string) => metric.values.find((v) => v.labels.path === path)?.value ?? 0;
  return { set: of('set_based'), perMessage: of('per_message') };
}

const mail = (kit: IngestTestKit, id: string, from: string, minutes: number, extra: Record<string, unknown> = {}) =>
  kit.message(
    'email',
    { kind: 'email', value: `${from}@example.com`, displayName: from[0].toUpperCase() + from.slice(1) },
    {
      externalId: id,
      sourceTime: at(minutes),
      receivedAt: at(minutes),
      subject: `Transfer ${id} failed`,
      text: `mail ${id}`,
      email: { messageId: `<${id}@example.com>`, inReplyTo: [], references: [] },
      ...extra,
    },
  );
const reply = (to: string[]) => ({ inReplyTo: to.slice(-1), references: to });

const call = (
  kit: IngestTestKit,
  id: string,
  phone: string,
  minutes: number,
  disposition: string,
  direction = 'inbound',
) =>
  kit.message('voice', { kind: 'phone', value: phone }, {
    externalId: id,
    sourceTime: at(minutes),
    receivedAt: at(minutes),
    kind: 'call_log',
    text: '',
    call: {
      callId: id,
      direction,
      from: direction === 'inbound' ? phone : '+4930999000',
      to: direction === 'inbound' ? '+4930999000' : phone,
      disposition,
      startedAt: at(minutes),
      endedAt: at(minutes + 1),
      durationSec: disposition === 'answered' ? 61 : 0,
    },
  } as never);

const dm = (kit: IngestTestKit, channel: 'whatsapp' | 'telegram', id: string, value: string, minutes: number) =>
  kit.message(
    channel,
    { kind: channel, value },
    { externalId: id, sourceTime: at(minutes), receivedAt: at(minutes), text: id },
  );

/** The ticket a kit filed `externalId` on. */
async function ticketOf(kit: IngestTestKit, externalId: string): Promise<{ id: string; number: string }> {
  const [row] = await kit.ds.query(
    `SELECT t.id, t.number FROM messages m JOIN tickets t ON t.id = m.ticket_id WHERE m.external_id = $1`,
    [externalId],
  );
  return row;
}

/**
 * The scenario, batch by batch: mail that threads by stored Message-ID, by our signed Message-ID and
 * by subject token, that is not from a participant, that reaches a closed or a solved ticket, that
 * was imported before under its legacy id, that answers a mail of its own batch; auto-replies;
 * missed, answered and outbound calls landing on the caller's ticket; conversations beside them.
 */
const phases: ((kit: IngestTestKit, alias: Map<string, string>) => Promise<unknown[]> | unknown[])[] = [
  (kit) => [
    mail(kit, 'sha256:' + 'a'.repeat(64), 'alice', 0, {
      email: { messageId: '<a1@example.com>', inReplyTo: [], references: [] },
    }),
    // Imported under a bare Message-ID as its id (as mail was before ids carried a content hash).
    mail(kit, '<b1@example.com>', 'bob', 1, {
      email: { messageId: '<b1@example.com>', inReplyTo: [], references: [] },
    }),
    mail(kit, 'c1', 'carol', 2, {
      email: { messageId: '<c1@example.com>', inReplyTo: [], references: [], autoSubmitted: true },
    }),
    dm(kit, 'whatsapp', 'w1', '4915111000', 3),
    dm(kit, 'whatsapp', 'w2', '4915111000', 4),
    dm(kit, 'telegram', 't1', 'tg-1', 5),
    call(kit, 'p1', '+4915222000', 6, 'missed'),
    call(kit, 'p2', '+4915333000', 7, 'answered', 'outbound'),
  ],
  async (kit, alias) => {
    const b = await ticketOf(kit, '<b1@example.com>');
    const signed = generateEmailMessageId(b.id, '00000000-0000-4000-8000-000000000001', SECRET, 'wallet.test');
    alias.set(signed, 'signed(b1)');
    return [
      mail(kit, 'a2', 'alice', 10, { email: { messageId: '<a2@example.com>', ...reply(['<a1@example.com>']) } }),
      // Alice names Bob's ticket by our signed id: she is not one of its people.
      mail(kit, 'a3', 'alice', 11, {
        email: {
          messageId: '<a3@example.com>',
          ...reply([signed]),
        },
      }),
      // The first mail again under a new id: its legacy id (the raw source's hash) finds it.
      mail(kit, 'a1-rehashed', 'alice', 0, {
        email: {
          messageId: '<a1@example.com>',
          inReplyTo: [],
          references: [],
          legacyExternalId: 'sha256:' + 'a'.repeat(64),
        },
      }),
      mail(kit, 'b2', 'bob', 12, {
        subject: `Re: still waiting [#${b.number}]`,
        email: { messageId: '<b2@example.com>' },
      }),
      // A bare Message-ID legacy id matches only with the same INTERNALDATE.
      mail(kit, 'b1-moved', 'bob', 1, {
        email: { messageId: '<b1@example.com>', inReplyTo: [], references: [], legacyExternalId: '<b1@example.com>' },
      }),
      mail(kit, 'b1-other', 'bob', 13, {
        email: { messageId: '<b1x@example.com>', inReplyTo: [], references: [], legacyExternalId: '<b1@example.com>' },
      }),
      mail(kit, 'd1', 'dave', 14, { email: { messageId: '<d1@example.com>', ...reply(['<a1@example.com>']) } }),
      call(kit, 'p1b', '+4915222000', 15, 'voicemail'),
      call(kit, 'p2b', '+4915333000', 16, 'missed'),
      dm(kit, 'whatsapp', 'w3', '4915111000', 17),
    ];
  },
  async (kit) => {
    const a = await ticketOf(kit, 'a2');
    const b = await ticketOf(kit, 'b2');
    await kit.ds.query(`UPDATE tickets SET status = 'closed', closed_at = now() WHERE id = $1`, [a.id]);
    await kit.ds.query(`UPDATE tickets SET status = 'solved', solved_at = now() WHERE id = $1`, [b.id]);
    return [
      mail(kit, 'a4', 'alice', 20, {
        email: { messageId: '<a4@example.com>', ...reply(['<a1@example.com>', '<a2@example.com>']) },
      }),
      mail(kit, 'b3', 'bob', 21, { email: { messageId: '<b3@example.com>', ...reply(['<b1@example.com>']) } }),
      mail(kit, 'e1', 'eve', 22, { email: { messageId: '<e1@example.com>', inReplyTo: [], references: [] } }),
      mail(kit, 'e2', 'eve', 23, { email: { messageId: '<e2@example.com>', ...reply(['<e1@example.com>']) } }),
      call(kit, 'p1c', '+4915222000', 24, 'answered'),
      // Carol copies Frank (per message: CCs), and Frank answers at once: he is a participant only
      // once her mail is in, so his mail waits for it.
      mail(kit, 'c2', 'carol', 26, {
        cc: [{ kind: 'email', value: 'frank@example.com', displayName: 'Frank' }],
        email: { messageId: '<c2@example.com>', inReplyTo: [], references: [] },
      }),
      mail(kit, 'f1', 'frank', 27, { email: { messageId: '<f1@example.com>', ...reply(['<c2@example.com>']) } }),
      dm(kit, 'telegram', 't2', 'tg-1', 25),
    ];
  },
];

/**
 * What a kit stored and emitted, with every row id replaced by something both kits share: a ticket by
 * its messages' external ids, a contact by its identities, a message by its external id.
 */
async function snapshot({ kit, events, aliases }: Side) {
  const q = (text: string) => kit.ds.query(text);
  const messages = await q(`SELECT * FROM messages ORDER BY external_id`);
  const identities = await q(`SELECT contact_id, kind, value FROM contact_identities ORDER BY kind, value`);
  const tickets = await q(`SELECT * FROM tickets`);
  const names = new Map<string, string>(aliases);
  for (const [channel, id] of Object.entries(kit.inboxes)) names.set(id, `inbox(${channel})`);
  names.set(kit.teamId, 'team');
  const contactKey = new Map<string, string[]>();
  for (const i of identities)
    contactKey.set(i.contact_id, [...(contactKey.get(i.contact_id) ?? []), `${i.kind}:${i.value}`]);
  for (const [id, keys] of contactKey) names.set(id, `contact(${keys.join(',')})`);
  for (const t of tickets)
    names.set(
      t.id,
      `ticket(${messages
        .filter((m: { ticket_id: string }) => m.ticket_id === t.id)
        .map((m: { external_id: string }) => m.external_id)
        .join(',')})`,
    );
  for (const m of messages) names.set(m.id, `message(${m.external_id})`);
  // Ticket numbers are not the same on both sides: a subject's `[#n]` token names its ticket.
  const numbers = new Map(tickets.map((t: { number: string; id: string }) => [t.number, names.get(t.id)!] as const));
  const name = (v: unknown): unknown => {
    if (typeof v === 'string')
      return names.get(v) ?? v.replace(/\[#(\d+)\]/g, (all: string, n: string) => String(numbers.get(n) ?? all));
    if (v instanceof Date) return v.toISOString();
    if (Array.isArray(v)) return v.map(name);
    if (v && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, name(x)]));
    return v;
  };
  const drop = <T extends Record<string, unknown>>(row: T, ...keys: string[]) =>
    Object.fromEntries(Object.entries(row).filter(([k]) => !keys.includes(k)));
  const moments = ['created_at', 'updated_at', 'solved_at', 'closed_at', 'first_reply_at'];
  const by = (key: string) => (a: unknown, b: unknown) =>
    String((a as Record<string, unknown>)[key]).localeCompare(String((b as Record<string, unknown>)[key]));
  const byName = by('id');
  return name({
    tickets: tickets
      .map((t: Record<string, unknown>) => ({
        ...drop(t, 'number', 'search', ...moments),
        solved: t.solved_at !== null,
      }))
      .map(name)
      .sort(byName),
    messages: messages.map((m: Record<string, unknown>) => drop(m, ...moments)),
    contacts: [...contactKey.keys()]
      .map((id) => ({ id, identities: contactKey.get(id) }))
      .map(name)
      .sort(byName),
    conversations: await q(
      `SELECT c.ticket_id, c.last_inbound_at, i.kind, i.value FROM conversations c
         JOIN contact_identities i ON i.id = c.identity_id ORDER BY i.kind, i.value`,
    ),
    participants: (await q(`SELECT ticket_id, contact_id, role FROM ticket_participants`))
      .map(name)
      .sort((a: unknown, b: unknown) => JSON.stringify(a).localeCompare(JSON.stringify(b))),
    audit: (await q(`SELECT ticket_id, actor_type, action, changes FROM ticket_audit ORDER BY id`))
      .map(name)
      .sort(by('ticket_id')),
    // Per ticket, in the order the outbox relayed them (a ticket's number is all that differs).
    events: events
      .map((e) => ({ ticket: name(e.ticketId), type: e.type, data: drop(e.data as Record<string, unknown>, 'number') }))
      .map(name)
      .sort(by('ticket')),
  });
}

describe('set-based ingest gives what message-by-message ingest gives (two ticket-services, one scenario)', () => {
  let setBased: Side;
  let perMessage: Side;
  beforeAll(async () => {
    setBased = await side(true);
    perMessage = await side(false);
  }, 60_000);
  afterAll(async () => {
    await setBased?.kit.stop();
    await perMessage?.kit.stop();
  });

  it('files every mail, call and message alike: tickets, routing, statuses, counters, audit and events', async () => {
    const taken: { set: number; perMessage: number }[] = [];
    for (const phase of phases) {
      const before = await paths(setBased.kit);
      for (const s of [setBased, perMessage]) await s.kit.ingest(...(await phase(s.kit, s.aliases)));
      const after = await paths(setBased.kit);
      taken.push({ set: after.set - before.set, perMessage: after.perMessage - before.perMessage });
    }
    // The set-based side took mail and calls set-based; in the last batch what must see other mail of
    // the batch first (a reply to it, a CC'd mail) went message by message, and so did the call then.
    expect(taken).toEqual([
      { set: 8, perMessage: 0 },
      { set: 10, perMessage: 0 },
      { set: 3, perMessage: 5 },
    ]);
    expect((await paths(perMessage.kit)).set).toBe(0);

    for (const s of [setBased, perMessage]) {
      const [{ n }] = await s.kit.ds.query(`SELECT count(*)::int AS n FROM messages`);
      await until(
        () => s.events.filter((e) => e.type === 'message.created').length === n,
        10_000,
        'message.created events',
      );
    }
    const got = await snapshot(setBased);
    const want = await snapshot(perMessage);
    expect(got).toEqual(want);

    // The scenario did what it says (on both sides, as they are equal).
    const via = (want as { events: { ticket: string; type: string; data: { via?: string } }[] }).events
      .filter((e) => e.type === 'ticket.created')
      .map((e) => `${e.ticket} ${e.data.via}`)
      .sort();
    expect(via).toEqual(
      [
        'ticket(a3) signed_message_id_non_participant',
        'ticket(a4) stored_message_id_closed',
        'ticket(<b1@example.com>,b2,b3) new_thread',
        'ticket(b1-other) new_thread',
        'ticket(c1) new_thread',
        'ticket(c2,f1) new_thread',
        'ticket(d1) stored_message_id_non_participant',
        'ticket(e1,e2) new_thread',
        'ticket(p1,p1b,p1c) call',
        'ticket(p2,p2b) call',
        `ticket(a2,sha256:${'a'.repeat(64)}) new_thread`,
        'ticket(t1,t2) new_conversation',
        'ticket(w1,w2,w3) new_conversation',
      ].sort(),
    );
  });
});
