import { redisKey } from '@oq/contracts';
import { dropQueuePrefix, testQueuePrefix, TEST_REDIS_URL } from '@oq/database/testing/test-env';
import { Redis } from 'ioredis';
import { TokenBuckets } from './token-bucket';

describe('TokenBuckets (real Redis)', () => {
  const prefix = testQueuePrefix();
  const key = (name: string) => redisKey(prefix, 'test', 'bucket', name);
  const pause = redisKey(prefix, 'test', 'pause');
  let redis: Redis;
  let buckets: TokenBuckets;
  beforeAll(() => {
    redis = new Redis(TEST_REDIS_URL, { maxRetriesPerRequest: null });
    buckets = new TokenBuckets(redis);
  });
  afterAll(async () => {
    redis.disconnect();
    await dropQueuePrefix(prefix);
  });

  it('charges all buckets of a take or none, naming the one that refused', async () => {
    // One token per 1000 s: no refill happens during the test, however slow the machine.
    const socket = { key: key('socket'), capacity: 5, perSecond: 0.001 };
    const address = { key: key('address'), capacity: 2, perSecond: 0.001 };
    expect(await buckets.take(pause, [socket, address])).toEqual({ ok: true });
    expect(await buckets.take(pause, [socket, address])).toEqual({ ok: true });
    const refused = await buckets.take(pause, [socket, address]);
    expect(refused).toMatchObject({ ok: false, refused: 2 });
    // The refused take spent nothing from the socket's bucket: 3 of its 5 remain.
    const alone = await Promise.all([1, 2, 3, 4].map(() => buckets.take(pause, [socket])));
    expect(alone.filter((r) => r.ok)).toHaveLength(3);
    expect(alone.filter((r) => !r.ok)).toEqual([{ ok: false, refused: 1, waitMs: expect.any(Number) }]);
  });

  it('answers how long until the cost is there, and a pause holds every take', async () => {
    const b = { key: key('wait'), capacity: 2, perSecond: 4 };
    expect(await buckets.take(pause, [b], 2)).toEqual({ ok: true });
    const r = await buckets.take(pause, [b]);
    // 4/s: one token is at most 250 ms away.
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.waitMs).toBeLessThanOrEqual(250);
    const other = { key: key('other'), capacity: 10, perSecond: 10 };
    await buckets.pause(pause, 60_000);
    const paused = await buckets.take(pause, [other]);
    expect(paused).toMatchObject({ ok: false, refused: 0 });
    if (!paused.ok) expect(paused.waitMs).toBeGreaterThan(59_000);
    // A shorter pause never shortens a longer one.
    await buckets.pause(pause, 10);
    expect(await buckets.take(pause, [other])).toMatchObject({ ok: false, refused: 0 });
    expect(await redis.exists(other.key)).toBe(0);
  });

  it('refuses buckets that could never serve the cost', async () => {
    await expect(buckets.take(pause, [{ key: key('bad'), capacity: 1, perSecond: 1 }], 2)).rejects.toThrow(
      /invalid token bucket/,
    );
    await expect(buckets.take(pause, [])).rejects.toThrow(/at least one bucket/);
  });
});
