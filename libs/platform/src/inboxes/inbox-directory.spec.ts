import { randomUUID } from 'node:crypto';
import { createServer, Server } from 'node:http';
import { INBOX_CHANGED_CHANNEL, InboxConfig } from '@oq/contracts';
import { Redis } from 'ioredis';
import pino from 'pino';
import { PlatformConfig } from '../config/config';
import { InboxDirectory } from './inbox-directory';

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
  secrets: { token: 's3cret' },
});

describe('InboxDirectory', () => {
  const token = 'service-token-for-directory-test-0123';
  let server: Server;
  let calls: string[];
  let directory: InboxDirectory;
  const inboxes = new Map<string, InboxConfig>();
  const voice = inbox('voice');
  const email = inbox('email');
  const redis = new Redis('redis://127.0.0.1:6379');

  beforeAll(async () => {
    inboxes.set(voice.id, voice).set(email.id, email);
    ({ server, calls } = internalApi(inboxes, token));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as { port: number }).port;
    const config = {
      SERVICE_NAME: 'directory-test',
      REDIS_URL: 'redis://127.0.0.1:6379',
      SERVICE_TOKEN: token,
      TICKET_SERVICE_URL: `http://127.0.0.1:${port}`,
      INBOX_REFRESH_MS: 60_000,
    } as unknown as PlatformConfig;
    directory = new InboxDirectory(config, pino({ level: 'silent' }), { channels: ['voice'] });
    await directory.onApplicationBootstrap();
  });
  afterAll(async () => {
    await directory.onApplicationShutdown();
    redis.disconnect();
    await new Promise((r) => server.close(r));
  });

  it('loads only its channels, with secrets, and refuses other channels', async () => {
    expect(directory.list().map((i) => i.id)).toEqual([voice.id]);
    expect((await directory.get(voice.id))?.secrets.token).toBe('s3cret');
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
    const deadline = Date.now() + 3000;
    while ((await directory.get(voice.id)) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    expect(await directory.get(voice.id)).toBeNull();
  });
});
