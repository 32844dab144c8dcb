import { IngestTestKit } from '../../apps/ticket-service/src/inbound/ingest-test-kit';
import {
  FakeInboxApi,
  FakeRecordingServer,
  VoiceStack,
  postPbx,
  postTwilio,
  sha256,
  sleep,
  startVoiceService,
} from '../../apps/voice-service/src/testing/voice-test-kit';

/**
 * Phone calls → the customer's timeline across the real pieces: signed
 * Twilio/PBX webhooks into voice-service, the inbound queue, and
 * ticket-service's consumer (contact by E.164 number, routing, missed-call
 * priority) on one database and queue prefix.
 */
const TOKEN = 'twilio-auth-token-e2e-0123456789abcd';
const ACCOUNT = 'AC000000000000000000000000000000e2';
const SECRET = 'pbx-signing-secret-e2e-0123456789ab';
const HOTLINE = '+4930999000';

interface MessageRow {
  id: string;
  ticket_id: string;
  kind: string;
  revision: number;
  author_contact_id: string;
  subject: string | null;
  text: string;
  attachments: { sha256: string; contentType: string }[];
  metadata: {
    call?: { disposition: string; durationSec: number; recording?: { sha256: string } };
    ticketRequest?: { id?: string; number?: number; outcome: string };
  };
  priority: string;
  status: string;
  ticket_subject: string;
}

