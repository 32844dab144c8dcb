import { ApiHarness } from '../tickets/api-test-harness';

/**
 * Which of a caller's open tickets a call lands on (TicketRouterService.routeCall): a ticket
 * waiting for a call back, else one of the team whose hotline rang, else the latest.
 */
describe('a call from a customer with open tickets in two teams', () => {
  const h = new ApiHarness();
  beforeAll(() => h.start(), 30_000);
  afterAll(() => h.stop());

  const WA_ID = '4917698760002';
  const PHONE = '+4917698760002';
  let seq = 0;
  /** An answered call log as voice-service sends it, into `inboxId`; resolves to the ticket it landed on. */
  const call = (inboxId: string, callBack?: { ticketId: string }) => {
    const callId = `CA-routing-${seq++}`;
    return h.ingest({
      inboxId,
      channel: 'voice',
      externalId: callId,
      kind: 'call_log',
      sender: { kind: 'phone', value: PHONE },
      call: {
        callId,
        direction: callBack ? 'outbound' : 'inbound',
        from: callBack ? '+15550002222' : PHONE,
        to: callBack ? PHONE : '+15550002222',
        disposition: 'answered',
        startedAt: new Date().toISOString(),
        durationSec: 90,
        ticket: callBack && { id: callBack.ticketId },
      },
    });
  };
  const touch = async (who: 'alice' | 'bob', ticketId: string, tag: string) => {
    const { body } = await h.call(who, 'GET', `/v1/tickets/${ticketId}`);
    const res = await h.call(who, 'PATCH', `/v1/tickets/${ticketId}`, { version: body.version, tags: [tag] });
    expect(res.status).toBe(200);
  };

  let teamA: string;
  let teamB: string;
  beforeAll(async () => {
    // Reply clocks for every ticket, so a missed call starts a call-back clock.
    const seconds = { seconds: 3600 };
    const policy = await h.call('admin', 'POST', '/v1/admin/sla/policies', {
      name: 'call backs',
      targets: {
        first_reply: { low: seconds, normal: seconds, high: seconds, urgent: seconds },
        next_reply: { low: seconds, normal: seconds, high: seconds, urgent: seconds },
      },
    });
    expect(policy.status).toBe(201);

    // The customer's urgent ticket with team A, from WhatsApp…
    teamA = await h.ingest({
      inboxId: h.ids.inbox_whatsapp,
      channel: 'whatsapp',
      externalId: 'wamid.routing-1',
      sender: { kind: 'whatsapp', value: WA_ID, linked: [{ kind: 'phone', value: PHONE }] },
      text: 'Someone took money from my account',
    });
    const { body } = await h.call('alice', 'GET', `/v1/tickets/${teamA}`);
    await h.call('alice', 'PATCH', `/v1/tickets/${teamA}`, { version: body.version, priority: 'urgent' });
    // …and, newer, the ticket Bob of team B opened for her phone number.
    teamB = (
      await h.createTicket('bob', {
        teamId: h.ids.teamB,
        requester: { kind: 'phone', value: PHONE },
        channel: 'voice',
        subject: 'Card replacement',
        message: { text: 'Wants a new card sent to her new address' },
      })
    ).id;
  });

  it("lands on the team whose hotline rang, not on another team's newer ticket", async () => {
    expect(await call(h.ids.inbox_voice)).toBe(teamA);
    const bobs = (await h.call('bob', 'GET', `/v1/tickets/${teamB}`)).body;
    expect(bobs.messages.map((m: { kind: string }) => m.kind)).toEqual(['message']);
  });

  it("lands on the latest open ticket when none is the receiving team's", async () => {
    const [{ id: otherHotline }] = await h.ds.query(
      `WITH team AS (INSERT INTO teams (name) VALUES ('Lending') RETURNING id)
       INSERT INTO inboxes (name, channel, address, default_team_id) SELECT 'lending hotline', 'voice', '+15550003333', id FROM team
       RETURNING id`,
    );
    await touch('bob', teamB, 'address-change');
    expect(await call(otherHotline)).toBe(teamB);
    await touch('alice', teamA, 'fraud');
    expect(await call(otherHotline)).toBe(teamA);
  });

  it('lands first on the ticket waiting for a call back, whichever team and however old', async () => {
    // A missed call Bob logged by hand: his new ticket now waits for a call back.
    const callBack = await h.createTicket('bob', {
      teamId: h.ids.teamB,
      requester: { kind: 'phone', value: PHONE },
      channel: 'voice',
      subject: 'Missed call',
      message: undefined,
      callLog: { disposition: 'missed' },
    });
    const clocks = (await h.call('bob', 'GET', `/v1/tickets/${callBack.id}/sla`)).body.clocks;
    expect(clocks.map((c: { metric: string; state: string }) => [c.metric, c.state])).toEqual([
      ['first_reply', 'active'],
    ]);
    // Team A's ticket is newer and of the hotline's team: the call back still wins.
    await touch('alice', teamA, 'escalated');
    expect(await call(h.ids.inbox_voice)).toBe(callBack.id);

    // Bob calls her back from that ticket: the clock is fulfilled, and the hotline's team comes first again.
    expect(await call(h.ids.inbox_voice, { ticketId: callBack.id })).toBe(callBack.id);
    const after = (await h.call('bob', 'GET', `/v1/tickets/${callBack.id}/sla`)).body.clocks;
    expect(after.map((c: { metric: string; state: string }) => [c.metric, c.state])).toEqual([
      ['first_reply', 'fulfilled'],
    ]);
    expect(await call(h.ids.inbox_voice)).toBe(teamA);
  });
});
