import { Queue } from 'bullmq';
import { Redis } from 'ioredis';

// Registers the job (oldest createdAt first) and answers the current head in one round trip.
const ENTER = `
redis.call('zadd', KEYS[1], 'NX', ARGV[2], ARGV[1])
redis.call('pexpire', KEYS[1], ARGV[3])
local head = redis.call('zrange', KEYS[1], 0, 0)
return head[1]`;

/**
 * Replies of one ticket leave in the order they were written: a job whose
 * older sibling is still pending defers itself (DelayedError, no attempt spent).
 * A sorted set per ticket holds the pending job ids scored by creation time;
 * a head whose job no longer exists (removed by hand, expired) is dropped.
 */
export class ConversationOrder {
  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
    private readonly queue: Queue,
  ) {}

  private key(ticketId: string) {
    return `${this.prefix}email-order:${ticketId}`;
  }

  /** True when this job may go now; false when an older reply of the ticket must go first. */
  async mayProceed(ticketId: string, jobId: string, createdAtMs: number): Promise<boolean> {
    const key = this.key(ticketId);
    for (let i = 0; i < 10; i++) {
      const head = (await this.redis.eval(ENTER, 1, key, jobId, String(createdAtMs), String(7 * 24 * 3600_000))) as
        string | null;
      if (!head || head === jobId) return true;
      const job = await this.queue.getJob(head);
      const state = job ? await job.getState() : 'unknown';
      if (state === 'completed' || state === 'failed' || state === 'unknown') {
        await this.redis.zrem(key, head);
        continue;
      }
      return false;
    }
    return false;
  }

  async done(ticketId: string, jobId: string): Promise<void> {
    await this.redis.zrem(this.key(ticketId), jobId);
  }
}
