import { NestFastifyApplication } from '@nestjs/platform-fastify';
import { createTestDatabase, dropQueuePrefix, testQueuePrefix, TestDatabase } from '@oq/database/testing/test-env';
import { DataSource } from 'typeorm';
import { call, insertAgent, loginToken, startTicketService } from '../auth/auth.testing';

describe('admin API: teams, agents, categories', () => {
  let db: TestDatabase;
  let app: NestFastifyApplication;
  let base: string;
  let ds: DataSource;
  let admin: string;
  let adminId: string;
  let agent: string;
  const prefix = testQueuePrefix();

  beforeAll(async () => {
    db = await createTestDatabase();
    ({ app, base, ds } = await startTicketService(db, prefix));
    adminId = await insertAgent(ds, 'boss@x.test', 'admin');
    await insertAgent(ds, 'plain@x.test', 'agent');
    admin = await loginToken(base, 'boss@x.test');
    agent = await loginToken(base, 'plain@x.test');
  });
  afterAll(async () => {
    await app?.close();
    await db?.drop();
    await dropQueuePrefix(prefix);
  });

  it('answers 403 to agents and 401 to anonymous callers on every admin mutation, writing nothing', async () => {
    const mutations: [string, string, unknown][] = [
      ['POST', '/v1/teams', { name: 'Sneaky' }],
      ['POST', '/v1/agents', { email: 'sneaky@x.test', name: 'S', password: 'long-enough-pw', role: 'admin' }],
      ['POST', '/v1/categories', { name: 'sneaky' }],
      ['POST', '/v1/inboxes', { channel: 'email', name: 'n', address: 'a@b.c', defaultTeamId: adminId }],
      ['PATCH', `/v1/agents/${adminId}`, { active: false }],
      ['DELETE', `/v1/agents/${adminId}`, undefined],
    ];
    for (const [method, path, body] of mutations) {
      expect([method, path, (await call(base, agent, method, path, body)).status]).toEqual([method, path, 403]);
      expect([method, path, (await call(base, null, method, path, body)).status]).toEqual([method, path, 401]);
    }
    const [counts] = await ds.query(
      `SELECT (SELECT count(*)::int FROM teams) AS teams, (SELECT count(*)::int FROM agents WHERE active AND email LIKE '%@x.test') AS agents,
              (SELECT count(*)::int FROM categories WHERE name = 'sneaky') AS categories`,
    );
    expect(counts).toEqual({ teams: 0, agents: 2, categories: 0 });
    // Reads stay open to agents: they pick teams, colleagues and categories on tickets.
    for (const path of ['/v1/teams', '/v1/agents', '/v1/categories'])
      expect((await call(base, agent, 'GET', path)).status).toBe(200);
  });

  it('manages teams: create, rename, duplicate 409, delete only when unused', async () => {
    const created = await call(base, admin, 'POST', '/v1/teams', { name: 'Refunds' });
    expect(created).toMatchObject({ status: 201, body: { name: 'Refunds', memberCount: 0 } });
    expect((await call(base, admin, 'POST', '/v1/teams', { name: 'Refunds' })).status).toBe(409);
    expect((await call(base, admin, 'POST', '/v1/teams', { name: '' })).status).toBe(400);
    const renamed = await call(base, admin, 'PATCH', `/v1/teams/${created.body.id}`, { name: 'Refunds & disputes' });
    expect(renamed.body.name).toBe('Refunds & disputes');

    const [contact] = await ds.query(`INSERT INTO contacts DEFAULT VALUES RETURNING id`);
    await ds.query(`INSERT INTO tickets (team_id, requester_id, channel) VALUES ($1, $2, 'email')`, [
      created.body.id,
      contact.id,
    ]);
    expect((await call(base, admin, 'DELETE', `/v1/teams/${created.body.id}`)).status).toBe(409);
    const spare = await call(base, admin, 'POST', '/v1/teams', { name: 'Spare' });
    expect((await call(base, admin, 'DELETE', `/v1/teams/${spare.body.id}`)).status).toBe(204);
    expect((await call(base, admin, 'GET', `/v1/teams/${spare.body.id}`)).status).toBe(404);
  });

  it('creates an agent with teams who can log in; team changes and deactivation apply at once', async () => {
    const a = (await call(base, admin, 'POST', '/v1/teams', { name: 'Team A' })).body;
    const b = (await call(base, admin, 'POST', '/v1/teams', { name: 'Team B' })).body;
    const created = await call(base, admin, 'POST', '/v1/agents', {
      email: 'Carol@X.test',
      name: 'Carol',
      password: 'carol-password-1',
      teamIds: [a.id],
    });
    expect(created).toMatchObject({ status: 201, body: { role: 'agent', active: true, teams: [{ id: a.id }] } });
    expect(JSON.stringify(created.body)).not.toMatch(/password|scrypt/);
    const [raw] = await ds.query('SELECT password_hash FROM agents WHERE id = $1', [created.body.id]);
    expect(raw.password_hash).toMatch(/^scrypt\$/);

    expect(
      (await call(base, admin, 'POST', '/v1/agents', { ...created.body, password: 'carol-password-1' })).status,
    ).toBe(409);
    const bad = await call(base, admin, 'POST', '/v1/agents', { email: 'x', name: '', password: 'short' });
    expect(bad.status).toBe(400);
    expect(bad.body.fields.map((f: { path: string }) => f.path).sort()).toEqual(['email', 'name', 'password']);
    const ghostTeam = await call(base, admin, 'POST', '/v1/agents', {
      email: 'g@x.test',
      name: 'G',
      password: 'ghost-password',
      teamIds: ['00000000-0000-4000-8000-000000000000'],
    });
    expect(ghostTeam.status).toBe(400);
    expect((await ds.query(`SELECT 1 FROM agents WHERE email = 'g@x.test'`)).length).toBe(0);

    const carol = await loginToken(base, 'carol@x.test', 'carol-password-1');
    await call(base, admin, 'PATCH', `/v1/agents/${created.body.id}`, { teamIds: [b.id] });
    expect((await call(base, carol, 'GET', '/v1/auth/me')).body.teams).toEqual([{ id: b.id, name: 'Team B' }]);

    await call(base, admin, 'PATCH', `/v1/agents/${created.body.id}`, { password: 'carol-new-password' });
    await expect(loginToken(base, 'carol@x.test', 'carol-password-1')).rejects.toThrow(/401/);
    await loginToken(base, 'carol@x.test', 'carol-new-password');

    const off = await call(base, admin, 'DELETE', `/v1/agents/${created.body.id}`);
    expect(off).toMatchObject({ status: 200, body: { active: false } });
    expect((await call(base, carol, 'GET', '/v1/auth/me')).status).toBe(401);
    await expect(loginToken(base, 'carol@x.test', 'carol-new-password')).rejects.toThrow(/401/);
  });

  it('promotes an agent to admin (403 turns into 2xx) but never lets an admin lock themselves out', async () => {
    const created = await call(base, admin, 'POST', '/v1/agents', {
      email: 'dave@x.test',
      name: 'Dave',
      password: 'dave-password-1',
    });
    const dave = await loginToken(base, 'dave@x.test', 'dave-password-1');
    expect((await call(base, dave, 'POST', '/v1/categories', { name: 'chargeback' })).status).toBe(403);
    await call(base, admin, 'PATCH', `/v1/agents/${created.body.id}`, { role: 'admin' });
    expect((await call(base, dave, 'POST', '/v1/categories', { name: 'chargeback' })).status).toBe(201);
    expect((await call(base, dave, 'POST', '/v1/categories', { name: 'chargeback' })).status).toBe(409);
    const names = (await call(base, agent, 'GET', '/v1/categories')).body.map((c: { name: string }) => c.name);
    expect(names).toEqual(expect.arrayContaining(['chargeback', 'refund', 'transaction failed', 'security']));

    expect((await call(base, admin, 'DELETE', `/v1/agents/${adminId}`)).status).toBe(400);
    expect((await call(base, admin, 'PATCH', `/v1/agents/${adminId}`, { role: 'agent' })).status).toBe(400);
  });
});
