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
  metadata: { call?: { disposition: string; durationSec: number; recording?: { sha256: string } } };
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
});
