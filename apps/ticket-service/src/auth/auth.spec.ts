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
import { startTicketService } from './auth.testing';
import { AuthenticatedAgent } from './authenticated-agent';
import { DUMMY_PASSWORD_HASH, hashPassword, verifyPassword } from './password';

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
      env: testServiceEnv(db, prefix, {
        ADMIN_PASSWORD: 'bootstrap-admin-pw',
        LOGIN_MAX_FAILURES: '10',
        // Per-address limits and the hashing cap are tested on a second instance below.
        LOGIN_MAX_FAILURES_PER_ADDRESS: '1000',
        LOGIN_MAX_CONCURRENT_HASHES: '16',
      }),
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
  /** Sum of a Prometheus counter's series, scraped from /metrics like an operator would. */
  const metric = async (url: string, name: string, label = '') => {
    const text = await (await fetch(`${url}/metrics`)).text();
    return text
      .split('\n')
      .filter((l) => (l.startsWith(`${name}{`) || l.startsWith(`${name} `)) && l.includes(label))
      .reduce((sum, l) => sum + Number(l.slice(l.lastIndexOf(' ') + 1)), 0);
  };

  it('hashes with a salt and the OWASP parameters (N=2^17, r=8, p=1) in the string, the dummy hash too', async () => {
    const a = await hashPassword('pw');
    const b = await hashPassword('pw');
    expect(a).toMatch(/^scrypt\$131072\$8\$1\$[\w-]+\$[\w-]+$/);
    expect(DUMMY_PASSWORD_HASH).toMatch(/^scrypt\$131072\$8\$1\$[\w-]+\$[\w-]+$/);
    expect(a).not.toBe(b);
    expect(await verifyPassword('pw', a)).toBe(true);
    expect(await verifyPassword('pW', a)).toBe(false);
    expect(await verifyPassword('pw', 'garbage')).toBe(false);
    // Parameters from a corrupt row are refused, not derived (2^30 would need 128 GiB).
    expect(await verifyPassword('pw', a.replace('$131072$', '$1073741824$'))).toBe(false);
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
    // Without the dummy hash an unknown email answers in ~1 ms instead of a scrypt's ~300 ms.
    expect(median(unknown)).toBeGreaterThan(median(known) * 0.5);
  });

  it('answers 429 after repeated failures for one email and address, before any password work', async () => {
    // A client-chosen X-Forwarded-For does not make each guess come from a new address (no TRUSTED_PROXIES).
    for (let i = 0; i < 10; i++)
      expect((await login('dora@example.com', `guess-${i}`, { 'x-forwarded-for': `203.0.113.${i}` })).status).toBe(401);
    const checks = await metric(base, 'oq_login_password_checks_total');
    const locked = await login('dora@example.com', 'correct horse');
    expect(locked.status).toBe(429);
    expect(Number(locked.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(Number(locked.headers.get('retry-after'))).toBeLessThanOrEqual(900);
    expect(await json(locked)).toMatchObject({ message: 'too many failed logins; try again later' });
    expect(await metric(base, 'oq_login_password_checks_total')).toBe(checks);
    // Another account from the same address is not affected.
    expect((await login('alice@example.com', 'correct horse')).status).toBe(200);
  });

  it('40 parallel wrong passwords for one account and address: exactly 10 password checks, the rest 429', async () => {
    await ds.query(
      `INSERT INTO agents (email, name, password_hash, role) SELECT 'pat@example.com', 'Pat', password_hash, 'agent'
         FROM agents WHERE email = 'dora@example.com'`,
    );
    const before = await metric(base, 'oq_login_password_checks_total');
    const answers = await Promise.all(Array.from({ length: 40 }, (_, i) => login('pat@example.com', `guess-${i}`)));
    const statuses = answers.map((r) => r.status);
    expect(statuses.filter((s) => s === 401)).toHaveLength(10);
    expect(statuses.filter((s) => s === 429)).toHaveLength(30);
    for (const res of answers.filter((r) => r.status === 429))
      expect(Number(res.headers.get('retry-after'))).toBeGreaterThan(0);
    expect((await metric(base, 'oq_login_password_checks_total')) - before).toBe(10);
    // Locked for this address even with the right password, and still no password work.
    expect((await login('pat@example.com', 'correct horse')).status).toBe(429);
    expect((await metric(base, 'oq_login_password_checks_total')) - before).toBe(10);
  });

  it('re-hashes a weaker stored hash (N=2^14) at the next successful login, without revoking tokens', async () => {
    const legacyHash = await hashPassword('legacy-password', { N: 2 ** 14, r: 8, p: 1 });
    const [lee] = await ds.query(
      `INSERT INTO agents (email, name, password_hash, role) VALUES ('lee@example.com', 'Lee', $1, 'agent') RETURNING id`,
      [legacyHash],
    );
    const stored = async () =>
      (await ds.query('SELECT password_hash FROM agents WHERE id = $1', [lee.id]))[0].password_hash as string;
    expect(await stored()).toMatch(/^scrypt\$16384\$/);
    // A wrong password does not touch the hash.
    expect((await login('lee@example.com', 'wrong')).status).toBe(401);
    expect(await stored()).toBe(legacyHash);

    const first = await login('lee@example.com', 'legacy-password');
    expect(first.status).toBe(200);
    const upgraded = await stored();
    expect(upgraded).toMatch(/^scrypt\$131072\$8\$1\$[\w-]+\$[\w-]+$/);
    expect(await verifyPassword('legacy-password', upgraded)).toBe(true);
    // Not a password change: the token from that login stays valid.
    expect((await me((await json(first)).accessToken)).status).toBe(200);
    // At today's cost already: the next login leaves it alone.
    expect((await login('lee@example.com', 'legacy-password')).status).toBe(200);
    expect(await stored()).toBe(upgraded);
  });

  it('refuses a token issued more than 60 s in the future (clock skew), with the reason; 30 s is tolerated', async () => {
    const now = Math.floor(Date.now() / 1000);
    const issuedAt = (iat: number) =>
      new SignJWT({ role: 'admin' })
        .setProtectedHeader({ alg: 'HS256' })
        .setSubject(ids.root)
        .setIssuer('oq-ticket-service')
        .setIssuedAt(iat)
        .setExpirationTime(now + 3600)
        .sign(new TextEncoder().encode(JWT_SECRET));
    const future = await me(await issuedAt(now + 120));
    expect(future.status).toBe(401);
    expect((await json(future)).message).toBe('token issued in the future (more than 60 s of clock skew)');
    expect((await me(await issuedAt(now + 30))).status).toBe(200);
  });

  describe('per-address budget and hashing cap (a second instance: trusted loopback proxy, tight limits)', () => {
    let strict: { app: NestFastifyApplication; base: string };
    beforeAll(async () => {
      strict = await startTicketService(db, prefix, {
        TRUSTED_PROXIES: 'loopback',
        LOGIN_MAX_FAILURES_PER_ADDRESS: '5',
        LOGIN_MAX_CONCURRENT_HASHES: '1',
      });
    });
    afterAll(async () => {
      await strict?.app.close();
    });
    const loginFrom = (address: string, email: string, password: string) =>
      fetch(`${strict.base}/v1/auth/login`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-forwarded-for': address },
        body: JSON.stringify({ email, password }),
      });

    it('stops one address spraying many accounts; the same account still logs in from another address', async () => {
      const sprayer = '198.51.100.7';
      const accounts = [
        'alice@example.com',
        'root@example.com',
        'dora@example.com',
        'x1@example.com',
        'x2@example.com',
      ];
      for (const email of accounts) expect((await loginFrom(sprayer, email, 'Summer2024!')).status).toBe(401);
      for (const email of ['x3@example.com', 'erin@example.com', 'alice@example.com']) {
        const res = await loginFrom(sprayer, email, 'Summer2024!');
        expect(res.status).toBe(429);
        expect(Number(res.headers.get('retry-after'))).toBeGreaterThan(0);
        expect(await json(res)).toMatchObject({ message: 'too many failed logins from this address; try again later' });
      }
      // Out of budget for every account, even with the right password…
      expect((await loginFrom(sprayer, 'alice@example.com', 'correct horse')).status).toBe(429);
      // …but Alice, one of the sprayed accounts, logs in from her own address.
      expect((await loginFrom('198.51.100.8', 'alice@example.com', 'correct horse')).status).toBe(200);
    });

    it('answers 503 with Retry-After beyond LOGIN_MAX_CONCURRENT_HASHES, and those attempts are refunded', async () => {
      const busyBefore = await metric(strict.base, 'oq_login_refused_total', 'reason="busy"');
      const answers = await Promise.all(
        Array.from({ length: 6 }, (_, i) => loginFrom(`198.51.100.${20 + i}`, 'root@example.com', 'correct horse')),
      );
      const statuses = answers.map((r) => r.status);
      expect(statuses.every((s) => s === 200 || s === 503)).toBe(true);
      expect(statuses).toContain(200);
      const busy = answers.filter((r) => r.status === 503);
      expect(busy.length).toBeGreaterThan(0);
      for (const res of busy) {
        expect(res.headers.get('retry-after')).toBe('1');
        expect(await json(res)).toMatchObject({ message: 'too many logins in progress; try again shortly' });
      }
      expect((await metric(strict.base, 'oq_login_refused_total', 'reason="busy"')) - busyBefore).toBe(busy.length);
      // A 503 spent nothing: that address still has its whole budget of 5.
      const address = `198.51.100.${20 + statuses.indexOf(503)}`;
      for (let i = 0; i < 5; i++) expect((await loginFrom(address, 'root@example.com', `guess-${i}`)).status).toBe(401);
      expect((await loginFrom(address, 'root@example.com', 'correct horse')).status).toBe(429);
    });
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
