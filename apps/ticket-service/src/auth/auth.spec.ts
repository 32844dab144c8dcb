import { NestFastifyApplication } from '@nestjs/platform-fastify';
import {
  createTestDatabase,
  dropQueuePrefix,
  testQueuePrefix,
  testServiceEnv,
  TestDatabase,
} from '@oq/database/testing/test-env';
import { createHttpApp } from '@oq/platform';
import { SignJWT } from 'jose';
import { DataSource } from 'typeorm';
import { AppModule } from '../app.module';
import { assertContactVisible, assertTicketVisible, visibleTicketsSql } from '../permissions/ticket-visibility';
import { AuthenticatedAgent } from './authenticated-agent';
import { hashPassword, verifyPassword } from './password';

const json = (res: Response): Promise<any> => res.json();
const JWT_SECRET = 'test-jwt-secret-0123456789abcdefghij';

describe('agent authentication', () => {
  let db: TestDatabase;
  let app: NestFastifyApplication;
  let base: string;
  let ds: DataSource;
  const prefix = testQueuePrefix();
  const ids: Record<string, string> = {};

  beforeAll(async () => {
    db = await createTestDatabase();
    app = await createHttpApp(AppModule, {
      title: 'ticket-service',
      env: testServiceEnv(db, prefix, { ADMIN_PASSWORD: 'bootstrap-admin-pw', LOGIN_MAX_FAILURES: '8' }),
    });
    await app.listen({ port: 0, host: '127.0.0.1' });
    base = await app.getUrl();
    ds = app.get(DataSource);
    const hash = await hashPassword('correct horse');
    const [ta, tb] = await ds.query(`INSERT INTO teams (name) VALUES ('A'), ('B') RETURNING id`);
    ids.teamA = ta.id;
    ids.teamB = tb.id;
    const agents = await ds.query(
      `INSERT INTO agents (email, name, password_hash, role) VALUES
         ('Alice@Example.com', 'Alice', $1, 'agent'), ('root@example.com', 'Root', $1, 'admin'),
         ('gone@example.com', 'Gone', $1, 'agent'), ('dora@example.com', 'Dora', $1, 'agent') RETURNING id`,
      [hash],
    );
    [ids.alice, ids.root, ids.gone, ids.dora] = agents.map((a: { id: string }) => a.id);
    await ds.query('INSERT INTO agent_teams VALUES ($1, $2), ($3, $2)', [ids.alice, ids.teamA, ids.gone]);
    await ds.query('UPDATE agents SET active = false WHERE id = $1', [ids.gone]);
  });
  afterAll(async () => {
    await app?.close();
    await db?.drop();
    await dropQueuePrefix(prefix);
  });

  const login = (email: string, password: string, headers: Record<string, string> = {}) =>
    fetch(`${base}/v1/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...headers },
      body: JSON.stringify({ email, password }),
    });
  const me = (token?: string) =>
    fetch(`${base}/v1/auth/me`, { headers: token ? { authorization: `Bearer ${token}` } : {} });

  it('hashes with a salt and the parameters in the string', async () => {
    const a = await hashPassword('pw');
    const b = await hashPassword('pw');
    expect(a).toMatch(/^scrypt\$16384\$8\$1\$[\w-]+\$[\w-]+$/);
    expect(a).not.toBe(b);
    expect(await verifyPassword('pw', a)).toBe(true);
    expect(await verifyPassword('pW', a)).toBe(false);
    expect(await verifyPassword('pw', 'garbage')).toBe(false);
  });

  it('logs in with email (case-insensitive) and password, returning a JWT with sub, role and teams', async () => {
    const res = await login('alice@example.com', 'correct horse');
    expect(res.status).toBe(200);
    const body = await json(res);
    expect(body).toMatchObject({
      tokenType: 'Bearer',
      agent: { id: ids.alice, role: 'agent', email: 'Alice@Example.com' },
    });
    const claims = JSON.parse(Buffer.from(body.accessToken.split('.')[1], 'base64url').toString());
    expect(claims).toMatchObject({ sub: ids.alice, role: 'agent', teams: [ids.teamA] });
    expect(JSON.parse(Buffer.from(body.accessToken.split('.')[0], 'base64url').toString()).alg).toBe('HS256');

    const profile = await me(body.accessToken);
    expect(profile.status).toBe(200);
    expect(await json(profile)).toMatchObject({ id: ids.alice, teams: [{ id: ids.teamA, name: 'A' }] });
  });

  it('bootstraps the admin from ADMIN_EMAIL / ADMIN_PASSWORD on first start', async () => {
    const res = await login('admin@onequeue.local', 'bootstrap-admin-pw');
    expect(res.status).toBe(200);
    expect((await json(res)).agent.role).toBe('admin');
  });

  it('answers the same generic 401 for a wrong password, an unknown email and a deactivated agent', async () => {
    const answers = await Promise.all([
      login('alice@example.com', 'wrong'),
      login('nobody@example.com', 'correct horse'),
      login('gone@example.com', 'correct horse'),
    ]);
    for (const res of answers) {
      expect(res.status).toBe(401);
      expect((await json(res)).message).toBe('invalid email or password');
    }
    const bad = await login('', '');
    expect(bad.status).toBe(400);
  });

  it('does not reveal unknown emails by timing (scrypt runs either way)', async () => {
    const time = async (email: string) => {
      const t = performance.now();
      await login(email, 'wrong');
      return performance.now() - t;
    };
    await time('alice@example.com');
    const known: number[] = [];
    const unknown: number[] = [];
    for (let i = 0; i < 4; i++) {
      known.push(await time('alice@example.com'));
      unknown.push(await time(`nobody${i}@example.com`));
    }
    const median = (xs: number[]) => xs.sort((a, b) => a - b)[Math.floor(xs.length / 2)];
    // Without the dummy hash an unknown email answers in ~1 ms instead of a scrypt's ~20+ ms.
    expect(median(unknown)).toBeGreaterThan(median(known) * 0.5);
  });

  it('answers 429 after repeated failures for one email and address, before any password work', async () => {
    // A client-chosen X-Forwarded-For does not make each guess come from a new address (no TRUSTED_PROXIES).
    for (let i = 0; i < 8; i++)
      expect((await login('dora@example.com', `guess-${i}`, { 'x-forwarded-for': `203.0.113.${i}` })).status).toBe(401);
    const locked = await login('dora@example.com', 'correct horse');
    expect(locked.status).toBe(429);
    expect(await json(locked)).toMatchObject({ message: 'too many failed logins; try again later' });
    // Another account from the same address is not affected.
    expect((await login('alice@example.com', 'correct horse')).status).toBe(200);
  });

  it('rejects missing, malformed, forged, expired and wrong-algorithm tokens with 401', async () => {
    const key = new TextEncoder().encode(JWT_SECRET);
    const now = Math.floor(Date.now() / 1000);
    const expired = await new SignJWT({ role: 'admin' })
      .setProtectedHeader({ alg: 'HS256' })
      .setSubject(ids.root)
      .setIssuer('oq-ticket-service')
      .setIssuedAt(now - 100)
      .setExpirationTime(now - 10)
      .sign(key);
    const forged = await new SignJWT({ role: 'admin' })
      .setProtectedHeader({ alg: 'HS256' })
      .setSubject(ids.root)
      .setIssuer('oq-ticket-service')
      .setExpirationTime(now + 100)
      .sign(new TextEncoder().encode('another-secret-0123456789abcdefghij'));
    const unsigned = `${Buffer.from(JSON.stringify({ alg: 'none' })).toString('base64url')}.${Buffer.from(
      JSON.stringify({ sub: ids.root, iss: 'oq-ticket-service', exp: now + 100 }),
    ).toString('base64url')}.`;
    expect((await me()).status).toBe(401);
    for (const token of ['garbage', expired, forged, unsigned]) expect((await me(token)).status).toBe(401);
    const raw = await fetch(`${base}/v1/auth/me`, { headers: { authorization: 'Basic abc' } });
    expect(raw.status).toBe(401);
  });

  it('re-reads the agent per request: deactivation and team changes apply to live tokens', async () => {
    const { accessToken } = await json(await login('alice@example.com', 'correct horse'));
    await ds.query('INSERT INTO agent_teams VALUES ($1, $2)', [ids.alice, ids.teamB]);
    const profile = await json(await me(accessToken));
    expect(profile.teams.map((t: { id: string }) => t.id).sort()).toEqual([ids.teamA, ids.teamB].sort());
    await ds.query('DELETE FROM agent_teams WHERE agent_id = $1 AND team_id = $2', [ids.alice, ids.teamB]);

    await ds.query('UPDATE agents SET active = false WHERE id = $1', [ids.alice]);
    expect((await me(accessToken)).status).toBe(401);
    await ds.query('UPDATE agents SET active = true WHERE id = $1', [ids.alice]);
    expect((await me(accessToken)).status).toBe(200);
  });

  it('revokes every token issued before a password change, with a reason; the new password logs in', async () => {
    const [erin] = await ds.query(
      `INSERT INTO agents (email, name, password_hash, role) VALUES ('erin@example.com', 'Erin', $1, 'agent') RETURNING id`,
      [await hashPassword('erin-old-password')],
    );
    const old = await json(await login('erin@example.com', 'erin-old-password'));
    const older = await json(await login('erin@example.com', 'erin-old-password'));
    // A token from before token versions existed carries no `tv`: valid while the agent never changed password.
    const legacy = await new SignJWT({ role: 'agent' })
      .setProtectedHeader({ alg: 'HS256' })
      .setSubject(erin.id)
      .setIssuer('oq-ticket-service')
      .setIssuedAt()
      .setExpirationTime('1h')
      .sign(new TextEncoder().encode(JWT_SECRET));
    for (const token of [old.accessToken, older.accessToken, legacy]) expect((await me(token)).status).toBe(200);

    const admin = (await json(await login('root@example.com', 'correct horse'))).accessToken;
    const changed = await fetch(`${base}/v1/agents/${erin.id}`, {
      method: 'PATCH',
      headers: { authorization: `Bearer ${admin}`, 'content-type': 'application/json' },
      body: JSON.stringify({ password: 'erin-new-password' }),
    });
    expect(changed.status).toBe(200);

    for (const token of [old.accessToken, older.accessToken, legacy]) {
      const res = await me(token);
      expect(res.status).toBe(401);
      expect((await json(res)).message).toBe('token revoked by a password change; log in again');
    }
    expect((await login('erin@example.com', 'erin-old-password')).status).toBe(401);
    const fresh = await login('erin@example.com', 'erin-new-password');
    expect(fresh.status).toBe(200);
    expect((await me((await json(fresh)).accessToken)).status).toBe(200);
    // Other changes (name) leave issued tokens alone; the admin's own token was never affected.
    const renamed = await fetch(`${base}/v1/agents/${erin.id}`, {
      method: 'PATCH',
      headers: { authorization: `Bearer ${admin}`, 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'Erin R.' }),
    });
    expect(renamed.status).toBe(200);
    expect((await me((await json(await login('erin@example.com', 'erin-new-password'))).accessToken)).status).toBe(200);
  });

  it('sets presence', async () => {
    const { accessToken } = await json(await login('alice@example.com', 'correct horse'));
    const put = (presence: string) =>
      fetch(`${base}/v1/agents/me/presence`, {
        method: 'PUT',
        headers: { authorization: `Bearer ${accessToken}`, 'content-type': 'application/json' },
        body: JSON.stringify({ presence }),
      });
    const res = await put('away');
    expect(res.status).toBe(200);
    expect(await json(res)).toMatchObject({ presence: 'away', presenceAt: expect.any(String) });
    expect((await put('asleep')).status).toBe(400);
  });

  describe('visibility predicate', () => {
    const tickets: Record<string, string> = {};
    beforeAll(async () => {
      const [contactA, contactB, contactCc] = await ds.query(
        `INSERT INTO contacts (name) VALUES ('ca'), ('cb'), ('cc') RETURNING id`,
      );
      ids.contactA = contactA.id;
      ids.contactB = contactB.id;
      ids.contactCc = contactCc.id;
      const rows = await ds.query(
        `INSERT INTO tickets (team_id, requester_id, channel, assignee_id, subject) VALUES
           ($1, $3, 'email', NULL, 'team A'), ($2, $4, 'email', NULL, 'team B'), ($2, $4, 'email', $5::uuid, 'B, assigned to Alice')
         RETURNING id, subject`,
        [ids.teamA, ids.teamB, ids.contactA, ids.contactB, ids.alice],
      );
      for (const r of rows) tickets[r.subject] = r.id;
      await ds.query(`INSERT INTO ticket_participants VALUES ($1, $2, 'cc')`, [tickets['team A'], ids.contactCc]);
    });
    const alice = (): AuthenticatedAgent => ({ id: ids.alice, role: 'agent', teamIds: [ids.teamA] });
    const bob = (): AuthenticatedAgent => ({ id: ids.gone, role: 'agent', teamIds: [] });
    const root = (): AuthenticatedAgent => ({ id: ids.root, role: 'admin', teamIds: [] });

    it('admin sees all; an agent sees their teams’ tickets and those assigned to them', async () => {
      const visible = async (agent: AuthenticatedAgent) => {
        const v = visibleTicketsSql(agent, 't');
        const rows = await ds.query(`SELECT subject FROM tickets t WHERE ${v.sql} ORDER BY subject`, v.params);
        return rows.map((r: { subject: string }) => r.subject);
      };
      expect(await visible(root())).toEqual(['B, assigned to Alice', 'team A', 'team B']);
      expect(await visible(alice())).toEqual(['B, assigned to Alice', 'team A']);
      expect(await visible(bob())).toEqual([]);
    });

    it('assertTicketVisible throws 404 for invisible, unknown and malformed ids', async () => {
      await expect(assertTicketVisible(ds.manager, alice(), tickets['team A'])).resolves.toBeUndefined();
      await expect(assertTicketVisible(ds.manager, alice(), tickets['B, assigned to Alice'])).resolves.toBeUndefined();
      for (const id of [tickets['team B'], '00000000-0000-4000-8000-000000000000', 'not-a-uuid'])
        await expect(assertTicketVisible(ds.manager, alice(), id)).rejects.toMatchObject({ status: 404 });
      await expect(assertTicketVisible(ds.manager, root(), tickets['team B'])).resolves.toBeUndefined();
    });

    it('a contact is visible through any visible ticket, as requester or CC', async () => {
      await expect(assertContactVisible(ds.manager, alice(), ids.contactA)).resolves.toBeUndefined();
      await expect(assertContactVisible(ds.manager, alice(), ids.contactCc)).resolves.toBeUndefined();
      // contactB requests a team-B ticket that is assigned to Alice.
      await expect(assertContactVisible(ds.manager, alice(), ids.contactB)).resolves.toBeUndefined();
      await expect(assertContactVisible(ds.manager, bob(), ids.contactA)).rejects.toMatchObject({ status: 404 });
      await expect(assertContactVisible(ds.manager, bob(), 'x')).rejects.toMatchObject({ status: 404 });
      await expect(assertContactVisible(ds.manager, root(), ids.contactB)).resolves.toBeUndefined();
    });
  });
});
