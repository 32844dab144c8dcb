import { Redis } from 'ioredis';

/*
 * Scripts over every name of one lease (KEYS): its name and, for one release after a rename, its
 * old names, so a replica of the previous release (which knows only the old name) and one of this
 * release never both hold it during a rolling deploy. ARGV[1] owner, ARGV[2] ttl ms.
 */
// Acquire: all names free → all set to us; any taken → nothing.
const ACQUIRE = `
for _, key in ipairs(KEYS) do if redis.call('exists', key) == 1 then return 0 end end
for _, key in ipairs(KEYS) do redis.call('set', key, ARGV[1], 'PX', ARGV[2]) end
return 1
`;
// Extend or delete only while we still hold every name: a holder whose lease expired (a long
// GC pause, a network split) must not renew or drop the new holder's.
const EXTEND = `
for _, key in ipairs(KEYS) do if redis.call('get', key) ~= ARGV[1] then return 0 end end
for _, key in ipairs(KEYS) do redis.call('pexpire', key, ARGV[2]) end
return 1
`;
const RELEASE = `
for _, key in ipairs(KEYS) do if redis.call('get', key) == ARGV[1] then redis.call('del', key) end end
return 1
`;

type LeaseRedis = Redis & {
  oqLeaseAcquire(...args: (string | number)[]): Promise<number>;
  oqLeaseExtend(...args: (string | number)[]): Promise<number>;
  oqLeaseRelease(...args: (string | number)[]): Promise<number>;
};

function withScripts(redis: Redis): LeaseRedis {
  const r = redis as LeaseRedis;
  if (typeof r.oqLeaseAcquire !== 'function') {
    redis.defineCommand('oqLeaseAcquire', { lua: ACQUIRE });
    redis.defineCommand('oqLeaseExtend', { lua: EXTEND });
    redis.defineCommand('oqLeaseRelease', { lua: RELEASE });
  }
  return r;
}

export interface LeaseName {
  key: string;
  /** Names the previous release used for the same lease, held together with `key` for one release. */
  legacyKeys?: string[];
}

/**
 * THE Redis lock of OneQueue: at most one holder per lease across all replicas (the IMAP
 * mailbox lease, the SLA reconciler's turn). Acquired with set-if-free, renewed every third of
 * the TTL by compare-and-extend. When renewal fails (lost to another holder, or Redis
 * unreachable until the TTL is past) `onLost` fires and the holder must stop acting at once.
 */
export class RedisLease {
  private readonly redis: LeaseRedis;
  private readonly keys: string[];
  private timer?: NodeJS.Timeout;
  private held = false;
  private expiresAt = 0;

  constructor(
    redis: Redis,
    name: LeaseName,
    private readonly owner: string,
    private readonly ttlMs: number,
    private readonly onLost: (reason: string) => void,
  ) {
    this.redis = withScripts(redis);
    this.keys = [name.key, ...(name.legacyKeys ?? [])];
  }

  get key(): string {
    return this.keys[0];
  }

  get isHeld(): boolean {
    return this.held;
  }

  /**
   * One turn, not held: true for at most one caller per `ttlMs` across replicas, never renewed
   * nor released (e.g. "one replica reconciles per interval").
   */
  static async claimTurn(redis: Redis, name: LeaseName, owner: string, ttlMs: number): Promise<boolean> {
    const keys = [name.key, ...(name.legacyKeys ?? [])];
    return (await withScripts(redis).oqLeaseAcquire(keys.length, ...keys, owner, ttlMs)) === 1;
  }

  async acquire(): Promise<boolean> {
    const ok = await this.redis.oqLeaseAcquire(this.keys.length, ...this.keys, this.owner, this.ttlMs);
    if (ok !== 1) return false;
    this.held = true;
    this.expiresAt = Date.now() + this.ttlMs;
    this.timer = setInterval(() => void this.renew(), Math.max(200, Math.floor(this.ttlMs / 3)));
    return true;
  }

  private async renew() {
    if (!this.held) return;
    const startedAt = Date.now();
    try {
      const extended = await this.redis.oqLeaseExtend(this.keys.length, ...this.keys, this.owner, this.ttlMs);
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
    await this.redis.oqLeaseRelease(this.keys.length, ...this.keys, this.owner).catch(() => undefined);
  }
}
