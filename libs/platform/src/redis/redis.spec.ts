import { Writable } from 'node:stream';
import pino from 'pino';
import { RedisServerProcess } from '../../../../test/support/redis-server';
import { REDIS_DURABILITY_FIX, REDIS_DURABILITY_WARNED_KEY, checkRedisDurability, createRedis } from './redis';

/**
 * Six services and npm start's stack-up used to print the same Redis warning seven times in the
 * first screen of `npm start`: now the first to see it says it once, with the command that fixes
 * it, and the others only at debug. A private redis-server, so the shared one is never reconfigured.
 */
describe('Redis durability check', () => {
  let server: RedisServerProcess;
  beforeAll(async () => (server = await RedisServerProcess.start()), 20_000);
  afterAll(async () => server?.stop());

  const capture = () => {
    const lines: { level: number; msg: string }[] = [];
    const stream = new Writable({
      write(chunk, _enc, done) {
        for (const l of chunk.toString().split('\n').filter(Boolean)) lines.push(JSON.parse(l));
        done();
      },
    });
    return { logger: pino({ level: 'debug' }, stream), lines };
  };

  it('warns once across processes with the fix, and says nothing when Redis is durable', async () => {
    const redis = createRedis(server.url, 'durability-test');
    try {
      const quiet = capture();
      expect(await checkRedisDurability(redis, quiet.logger)).toEqual([]);
      expect(quiet.lines).toEqual([]);

      await redis.config('SET', 'appendonly', 'no');
      await redis.del(REDIS_DURABILITY_WARNED_KEY);
      const first = capture();
      const second = capture();
      expect(await checkRedisDurability(redis, first.logger)).toHaveLength(1);
      expect(await checkRedisDurability(redis, second.logger)).toHaveLength(1);
      expect(first.lines).toEqual([
        expect.objectContaining({ level: 40, msg: expect.stringContaining(REDIS_DURABILITY_FIX) }),
      ]);
      expect(second.lines).toEqual([expect.objectContaining({ level: 20 })]);
    } finally {
      redis.disconnect();
    }
  });
});
