import { Inject, Injectable } from '@nestjs/common';
import { CONFIG, REDIS } from '@oq/platform';
import { Redis } from 'ioredis';
import { Config } from '../config';

/**
 * Token bucket: `limit` tokens per window, refilled continuously, so there is
 * no window edge at which a client gets twice its allowance. Atomic in Redis.
 */
const TOKEN_BUCKET = `
local key = KEYS[1]
local capacity = tonumber(ARGV[1])
local windowMs = tonumber(ARGV[2])
local now = tonumber(ARGV[3])
local state = redis.call('HMGET', key, 't', 'at')
local tokens = tonumber(state[1]) or capacity
local at = tonumber(state[2]) or now
tokens = math.min(capacity, tokens + (now - at) * capacity / windowMs)
local allowed = 0
if tokens >= 1 then
  tokens = tokens - 1
  allowed = 1
end
redis.call('HSET', key, 't', tokens, 'at', now)
redis.call('PEXPIRE', key, windowMs * 2)
return allowed
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
    const k = `${this.config.QUEUE_PREFIX}:chat:rl:${key}`;
    const allowed = await this.redis.eval(
      TOKEN_BUCKET,
      1,
      k,
      limit,
      this.config.CHAT_RATE_WINDOW_SECONDS * 1000,
      Date.now(),
    );
    return allowed === 1;
  }
}
