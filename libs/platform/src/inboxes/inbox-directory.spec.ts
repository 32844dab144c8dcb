import { randomUUID } from 'node:crypto';
import { createServer, Server } from 'node:http';
import { INBOX_CHANGED_CHANNEL, InboxConfig } from '@oq/contracts';
import { TEST_REDIS_URL } from '@oq/database/testing/test-env';
import { Redis } from 'ioredis';
import pino from 'pino';
import { PlatformConfig } from '../config/config';
import { HealthDetails } from '../health/health.controller';
import { MetricsService } from '../metrics/metrics';
import { DirectoryCopy } from './directory-copy';
import { InboxDirectory, InboxDirectoryUnavailableError } from './inbox-directory';
import { until } from '../../../../test/support/until';

/** A local server speaking ticket-service's internal inbox API, counting calls and checking the token. */
function internalApi(inboxes: Map<string, InboxConfig>, token: string) {
  const calls: string[] = [];
  const server = createServer((req, res) => {
    calls.push(req.url!);
    if (req.headers['x-service-token'] !== token) return void res.writeHead(401).end();
    const url = new URL(req.url!, 'http://x');
    const one = /^\/internal\/inboxes\/([^/]+)$/.exec(url.pathname);
    res.setHeader('content-type', 'application/json');
    if (one) {
      const inbox = inboxes.get(one[1]);
      return void (inbox ? res.end(JSON.stringify(inbox)) : res.writeHead(404).end('{}'));
    }
    const channel = url.searchParams.get('channel');
    res.end(JSON.stringify([...inboxes.values()].filter((i) => i.channel === channel)));
  });
  return { server, calls };
}

const inbox = (channel: InboxConfig['channel'], enabled = true): InboxConfig => ({
  id: randomUUID(),
  name: `${channel} inbox`,
  channel,
  address: `${channel}-addr`,
  defaultTeamId: randomUUID(),
  enabled,
  settings: {},
  secrets: { signingSecret: 's3cret' },
});

describe('InboxDirectory', () => {
  const token = 'service-token-for-directory-test-0123';
  let server: Server;
  let calls: string[];
  let directory: InboxDirectory;
  let metrics: MetricsService;
  const health = new HealthDetails();
  const logged: { inboxId?: string; problems?: string[]; level: number; msg: string }[] = [];
  const inboxes = new Map<string, InboxConfig>();
  const voice = inbox('voice');
  const email = inbox('email');
  const redis = new Redis(TEST_REDIS_URL);

  beforeAll(async () => {
    inboxes.set(voice.id, voice).set(email.id, email);
    ({ server, calls } = internalApi(inboxes, token));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as { port: number }).port;
    const config = {
      SERVICE_NAME: 'directory-test',
      REDIS_URL: TEST_REDIS_URL,
      SERVICE_TOKEN: token,
      TICKET_SERVICE_URL: `http://127.0.0.1:${port}`,
      INBOX_REFRESH_MS: 60_000,
    } as unknown as PlatformConfig;
    metrics = new MetricsService(config);
    // A real pino logger whose lines the test reads back.
    const logger = pino({ level: 'info' }, { write: (line: string) => void logged.push(JSON.parse(line)) });
    directory = new InboxDirectory(config, logger, { channels: ['voice'] }, metrics, health);
    await directory.onApplicationBootstrap();
  });
  afterAll(async () => {
    await directory.onApplicationShutdown();
    redis.disconnect();
    await new Promise((r) => server.close(r));
  });

  it('loads only its channels, with secrets, and refuses other channels', async () => {
    expect(directory.list().map((i) => i.id)).toEqual([voice.id]);
    expect((await directory.get(voice.id))?.secrets.signingSecret).toBe('s3cret');
    expect(await directory.get(email.id)).toBeNull();
    expect(await directory.get('not-a-uuid')).toBeNull();
  });

  it('fetches an inbox created after the last refresh on demand, and caches misses', async () => {
    const fresh = inbox('voice');
    inboxes.set(fresh.id, fresh);
    expect((await directory.get(fresh.id))?.name).toBe('voice inbox');
    const missing = randomUUID();
    expect(await directory.get(missing)).toBeNull();
    const before = calls.length;
    expect(await directory.get(missing)).toBeNull();
    expect(calls.length).toBe(before);
  });

  it('re-reads an inbox when ticket-service announces a change', async () => {
    inboxes.set(voice.id, { ...voice, enabled: false });
    await redis.publish(INBOX_CHANGED_CHANNEL, voice.id);
    await until(async () => (await directory.get(voice.id)) === null, 3000, 'the disabled inbox dropped');
  });

  it('does not serve an inbox whose stored settings are invalid, and says so in the log, /health and metrics', async () => {
    const broken = { ...inbox('voice'), settings: { recordingHosts: ['recordings.example/path'] } };
    const fine = inbox('voice');
    inboxes.set(broken.id, broken).set(fine.id, fine);
    await directory.refresh();

    expect(await directory.get(broken.id)).toBeNull();
    expect((await directory.get(fine.id))?.id).toBe(fine.id);
    expect(directory.list().map((i) => i.id)).toEqual(expect.arrayContaining([fine.id]));
    expect(directory.list().map((i) => i.id)).not.toContain(broken.id);
    const reason = 'settings.recordingHosts.0: must be a host name, host:port or *.domain';
    expect(directory.invalidReason(broken.id)).toBe(reason);
    expect(health.read()).toEqual({
      inboxes: {
        source: 'ticket-service',
        asOf: expect.any(String),
        invalid: [{ id: broken.id, channel: 'voice', reason }],
      },
    });
    expect(await metrics.registry.metrics()).toMatch(/oq_inboxes_invalid\{[^}]*channel="voice"[^}]*\} 1\n/);
    const line = logged.find((l) => l.inboxId === broken.id);
    expect(line).toMatchObject({ level: 50, problems: [reason], msg: expect.stringContaining('not serving it') });
    // Logged when it became invalid, not again on every refresh.
    await directory.refresh();
    expect(logged.filter((l) => l.inboxId === broken.id)).toHaveLength(1);

    // Fixed and announced: served again, no longer listed or counted.
    inboxes.set(broken.id, { ...broken, settings: { recordingHosts: ['recordings.example'] } });
    await directory.reload(broken.id);
    expect((await directory.get(broken.id))?.id).toBe(broken.id);
    expect(directory.invalidInboxes()).toEqual([]);
    expect(await metrics.registry.metrics()).toMatch(/oq_inboxes_invalid\{[^}]*channel="voice"[^}]*\} 0\n/);
  });
});

