import { createHash } from 'node:crypto';
import { HttpException, HttpStatus, Inject, Injectable } from '@nestjs/common';
import { redisKey } from '@oq/contracts';
import { CONFIG, REDIS } from '@oq/platform';
import { Redis } from 'ioredis';
import { Config } from '../config';

/** A refusal that tells the client when to come back; the controller copies it into `Retry-After`. */
export class RetryLaterException extends HttpException {
  constructor(
    status: HttpStatus.TOO_MANY_REQUESTS | HttpStatus.SERVICE_UNAVAILABLE,
    message: string,
    readonly retryAfterSeconds: number,
  ) {
    super(
      {
        statusCode: status,
        error: status === HttpStatus.TOO_MANY_REQUESTS ? 'Too Many Requests' : 'Service Unavailable',
        message,
        retryAfterSeconds,
      },
      status,
    );
  }
}

/*
 * KEYS[1] per (email, address), KEYS[2] per address — and, for one release, KEYS[3] / KEYS[4]
 * the same counters under their names before the Redis key convention (`{oq}login-failures:…`),
 * which the previous release's replicas still count in during a rolling deploy: a budget is the
 * sum of both names, new attempts count under the new name. The old names expire within
 * LOGIN_LOCKOUT_SECONDS of the last old replica stopping; the release after drops them.
 */

/**
 * Checks the budgets and takes one attempt from each in one step, so parallel requests cannot
 * all read the same count. ARGV = max per pair, max per address, window seconds.
 * Returns {0} when taken, {1, ttl} when the pair is over, {2, ttl} when the address is.
 */
const RESERVE = `
local function count(a, b) return tonumber(redis.call('GET', a) or '0') + tonumber(redis.call('GET', b) or '0') end
local function ttl(a, b) return math.max(redis.call('TTL', a), redis.call('TTL', b)) end
if count(KEYS[1], KEYS[3]) >= tonumber(ARGV[1]) then return {1, ttl(KEYS[1], KEYS[3])} end
if count(KEYS[2], KEYS[4]) >= tonumber(ARGV[2]) then return {2, ttl(KEYS[2], KEYS[4])} end
redis.call('INCR', KEYS[1])
redis.call('EXPIRE', KEYS[1], ARGV[3], 'NX')
redis.call('INCR', KEYS[2])
redis.call('EXPIRE', KEYS[2], ARGV[3], 'NX')
return {0}
`;

/** Gives back one attempt on each budget (never below zero; an expired key stays gone). */
const REFUND = `
local function refund(a, b)
  if tonumber(redis.call('GET', a) or '0') > 0 then redis.call('DECR', a)
  elseif tonumber(redis.call('GET', b) or '0') > 0 then redis.call('DECR', b) end
end
refund(KEYS[1], KEYS[3])
refund(KEYS[2], KEYS[4])
return 0
`;

/** Success: the pair's count is cleared, the address gets this one attempt back. */
const SUCCEED = `
redis.call('DEL', KEYS[1], KEYS[3])
if tonumber(redis.call('GET', KEYS[2]) or '0') > 0 then redis.call('DECR', KEYS[2])
elseif tonumber(redis.call('GET', KEYS[4]) or '0') > 0 then redis.call('DECR', KEYS[4]) end
return 0
`;

type Keys = [pair: string, addr: string, legacyPair: string, legacyAddr: string];

type ThrottleRedis = Redis & {
  oqLoginReserve(...args: [...Keys, maxPair: number, maxAddr: number, window: number]): Promise<number[]>;
  oqLoginRefund(...keys: Keys): Promise<number>;
  oqLoginSucceed(...keys: Keys): Promise<number>;
};

/**
 * Password guessing brake, shared by every replica through Redis. Each login first reserves
 * an attempt (atomically, in a Lua script) against two budgets, before any password work:
 *  - per (email, client address), LOGIN_MAX_FAILURES — keyed on the pair, not the email alone,
 *    so a stranger cannot lock a colleague out from elsewhere;
 *  - per client address across accounts, LOGIN_MAX_FAILURES_PER_ADDRESS (password spraying).
 * Over either budget the login answers 429 with Retry-After. A failed login keeps its
 * reservation (it is the failure count); a success clears the pair's count and refunds its
 * attempt to the address (it does not clear the address's other failures, else one known
 * account would reset a sprayer's budget); a login refused before checking the password
 * (no hashing slot) refunds both. The window starts at the first attempt and is not extended.
 */
@Injectable()
export class LoginThrottle {
  private readonly redis: ThrottleRedis;

  constructor(
    @Inject(REDIS) redis: Redis,
    @Inject(CONFIG) private readonly config: Config,
  ) {
    this.redis = redis as ThrottleRedis;
    // defineCommand is idempotent per name; EVALSHA with EVAL fallback after a script flush.
    redis.defineCommand('oqLoginReserve', { numberOfKeys: 4, lua: RESERVE });
    redis.defineCommand('oqLoginRefund', { numberOfKeys: 4, lua: REFUND });
    redis.defineCommand('oqLoginSucceed', { numberOfKeys: 4, lua: SUCCEED });
  }

  // Hashed: keys show up in Redis tooling, emails and addresses need not.
  private keys(email: string, ip: string): Keys {
    const id = (s: string) => createHash('sha256').update(s).digest('hex').slice(0, 32);
    const prefix = this.config.QUEUE_PREFIX; // a hash tag: all keys live in one cluster slot
    const pair = id(`${email.toLowerCase()}|${ip}`);
    const addr = id(ip);
    return [
      redisKey(prefix, 'auth', 'login-failures', pair),
      redisKey(prefix, 'auth', 'login-address', addr),
      `${prefix}login-failures:${pair}`,
      `${prefix}login-address:${addr}`,
    ];
  }

  /** Takes one attempt from both budgets or throws 429 (Retry-After = the blocking window's rest). */
  async reserve(email: string, ip: string): Promise<void> {
    const [verdict, ttl] = await this.redis.oqLoginReserve(
      ...this.keys(email, ip),
      this.config.LOGIN_MAX_FAILURES,
      this.config.LOGIN_MAX_FAILURES_PER_ADDRESS,
      this.config.LOGIN_LOCKOUT_SECONDS,
    );
    if (verdict === 0) return;
    throw new RetryLaterException(
      HttpStatus.TOO_MANY_REQUESTS,
      verdict === 1
        ? 'too many failed logins; try again later'
        : 'too many failed logins from this address; try again later',
      Math.max(ttl ?? 0, 1),
    );
  }

  /** The reserved attempt was not used to check a password (e.g. no hashing slot): give it back. */
  async refund(email: string, ip: string): Promise<void> {
    await this.redis.oqLoginRefund(...this.keys(email, ip));
  }

  async succeeded(email: string, ip: string): Promise<void> {
    await this.redis.oqLoginSucceed(...this.keys(email, ip));
  }
}