describe('phone calls on the customer timeline (voice-service → ticket-service)', () => {
  let kit: IngestTestKit;
  let api: FakeInboxApi;
  let twilio: FakeRecordingServer;
  let voice: VoiceStack;
  let seq = 0;
  const sid = () => `CAe2e${Date.now().toString(16)}${seq++}`;

  beforeAll(async () => {
    [kit, api, twilio] = await Promise.all([
      IngestTestKit.start(),
      new FakeInboxApi().start(),
      new FakeRecordingServer().start(),
    ]);
    api.add({
      id: kit.inboxes.voice,
      address: HOTLINE,
      defaultTeamId: kit.teamId,
      secrets: { accountSid: ACCOUNT, authToken: TOKEN, signingSecret: SECRET },
    });
    voice = await startVoiceService(kit.db, kit.prefix, {
      TICKET_SERVICE_URL: api.url,
      TWILIO_API_BASE_URL: twilio.url,
      FETCH_ALLOW_HOSTS: twilio.host,
      VOICE_DEFAULT_REGION: 'DE',
    });
  }, 60_000);
  afterAll(async () => {
    await voice?.close();
    await Promise.all([kit?.stop(), api?.close(), twilio?.close()]);
  });

  const messageRow = async (externalId: string): Promise<MessageRow | undefined> =>
    (
      await kit.ds.query(
        `SELECT m.id, m.ticket_id, m.kind, m.revision, m.author_contact_id, m.subject, m.text, m.attachments, m.metadata,
                t.priority, t.status, t.subject AS ticket_subject
           FROM messages m JOIN tickets t ON t.id = m.ticket_id WHERE m.inbox_id = $1 AND m.external_id = $2`,
        [kit.inboxes.voice, externalId],
      )
    )[0];

  const waitRow = async (externalId: string, pred: (r: MessageRow) => boolean = () => true, ms = 5000) => {
    const deadline = Date.now() + ms;
    for (;;) {
      const row = await messageRow(externalId);
      if (row && pred(row)) return row;
      if (Date.now() > deadline)
        throw new Error(`call ${externalId} not on the timeline as expected: ${JSON.stringify(row)}`);
      await sleep(25);
    }
  };

  const inboundCall = (callSid: string, from: string, over: Record<string, string>) => ({
    AccountSid: ACCOUNT,
    CallSid: callSid,
    From: from,
    To: HOTLINE,
    Direction: 'inbound',
    ...over,
  });

  /** A WhatsApp customer: the wa_id is linked to the phone identity, as social-service reports it. */
  const whatsappCustomer = async (waId: string, text: string) => {
    const msg = kit.message(
      'whatsapp',
      { kind: 'whatsapp', value: waId, linked: [{ kind: 'phone', value: `+${waId}` }] },
      { text },
    );
    await kit.ingest(msg);
    const [row] = await kit.ds.query(
      `SELECT m.ticket_id, m.author_contact_id, t.priority FROM messages m JOIN tickets t ON t.id = m.ticket_id WHERE m.external_id = $1`,
      [msg.externalId],
    );
    return row as { ticket_id: string; author_contact_id: string; priority: string };
  };

  it('logs a missed call of a WhatsApp customer on their open ticket (matched by phone number) and raises it to high', async () => {
    const wa = await whatsappCustomer('4915112345678', 'My transfer of 40 EUR failed');
    expect(wa.priority).toBe('normal');
    const callSid = sid();
    // The caller ID arrives in national format; the inbox's region makes it E.164.
    const res = await postTwilio(
      voice.base,
      kit.inboxes.voice,
      TOKEN,
      inboundCall(callSid, '0151 12345678', { CallStatus: 'no-answer', CallDuration: '0' }),
    );
    expect(res.status).toBe(200);
    const row = await waitRow(callSid);
    expect(row).toMatchObject({
      ticket_id: wa.ticket_id,
      author_contact_id: wa.author_contact_id,
      kind: 'call_log',
      revision: 0,
      priority: 'high',
    });
    expect(row.metadata.call?.disposition).toBe('missed');
    expect(await kit.count('tickets WHERE requester_id = $1', [wa.author_contact_id])).toBe(1);
  });

  it('opens a high-priority call-back ticket for a missed call from a caller without an open ticket', async () => {
    const callSid = sid();
    await postTwilio(
      voice.base,
      kit.inboxes.voice,
      TOKEN,
      inboundCall(callSid, '+4917099887766', { CallStatus: 'busy' }),
    );
    const row = await waitRow(callSid);
    expect(row).toMatchObject({ kind: 'call_log', priority: 'high', status: 'new' });
    expect(row.ticket_subject).toMatch(/\+4917099887766/);
    const [identity] = await kit.ds.query(
      `SELECT contact_id FROM contact_identities WHERE kind = 'phone' AND value = $1`,
      ['+4917099887766'],
    );
    expect(identity.contact_id).toBe(row.author_contact_id);
  });

  it('folds out-of-order, repeated callbacks into one timeline entry and adds the late recording as its revision', async () => {
    const wa = await whatsappCustomer('4915199990000', 'Refund please');
    const callSid = sid();
    const completed = inboundCall(callSid, '+4915199990000', { CallStatus: 'completed', CallDuration: '125' });
    for (const params of [
      completed,
      inboundCall(callSid, '+4915199990000', { CallStatus: 'ringing' }),
      completed,
      inboundCall(callSid, '+4915199990000', { CallStatus: 'in-progress' }),
    ])
      expect((await postTwilio(voice.base, kit.inboxes.voice, TOKEN, params)).status).toBe(200);
    const first = await waitRow(callSid);
    expect(first).toMatchObject({ ticket_id: wa.ticket_id, revision: 0, priority: 'normal' });
    expect(first.metadata.call).toMatchObject({ disposition: 'answered', durationSec: 125 });

    const audio = Buffer.from(`RIFF fake wav ${callSid}`);
    const url = twilio.serve(
      `/2010-04-01/Accounts/${ACCOUNT}/Recordings/RE${callSid}`,
      audio,
      'audio/x-wav',
      `${ACCOUNT}:${TOKEN}`,
    );
    await postTwilio(voice.base, kit.inboxes.voice, TOKEN, {
      AccountSid: ACCOUNT,
      CallSid: callSid,
      RecordingUrl: url,
      RecordingStatus: 'completed',
      RecordingDuration: '120',
    });
    const revised = await waitRow(callSid, (r) => r.revision === 1);
    expect(revised.id).toBe(first.id);
    expect(revised.attachments.map((a) => a.sha256)).toEqual([sha256(audio)]);
    expect(await kit.count('messages WHERE external_id = $1', [callSid])).toBe(1);
  });

  it("logs a signed PBX voicemail with a masked transcript on the caller's ticket", async () => {
    const wa = await whatsappCustomer('4915155554444', 'Account locked');
    const callId = `pbx-${sid()}`;
    const res = await postPbx(voice.base, kit.inboxes.voice, SECRET, {
      callId,
      direction: 'inbound',
      from: '+49 151 55554444',
      to: HOTLINE,
      queue: 'security',
      startedAt: new Date(Date.now() - 60_000).toISOString(),
      endedAt: new Date().toISOString(),
      disposition: 'voicemail',
      transcript: 'Someone used my card 4111 1111 1111 1111, please call back',
    });
    expect(res.status).toBe(200);
    const row = await waitRow(callId);
    expect(row).toMatchObject({ ticket_id: wa.ticket_id, priority: 'high' });
    expect(row.text).toContain('•••• •••• •••• 1111');
    expect(JSON.stringify(row)).not.toContain('4111 1111 1111 1111');
  });

  /** A WhatsApp customer with two open tickets; the older one is not where routing by contact would put a call. */
  const customerWithTwoTickets = async (waId: string) => {
    const older = await whatsappCustomer(waId, 'Card blocked');
    // Closing it makes the next message open a second ticket; reopened, it is open but the least recently updated.
    await kit.ds.query(`UPDATE tickets SET status = 'closed' WHERE id = $1`, [older.ticket_id]);
    const newer = await whatsappCustomer(waId, 'And my statement is missing');
    expect(newer.ticket_id).not.toBe(older.ticket_id);
    await kit.ds.query(`UPDATE tickets SET status = 'open', updated_at = now() - interval '1 day' WHERE id = $1`, [
      older.ticket_id,
    ]);
    const [{ number }] = await kit.ds.query('SELECT number FROM tickets WHERE id = $1', [older.ticket_id]);
    return {
      contactId: older.author_contact_id,
      older: older.ticket_id,
      olderNumber: Number(number),
      newer: newer.ticket_id,
    };
  };

  it("logs an agent's outbound PBX call on the ticket it was dialled from (ticketNumber in the dialer's data)", async () => {
    const c = await customerWithTwoTickets('4915122223333');
    const callId = `pbx-out-${sid()}`;
    const res = await postPbx(voice.base, kit.inboxes.voice, SECRET, {
      callId,
      direction: 'outbound',
      from: 'alice',
      to: '+49 151 22223333',
      agent: 'alice',
      startedAt: new Date(Date.now() - 90_000).toISOString(),
      answeredAt: new Date(Date.now() - 80_000).toISOString(),
      endedAt: new Date().toISOString(),
      disposition: 'answered',
      ticketNumber: String(c.olderNumber),
    });
    expect(res.status).toBe(200);
    const row = await waitRow(callId);
    expect(row).toMatchObject({ ticket_id: c.older, author_contact_id: c.contactId, kind: 'call_log' });
    expect(row.metadata.ticketRequest).toEqual({ number: c.olderNumber, outcome: 'used' });
  });

  it('logs a Twilio outbound call on the ticket named in the signed status callback URL, and keeps it there on revision', async () => {
    const c = await customerWithTwoTickets('4915133334444');
    const callSid = sid();
    const outbound = {
      AccountSid: ACCOUNT,
      CallSid: callSid,
      From: HOTLINE,
      To: '+4915133334444',
      Direction: 'outbound-api',
    };
    const query = { ticketId: c.older };
    const done = { ...outbound, CallStatus: 'completed', CallDuration: '40' };
    expect((await postTwilio(voice.base, kit.inboxes.voice, TOKEN, done, { query })).status).toBe(200);
    const first = await waitRow(callSid);
    expect(first).toMatchObject({ ticket_id: c.older, revision: 0 });
    expect(first.metadata.ticketRequest).toEqual({ id: c.older, outcome: 'used' });

    await postTwilio(
      voice.base,
      kit.inboxes.voice,
      TOKEN,
      { ...done, TranscriptionText: 'Thanks for calling back' },
      { query },
    );
    const revised = await waitRow(callSid, (r) => r.revision === 1);
    expect(revised).toMatchObject({ id: first.id, ticket_id: c.older });
    expect(revised.metadata.ticketRequest).toEqual({ id: c.older, outcome: 'used' });
  });

  it("falls back to normal routing, saying why, when the named ticket is another contact's or does not exist", async () => {
    const stranger = await whatsappCustomer('4915144445555', 'Private matter');
    const c = await customerWithTwoTickets('4915155556666');
    const [{ number: strangerNumber }] = await kit.ds.query('SELECT number FROM tickets WHERE id = $1', [
      stranger.ticket_id,
    ]);
    const cases: [Record<string, unknown>, Record<string, unknown>][] = [
      [{ ticketNumber: Number(strangerNumber) }, { number: Number(strangerNumber), outcome: 'other_contact' }],
      [
        { ticketId: '00000000-0000-4000-8000-000000000000' },
        { id: '00000000-0000-4000-8000-000000000000', outcome: 'not_found' },
      ],
    ];
    // Bob's call from a ticket to the customer, through the PBX API.
    const outboundCall = (callId: string, extra: Record<string, unknown>) =>
      postPbx(voice.base, kit.inboxes.voice, SECRET, {
        callId,
        direction: 'outbound',
        from: 'bob',
        to: '+4915155556666',
        startedAt: new Date(Date.now() - 30_000).toISOString(),
        endedAt: new Date().toISOString(),
        ...extra,
      });
    for (const [ref, expected] of cases) {
      const callId = `pbx-out-${sid()}`;
      const res = await outboundCall(callId, { disposition: 'missed', ...ref });
      expect(res.status).toBe(200);
      const row = await waitRow(callId);
      // The contact's most recently updated open ticket, as for any call; never the stranger's.
      expect(row.ticket_id).toBe(c.newer);
      expect(row.metadata.ticketRequest).toEqual(expected);
    }
    expect(await kit.count('messages WHERE ticket_id = $1', [stranger.ticket_id])).toBe(1);

    // A closed ticket is never written: the call opens a follow-up linked to it, like a message would.
    await kit.ds.query(`UPDATE tickets SET status = 'closed' WHERE id = $1`, [c.older]);
    const callId = `pbx-out-${sid()}`;
    await outboundCall(callId, { disposition: 'answered', ticketNumber: c.olderNumber });
    const row = await waitRow(callId);
    expect(row.metadata.ticketRequest).toEqual({ number: c.olderNumber, outcome: 'closed' });
    const [followUp] = await kit.ds.query('SELECT follow_up_of_id, requester_id FROM tickets WHERE id = $1', [
      row.ticket_id,
    ]);
    expect(followUp).toEqual({ follow_up_of_id: c.older, requester_id: c.contactId });
  });

  it('logs each missed call from a withheld number on its own ticket, matching nobody and with no call-back clock', async () => {
    const withheld: [string, () => Promise<Response>][] = [];
    const ids: string[] = [];
    for (const from of ['anonymous', '+266696687']) {
      const callSid = sid();
      ids.push(callSid);
      withheld.push([
        callSid,
        () => postTwilio(voice.base, kit.inboxes.voice, TOKEN, inboundCall(callSid, from, { CallStatus: 'no-answer' })),
      ]);
    }
    const pbxId = `pbx-anon-${sid()}`;
    ids.push(pbxId);
    withheld.push([
      pbxId,
      () =>
        postPbx(voice.base, kit.inboxes.voice, SECRET, {
          callId: pbxId,
          direction: 'inbound',
          from: 'private',
          to: HOTLINE,
          startedAt: new Date(Date.now() - 20_000).toISOString(),
          endedAt: new Date().toISOString(),
          disposition: 'voicemail',
        }),
    ]);
    for (const [, post] of withheld) expect((await post()).status).toBe(200);

    const rows = await Promise.all(ids.map((id) => waitRow(id)));
    expect(new Set(rows.map((r) => r.ticket_id)).size).toBe(3);
    expect(new Set(rows.map((r) => r.author_contact_id)).size).toBe(3);
    for (const row of rows) {
      expect(row).toMatchObject({ kind: 'call_log', priority: 'normal', status: 'new' });
      expect(row.ticket_subject).toMatch(/withheld number/);
      const [contact] = await kit.ds.query(
        `SELECT c.name, array_agg(i.kind) AS kinds FROM contacts c JOIN contact_identities i ON i.contact_id = c.id
          WHERE c.id = $1 GROUP BY c.name`,
        [row.author_contact_id],
      );
      expect(contact).toEqual({ name: 'Withheld number', kinds: ['anonymous'] });
      // Nobody can be called back: no customer message awaiting an answer, which is what starts the
      // SLA module's call-back / reply clock (awaitsReply and missedCall are both false for it).
      const [t] = await kit.ds.query(
        'SELECT customer_message_count, last_customer_message_at FROM tickets WHERE id = $1',
        [row.ticket_id],
      );
      expect(t).toEqual({ customer_message_count: 0, last_customer_message_at: null });
    }
    expect(await kit.count(`contact_identities WHERE kind = 'phone' AND value IN ('anonymous', '+266696687')`)).toBe(0);
  });

  it('still refuses an unparseable caller number that is not a withheld marker, naming the field', async () => {
    const callSid = sid();
    const res = await postTwilio(
      voice.base,
      kit.inboxes.voice,
      TOKEN,
      inboundCall(callSid, 'call me', { CallStatus: 'no-answer' }),
    );
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({ field: 'From' });
    // Refused before the fold: nothing of it is stored, so the same call sent again with a readable
    // number is its first event, and its call log the call's first revision on the timeline.
    expect(await kit.count('voice_calls WHERE call_id = $1', [callSid])).toBe(0);
    const readable = inboundCall(callSid, '+4915112345678', { CallStatus: 'no-answer' });
    expect((await postTwilio(voice.base, kit.inboxes.voice, TOKEN, readable)).status).toBe(200);
    const row = await waitRow(callSid);
    expect(row).toMatchObject({ revision: 0, metadata: { call: { disposition: 'missed' } } });
    const [call] = await kit.ds.query('SELECT events, emitted_revision FROM voice_calls WHERE call_id = $1', [callSid]);
    expect({ events: call.events.length, emitted: call.emitted_revision }).toEqual({ events: 1, emitted: 0 });
  });
});