describe('InboxDirectory without ticket-service', () => {
  const token = 'service-token-for-directory-copy-test-01';
  const prefix = `{oqdir${process.pid}${randomUUID().slice(0, 6)}}`;
  const redis = new Redis(TEST_REDIS_URL);
  const inboxes = new Map<string, InboxConfig>();
  const voice = { ...inbox('voice'), secrets: { signingSecret: 'pbx-signing-secret-never-in-redis' } };
  const started: InboxDirectory[] = [];
  let server: Server;
  let url = '';

  const boot = async (over: { url?: string; token?: string; prefix?: string } = {}) => {
    const config = {
      SERVICE_NAME: 'directory-copy-test',
      REDIS_URL: TEST_REDIS_URL,
      QUEUE_PREFIX: over.prefix ?? prefix,
      SERVICE_TOKEN: over.token ?? token,
      TICKET_SERVICE_URL: over.url ?? url,
      INBOX_REFRESH_MS: 60_000,
    } as unknown as PlatformConfig;
    const health = new HealthDetails();
    const directory = new InboxDirectory(
      config,
      pino({ level: 'silent' }),
      { channels: ['voice'], requiredForHealth: true },
      undefined,
      health,
      redis,
    );
    started.push(directory);
    await directory.onApplicationBootstrap();
    return { directory, health };
  };
  const healthCheck = async (health: HealthDetails) => {
    try {
      await health.checks.get('inboxes')!();
      return 'up';
    } catch (err) {
      return `down: ${(err as Error).message}`;
    }
  };
  // Nothing listens on this port: ticket-service is down.
  const down = async () => {
    const s = createServer();
    await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
    const port = (s.address() as { port: number }).port;
    await new Promise((r) => s.close(r));
    return `http://127.0.0.1:${port}`;
  };

  beforeAll(async () => {
    inboxes.set(voice.id, voice);
    ({ server } = internalApi(inboxes, token));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    url = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  });
  afterAll(async () => {
    await Promise.all(started.map((d) => d.onApplicationShutdown()));
    const keys = await redis.keys(`${prefix}*`);
    if (keys.length) await redis.del(...keys);
    redis.disconnect();
    await new Promise((r) => server.close(r));
  });

  it('with no copy and ticket-service down: /health fails and intake hears "unavailable", not "unknown"', async () => {
    const { directory, health } = await boot({ url: await down(), prefix: `${prefix}-empty` });
    expect(directory.source).toBeUndefined();
    expect(await healthCheck(health)).toMatch(/^down: no inbox list yet/);
    expect(await directory.get(voice.id)).toBeNull();
    await expect(directory.getForIntake(voice.id)).rejects.toBeInstanceOf(InboxDirectoryUnavailableError);
    await expect(directory.getForIntake(voice.id)).rejects.toMatchObject({ status: 503 });
  });

  it('keeps the last list sealed in Redis and serves it on a boot while ticket-service is down', async () => {
    const first = await boot();
    expect(first.directory.source).toBe('ticket-service');
    const key = DirectoryCopy.keyFor(prefix, ['voice']);
    const sealed = (await redis.get(key))!;
    expect(sealed).toMatch(/^v1\.st[0-9a-f]{12}\./);
    // Sealed as a whole: no secret, id or name in the clear.
    for (const clear of [voice.secrets.signingSecret, voice.id, voice.name]) expect(sealed).not.toContain(clear);

    const { directory, health } = await boot({ url: await down() });
    expect(directory.source).toBe('copy');
    expect(await healthCheck(health)).toBe('up');
    expect(health.read()).toMatchObject({ inboxes: { source: 'copy', invalid: [] } });
    expect((await directory.getForIntake(voice.id))?.secrets.signingSecret).toBe(voice.secrets.signingSecret);
    // An inbox the copy does not know may have been created since: unavailable, not unknown.
    await expect(directory.getForIntake(randomUUID())).rejects.toBeInstanceOf(InboxDirectoryUnavailableError);
  });

  it('ignores a copy sealed under another SERVICE_TOKEN', async () => {
    await boot();
    const { directory, health } = await boot({ url: await down(), token: 'another-service-token-0123456789' });
    expect(directory.source).toBeUndefined();
    expect(await healthCheck(health)).toMatch(/^down/);
  });
});
