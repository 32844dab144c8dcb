import { randomUUID } from 'node:crypto';
import { CHAT_CUSTOMER_TYPING_CHANNEL, TicketEvent } from '@oq/contracts';
import { createTestDatabase, dropQueuePrefix, testQueuePrefix, TestDatabase } from '@oq/database/testing/test-env';
import { REDIS } from '@oq/platform';
import { Redis } from 'ioredis';
import { SignJWT } from 'jose';
import { io, Socket } from 'socket.io-client';
import { call, insertAgent, loginToken, startTicketService, TestInstance } from '../auth/auth.testing';
import { TicketEventBus } from '../outbox/outbox.service';
import { CUSTOMER_TYPING_EVENT, RealtimeGateway, TICKET_EVENT } from './realtime.gateway';

const JWT_SECRET = 'test-jwt-secret-0123456789abcdefghij';

describe('realtime: agents receive exactly the ticket events they may see, across replicas', () => {
  let db: TestDatabase;
  let one: TestInstance;
  let two: TestInstance;
  const prefix = testQueuePrefix();
  const ids: Record<string, string> = {};
  const tokens: Record<string, string> = {};
  const sockets: Socket[] = [];

  beforeAll(async () => {
    db = await createTestDatabase();
    [one, two] = await Promise.all([startTicketService(db, prefix), startTicketService(db, prefix)]);
    const [a, b] = await one.ds.query(`INSERT INTO teams (name) VALUES ('A'), ('B') RETURNING id`);
    ids.teamA = a.id;
    ids.teamB = b.id;
    ids.alice = await insertAgent(one.ds, 'alice@x.test', 'agent', [ids.teamA]);
    ids.bob = await insertAgent(one.ds, 'bob@x.test', 'agent', [ids.teamB]);
    ids.root = await insertAgent(one.ds, 'root@x.test', 'admin');
    for (const name of ['alice', 'bob', 'root']) tokens[name] = await loginToken(one.base, `${name}@x.test`);
  });
  afterAll(async () => {
    for (const s of sockets) s.disconnect();
    await Promise.all([one?.app.close(), two?.app.close()]);
    await db?.drop();
    await dropQueuePrefix(prefix);
  });

  /** A connected client collecting ticket events; rejects on connect_error. */
  const connect = (instance: TestInstance, token: unknown) =>
    new Promise<{ socket: Socket; events: TicketEvent[] }>((resolve, reject) => {
      const socket = io(instance.base, {
        path: '/realtime',
        auth: { token },
        transports: ['websocket'],
        reconnection: false,
      });
      sockets.push(socket);
      const events: TicketEvent[] = [];
      socket.on(TICKET_EVENT, (e: TicketEvent) => events.push(e));
      socket.once('connect', () => resolve({ socket, events }));
      socket.once('connect_error', reject);
    });

  const event = (teamId: string | null, assigneeId: string | null = null): TicketEvent => ({
    v: 1,
    eventId: randomUUID(),
    type: 'ticket.updated',
    ticketId: randomUUID(),
    teamId,
    assigneeId,
    occurredAt: new Date().toISOString(),
    data: {},
  });

  const until = async (what: () => boolean | Promise<boolean>, ms = 5000) => {
    const end = Date.now() + ms;
    while (!(await what())) {
      if (Date.now() > end) throw new Error('timed out waiting');
      await new Promise((r) => setTimeout(r, 20));
    }
  };
  const idsOf = (events: TicketEvent[]) => events.map((e) => e.eventId);

  it('fans an event emitted on instance 1 out to the right sockets on instance 2, and only to them', async () => {
    const alice2 = await connect(two, tokens.alice);
    const alice1 = await connect(one, tokens.alice);
    const bob2 = await connect(two, tokens.bob);
    const root2 = await connect(two, tokens.root);
    const bus = one.app.get(TicketEventBus);

    const forA = event(ids.teamA);
    const forBAssignedAlice = event(ids.teamB, ids.alice);
    const forB = event(ids.teamB);
    bus.publish(forA);
    bus.publish(forBAssignedAlice);
    bus.publish(forB);

    // bob's last event arriving means everything before it has been delivered (one emitter, ordered).
    await until(() => bob2.events.some((e) => e.eventId === forB.eventId));
    await until(() => alice2.events.length >= 2 && alice1.events.length >= 2 && root2.events.length >= 3);

    expect(idsOf(alice2.events)).toEqual([forA.eventId, forBAssignedAlice.eventId]);
    expect(idsOf(alice1.events)).toEqual([forA.eventId, forBAssignedAlice.eventId]);
    expect(idsOf(bob2.events)).toEqual([forBAssignedAlice.eventId, forB.eventId]);
    expect(idsOf(root2.events)).toEqual([forA.eventId, forBAssignedAlice.eventId, forB.eventId]);
    expect(alice2.events[0]).toEqual(forA);
  });

  it('relays chat customer typing to the agents who see the ticket, once per socket across replicas', async () => {
    const [inbox] = await one.ds.query(
      `INSERT INTO inboxes (name, channel, address, default_team_id) VALUES ('chat', 'chat', $1, $2) RETURNING id`,
      [`widget-${randomUUID()}`, ids.teamA],
    );
    const [contact] = await one.ds.query(`INSERT INTO contacts (name) VALUES ('c') RETURNING id`);
    const value = `user-${randomUUID()}`;
    const [identity] = await one.ds.query(
      `INSERT INTO contact_identities (contact_id, kind, value, verified) VALUES ($1, 'app_user', $2, true) RETURNING id`,
      [contact.id, value],
    );
    const [ticket] = await one.ds.query(
      `INSERT INTO tickets (team_id, requester_id, channel, inbox_id) VALUES ($1, $2, 'chat', $3) RETURNING id`,
      [ids.teamA, contact.id, inbox.id],
    );
    await one.ds.query(`INSERT INTO conversations (inbox_id, identity_id, ticket_id) VALUES ($1, $2, $3)`, [
      inbox.id,
      identity.id,
      ticket.id,
    ]);
    const seen = (s: Socket) => {
      const got: { ticketId: string; typing: boolean }[] = [];
      s.on(CUSTOMER_TYPING_EVENT, (e) => got.push(e));
      return got;
    };
    const alice2 = await connect(two, tokens.alice);
    const alice1 = await connect(one, tokens.alice);
    const bob1 = await connect(one, tokens.bob);
    const [alice, aliceOnOne, bob] = [alice2, alice1, bob1].map((c) => seen(c.socket));
    await one.app.get<Redis>(REDIS).publish(
      CHAT_CUSTOMER_TYPING_CHANNEL,
      JSON.stringify({
        inboxId: inbox.id,
        identity: { kind: 'app_user', value },
        typing: true,
        at: new Date().toISOString(),
      }),
    );
    // Each replica relays to its own sockets: both of alice's sockets hear it from the replica they are on.
    await until(() => alice.length > 0 && aliceOnOne.length > 0);
    // A second copy (a replica emitting through the adapter) or one for bob would have left its replica
    // before a ticket event that replica fans out now, on the same adapter channel and socket: once
    // both replicas' events reached everyone, every copy would have.
    const markers = [event(ids.teamA, ids.bob), event(ids.teamA, ids.bob)];
    one.app.get(TicketEventBus).publish(markers[0]);
    two.app.get(TicketEventBus).publish(markers[1]);
    const reached = (c: { events: TicketEvent[] }) => markers.every((m) => idsOf(c.events).includes(m.eventId));
    await until(() => [alice2, alice1, bob1].every(reached));
    const typed = [{ ticketId: ticket.id, typing: true, at: expect.any(String) }];
    expect(alice).toEqual(typed);
    expect(aliceOnOne).toEqual(typed);
    expect(bob).toEqual([]);
  });

  it('refuses sockets without a valid token', async () => {
    const key = new TextEncoder().encode('a-different-secret-0123456789abcdef');
    const forged = await new SignJWT({})
      .setProtectedHeader({ alg: 'HS256' })
      .setSubject(ids.root)
      .setIssuer('oq-ticket-service')
      .setExpirationTime('1h')
      .sign(key);
    for (const token of [undefined, 'garbage', forged, 42])
      await expect(connect(two, token)).rejects.toThrow(/unauthorized/);
  });

  it('disconnects a socket when its token expires', async () => {
    const exp = Math.floor(Date.now() / 1000) + 2;
    const shortLived = await new SignJWT({ role: 'agent', teams: [ids.teamA] })
      .setProtectedHeader({ alg: 'HS256' })
      .setSubject(ids.alice)
      .setIssuer('oq-ticket-service')
      .setExpirationTime(exp)
      .sign(new TextEncoder().encode(JWT_SECRET));
    const { socket } = await connect(two, shortLived);
    const reason = await new Promise<string>((r) => socket.once('disconnect', r));
    expect(reason).toBe('io server disconnect');
    expect(Date.now()).toBeGreaterThanOrEqual(exp * 1000 - 50);
  });

  it('drops the sockets of an agent deactivated through the API, on every replica', async () => {
    const carolId = await insertAgent(one.ds, 'carol@x.test', 'agent', [ids.teamA]);
    const carol = await connect(two, await loginToken(one.base, 'carol@x.test'));
    const gone = new Promise<string>((r) => carol.socket.once('disconnect', r));
    // Deactivated through instance 1; the socket lives on instance 2.
    expect((await call(one.base, tokens.root, 'DELETE', `/v1/agents/${carolId}`)).status).toBe(200);
    expect(await gone).toBe('io server disconnect');
  });

  it('drops the sockets of an agent whose password changed and refuses their old token, on every replica', async () => {
    const ginaId = await insertAgent(one.ds, 'gina@x.test', 'agent', [ids.teamA]);
    const old = await loginToken(one.base, 'gina@x.test');
    const live = await connect(two, old);
    const gone = new Promise<string>((r) => live.socket.once('disconnect', r));
    const changed = await call(one.base, tokens.root, 'PATCH', `/v1/agents/${ginaId}`, {
      password: 'gina-new-password',
    });
    expect(changed.status).toBe(200);
    expect(await gone).toBe('io server disconnect');
    for (const instance of [one, two])
      await expect(connect(instance, old)).rejects.toThrow('unauthorized: token revoked by a password change');
    await connect(two, await loginToken(one.base, 'gina@x.test', 'gina-new-password'));
  });

  it('moves an agent to the new team’s events when an admin changes their teams', async () => {
    const eveId = await insertAgent(one.ds, 'eve@x.test', 'agent', [ids.teamA]);
    const token = await loginToken(one.base, 'eve@x.test');
    const before = await connect(two, token);
    const dropped = new Promise<string>((r) => before.socket.once('disconnect', r));
    const moved = await call(one.base, tokens.root, 'PATCH', `/v1/agents/${eveId}`, { teamIds: [ids.teamB] });
    expect(moved.status).toBe(200);
    expect(await dropped).toBe('io server disconnect');

    // Same token, fresh rooms: the teams come from the database, not from the token's claims.
    const after = await connect(two, token);
    const forA = event(ids.teamA);
    const forB = event(ids.teamB);
    one.app.get(TicketEventBus).publish(forA);
    one.app.get(TicketEventBus).publish(forB);
    await until(() => after.events.length >= 1);
    expect(idsOf(after.events)).toEqual([forB.eventId]);
  });

  it('turns presence online with the first socket and offline after the last one, across replicas', async () => {
    const frankId = await insertAgent(one.ds, 'frank@x.test', 'agent', [ids.teamA]);
    const token = await loginToken(one.base, 'frank@x.test');
    const presence = async () =>
      (await one.ds.query('SELECT presence FROM agents WHERE id = $1', [frankId]))[0].presence as string;
    expect(await presence()).toBe('offline');
    const a = await connect(one, token);
    const b = await connect(two, token);
    expect(await presence()).toBe('online');
    // Instance 1 hears the disconnect, asks every replica for frank's remaining sockets, then decides:
    // wait for that decision itself rather than for a while.
    const gateway = one.app.get(RealtimeGateway) as unknown as { markOfflineIfGone(id: string): Promise<void> };
    const decide = jest.spyOn(gateway, 'markOfflineIfGone');
    try {
      a.socket.disconnect();
      await until(() => decide.mock.calls.some(([id]) => id === frankId));
      await decide.mock.results[decide.mock.calls.findIndex(([id]) => id === frankId)].value;
    } finally {
      decide.mockRestore();
    }
    expect(await presence()).toBe('online'); // still connected through instance 2
    b.socket.disconnect();
    await until(async () => (await presence()) === 'offline');
  });
});
