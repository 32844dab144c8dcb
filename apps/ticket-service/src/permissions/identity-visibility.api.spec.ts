import { ApiHarness } from '../tickets/api-test-harness';

/**
 * Reaching a customer across teams must not hand over their other channels: an agent
 * sees a contact's name and only the identities on tickets they can see (ticket-visibility.ts).
 */
describe('which of a contact’s identities an agent sees (permissions matrix over HTTP)', () => {
  const h = new ApiHarness();
  beforeAll(() => h.start(), 30_000);
  afterAll(() => h.stop());

  const WA_ID = '4917612340001';
  const PHONE = '+4917612340001';
  type Who = 'alice' | 'bob' | 'carol' | 'admin';
  const values = (identities: { value: string }[]) => identities.map((i) => i.value).sort();

  let lena: string;
  let teamATicket: string;
  let teamBTicket: { id: string; requesterId: string; participants: { identities: { value: string }[] }[] };
  let bobsOther: string;

  beforeAll(async () => {
    // Lena writes to team A on WhatsApp (the wa_id comes with its phone number linked)…
    teamATicket = await h.ingest({
      inboxId: h.ids.inbox_whatsapp,
      channel: 'whatsapp',
      externalId: 'wamid.lena-1',
      sender: { kind: 'whatsapp', value: WA_ID, displayName: 'Lena Vogt', linked: [{ kind: 'phone', value: PHONE }] },
      text: 'My card was blocked',
    });
    [{ requester_id: lena }] = await h.ds.query(`SELECT requester_id FROM tickets WHERE id = $1`, [teamATicket]);
    // …and Bob of team B opens a ticket for her by the phone number she gave him.
    teamBTicket = await h.createTicket('bob', {
      teamId: h.ids.teamB,
      requester: { kind: 'phone', value: '+49 176 12340001' },
      channel: 'voice',
      message: undefined,
      callLog: { disposition: 'answered', notes: 'Asked about a chargeback' },
    });
    expect(teamBTicket.requesterId).toBe(lena);
    bobsOther = (
      await h.createTicket('bob', { teamId: h.ids.teamB, requester: { kind: 'email', value: 'l.v@mail.example' } })
    ).requesterId;
  });

  it.each<[Who, string[]]>([
    // The identity he typed, never the WhatsApp id team A talks to her on.
    ['bob', [PHONE]],
    // Team A: the wa_id of its conversation and the phone number that wa_id stands for.
    ['alice', [PHONE, WA_ID]],
    ['carol', [PHONE, WA_ID]],
    ['admin', [PHONE, WA_ID]],
  ])('GET /v1/contacts/:id as %s shows the name and %j', async (who, expected) => {
    const res = await h.call(who, 'GET', `/v1/contacts/${lena}`);
    expect(res.status).toBe(200);
    expect(res.body.name).toBe('Lena Vogt');
    expect(values(res.body.identities)).toEqual(expected);
  });

  it.each<[Who, string, string[] | null]>([
    // A hidden identity does not find the contact: the answer would tell that it is hers.
    ['bob', WA_ID.slice(0, 8), null],
    ['bob', PHONE.slice(0, 9), [PHONE]],
    ['bob', 'Lena V', [PHONE]],
    ['alice', WA_ID.slice(0, 8), [PHONE, WA_ID]],
    ['admin', WA_ID.slice(0, 8), [PHONE, WA_ID]],
  ])('contact search as %s for %j finds %j', async (who, q, expected) => {
    const res = await h.call(who, 'GET', `/v1/contacts?q=${encodeURIComponent(q)}`);
    expect(res.status).toBe(200);
    const hit = res.body.items.find((c: { id: string }) => c.id === lena);
    expect(hit ? values(hit.identities) : null).toEqual(expected);
  });

  it('shows ticket participants and merge suggestions through the same rule', async () => {
    expect(values(teamBTicket.participants[0].identities)).toEqual([PHONE]);
    const bobs = await h.call('bob', 'GET', `/v1/tickets/${teamBTicket.id}`);
    expect(values(bobs.body.participants[0].identities)).toEqual([PHONE]);
    const alices = await h.call('alice', 'GET', `/v1/tickets/${teamATicket}`);
    expect(values(alices.body.participants[0].identities)).toEqual([PHONE, WA_ID]);

    await h.ds.query(
      `INSERT INTO merge_suggestions (contact_id, other_contact_id, reason) VALUES ($1, $2, 'same name')`,
      [bobsOther, lena],
    );
    const suggestions = await h.call('bob', 'GET', `/v1/contacts/${bobsOther}/merge-suggestions`);
    expect(suggestions.body.items).toEqual([
      expect.objectContaining({ contact: expect.objectContaining({ id: lena }) }),
    ]);
    expect(values(suggestions.body.items[0].contact.identities)).toEqual([PHONE]);
  });

  it('shows an address copied on a mail of a visible ticket, and nothing else of that contact', async () => {
    // Bob's contact is CC'd on a mail to team A: Alice now sees that address, which is on her ticket.
    const ticket = await h.ingest({
      inboxId: h.ids.inbox_email,
      channel: 'email',
      externalId: '<cc-1@bank.example>',
      sender: { kind: 'email', value: 'advisor@bank.example' },
      cc: [{ kind: 'email', value: 'L.V@Mail.Example' }],
      subject: 'Chargeback for our client',
      text: 'See below',
    });
    const profile = await h.call('alice', 'GET', `/v1/contacts/${bobsOther}`);
    expect(profile.status).toBe(200);
    expect(values(profile.body.identities)).toEqual(['l.v@mail.example']);
    expect(profile.body.tickets.map((t: { id: string }) => t.id)).toEqual([ticket]);
  });

  it('keeps showing the number an agent typed after the conversation moved on to another ticket', async () => {
    // Her next call to team A's hotline binds (hotline, phone) to team A's ticket…
    const landed = await h.ingest({
      inboxId: h.ids.inbox_voice,
      channel: 'voice',
      externalId: 'CA-lena-1',
      kind: 'call_log',
      sender: { kind: 'phone', value: PHONE },
      call: {
        callId: 'CA-lena-1',
        direction: 'inbound',
        from: PHONE,
        to: '+15550002222',
        disposition: 'answered',
        startedAt: new Date().toISOString(),
        durationSec: 60,
      },
    });
    expect(landed).toBe(teamATicket);
    // …and Bob still sees what he typed on his own ticket, and still not the wa_id.
    expect(values((await h.call('bob', 'GET', `/v1/contacts/${lena}`)).body.identities)).toEqual([PHONE]);
    expect(values((await h.call('alice', 'GET', `/v1/contacts/${lena}`)).body.identities)).toEqual([PHONE, WA_ID]);
  });

  it('refuses a WhatsApp reply on the team-B ticket: the wa_id is only on a team-A ticket, and replying would hand it over', async () => {
    const res = await h.call('bob', 'POST', `/v1/tickets/${teamBTicket.id}/messages`, {
      channel: 'whatsapp',
      text: 'We are looking into the chargeback.',
    });
    // The answer for a customer without WhatsApp: it does not tell that she has one elsewhere.
    expect(res.status).toBe(422);
    expect(res.body.reason).toBe('no_identity_on_channel');
    expect(values((await h.call('bob', 'GET', `/v1/contacts/${lena}`)).body.identities)).toEqual([PHONE]);
  });

  it('shows the WhatsApp id once it is on a ticket the agent can see', async () => {
    const { body } = await h.call('admin', 'GET', `/v1/tickets/${teamATicket}`);
    const moved = await h.call('admin', 'PATCH', `/v1/tickets/${teamATicket}`, {
      version: body.version,
      teamId: h.ids.teamB,
    });
    expect(moved.status).toBe(200);
    expect(values((await h.call('bob', 'GET', `/v1/contacts/${lena}`)).body.identities)).toEqual([PHONE, WA_ID]);
    // Alice sees none of Lena's tickets any more, so not Lena either.
    expect((await h.call('alice', 'GET', `/v1/contacts/${lena}`)).status).toBe(404);
  });
});
