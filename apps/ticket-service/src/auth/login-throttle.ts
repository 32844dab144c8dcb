import { createHash } from 'node:crypto';
import { HttpException, HttpStatus, Inject, Injectable } from '@nestjs/common';
import { CONFIG, REDIS } from '@oq/platform';
import { Redis } from 'ioredis';
import { Config } from '../config';

/**
 * Password guessing brake: failed logins are counted per (email, client address) in
 * Redis, so every replica shares the count; over the limit the endpoint answers 429
 * before doing any password work. Keyed on the pair, not the email alone, so a stranger
 * cannot lock a colleague out from elsewhere. A success clears the count.
 */
@Injectable()
export class LoginThrottle {
  constructor(
    @Inject(REDIS) private readonly redis: Redis,
    @Inject(CONFIG) private readonly config: Config,
  ) {}

  private key(email: string, ip: string) {
    // Hashed: keys show up in Redis tooling, emails need not.
    const id = createHash('sha256').update(`${email.toLowerCase()}|${ip}`).digest('hex').slice(0, 32);
    return `${this.config.QUEUE_PREFIX}login-failures:${id}`;
  }

  async assertAllowed(email: string, ip: string): Promise<void> {
    const key = this.key(email, ip);
    const [failures, ttl] = await Promise.all([this.redis.get(key), this.redis.ttl(key)]);
    if (Number(failures ?? 0) >= this.config.LOGIN_MAX_FAILURES) {
      throw new HttpException(
        {
          statusCode: 429,
          error: 'Too Many Requests',
          message: 'too many failed logins; try again later',
          retryAfterSeconds: Math.max(ttl, 1),
        },
        HttpStatus.TOO_MANY_REQUESTS,
      );
    }
  }

  async failed(email: string, ip: string): Promise<void> {
    const key = this.key(email, ip);
    // The window starts at the first failure and is not extended by later ones.
    await this.redis.multi().incr(key).expire(key, this.config.LOGIN_LOCKOUT_SECONDS, 'NX').exec();
  }

  async succeeded(email: string, ip: string): Promise<void> {
    await this.redis.del(this.key(email, ip));
  }
}
