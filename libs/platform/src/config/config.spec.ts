import { z } from 'zod';
import { BaseConfigSchema, ChannelServiceConfig, ConfigError, loadConfig, RETIRED_VARIABLES } from './config';

const SERVICE_TOKEN = 'test-service-token-0123456789abcdef';
const Channel = BaseConfigSchema.extend({ ...ChannelServiceConfig });
const problems = (env: Record<string, string>, schema: z.ZodObject = Channel): string[] => {
  try {
    loadConfig('some-service', schema, { SERVICE_TOKEN, ...env });
  } catch (err) {
    if (err instanceof ConfigError) return err.problems;
    throw err;
  }
  return [];
};

describe('loadConfig: renamed and removed variables', () => {
  it('refuses CHAT_TRUST_PROXY, naming TRUSTED_PROXIES, together with every other problem', () => {
    let err: unknown;
    try {
      loadConfig('chat-service', Channel, { CHAT_TRUST_PROXY: 'true', DB_POOL_SIZE: 'many' });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigError);
    const { message, problems } = err as ConfigError;
    expect(message).toMatch(/^chat-service: invalid configuration\n/);
    expect(problems).toHaveLength(3);
    expect(problems[0]).toMatch(/^CHAT_TRUST_PROXY is no longer supported; use TRUSTED_PROXIES instead: /);
    expect(problems[0]).toContain('Remove CHAT_TRUST_PROXY');
    expect(problems.slice(1)).toEqual([
      expect.stringMatching(/^DB_POOL_SIZE: /),
      'SERVICE_TOKEN is required but not set',
    ]);
  });

  it('refuses it whatever its value, and not when empty (unset)', () => {
    expect(problems({ CHAT_TRUST_PROXY: 'false' })).toEqual([expect.stringMatching(/^CHAT_TRUST_PROXY is no longer/)]);
    expect(problems({ CHAT_TRUST_PROXY: '' })).toEqual([]);
  });

  it('lists each name once, and none a schema still reads', () => {
    const names = RETIRED_VARIABLES.map((v) => v.name);
    expect(new Set(names).size).toBe(names.length);
    for (const v of RETIRED_VARIABLES) {
      expect(Object.keys(Channel.shape)).not.toContain(v.name);
      if (v.replacedBy) expect(Object.keys(BaseConfigSchema.shape)).toContain(v.replacedBy);
    }
  });
});

describe('ChannelServiceConfig', () => {
  it('takes http(s) ticket-service URLs only', () => {
    expect(problems({ TICKET_SERVICE_URL: 'https://tickets.internal:8443/base' })).toEqual([]);
    expect(problems({ TICKET_SERVICE_URL: 'ftp://ticket-service' })).toEqual([
      expect.stringMatching(/^TICKET_SERVICE_URL: /),
    ]);
    expect(problems({ TICKET_SERVICE_URL: 'ticket-service:3000' })).toHaveLength(1);
  });

  it('refreshes the inbox directory at most once a second', () => {
    expect(loadConfig('x', Channel, { SERVICE_TOKEN, INBOX_REFRESH_MS: '1000' }).INBOX_REFRESH_MS).toBe(1000);
    expect(problems({ INBOX_REFRESH_MS: '999' })).toEqual([expect.stringMatching(/^INBOX_REFRESH_MS: /)]);
    expect(loadConfig('x', Channel, { SERVICE_TOKEN })).toMatchObject({
      TICKET_SERVICE_URL: 'http://127.0.0.1:3000',
      INBOX_REFRESH_MS: 60_000,
    });
  });
});

describe('TRUSTED_PROXIES', () => {
  it('names the entry Fastify would refuse', () => {
    expect(problems({ TRUSTED_PROXIES: 'loopback, 10.0.0.0/255.0.0.0, ::1' })).toEqual([]);
    expect(problems({ TRUSTED_PROXIES: 'loopback, 10.0.0.0/33' })).toEqual([
      'TRUSTED_PROXIES: must list IP addresses, CIDRs or loopback/linklocal/uniquelocal, comma-separated ' +
        '(10.0.0.0/33: the prefix length must be 1–32 (or, for IPv4, a contiguous netmask))',
    ]);
    expect(problems({ TRUSTED_PROXIES: 'proxy.internal' })).toEqual([
      expect.stringContaining('(proxy.internal: not an IP address'),
    ]);
  });
});
