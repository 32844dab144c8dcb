import { NestFastifyApplication } from '@nestjs/platform-fastify';
import { INBOX_CHANGED_CHANNEL, InboxConfig } from '@oq/contracts';
import {
  createTestDatabase,
  dropQueuePrefix,
  testQueuePrefix,
  TestDatabase,
  TEST_REDIS_URL,
} from '@oq/database/testing/test-env';
import { Redis } from 'ioredis';
import { DataSource } from 'typeorm';
import { call, insertAgent, loginToken, startTicketService } from '../auth/auth.testing';

const SERVICE_TOKEN = 'test-service-token-0123456789abcdef';

describe('inboxes: admin API, secrets at rest, internal API, change announcements', () => {
  let db: TestDatabase;
  let app: NestFastifyApplication;
  let base: string;
  let ds: DataSource;
  let admin: string;
  let agent: string;
  let teamId: string;
  let sub: Redis;
  const announced: string[] = [];
  const prefix = testQueuePrefix();

  beforeAll(async () => {
    db = await createTestDatabase();
    ({ app, base, ds } = await startTicketService(db, prefix));
    [{ id: teamId }] = await ds.query(`INSERT INTO teams (name) VALUES ('Payments') RETURNING id`);
    await insertAgent(ds, 'admin@x.test', 'admin');
    await insertAgent(ds, 'agent@x.test', 'agent', [teamId]);
    admin = await loginToken(base, 'admin@x.test');
    agent = await loginToken(base, 'agent@x.test');
    sub = new Redis(TEST_REDIS_URL);
    await sub.subscribe(INBOX_CHANGED_CHANNEL);
    sub.on('message', (_channel, id) => announced.push(id));
  });
  afterAll(async () => {
    sub?.disconnect();
    await app?.close();
    await db?.drop();
    await dropQueuePrefix(prefix);
  });

  const waitForAnnouncement = async (id: string) => {
    for (let i = 0; i < 100 && !announced.includes(id); i++) await new Promise((r) => setTimeout(r, 20));
    return announced.includes(id);
  };

  const telegram = () => ({
    channel: 'telegram',
    name: 'Wallet bot',
    address: `bot${Math.floor(Math.random() * 1e9)}`,
    defaultTeamId: teamId,
    settings: { botUsername: 'wallet_help_bot' },
    secrets: { botToken: '123456:PLAINTEXT-BOT-TOKEN-abcdef', webhookSecret: 'hook-secret-XYZ-987' },
  });

  it('encrypts secrets at rest under the active key, bound to the inbox, and returns only their names', async () => {
    const res = await call(base, admin, 'POST', '/v1/inboxes', telegram());
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({ channel: 'telegram', secretNames: ['botToken', 'webhookSecret'] });
    expect(JSON.stringify(res.body)).not.toContain('PLAINTEXT-BOT-TOKEN');

    const [raw] = await ds.query('SELECT secrets, settings::text FROM inboxes WHERE id = $1', [res.body.id]);
    expect(raw.secrets).toMatch(/^v1\.test1\./); // the key id travels in the ciphertext
    expect(raw.secrets).not.toContain('PLAINTEXT');
    expect(raw.secrets).not.toContain('hook-secret');
    expect(raw.secrets).not.toContain(Buffer.from('123456:PLAINTEXT').toString('base64').slice(0, 12));
    expect(raw.settings).not.toContain('PLAINTEXT');

    for (const token of [admin, agent]) {
      const list = await call(base, token, 'GET', '/v1/inboxes');
      expect(list.status).toBe(200);
      expect(JSON.stringify(list.body)).not.toContain('PLAINTEXT');
      const one = await call(base, token, 'GET', `/v1/inboxes/${res.body.id}`);
      expect(one.body.secretNames).toEqual(['botToken', 'webhookSecret']);
    }

    // A ciphertext moved to another inbox does not decrypt there (inbox id is the AAD).
    const other = await call(base, admin, 'POST', '/v1/inboxes', { ...telegram(), secrets: { botToken: 'b' } });
    await ds.query('UPDATE inboxes SET secrets = $1 WHERE id = $2', [raw.secrets, other.body.id]);
    const stolen = await fetch(`${base}/internal/inboxes/${other.body.id}`, {
      headers: { 'x-service-token': SERVICE_TOKEN },
    });
    expect(stolen.status).toBe(500);
    await call(base, admin, 'DELETE', `/v1/inboxes/${other.body.id}`);
  });

  it('is admin-only to change: 401 without a token, 403 for an agent', async () => {
    expect((await call(base, null, 'POST', '/v1/inboxes', telegram())).status).toBe(401);
    expect((await call(base, null, 'GET', '/v1/inboxes')).status).toBe(401);
    const forbidden = await call(base, agent, 'POST', '/v1/inboxes', telegram());
    expect(forbidden.status).toBe(403);
    const [{ count }] = await ds.query('SELECT count(*)::int FROM inboxes WHERE name = $1', ['Wallet bot']);
    const created = await call(base, admin, 'POST', '/v1/inboxes', telegram());
    expect((await call(base, agent, 'PATCH', `/v1/inboxes/${created.body.id}`, { name: 'x' })).status).toBe(403);
    expect((await call(base, agent, 'DELETE', `/v1/inboxes/${created.body.id}`)).status).toBe(403);
    const [{ count: after }] = await ds.query('SELECT count(*)::int FROM inboxes WHERE name = $1', ['Wallet bot']);
    expect(after).toBe(count + 1);
  });

  it('rejects bad input with field errors, unknown teams, duplicates and credentials in settings', async () => {
    const missing = await call(base, admin, 'POST', '/v1/inboxes', { channel: 'fax', name: '' });
    expect(missing.status).toBe(400);
    const paths = missing.body.fields.map((f: { path: string }) => f.path);
    expect(paths).toEqual(expect.arrayContaining(['channel', 'name', 'address', 'defaultTeamId']));

    const noTeam = await call(base, admin, 'POST', '/v1/inboxes', {
      ...telegram(),
      defaultTeamId: '00000000-0000-4000-8000-000000000000',
    });
    expect(noTeam).toMatchObject({ status: 400, body: { message: 'defaultTeamId: team not found' } });

    const leaky = await call(base, admin, 'POST', '/v1/inboxes', { ...telegram(), settings: { accessToken: 'x' } });
    expect(leaky.status).toBe(400);
    expect(JSON.stringify(leaky.body)).toMatch(/put them in secrets/);

    const body = telegram();
    expect((await call(base, admin, 'POST', '/v1/inboxes', body)).status).toBe(201);
    expect((await call(base, admin, 'POST', '/v1/inboxes', body)).status).toBe(409);
    expect((await call(base, admin, 'GET', '/v1/inboxes/not-a-uuid')).status).toBe(404);
  });

  it('serves channel services their inboxes with decrypted secrets behind the service token', async () => {
    const created = (await call(base, admin, 'POST', '/v1/inboxes', telegram())).body;
    const get = (path: string, token?: string) =>
      fetch(`${base}${path}`, { headers: token ? { 'x-service-token': token } : {} });

    expect((await get('/internal/inboxes?channel=telegram')).status).toBe(401);
    expect((await get('/internal/inboxes?channel=telegram', 'wrong-token-0123456789abcdefgh')).status).toBe(401);
    // An agent's JWT is not a service token.
    const withJwt = await fetch(`${base}/internal/inboxes`, { headers: { authorization: `Bearer ${admin}` } });
    expect(withJwt.status).toBe(401);

    const list = await get('/internal/inboxes?channel=telegram', SERVICE_TOKEN);
    expect(list.status).toBe(200);
    const configs = (await list.json()) as InboxConfig[];
    expect(configs.every((c) => c.channel === 'telegram')).toBe(true);
    const mine = configs.find((c) => c.id === created.id)!;
    expect(InboxConfig.parse(mine)).toEqual({
      id: created.id,
      name: 'Wallet bot',
      channel: 'telegram',
      address: created.address,
      defaultTeamId: teamId,
      enabled: true,
      settings: { botUsername: 'wallet_help_bot' },
      secrets: { botToken: '123456:PLAINTEXT-BOT-TOKEN-abcdef', webhookSecret: 'hook-secret-XYZ-987' },
    });
    expect((await get('/internal/inboxes?channel=email', SERVICE_TOKEN).then((r) => r.json())) as unknown[]).toEqual(
      expect.not.arrayContaining([expect.objectContaining({ id: created.id })]),
    );
    const one = await get(`/internal/inboxes/${created.id}`, SERVICE_TOKEN);
    expect(((await one.json()) as InboxConfig).secrets.botToken).toBe('123456:PLAINTEXT-BOT-TOKEN-abcdef');
    expect((await get('/internal/inboxes/00000000-0000-4000-8000-000000000000', SERVICE_TOKEN)).status).toBe(404);
    expect((await get('/internal/inboxes?channel=fax', SERVICE_TOKEN)).status).toBe(400);
  });

  it('merges secret updates (set, keep, remove) and announces every change on Redis pub/sub', async () => {
    const created = (await call(base, admin, 'POST', '/v1/inboxes', telegram())).body;
    expect(await waitForAnnouncement(created.id)).toBe(true);
    announced.length = 0;

    const patched = await call(base, admin, 'PATCH', `/v1/inboxes/${created.id}`, {
      enabled: false,
      secrets: { botToken: '999:ROTATED', webhookSecret: null, extra: 'e' },
    });
    expect(patched.status).toBe(200);
    expect(patched.body).toMatchObject({ enabled: false, secretNames: ['botToken', 'extra'] });
    expect(await waitForAnnouncement(created.id)).toBe(true);
    const config = (await fetch(`${base}/internal/inboxes/${created.id}`, {
      headers: { 'x-service-token': SERVICE_TOKEN },
    }).then((r) => r.json())) as InboxConfig;
    expect(config).toMatchObject({ enabled: false, secrets: { botToken: '999:ROTATED', extra: 'e' } });
    expect(config.secrets.webhookSecret).toBeUndefined();

    announced.length = 0;
    expect((await call(base, admin, 'DELETE', `/v1/inboxes/${created.id}`)).status).toBe(204);
    expect(await waitForAnnouncement(created.id)).toBe(true);
    expect((await call(base, admin, 'GET', `/v1/inboxes/${created.id}`)).status).toBe(404);
  });

  it('refuses to delete an inbox that carries tickets (409) and keeps it', async () => {
    const created = (await call(base, admin, 'POST', '/v1/inboxes', telegram())).body;
    const [contact] = await ds.query(`INSERT INTO contacts (name) VALUES ('c') RETURNING id`);
    await ds.query(`INSERT INTO tickets (team_id, requester_id, channel, inbox_id) VALUES ($1, $2, 'telegram', $3)`, [
      teamId,
      contact.id,
      created.id,
    ]);
    const res = await call(base, admin, 'DELETE', `/v1/inboxes/${created.id}`);
    expect(res.status).toBe(409);
    expect((await call(base, admin, 'GET', `/v1/inboxes/${created.id}`)).status).toBe(200);
  });
});
