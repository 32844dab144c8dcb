import { INBOX_CHANGED_CHANNEL, InboxConfig, checkInboxConfig, demoInboxSecrets } from '@oq/contracts';
import {
  createTestDatabase,
  dropQueuePrefix,
  testQueuePrefix,
  TestDatabase,
  TEST_REDIS_URL,
} from '@oq/database/testing/test-env';
import { Redis } from 'ioredis';
import { call, loginToken, startTicketService, TestInstance } from '../auth/auth.testing';
import { DEMO_TEAM } from './seed.service';

describe('first start: bootstrap admin and demo seed', () => {
  let db: TestDatabase;
  let sub: Redis;
  const announced: string[] = [];
  const prefix = testQueuePrefix();
  const started: TestInstance[] = [];
  let adminToken = '';
  // No ADMIN_PASSWORD (empty counts as unset): this file tests the generated one.
  const env = { SEED_DEMO: 'true', ADMIN_EMAIL: 'owner@wallet.example', ADMIN_PASSWORD: '' };

  beforeAll(async () => {
    db = await createTestDatabase();
    sub = new Redis(TEST_REDIS_URL);
    await sub.subscribe(INBOX_CHANGED_CHANNEL);
    sub.on('message', (_c, id) => announced.push(id));
  });
  afterAll(async () => {
    sub?.disconnect();
    await Promise.all(started.map((s) => s.app.close()));
    await db?.drop();
    await dropQueuePrefix(prefix);
  });

  /** Boots instances while capturing stdout, where the one-time password banner goes. */
  const boot = async (count: number) => {
    const written: string[] = [];
    const spy = jest.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
      written.push(String(chunk));
      return true;
    });
    try {
      const instances = await Promise.all(Array.from({ length: count }, () => startTicketService(db, prefix, env)));
      started.push(...instances);
      return { instances, stdout: written.join('') };
    } finally {
      spy.mockRestore();
    }
  };

  it('creates one admin with a generated password printed once, even with two replicas starting together', async () => {
    const { instances, stdout } = await boot(2);
    const banners = stdout.match(/OneQueue admin account created/g) ?? [];
    expect(banners).toHaveLength(1);
    const password = /password: (\S+)/.exec(stdout)![1];
    expect(password.length).toBeGreaterThanOrEqual(16);
    expect(stdout).toContain('email:    owner@wallet.example');

    const ds = instances[0].ds;
    const admins = await ds.query(`SELECT email, password_hash FROM agents WHERE role = 'admin'`);
    expect(admins).toHaveLength(1);
    expect(admins[0].password_hash).not.toContain(password);
    const token = await loginToken(instances[1].base, 'owner@wallet.example', password);
    adminToken = token;
    expect((await call(instances[1].base, token, 'GET', '/v1/auth/me')).body).toMatchObject({ role: 'admin' });
  });

  it('seeds one team and one inbox per channel with encrypted secrets, and announces them', async () => {
    const ds = started[0].ds;
    const teams = await ds.query('SELECT id, name FROM teams');
    expect(teams).toEqual([{ id: expect.any(String), name: DEMO_TEAM }]);
    const inboxes = await ds.query('SELECT id, channel, default_team_id, secrets FROM inboxes ORDER BY channel');
    expect(inboxes.map((i: { channel: string }) => i.channel)).toEqual([
      'chat',
      'email',
      'instagram',
      'messenger',
      'telegram',
      'voice',
      'whatsapp',
    ]);
    for (const inbox of inboxes) {
      expect(inbox.default_team_id).toBe(teams[0].id);
      expect(inbox.secrets).toMatch(/^v1\.test1\./);
    }
    const res = await fetch(`${started[0].base}/internal/inboxes?channel=telegram`, {
      headers: { 'x-service-token': 'test-service-token-0123456789abcdef' },
    });
    const [telegram] = (await res.json()) as { secrets: Record<string, string> }[];
    expect(telegram.secrets.botToken).toMatch(/^400000004:[\w-]+$/);
    for (let i = 0; i < 100 && !inboxes.every((x: { id: string }) => announced.includes(x.id)); i++)
      await new Promise((r) => setTimeout(r, 20));
    expect(announced).toEqual(expect.arrayContaining(inboxes.map((x: { id: string }) => x.id)));
  });

  it('seeds the demo team an SLA in Jakarta business hours, so its first ticket has a running clock', async () => {
    const { ds, base } = started[0];
    const [team] = await ds.query(`SELECT id FROM teams WHERE name = $1`, [DEMO_TEAM]);
    const policies = await ds.query(
      `SELECT p.name, p.conditions, p.targets, p.warning_percent, s.timezone
         FROM sla_policies p JOIN sla_schedules s ON s.id = p.schedule_id WHERE p.active`,
    );
    expect(policies).toEqual([
      expect.objectContaining({ conditions: { teamId: [team.id] }, timezone: 'Asia/Jakarta', warning_percent: 80 }),
    ]);
    for (const metric of ['first_reply', 'next_reply', 'resolution'])
      expect(Object.keys(policies[0].targets[metric]).sort()).toEqual(['high', 'low', 'normal', 'urgent']);

    const urgent = await call(base, adminToken, 'POST', '/v1/tickets', {
      requester: { kind: 'email', value: 'hacked@customer.example' },
      channel: 'email',
      subject: 'Someone logged into my wallet',
      message: { text: 'I did not make these transfers.' },
      priority: 'urgent',
      teamId: team.id,
    });
    expect(urgent.status).toBe(201);
    const due = Date.parse(urgent.body.nextDueAt);
    // Urgent first reply: 15 minutes of calendar time, whatever the hour in Jakarta.
    expect(due - Date.parse(urgent.body.createdAt)).toBeGreaterThan(14 * 60_000);
    expect(due - Date.parse(urgent.body.createdAt)).toBeLessThanOrEqual(15 * 60_000 + 1000);
  });

  it('changes nothing and prints nothing on restart', async () => {
    const snapshot = (ds: TestInstance['ds']) =>
      ds.query(
        `SELECT (SELECT count(*)::int FROM agents) AS agents, (SELECT count(*)::int FROM teams) AS teams,
                (SELECT string_agg(id || secrets, ',' ORDER BY id) FROM inboxes) AS inboxes,
                (SELECT string_agg(id::text || updated_at::text, ',' ORDER BY id) FROM sla_policies) AS policies`,
      );
    const before = await snapshot(started[0].ds);
    expect(before[0]).toMatchObject({ agents: 1, teams: 1 });
    await Promise.all(started.splice(0).map((s) => s.app.close()));
    const { instances, stdout } = await boot(1);
    expect(stdout).not.toContain('admin account created');
    expect(await snapshot(instances[0].ds)).toEqual(before);
  });
});

