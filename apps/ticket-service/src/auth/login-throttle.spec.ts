import { dropQueuePrefix, testQueuePrefix, TEST_REDIS_URL } from '@oq/database/testing/test-env';
import { createHash } from 'node:crypto';
import { Redis } from 'ioredis';
import { Config } from '../config';
import { LoginThrottle, RetryLaterException } from './login-throttle';

const id = (s: string) => createHash('sha256').update(s).digest('hex').slice(0, 32);

describe('LoginThrottle keys (real Redis)', () => {
  const prefix = testQueuePrefix();
  let redis: Redis;
  let throttle: LoginThrottle;
  beforeAll(() => {
    redis = new Redis(TEST_REDIS_URL, { maxRetriesPerRequest: null });
    const config = {
      QUEUE_PREFIX: prefix,
      LOGIN_MAX_FAILURES: 3,
      LOGIN_MAX_FAILURES_PER_ADDRESS: 5,
      LOGIN_LOCKOUT_SECONDS: 60,
    } as Config;
    throttle = new LoginThrottle(redis, config);
  });
  afterAll(async () => {
    redis.disconnect();
    await dropQueuePrefix(prefix);
  });

  it('counts under the key convention, and honours what the previous release counted (rolling deploy)', async () => {
    const email = 'Ana@Example.com';
    const ip = '203.0.113.7';
    // The previous release's replica counted two failures under its key names.
    await redis.set(`${prefix}login-failures:${id(`ana@example.com|${ip}`)}`, '2', 'EX', 60);
    await redis.set(`${prefix}login-address:${id(ip)}`, '2', 'EX', 60);
    await throttle.reserve(email, ip);
    expect(await redis.get(`${prefix}:auth:login-failures:${id(`ana@example.com|${ip}`)}`)).toBe('1');
    expect(await redis.get(`${prefix}:auth:login-address:${id(ip)}`)).toBe('1');
    // 2 old + 1 new = the pair's budget of 3: the next attempt is refused with the window's rest.
    const refused = await throttle.reserve(email, ip).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(RetryLaterException);
    expect((refused as RetryLaterException).retryAfterSeconds).toBeGreaterThan(50);

    // A success clears the pair under both names and gives the address this attempt back.
    await throttle.succeeded(email, ip);
    expect(await redis.exists(`${prefix}login-failures:${id(`ana@example.com|${ip}`)}`)).toBe(0);
    expect(await redis.get(`${prefix}:auth:login-address:${id(ip)}`)).toBe('0');
    // The address budget still sums both names: 2 old, 0 new; three more reach 5.
    for (const other of ['b@x.io', 'c@x.io', 'd@x.io']) await throttle.reserve(other, ip);
    await expect(throttle.reserve('e@x.io', ip)).rejects.toThrow(/from this address/);
    // A refund takes from the new name first, then the old.
    await throttle.refund('e@x.io', ip);
    expect(await redis.get(`${prefix}:auth:login-address:${id(ip)}`)).toBe('2');
  });
});
