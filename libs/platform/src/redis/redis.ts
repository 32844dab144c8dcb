import { Redis, RedisOptions } from 'ioredis';
import { Logger } from 'pino';

/**
 * Connections for BullMQ must not give up on a command while Redis restarts
 * (maxRetriesPerRequest: null); the health probe uses its own connection that
 * fails fast instead, so /health answers 503 rather than hanging.
 */
/** Connections opened and not yet closed, so a boot that fails halfway can close what it opened. */
export const openRedisConnections = new Set<Redis>();

export function createRedis(url: string, name: string, overrides: RedisOptions = {}): Redis {
  const redis = new Redis(url, {
    connectionName: name,
    maxRetriesPerRequest: null,
    enableReadyCheck: true,
    retryStrategy: (times) => Math.min(200 * times, 2000),
    ...overrides,
  });
  openRedisConnections.add(redis);
  redis.once('end', () => openRedisConnections.delete(redis));
  return redis;
}

export function createProbeRedis(url: string, name: string): Redis {
  return createRedis(url, `${name}-probe`, {
    maxRetriesPerRequest: 0,
    enableOfflineQueue: false,
    connectTimeout: 1000,
    lazyConnect: false,
  });
}

/** The one command that makes a running Redis what OneQueue needs (and keeps it so across restarts). */
export const REDIS_DURABILITY_FIX =
  'redis-cli CONFIG SET appendonly yes && redis-cli CONFIG SET maxmemory-policy noeviction && redis-cli CONFIG REWRITE';

/**
 * Marks that a process of this stack said it already; the first to boot within the hour (or
 * `npm start`'s stack-up) warns, the others log at debug — six services used to print it six times.
 */
export const REDIS_DURABILITY_WARNED_KEY = 'oq:redis-durability-warned';

/**
 * Acknowledged webhooks and queued messages live in Redis: it must persist (AOF)
 * and must never evict keys. Not fatal — a dev Redis may be ephemeral — but loud, once.
 */
export async function checkRedisDurability(redis: Redis, logger: Logger): Promise<string[]> {
  const problems: string[] = [];
  try {
    const policy = (await redis.config('GET', 'maxmemory-policy')) as string[];
    if (policy[1] !== 'noeviction') problems.push(`maxmemory-policy is ${policy[1]}, must be noeviction`);
    const aof = (await redis.config('GET', 'appendonly')) as string[];
    if (aof[1] !== 'yes') problems.push('appendonly is off: acknowledged webhooks would not survive a Redis crash');
  } catch (err) {
    problems.push(`could not read Redis config (${(err as Error).message})`);
  }
  if (!problems.length) return problems;
  const first = await redis.set(REDIS_DURABILITY_WARNED_KEY, '1', 'EX', 3600, 'NX').catch(() => 'OK');
  const message = `REDIS DURABILITY WARNING: ${problems.join('; ')}. Fix: ${REDIS_DURABILITY_FIX}`;
  if (first === 'OK') logger.warn({ redis: true }, message);
  else logger.debug({ redis: true }, message);
  return problems;
}
