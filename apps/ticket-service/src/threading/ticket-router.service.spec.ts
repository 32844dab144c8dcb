import { randomUUID } from 'node:crypto';
import { generateEmailMessageId, InboundMessage } from '@oq/contracts';
import { createDataSource } from '@oq/database';
import { createTestDatabase, TestDatabase } from '@oq/database/testing/test-env';
import { DataSource } from 'typeorm';
import { Config } from '../config';
import { Route, TicketRouterService } from './ticket-router.service';

const SECRET = 'router-spec-threading-secret-0123456789';

/**
 * TicketRouterService's rules called directly against a real database (call-routing.api.spec.ts
 * drives routeCall's three preferences through ingest; this file pins each rule and its `via`).
 * Every route runs in a transaction, as ingest runs it (the router locks what it returns).
 */
describe('TicketRouterService (real Postgres)', () => {
  let db: TestDatabase;
  let ds: DataSource;
  const router = new TicketRouterService({ EMAIL_THREADING_SECRET: SECRET } as Config);
  let teamA: string;
  let teamB: string;
  let hotline: string;
  let otherHotline: string;
  let whatsapp: string;
  let telegram: string;
  let mail: string;

  beforeAll(async () => {
    db = await createTestDatabase();
    ds = createDataSource({ url: db.url, poolSize: 2 });
    await ds.initialize();
    [{ id: teamA }, { id: teamB }] = await ds.query(
      `INSERT INTO teams (name) VALUES ('Payments'), ('Cards') RETURNING id`,
    );
    const inbox = async (channel: string, address: string, teamId: string): Promise<string> =>
      (
        await ds.query(
          `INSERT INTO inboxes (name, channel, address, default_team_id) VALUES ($1, $1, $2, $3) RETURNING id`,
          [channel, address, teamId],
        )
      )[0].id;
    hotline = await inbox('voice', '+15550001000', teamA);
    otherHotline = await inbox('voice', '+15550002000', teamB);
    whatsapp = await inbox('whatsapp', '1098765', teamA);
    telegram = await inbox('telegram', 'walletbot', teamA);
    mail = await inbox('email', 'help@wallet.test', teamA);
  });
  afterAll(async () => {
    await ds?.destroy();
    await db?.drop();
  });

  const contact = async (): Promise<string> =>
    (await ds.query(`INSERT INTO contacts (name) VALUES ('Customer') RETURNING id`))[0].id;
  const identity = async (contactId: string, kind: string, value = randomUUID()): Promise<string> =>
    (
      await ds.query(`INSERT INTO contact_identities (contact_id, kind, value) VALUES ($1, $2, $3) RETURNING id`, [
        contactId,
        kind,
        value,
      ])
    )[0].id;

  interface TicketSpec {
    requester: string;
    team?: string;
    status?: string;
    /** Seconds ago the ticket was last updated (routeCall's third preference). */
    updatedAgo?: number;
  }
  /** A ticket whose requester is also its participant, as ingest and the API create them. */
  const ticket = async ({ requester, team = teamA, status = 'open', updatedAgo = 0 }: TicketSpec) => {
    const [t] = await ds.query(
      `INSERT INTO tickets (team_id, requester_id, channel, status, updated_at)
       VALUES ($1, $2, 'email', $3, now() - make_interval(secs => $4)) RETURNING id, number`,
      [team, requester, status, updatedAgo],
    );
    await ds.query(`INSERT INTO ticket_participants VALUES ($1, $2, 'requester')`, [t.id, requester]);
    return { id: t.id as string, number: Number(t.number) };
  };
  /** Merges `source` into `target` the way the merge API leaves them: closed, pointing at the target. */
  const merge = (source: string, target: string) =>
    ds.query(`UPDATE tickets SET status = 'closed', merged_into_id = $2 WHERE id = $1`, [source, target]);
  const close = (id: string) => ds.query(`UPDATE tickets SET status = 'closed' WHERE id = $1`, [id]);

  const message = (over: Partial<InboundMessage>): InboundMessage =>
    ({
      v: 2,
      inboxId: mail,
      channel: 'email',
      externalId: randomUUID(),
      revision: 0,
      kind: 'message',
      sourceTime: new Date().toISOString(),
      receivedAt: new Date().toISOString(),
      sender: { kind: 'email', value: 'customer@example.com', linked: [] },
      cc: [],
      text: 'hello',
      attachments: [],
      metadata: {},
      ...over,
    }) as InboundMessage;

  /** The route with the chosen ticket as its id, which is what the assertions compare. */
  const route = async (
    msg: InboundMessage,
    ctx: { contactId: string; inboxId?: string; identityId?: string; identityCreated?: boolean },
  ) => {
    const r: Route = await ds.transaction((m) =>
      router.route(m, msg, {
        inboxId: ctx.inboxId ?? msg.inboxId,
        identityId: ctx.identityId ?? randomUUID(),
        contactId: ctx.contactId,
        identityCreated: ctx.identityCreated,
      }),
    );
    const { ticket: chosen, ...rest } = r as Route & { ticket?: { id: string } };
    return chosen ? { ...rest, ticketId: chosen.id } : rest;
  };

  describe('conversation binding (messaging channels)', () => {
    const bind = (inboxId: string, identityId: string, ticketId: string) =>
      ds.query(`INSERT INTO conversations (inbox_id, identity_id, ticket_id) VALUES ($1, $2, $3)`, [
        inboxId,
        identityId,
        ticketId,
      ]);
    const chatMessage = (inboxId: string) =>
      message({ inboxId, channel: inboxId === telegram ? 'telegram' : 'whatsapp' });

    it("lands on the conversation's ticket of this inbox; another inbox, or no conversation, opens a new one", async () => {
      const c = await contact();
      const wa = await identity(c, 'whatsapp');
      const bound = await ticket({ requester: c });
      await bind(whatsapp, wa, bound.id);
      expect(await route(chatMessage(whatsapp), { contactId: c, identityId: wa })).toEqual({
        kind: 'existing',
        ticketId: bound.id,
        via: 'conversation',
      });
      // The binding is per (inbox, identity): the same identity writing to another inbox starts afresh.
      expect(await route(chatMessage(telegram), { contactId: c, identityId: wa })).toEqual({
        kind: 'new',
        via: 'new_conversation',
      });
      // An identity created in this very transaction cannot have a conversation yet.
      const fresh = await identity(c, 'telegram');
      expect(await route(chatMessage(telegram), { contactId: c, identityId: fresh, identityCreated: true })).toEqual({
        kind: 'new',
        via: 'new_conversation',
      });
    });

    it('keeps writing to a solved ticket (it reopens) but opens a follow-up of a closed one', async () => {
      const c = await contact();
      const wa = await identity(c, 'whatsapp');
      const t = await ticket({ requester: c, status: 'solved' });
      await bind(whatsapp, wa, t.id);
      expect(await route(chatMessage(whatsapp), { contactId: c, identityId: wa })).toMatchObject({
        kind: 'existing',
        ticketId: t.id,
      });
      await close(t.id);
      expect(await route(chatMessage(whatsapp), { contactId: c, identityId: wa })).toEqual({
        kind: 'new',
        followUpOfId: t.id,
        via: 'conversation_closed',
      });
    });

    it('follows a merged ticket to the one it was merged into, and a closed target to a follow-up of it', async () => {
      const c = await contact();
      const wa = await identity(c, 'whatsapp');
      const source = await ticket({ requester: c });
      const middle = await ticket({ requester: c });
      const target = await ticket({ requester: c });
      await bind(whatsapp, wa, source.id);
      await merge(source.id, middle.id);
      await merge(middle.id, target.id);
      expect(await route(chatMessage(whatsapp), { contactId: c, identityId: wa })).toEqual({
        kind: 'existing',
        ticketId: target.id,
        via: 'conversation',
      });
      await close(target.id);
      expect(await route(chatMessage(whatsapp), { contactId: c, identityId: wa })).toEqual({
        kind: 'new',
        followUpOfId: target.id,
        via: 'conversation_closed',
      });
    });
  });

  describe('email: headers, then the subject token', () => {
    const signedId = (ticketId: string, secret = SECRET) =>
      generateEmailMessageId(ticketId, randomUUID(), secret, 'onequeue.local');
    /** A message of `ticketId` whose Message-ID we stored (an earlier inbound mail or our reply). */
    const stored = async (ticketId: string, emailMessageId = `<${randomUUID()}@mail.example>`) => {
      await ds.query(
        `INSERT INTO messages (ticket_id, direction, text, email_message_id) VALUES ($1, 'inbound', 'x', $2)`,
        [ticketId, emailMessageId],
      );
      return emailMessageId;
    };
    const mailTo = (email: Partial<NonNullable<InboundMessage['email']>>, subject?: string) =>
      message({ subject, email: { inReplyTo: [], references: [], autoSubmitted: false, ...email } });

    it('threads on our signed Message-ID in In-Reply-To or References, never on one signed with another key', async () => {
      const c = await contact();
      const t = await ticket({ requester: c });
      expect(await route(mailTo({ inReplyTo: [signedId(t.id)] }), { contactId: c })).toEqual({
        kind: 'existing',
        ticketId: t.id,
        via: 'signed_message_id',
      });
      // Bare (unbracketed) ids in References are normalised the same way.
      const bare = signedId(t.id).slice(1, -1);
      expect(await route(mailTo({ references: ['<unrelated@x>', bare] }), { contactId: c })).toMatchObject({
        ticketId: t.id,
        via: 'signed_message_id',
      });
      expect(
        await route(mailTo({ inReplyTo: [signedId(t.id, 'another-deployments-secret-0123456')] }), { contactId: c }),
      ).toEqual({
        kind: 'new',
        via: 'new_thread',
      });
    });

    it('threads on a stored Message-ID, the newest stored one when several match', async () => {
      const c = await contact();
      const older = await ticket({ requester: c });
      const newer = await ticket({ requester: c });
      const a = await stored(older.id);
      const b = await stored(newer.id);
      expect(await route(mailTo({ inReplyTo: [a] }), { contactId: c })).toEqual({
        kind: 'existing',
        ticketId: older.id,
        via: 'stored_message_id',
      });
      expect(await route(mailTo({ references: [b, a] }), { contactId: c })).toMatchObject({ ticketId: newer.id });
    });

    it('prefers the headers over the subject token, and uses the token when the headers name nothing known', async () => {
      const c = await contact();
      const byHeader = await ticket({ requester: c });
      const byToken = await ticket({ requester: c });
      const subject = `Re: my refund [#${byToken.number}]`;
      expect(await route(mailTo({ inReplyTo: [await stored(byHeader.id)] }, subject), { contactId: c })).toMatchObject({
        ticketId: byHeader.id,
        via: 'stored_message_id',
      });
      // A signed id beats a stored one too.
      expect(
        await route(mailTo({ inReplyTo: [await stored(byHeader.id)], references: [signedId(byToken.id)] }), {
          contactId: c,
        }),
      ).toMatchObject({ ticketId: byToken.id, via: 'signed_message_id' });
      expect(await route(mailTo({ inReplyTo: ['<never-seen@mail.example>'] }, subject), { contactId: c })).toEqual({
        kind: 'existing',
        ticketId: byToken.id,
        via: 'subject_token',
      });
      expect(await route(mailTo({}, 'Re: [#999999999] nothing like it'), { contactId: c })).toEqual({
        kind: 'new',
        via: 'new_thread',
      });
    });

    it("opens a linked ticket instead of writing into someone else's, or into one a sender-less mail names", async () => {
      const owner = await contact();
      const t = await ticket({ requester: owner });
      const stranger = await contact();
      const subject = `Re: [#${t.number}]`;
      expect(await route(mailTo({}, subject), { contactId: stranger })).toEqual({
        kind: 'new',
        followUpOfId: t.id,
        via: 'subject_token_non_participant',
      });
      // A CC of the ticket is one of its people.
      await ds.query(`INSERT INTO ticket_participants VALUES ($1, $2, 'cc')`, [t.id, stranger]);
      expect(await route(mailTo({}, subject), { contactId: stranger })).toMatchObject({
        kind: 'existing',
        ticketId: t.id,
      });
      expect(await route(mailTo({ senderHeader: 'none', inReplyTo: [signedId(t.id)] }), { contactId: owner })).toEqual({
        kind: 'new',
        followUpOfId: t.id,
        via: 'signed_message_id_unknown_sender',
      });
    });

    it('opens a follow-up of a closed ticket and forwards a merged one to its target', async () => {
      const c = await contact();
      const closed = await ticket({ requester: c });
      await close(closed.id);
      expect(await route(mailTo({ inReplyTo: [signedId(closed.id)] }), { contactId: c })).toEqual({
        kind: 'new',
        followUpOfId: closed.id,
        via: 'signed_message_id_closed',
      });
      const source = await ticket({ requester: c });
      const target = await ticket({ requester: c });
      await merge(source.id, target.id);
      expect(await route(mailTo({}, `Re: [#${source.number}]`), { contactId: c })).toEqual({
        kind: 'existing',
        ticketId: target.id,
        via: 'subject_token',
      });
    });
  });

  describe('calls (routeCall)', () => {
    const callLog = (inboxId: string, ticket?: { id?: string; number?: number }) =>
      message({
        inboxId,
        channel: 'voice',
        kind: 'call_log',
        sender: { kind: 'phone', value: '+14155550100', linked: [] },
        call: {
          callId: randomUUID(),
          direction: 'inbound',
          from: '+14155550100',
          to: '+15550001000',
          disposition: 'answered',
          startedAt: new Date().toISOString(),
          durationSec: 30,
          ticket,
        },
      });
    /** A missed inbound call logged on the ticket `agoSeconds` ago. */
    const missedCall = (ticketId: string, agoSeconds: number, disposition = 'missed') =>
      ds.query(
        `INSERT INTO messages (ticket_id, direction, kind, metadata, source_time)
         VALUES ($1, 'inbound', 'call_log', $2::jsonb, now() - make_interval(secs => $3))`,
        [ticketId, JSON.stringify({ call: { disposition } }), agoSeconds],
      );
    /** A reply clock started `startedAgo` seconds ago, due in `dueIn` seconds. */
    const replyClock = (
      ticketId: string,
      over: { metric?: string; state?: string; startedAgo?: number; dueIn?: number; fulfilled?: boolean } = {},
    ) =>
      ds.query(
        `INSERT INTO ticket_sla (ticket_id, metric, state, target_seconds, started_at, due_at, fulfilled_at)
         VALUES ($1, $2, $3, 3600, now() - make_interval(secs => $4), now() + make_interval(secs => $5),
                 CASE WHEN $6::boolean THEN now() END)`,
        [
          ticketId,
          over.metric ?? 'first_reply',
          over.state ?? 'active',
          over.startedAgo ?? 60,
          over.dueIn ?? 3600,
          over.fulfilled ?? false,
        ],
      );

    it("prefers 1. a ticket waiting for a call back, 2. the ringing hotline's team, 3. the latest update", async () => {
      const c = await contact();
      const teamBOld = await ticket({ requester: c, team: teamB, updatedAgo: 300 });
      const teamBNew = await ticket({ requester: c, team: teamB, updatedAgo: 10 });
      expect(await route(callLog(hotline), { contactId: c })).toEqual({
        kind: 'existing',
        ticketId: teamBNew.id,
        via: 'latest_open_ticket',
      });
      const teamATicket = await ticket({ requester: c, team: teamA, updatedAgo: 600 });
      expect(await route(callLog(hotline), { contactId: c })).toEqual({
        kind: 'existing',
        ticketId: teamATicket.id,
        via: 'inbox_team_ticket',
      });
      // The other team's hotline prefers that team's newest ticket.
      expect(await route(callLog(otherHotline), { contactId: c })).toMatchObject({
        ticketId: teamBNew.id,
        via: 'inbox_team_ticket',
      });
      await replyClock(teamBOld.id, { startedAgo: 120 });
      await missedCall(teamBOld.id, 60);
      expect(await route(callLog(hotline), { contactId: c })).toEqual({
        kind: 'existing',
        ticketId: teamBOld.id,
        via: 'call_back_ticket',
      });
    });

    it('takes the soonest due call back first and counts breached-but-unanswered and paused clocks', async () => {
      const c = await contact();
      const later = await ticket({ requester: c, updatedAgo: 5 });
      const sooner = await ticket({ requester: c, team: teamB, updatedAgo: 500 });
      await replyClock(later.id, { dueIn: 1800 });
      await missedCall(later.id, 30, 'voicemail');
      await replyClock(sooner.id, { metric: 'next_reply', state: 'paused', dueIn: 600 });
      await missedCall(sooner.id, 30, 'busy');
      expect(await route(callLog(hotline), { contactId: c })).toMatchObject({
        ticketId: sooner.id,
        via: 'call_back_ticket',
      });
      const overdue = await ticket({ requester: c, team: teamB, updatedAgo: 900 });
      await replyClock(overdue.id, { state: 'breached', startedAgo: 7200, dueIn: -3600 });
      await missedCall(overdue.id, 7000);
      expect(await route(callLog(hotline), { contactId: c })).toMatchObject({
        ticketId: overdue.id,
        via: 'call_back_ticket',
      });
    });

    it('does not count a call back that is answered, older than its clock, answered by phone, or a resolution clock', async () => {
      const c = await contact();
      const inboxTeam = await ticket({ requester: c, updatedAgo: 1000 });
      const cases = [
        // The reply was given: the clock is fulfilled (a breached one too, once answered).
        async (id: string) => {
          await replyClock(id, { state: 'fulfilled', fulfilled: true });
          await missedCall(id, 30);
        },
        async (id: string) => {
          await replyClock(id, { state: 'breached', startedAgo: 7200, dueIn: -3600, fulfilled: true });
          await missedCall(id, 30);
        },
        // The missed call came before the clock started: it was already answered then.
        async (id: string) => {
          await replyClock(id, { startedAgo: 60 });
          await missedCall(id, 120);
        },
        // The customer got through: nobody needs to call back.
        async (id: string) => {
          await replyClock(id);
          await missedCall(id, 30, 'answered');
        },
        async (id: string) => {
          await replyClock(id, { metric: 'resolution' });
          await missedCall(id, 30);
        },
      ];
      for (const setUp of cases) {
        const other = await ticket({ requester: c, team: teamB, updatedAgo: 1 });
        await setUp(other.id);
        expect(await route(callLog(hotline), { contactId: c })).toMatchObject({
          ticketId: inboxTeam.id,
          via: 'inbox_team_ticket',
        });
        await close(other.id);
      }
    });

    it('never lands on a closed or merged ticket, nor on a ticket the caller is only a CC of; none left → a new ticket', async () => {
      const c = await contact();
      const closed = await ticket({ requester: c, updatedAgo: 1 });
      await close(closed.id);
      const target = await ticket({ requester: await contact(), team: teamB });
      await ds.query(`INSERT INTO ticket_participants VALUES ($1, $2, 'cc')`, [target.id, c]);
      const merged = await ticket({ requester: c, updatedAgo: 2 });
      await ds.query(`UPDATE tickets SET merged_into_id = $2 WHERE id = $1`, [merged.id, target.id]);
      expect(await route(callLog(hotline), { contactId: c })).toEqual({ kind: 'new', via: 'call' });
      const solved = await ticket({ requester: c, team: teamB, status: 'solved', updatedAgo: 3000 });
      expect(await route(callLog(hotline), { contactId: c })).toEqual({
        kind: 'existing',
        ticketId: solved.id,
        via: 'latest_open_ticket',
      });
    });

    it("logs a call placed from a ticket there when it is the caller's, else routes it and says why", async () => {
      const c = await contact();
      const own = await ticket({ requester: c, team: teamB });
      const usual = await ticket({ requester: c, team: teamA, updatedAgo: 100 });
      expect(await route(callLog(hotline, { number: own.number }), { contactId: c })).toEqual({
        kind: 'existing',
        ticketId: own.id,
        via: 'named_ticket',
        ticketRequest: { number: own.number, outcome: 'used' },
      });
      const missing = randomUUID();
      expect(await route(callLog(hotline, { id: missing }), { contactId: c })).toEqual({
        kind: 'existing',
        ticketId: usual.id,
        via: 'inbox_team_ticket',
        ticketRequest: { id: missing, outcome: 'not_found' },
      });
      const someoneElses = await ticket({ requester: await contact() });
      expect(await route(callLog(hotline, { id: someoneElses.id }), { contactId: c })).toMatchObject({
        ticketId: usual.id,
        ticketRequest: { id: someoneElses.id, outcome: 'other_contact' },
      });
      // A merged ticket forwards to its target; a closed one gets a follow-up.
      await merge(own.id, usual.id);
      expect(await route(callLog(hotline, { id: own.id }), { contactId: c })).toEqual({
        kind: 'existing',
        ticketId: usual.id,
        via: 'named_ticket',
        ticketRequest: { id: own.id, outcome: 'used' },
      });
      await close(usual.id);
      expect(await route(callLog(hotline, { id: own.id }), { contactId: c })).toEqual({
        kind: 'new',
        followUpOfId: usual.id,
        via: 'named_ticket_closed',
        ticketRequest: { id: own.id, outcome: 'closed' },
      });
    });
  });
});
