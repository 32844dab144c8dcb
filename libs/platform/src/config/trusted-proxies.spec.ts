import { FastifyAdapter } from '@nestjs/platform-fastify';
import fc from 'fast-check';
import type { FastifyInstance } from 'fastify';
import { clientAddress, trustedProxies } from './trusted-proxies';

/**
 * clientAddress must be what Fastify's req.ip is in the HTTP apps for the same TRUSTED_PROXIES
 * (bootstrap.ts hands Fastify the trimmed list, or `false` when it is empty): checked here against
 * a real Fastify instance over many peers, X-Forwarded-For chains and proxy lists.
 */
type Fastify = FastifyInstance;
const apps = new Map<string, Promise<Fastify>>();
function fastifyFor(entries: string[]): Promise<Fastify> {
  const key = entries.join(',');
  const known = apps.get(key);
  if (known) return known;
  const fastify = new FastifyAdapter({ trustProxy: entries.length ? entries : false }).getInstance<Fastify>();
  fastify.get('/', (req, reply) => void reply.send({ ip: req.ip ?? null }));
  const app = (async () => {
    await fastify.ready();
    return fastify;
  })();
  apps.set(key, app);
  return app;
}
async function fastifyIp(entries: string[], remoteAddress: string, xff?: string): Promise<string | null> {
  const app = await fastifyFor(entries);
  const res = await app.inject({
    method: 'GET',
    url: '/',
    remoteAddress,
    headers: xff === undefined ? {} : { 'x-forwarded-for': xff },
  });
  return (JSON.parse(res.body) as { ip: string | null }).ip;
}
afterAll(async () => {
  for (const app of apps.values()) await (await app).close();
});

const V4 = ['127.0.0.1', '127.0.0.2', '10.1.2.3', '172.16.5.4', '192.168.1.1', '169.254.0.9', '203.0.113.7', '8.8.8.8'];
const V6 = ['::1', 'fe80::1', 'fe80::1%eth0', 'fc00::5', 'fd12:3456::1', '2001:db8::1', '2001:DB8::2', '::'];
const MAPPED = [
  '::ffff:127.0.0.1',
  '::ffff:10.1.2.3',
  '::FFFF:203.0.113.7',
  '::ffff:7f00:2',
  '0:0:0:0:0:ffff:c0a8:101',
];
const NOT_IP = ['unknown', 'a b', '1.2.3.4:80', '[::1]', '_hidden'];
const ENTRIES = [
  'loopback',
  'linklocal',
  'uniquelocal',
  '127.0.0.1',
  '10.1.2.3',
  '10.0.0.0/8',
  '192.168.0.0/255.255.0.0',
  '203.0.113.0/24',
  '0.0.0.0/1',
  '::1',
  'fc00::/7',
  '2001:db8::/32',
  '::/80',
  '::ffff:127.0.0.1',
  '::ffff:10.0.0.0/104',
  '::ffff:0:0/96',
  '::ffff:203.0.113.0/120',
  '::ffff:0:0/80',
];

describe('clientAddress equals Fastify req.ip', () => {
  it.each([
    // [TRUSTED_PROXIES, peer, X-Forwarded-For, client]
    ['', '127.0.0.1', '203.0.113.9', '127.0.0.1'],
    ['loopback', '127.0.0.1', '203.0.113.9', '203.0.113.9'],
    ['loopback', '203.0.113.1', '198.51.100.2', '203.0.113.1'],
    ['127.0.0.1, 10.0.0.0/8', '127.0.0.1', '198.51.100.7, 10.0.0.5', '198.51.100.7'],
    ['127.0.0.1, 10.0.0.0/8', '127.0.0.1', '198.51.100.7, 192.0.2.10, 10.0.0.5', '192.0.2.10'],
    ['127.0.0.1', '127.0.0.2', '198.51.100.7', '127.0.0.2'],
    ['loopback', '::ffff:127.0.0.1', '198.51.100.7', '198.51.100.7'],
    ['loopback', '127.0.0.1', '127.0.0.5, 127.0.0.6', '127.0.0.5'],
    ['loopback', '127.0.0.1', undefined, '127.0.0.1'],
    ['loopback', '127.0.0.1', ' , ', '127.0.0.1'],
  ])('TRUSTED_PROXIES=%j, peer %s, X-Forwarded-For %j → %s', async (list, peer, xff, want) => {
    const trusted = trustedProxies(list);
    expect(clientAddress(peer, xff, trusted)).toBe(want);
    expect(await fastifyIp([...trusted.entries], peer, xff)).toBe(want);
  });

  it('for generated proxy lists, peers and X-Forwarded-For chains', async () => {
    const address = fc.constantFrom(...V4, ...V6, ...MAPPED);
    const hop = fc.oneof({ arbitrary: address, weight: 6 }, { arbitrary: fc.constantFrom(...NOT_IP, ''), weight: 1 });
    const separator = fc.constantFrom(',', ', ', ' ,', ',\t', ' , ');
    const header = fc.option(
      fc
        .tuple(fc.array(hop, { minLength: 1, maxLength: 5 }), separator, fc.constantFrom('', ' ', '\t'))
        .map(([hops, sep, pad]) => pad + hops.join(sep) + pad),
      { nil: undefined },
    );
    await fc.assert(
      fc.asyncProperty(fc.subarray(ENTRIES, { maxLength: 4 }), address, header, async (entries, peer, xff) => {
        const ours = clientAddress(peer, xff, trustedProxies(entries.join(', ')));
        expect(ours).toBe(await fastifyIp(entries, peer, xff));
      }),
      { numRuns: 1500 },
    );
  });
});

describe('trustedProxies', () => {
  it('accepts what Fastify accepts and refuses what it refuses, naming the entry', () => {
    const valid = ['10.0.0.0/255.255.255.0', '::1/128', '127.0.0.1/32', ' loopback , 10.0.0.1 '];
    const invalid = [
      '10.0.0.0/33',
      '10.0.0.0/0',
      '10.0.0.0/abc',
      '10.0.0.0/255.0.255.0',
      '::1/129',
      '::/ffff::',
      'localhost',
    ];
    for (const v of valid) {
      expect(() => trustedProxies(v)).not.toThrow();
      expect(() => new FastifyAdapter({ trustProxy: trustedProxies(v).entries as string[] })).not.toThrow();
    }
    for (const v of invalid) {
      expect(() => trustedProxies(v)).toThrow(v);
      expect(() => new FastifyAdapter({ trustProxy: [v] })).toThrow();
    }
    // Stricter than Fastify, as the schema always was: only canonical addresses (Fastify reads 1.2.3 as
    // 1.2.0.3), and no zone ids (no deployment of ours names a link-local proxy by interface).
    expect(() => trustedProxies('1.2.3')).toThrow('1.2.3: not an IP address');
    expect(() => trustedProxies('fe80::1%eth0')).toThrow(/zone ids/);
  });

  it('trusts nothing when empty', () => {
    const none = trustedProxies(undefined);
    expect(none.entries).toEqual([]);
    expect(none.trusts('127.0.0.1')).toBe(false);
    expect(clientAddress('127.0.0.1', '203.0.113.9', none)).toBe('127.0.0.1');
    expect(clientAddress(undefined, '203.0.113.9', trustedProxies('loopback'))).toBeUndefined();
  });
});
