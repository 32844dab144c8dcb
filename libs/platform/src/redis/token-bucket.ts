import { Redis } from 'ioredis';

/**
 * THE token bucket of OneQueue (chat's message limits, outbound sends per inbox): `capacity`
 * tokens, refilled continuously at `perSecond`, so there is no window edge at which a client
 * gets twice its allowance. State lives in Redis (shared by every replica) and time is Redis's
 * own (TIME), so replicas' clocks never disagree about a refill.
 *
 * One take checks and charges several buckets atomically (e.g. a chat socket and its address):
 * when any bucket lacks the cost, none is charged. A pause key, when it holds a time in the
 * future, makes every take wait until then (a provider's 429 Retry-After).
 *
 * KEYS[1] pause key, KEYS[2..] bucket hashes. ARGV[1] cost, then per bucket capacity, perSecond.
 * Returns {0, 0} when taken, else {i, ms}: the 1-based bucket (0 for the pause) that refused
 * and the ms until it could serve the cost.
 */
const TAKE = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local pausedUntil = tonumber(redis.call('GET', KEYS[1]) or '0')
if pausedUntil > now then return {0, pausedUntil - now} end
local cost = tonumber(ARGV[1])
local tokens = {}
local stamps = {}
for i = 2, #KEYS do
  local capacity = tonumber(ARGV[2 * i - 2])
  local rate = tonumber(ARGV[2 * i - 1])
  local b = redis.call('HMGET', KEYS[i], 'tokens', 'ts')
  local tk = tonumber(b[1]) or capacity
  local ts = tonumber(b[2]) or now
  if now > ts then tk = math.min(capacity, tk + (now - ts) * rate / 1000) end
  if tk < cost then return {i - 1, math.ceil((cost - tk) * 1000 / rate)} end
  tokens[i] = tk
  stamps[i] = math.max(now, ts)
end
for i = 2, #KEYS do
  local capacity = tonumber(ARGV[2 * i - 2])
  local rate = tonumber(ARGV[2 * i - 1])
  redis.call('HSET', KEYS[i], 'tokens', tostring(tokens[i] - cost), 'ts', tostring(stamps[i]))
  redis.call('PEXPIRE', KEYS[i], math.ceil(capacity * 1000 / rate) + 60000)
end
return {0, 0}
`;

/** KEYS[1] pause key. ARGV[1] ms. Extends (never shortens) the pause. */
const PAUSE = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local untilMs = now + tonumber(ARGV[1])
local current = tonumber(redis.call('GET', KEYS[1]) or '0')
if untilMs > current then redis.call('SET', KEYS[1], tostring(untilMs), 'PX', tonumber(ARGV[1]) + 1000) end
return untilMs
`;

export interface Bucket {
  key: string;
  capacity: number;
  perSecond: number;
}

/** Taken, or which bucket refused (1-based, in the order given; 0 = paused) and for how long. */
export type TakeResult = { ok: true } | { ok: false; refused: number; waitMs: number };

type BucketRedis = Redis & {
  oqBucketTake(...args: (string | number)[]): Promise<[number, number]>;
  oqBucketPause(pause: string, ms: number): Promise<number>;
};

export class TokenBuckets {
  private readonly redis: BucketRedis;

  constructor(redis: Redis) {
    const r = redis as BucketRedis;
    // EVALSHA with EVAL fallback after a script flush; defined once per connection.
    if (typeof r.oqBucketTake !== 'function') {
      redis.defineCommand('oqBucketTake', { lua: TAKE });
      redis.defineCommand('oqBucketPause', { numberOfKeys: 1, lua: PAUSE });
    }
    this.redis = r;
  }

  /**
   * Takes `cost` from every bucket, or from none. `pauseKey` (any key; one never set means no
   * pause) must share the buckets' hash tag. Every key must carry the deployment's hash tag.
   */
  async take(pauseKey: string, buckets: readonly Bucket[], cost = 1): Promise<TakeResult> {
    if (!buckets.length) throw new Error('a take needs at least one bucket');
    for (const b of buckets)
      if (!(b.perSecond > 0) || !(b.capacity >= cost)) throw new Error(`invalid token bucket for ${b.key}`);
    const keys = [pauseKey, ...buckets.map((b) => b.key)];
    const [refused, waitMs] = await this.redis.oqBucketTake(
      keys.length,
      ...keys,
      cost,
      ...buckets.flatMap((b) => [b.capacity, b.perSecond]),
    );
    if (refused === 0 && waitMs === 0) return { ok: true };
    return { ok: false, refused: Number(refused), waitMs: Math.max(1, Number(waitMs)) };
  }

  /** Pauses every take that names `pauseKey` for `ms` (extends, never shortens, a pause). */
  async pause(pauseKey: string, ms: number): Promise<void> {
    await this.redis.oqBucketPause(pauseKey, Math.max(1, Math.ceil(ms)));
  }
}
