import { Inject, Injectable } from '@nestjs/common';
import { CONFIG, REDIS } from '@oq/platform';
import { Redis } from 'ioredis';
import { Config } from '../config';

/**
 * Token buckets: `limit` tokens per window each, refilled continuously, so there is
 * no window edge at which a client gets twice its allowance. All buckets of one call
 * are checked and charged atomically in Redis: a call refused by one bucket (say the
 * client's address) spends nothing from the others (its socket). Returns 0 when
 * allowed, else the 1-based index of the first bucket that refused.
 */
const TOKEN_BUCKETS = `
local windowMs = tonumber(ARGV[1])
local now = tonumber(ARGV[2])
local tokens = {}
local refused = 0
for i, key in ipairs(KEYS) do
  local capacity = tonumber(ARGV[i + 2])
  local state = redis.call('HMGET', key, 't', 'at')
  local t = tonumber(state[1]) or capacity
  local at = tonumber(state[2]) or now
  t = math.min(capacity, t + math.max(0, now - at) * capacity / windowMs)
  tokens[i] = t
  if refused == 0 and t < 1 then refused = i end
end
for i, key in ipairs(KEYS) do
  local t = tokens[i]
  if refused == 0 then t = t - 1 end
  redis.call('HSET', key, 't', t, 'at', now)
  redis.call('PEXPIRE', key, windowMs * 2)
end
return refused
`;

/**
 * Limits shared by every replica (Redis), so a client cannot multiply its
 * allowance by reconnecting to another replica. One round trip per check.
 */
@Injectable()
export class RateLimiter {
  constructor(
    @Inject(REDIS) private readonly redis: Redis,
    @Inject(CONFIG) private readonly config: Config,
  ) {}

  /** True when the call is within `limit` per CHAT_RATE_WINDOW_SECONDS for `key`. */
  async allow(key: string, limit: number): Promise<boolean> {
    return (await this.check([{ key, limit }])) === 0;
  }

  /**
   * One call against several limits at once (e.g. per socket and per address): 0 when every
   * bucket has room (each is charged), else the 1-based index of the first that refused
   * (none is charged).
   */
  async check(limits: { key: string; limit: number }[]): Promise<number> {
    // QUEUE_PREFIX is hash-tagged ({oq}), so these keys share a Redis Cluster slot.
    const keys = limits.map((l) => `${this.config.QUEUE_PREFIX}:chat:rl:${l.key}`);
    const refused = await this.redis.eval(
      TOKEN_BUCKETS,
      keys.length,
      ...keys,
      this.config.CHAT_RATE_WINDOW_SECONDS * 1000,
      Date.now(),
      ...limits.map((l) => l.limit),
    );
    return Number(refused);
  }
}
