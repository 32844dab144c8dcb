import { testServiceEnv } from '@oq/database/testing/test-env';
import { ConfigError, createHttpApp } from '@oq/platform';
import { request } from 'node:http';
import { Socket } from 'socket.io-client';
import { AppModule as ChatService } from '../../apps/chat-service/src/app.module';
import { ChatStack } from './chat-stack';

/**
 * chat-service's abuse limits with real socket.io clients from real source addresses
 * (127.0.0.x are distinct peers on loopback): per socket, per client address across
 * sockets and replicas (buckets live in Redis), and X-Forwarded-For only from a peer that
 * is one of TRUSTED_PROXIES, read as every HTTP app reads it (the right-most untrusted entry).
 */
describe('chat rate limits', () => {
  let s: ChatStack;
  const WINDOW = '600'; // long enough that no bucket refills noticeably during the test
  beforeAll(async () => {
    s = await ChatStack.start({
      chatEnv: {
        CHAT_SOCKET_MESSAGES_PER_WINDOW: '5',
        CHAT_IP_MESSAGES_PER_WINDOW: '8',
        CHAT_IP_CONNECTS_PER_WINDOW: '10',
        CHAT_RATE_WINDOW_SECONDS: WINDOW,
      },
      // Instance 0 is reached directly; instance 1 sits behind our proxy at 127.0.0.1, which has
      // internal proxies in 10.0.0.0/8 in front of it. Other loopback peers are not proxies.
      instanceEnv: [{}, { TRUSTED_PROXIES: '127.0.0.1, 10.0.0.0/8' }],
    });
  }, 60_000);
  afterAll(async () => s?.stop());

  let n = 0;
  const user = (opts: Parameters<ChatStack['connect']>[1] = {}) => {
    const id = `rl-${++n}`;
    return s.connect({ userId: id, userHash: s.userHash(id) }, opts).then((c) => c.socket);
  };
  const send = (socket: Socket): Promise<{ ok: boolean; error?: string; message?: string }> =>
    socket.timeout(5000).emitWithAck('message:send', { clientId: `m-${++n}`, text: 'hello' });
  const visitorStatus = async (chat: number, headers: Record<string, string> = {}) =>
    (await fetch(`${s.chatUrls[chat]}/chat/${s.inboxId}/visitors`, { method: 'POST', headers })).status;
  /** POST /visitors from a chosen source address (fetch cannot pick one). */
  const visitorStatusFrom = (localAddress: string, chat: number, headers: Record<string, string> = {}) =>
    new Promise<number>((resolve, reject) => {
      const req = request(`${s.chatUrls[chat]}/chat/${s.inboxId}/visitors`, { method: 'POST', localAddress, headers });
      req.on('response', (res) => {
        res.resume();
        resolve(res.statusCode!);
      });
      req.on('error', reject);
      req.end();
    });

  it('limits all sockets of one address together; another address is unaffected, a forged X-Forwarded-For is ignored', async () => {
    const sockets = await Promise.all([user(), user(), user()]);
    const acks = [];
    for (let round = 0; round < 3; round++) for (const socket of sockets) acks.push(await send(socket));
    // 9 messages, at most 3 per socket (under its limit of 5), 8 per address.
    expect(acks.slice(0, 8).every((a) => a.ok)).toBe(true);
    expect(acks[8]).toEqual({
      ok: false,
      error: 'rate_limited',
      message: `too many messages from this address, at most 8 per ${WINDOW} s`,
    });

    // Instance 0 trusts no proxy: a client-chosen X-Forwarded-For does not open a fresh bucket.
    const spoofer = await user({ headers: { 'x-forwarded-for': '203.0.113.9' } });
    expect(await send(spoofer)).toMatchObject({ ok: false, error: 'rate_limited' });

    const elsewhere = await user({ localAddress: '127.0.0.2' });
    for (let i = 0; i < 3; i++) expect(await send(elsewhere)).toMatchObject({ ok: true });
  });

  it('a socket over its own limit spends nothing of its address’s allowance', async () => {
    const flooder = await user({ localAddress: '127.0.0.3' });
    const acks = [];
    for (let i = 0; i < 7; i++) acks.push(await send(flooder));
    expect(acks.slice(0, 5).every((a) => a.ok)).toBe(true);
    expect(acks[5]).toEqual({
      ok: false,
      error: 'rate_limited',
      message: `too many messages, at most 5 per ${WINDOW} s`,
    });
    // The address has 3 of its 8 left: the refused messages were not charged to it.
    const sibling = await user({ localAddress: '127.0.0.3' });
    for (let i = 0; i < 3; i++) expect(await send(sibling)).toMatchObject({ ok: true });
    expect(await send(sibling)).toMatchObject({ ok: false, message: expect.stringContaining('from this address') });
  });

  it('limits connections and visitor tokens per address; X-Forwarded-For counts only behind a trusted proxy', async () => {
    // 127.0.0.1 has connected 4 times (3 users and the spoofer) out of 10; a forged header changes nothing.
    const statuses = [];
    for (let i = 0; i < 7; i++) statuses.push(await visitorStatus(0, { 'x-forwarded-for': `198.51.100.${i + 1}` }));
    expect(statuses).toEqual([201, 201, 201, 201, 201, 201, 429]);
    await expect(user()).rejects.toMatchObject({
      message: 'too many connections from this address, retry later',
      data: { code: 'rate_limited' },
    });
    // Another address still connects.
    await user({ localAddress: '127.0.0.2' });

    // From the trusted proxy the client is the hop it appended; without the header, the peer (the proxy itself).
    const proxied = { 'x-forwarded-for': '203.0.113.50, 192.0.2.10' };
    expect(await visitorStatus(1, proxied)).toBe(201);
    const viaProxy = await user({ chat: 1, headers: proxied });
    expect(await send(viaProxy)).toMatchObject({ ok: true });
    expect(await visitorStatus(1)).toBe(429);
    // The client-chosen first entry is not what is counted: exhausting 192.0.2.10 refuses every variant of it.
    for (let i = 0; i < 8; i++) await visitorStatus(1, { 'x-forwarded-for': `10.0.0.${i}, 192.0.2.10` });
    expect(await visitorStatus(1, { 'x-forwarded-for': '10.9.9.9, 192.0.2.10' })).toBe(429);
    expect(await visitorStatus(1, { 'x-forwarded-for': '192.0.2.11' })).toBe(201);
  });

  it('skips our own proxies in X-Forwarded-For, and believes it from no other peer', async () => {
    // Through two of our proxies (10.0.0.x, then 127.0.0.1) the client is the entry left of them,
    // whichever internal proxy it came through; socket and REST share its bucket.
    for (let i = 0; i < 9; i++)
      expect(await visitorStatus(1, { 'x-forwarded-for': `198.51.100.7, 10.0.0.${i}` })).toBe(201);
    await user({ chat: 1, headers: { 'x-forwarded-for': '198.51.100.7, 10.0.0.200' } });
    expect(await visitorStatus(1, { 'x-forwarded-for': '198.51.100.7' })).toBe(429);
    await expect(user({ chat: 1, headers: { 'x-forwarded-for': '198.51.100.7, 10.1.1.1' } })).rejects.toMatchObject({
      data: { code: 'rate_limited' },
    });
    // 127.0.0.4 is on loopback but not a proxy: its header is ignored, every variant counts as 127.0.0.4.
    const direct = { localAddress: '127.0.0.4', chat: 1 };
    for (let i = 0; i < 9; i++)
      expect(await visitorStatusFrom('127.0.0.4', 1, { 'x-forwarded-for': `192.0.2.${100 + i}` })).toBe(201);
    await user({ ...direct, headers: { 'x-forwarded-for': '192.0.2.200' } });
    await expect(user({ ...direct, headers: { 'x-forwarded-for': '192.0.2.201' } })).rejects.toMatchObject({
      message: 'too many connections from this address, retry later',
    });
    expect(await visitorStatusFrom('127.0.0.5', 1, { 'x-forwarded-for': '192.0.2.202' })).toBe(201);
  });

  it('refuses to boot with the removed CHAT_TRUST_PROXY, naming TRUSTED_PROXIES', async () => {
    const env = testServiceEnv(s.db, s.prefix, { TICKET_SERVICE_URL: s.ticketUrl, CHAT_TRUST_PROXY: 'true' });
    const err = await createHttpApp(ChatService, { title: 'chat-service', env }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as Error).message).toMatch(
      /^chat-service: invalid configuration\n {2}- CHAT_TRUST_PROXY is no longer supported; use TRUSTED_PROXIES instead: /,
    );
  });
});
