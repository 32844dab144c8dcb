import { Inject, Injectable } from '@nestjs/common';
import { redisKey } from '@oq/contracts';
import { CONFIG, REDIS, TokenBuckets } from '@oq/platform';
import { Redis } from 'ioredis';
import { Config } from '../config';

/**
 * Limits shared by every replica (Redis), so a client cannot multiply its
 * allowance by reconnecting to another replica. One round trip per check.
 */
@Injectable()
export class RateLimiter {
  private readonly buckets: TokenBuckets;

  constructor(
    @Inject(REDIS) redis: Redis,
    @Inject(CONFIG) private readonly config: Config,
  ) {
    this.buckets = new TokenBuckets(redis);
  }

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
    // `limit` per window, refilled continuously; QUEUE_PREFIX is hash-tagged ({oq}), so these keys
    // share a Redis Cluster slot. Chat has no pause: its pause key is never set.
    const prefix = this.config.QUEUE_PREFIX;
    const window = this.config.CHAT_RATE_WINDOW_SECONDS;
    const result = await this.buckets.take(
      redisKey(prefix, 'chat', 'rl-pause'),
      limits.map((l) => ({
        key: redisKey(prefix, 'chat', 'rl', l.key),
        capacity: l.limit,
        perSecond: l.limit / window,
      })),
    );
    return result.ok ? 0 : result.refused;
  }
}
