import { Redis } from 'ioredis';

// Extend or delete only while we still hold the key: a holder whose lease
// expired (a long GC pause, a network split) must not renew or drop the new holder's.
const EXTEND = `if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('pexpire', KEYS[1], ARGV[2]) else return 0 end`;
const RELEASE = `if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) else return 0 end`;

/**
 * A Redis lease: at most one holder per key across all replicas. Acquired with
 * SET NX PX, renewed every third of the TTL by compare-and-extend. When renewal
 * fails (lost to another holder, or Redis unreachable until the TTL is past)
 * `onLost` fires and the holder must stop acting at once.
 */
export class RedisLease {
  private timer?: NodeJS.Timeout;
  private held = false;
  private expiresAt = 0;

  constructor(
    private readonly redis: Redis,
    readonly key: string,
    private readonly owner: string,
    private readonly ttlMs: number,
    private readonly onLost: (reason: string) => void,
  ) {}

  get isHeld(): boolean {
    return this.held;
  }

  async acquire(): Promise<boolean> {
    const ok = await this.redis.set(this.key, this.owner, 'PX', this.ttlMs, 'NX');
    if (ok !== 'OK') return false;
    this.held = true;
    this.expiresAt = Date.now() + this.ttlMs;
    this.timer = setInterval(() => void this.renew(), Math.max(200, Math.floor(this.ttlMs / 3)));
    return true;
  }

  private async renew() {
    if (!this.held) return;
    const startedAt = Date.now();
    try {
      const extended = await this.redis.eval(EXTEND, 1, this.key, this.owner, String(this.ttlMs));
      if (extended === 1) {
        this.expiresAt = startedAt + this.ttlMs;
        return;
      }
      this.lose('lease taken over or expired');
    } catch (err) {
      // Keep acting only while the lease we last confirmed is still valid.
      if (Date.now() >= this.expiresAt) this.lose(`lease could not be renewed: ${(err as Error).message}`);
    }
  }

  private lose(reason: string) {
    if (!this.held) return;
    this.stopTimer();
    this.held = false;
    this.onLost(reason);
  }

  private stopTimer() {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  /** Gives the lease up so another replica takes over immediately rather than after the TTL. */
  async release(): Promise<void> {
    this.stopTimer();
    if (!this.held) return;
    this.held = false;
    await this.redis.eval(RELEASE, 1, this.key, this.owner).catch(() => undefined);
  }
}