describe('demo mode: the demo inboxes reach the local stand-ins with secrets derived from DEMO_KEY', () => {
  let db: TestDatabase;
  const prefix = testQueuePrefix();
  const demoKey = 'demo-key-for-the-seed-spec-0123456789';
  const env = (smtpPort: string) => ({
    SEED_DEMO: 'true',
    ADMIN_PASSWORD: 'demo-admin-password-1',
    DEMO_KEY: demoKey,
    DEMO_PROVIDERS_URL: 'http://127.0.0.1:39009',
    DEMO_IMAP_PORT: '31143',
    DEMO_SMTP_PORT: smtpPort,
  });
  beforeAll(async () => {
    db = await createTestDatabase();
  });
  afterAll(async () => {
    await db?.drop();
    await dropQueuePrefix(prefix);
  });
  const configs = async (base: string) => {
    const res = await fetch(`${base}/internal/inboxes`, {
      headers: { 'x-service-token': 'test-service-token-0123456789abcdef' },
    });
    return new Map(((await res.json()) as InboxConfig[]).map((c) => [c.channel, c]));
  };

  it('points them at the configured ports and fake providers, and follows a changed port on the next start', async () => {
    let instance = await startTicketService(db, prefix, env('32525'));
    let inboxes = await configs(instance.base);
    expect([...inboxes.values()].every((i) => i.demo === true)).toBe(true);
    const email = inboxes.get('email')!;
    expect(email.settings).toMatchObject({ imapHost: '127.0.0.1', imapPort: 31143, smtpPort: 32525 });
    expect(email.secrets).toEqual(demoInboxSecrets(demoKey, 'email', 'support@wallet.example'));
    const telegram = inboxes.get('telegram')!;
    expect(telegram.settings.providerBaseUrl).toBe(`http://127.0.0.1:39009/telegram/${telegram.id}`);
    expect(telegram.secrets).toEqual(demoInboxSecrets(demoKey, 'telegram', '400000004'));
    for (const c of inboxes.values()) expect(checkInboxConfig(c)).toMatchObject({ ok: true });
    const updatedAt = (await instance.ds.query(`SELECT max(updated_at) AS t FROM inboxes`))[0].t;

    await instance.app.close();
    instance = await startTicketService(db, prefix, env('32525'));
    expect((await instance.ds.query(`SELECT max(updated_at) AS t FROM inboxes`))[0].t).toEqual(updatedAt);

    await instance.app.close();
    instance = await startTicketService(db, prefix, env('42525'));
    inboxes = await configs(instance.base);
    expect(inboxes.get('email')!.settings).toMatchObject({ smtpPort: 42525, afterImport: 'seen' });
    expect(inboxes.get('email')!.secrets).toEqual(email.secrets);
    await instance.app.close();
  });
});
