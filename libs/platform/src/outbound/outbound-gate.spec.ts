import { dropQueuePrefix, testQueuePrefix, TEST_REDIS_URL } from '@oq/database/testing/test-env';
import { Job, Queue, Worker } from 'bullmq';
import { Redis } from 'ioredis';
import {
  ConversationOrder,
  InboxRateLimiter,
  OutboundGate,
  ProviderRateLimitedError,
  parseRetryAfterMs,
} from './outbound-gate';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until(check: () => boolean | Promise<boolean>, timeoutMs = 8000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > end) throw new Error('timed out waiting');
    await sleep(20);
  }
}

describe('outbound toolkit (real Redis)', () => {
  const prefix = testQueuePrefix();
  let redis: Redis;
  beforeAll(() => {
    redis = new Redis(TEST_REDIS_URL, { maxRetriesPerRequest: null });
  });
  afterAll(async () => {
    redis.disconnect();
    await dropQueuePrefix(prefix);
  });

  describe('InboxRateLimiter', () => {
    it('lets a burst through, then answers the wait until the next token', async () => {
      const limiter = new InboxRateLimiter(redis, prefix);
      const limit = { perSecond: 2, burst: 3 };
      expect([await limiter.take('a', limit), await limiter.take('a', limit), await limiter.take('a', limit)]).toEqual([
        0, 0, 0,
      ]);
      const wait = await limiter.take('a', limit);
      // 2/s: the next token is at most 500 ms away (less if the machine was slow between takes).
      expect(wait).toBeGreaterThan(0);
      expect(wait).toBeLessThanOrEqual(500);
      // Letting the bucket's clock (Redis TIME) run for the answered wait is the scenario, not a wait
      // for something to happen: the answer is right if a token is there once that time has passed.
      await sleep(wait + 5);
      expect(await limiter.take('a', limit)).toBe(0);
    });

    it('is atomic under concurrent takes from several connections', async () => {
      const others = [1, 2, 3].map(() => new Redis(TEST_REDIS_URL));
      try {
        const limiters = [redis, ...others].map((r) => new InboxRateLimiter(r, prefix));
        // One token per 1000 s: however long the 60 takes are spread over (a loaded machine, four
        // connections), no token is refilled among them, so exactly the burst is granted.
        const limit = { perSecond: 0.001, burst: 10 };
        const results = await Promise.all(Array.from({ length: 60 }, (_, i) => limiters[i % 4].take('b', limit)));
        expect(results.filter((w) => w === 0)).toHaveLength(10);
        // The others are told to wait for the next token: more than nothing, at most one token's time.
        expect(results.filter((w) => w !== 0).every((w) => w > 0 && w <= 1_000_000)).toBe(true);
      } finally {
        others.forEach((r) => r.disconnect());
      }
    });

    it('pauses one inbox only, never shortening a pause', async () => {
      const limiter = new InboxRateLimiter(redis, prefix);
      const limit = { perSecond: 100, burst: 100 };
      await limiter.pause('c', 800);
      await limiter.pause('c', 100);
      const wait = await limiter.take('c', limit);
      expect(wait).toBeGreaterThan(600);
      expect(wait).toBeLessThanOrEqual(800);
      expect(await limiter.pausedFor('c')).toBeGreaterThan(600);
      expect(await limiter.take('d', limit)).toBe(0);
      expect(await limiter.pausedFor('d')).toBe(0);
    });
  });

  it('parses Retry-After as seconds or HTTP date', () => {
    const now = Date.parse('2026-11-25T10:00:00Z');
    expect(parseRetryAfterMs('2', 1000, now)).toBe(2000);
    expect(parseRetryAfterMs('Wed, 25 Nov 2026 10:00:05 GMT', 1000, now)).toBe(5000);
    expect(parseRetryAfterMs(undefined, 1234, now)).toBe(1234);
    expect(parseRetryAfterMs('soon', 1234, now)).toBe(1234);
    expect(parseRetryAfterMs('999999', 1000, now)).toBe(3_600_000);
  });

  it('drops a head whose job no longer exists, so a lost job never blocks its conversation', async () => {
    const order = new ConversationOrder(redis, prefix);
    await redis.zadd(`${prefix}:outbound:order:conv-lost`, 1, 'ghost-job');
    const ahead = await order.enter('conv-lost', { id: 'live-job', queueName: 'q-lost' }, 2);
    expect(ahead).toBeNull();
    expect(await order.pending('conv-lost')).toEqual(['live-job']);
  });

  it('a job registered at enqueue time holds back a later one until it is gone', async () => {
    const order = new ConversationOrder(redis, prefix);
    const q = new Queue('q-reg', { connection: redis, prefix });
    try {
      const old = await q.add('send', {}, { jobId: 'reg-old' });
      await order.register('conv-reg', old.id!, 1);
      expect(await order.enter('conv-reg', { id: 'reg-new', queueName: 'q-reg' }, 2)).toBe('reg-old');
      await old.remove();
      expect(await order.enter('conv-reg', { id: 'reg-new', queueName: 'q-reg' }, 2)).toBeNull();
    } finally {
      await q.close();
    }
  });

  describe('OutboundGate in a BullMQ worker', () => {
    let queue: Queue;
    let worker: Worker | undefined;
    const sent: string[] = [];
    const queueName = 'gate-test';

    beforeAll(() => {
      queue = new Queue(queueName, { connection: redis, prefix });
    });
    afterEach(async () => {
      await worker?.close();
      worker = undefined;
    });
    afterAll(() => queue.close());

    function startWorker(behaviour: (job: Job) => Promise<void>, tuning = { orderRetryMs: 50 }) {
      const gate = new OutboundGate(redis, prefix, tuning);
      worker = new Worker(
        queueName,
        (job) =>
          gate.run(
            job,
            {
              inboxId: job.data.inboxId,
              conversationKey: job.data.conversation,
              createdAt: job.data.createdAt,
              rate: { perSecond: 1000, burst: 1000 },
            },
            async () => {
              await behaviour(job);
              sent.push(job.data.label);
              return job.data.label;
            },
          ),
        { connection: redis, prefix, concurrency: 5 },
      );
      return gate;
    }

    it('sends the replies of one conversation in order while an older one retries', async () => {
      sent.length = 0;
      let failures = 0;
      const gate = startWorker(async (job) => {
        if (job.data.label === 'm1' && failures < 2) {
          failures++;
          throw new Error('provider 503');
        }
      });
      const base = Date.now();
      const add = (label: string, i: number, conversation = 'conv-1') =>
        queue.add(
          'send',
          { label, inboxId: 'inbox-1', conversation, createdAt: new Date(base + i).toISOString() },
          { jobId: `order-${label}`, attempts: 5, backoff: { type: 'fixed', delay: 150 } },
        );
      await add('m1', 1);
      await until(async () => (await gate.order.pending('conv-1')).includes('order-m1'));
      await Promise.all(['m2', 'm3', 'm4'].map((l, i) => add(l, i + 2)));
      await add('other', 9, 'conv-2');
      await until(() => sent.length === 5);
      expect(sent.filter((l) => l !== 'other')).toEqual(['m1', 'm2', 'm3', 'm4']);
      // The other conversation did not wait for m1's retries.
      expect(sent.indexOf('other')).toBeLessThan(sent.indexOf('m1'));
      expect(await gate.order.pending('conv-1')).toEqual([]);
      // attemptsMade counts the completing run too: m1 failed twice, then succeeded; the deferrals of m2 cost nothing.
      await until(async () =>
        (await Promise.all(['m1', 'm2'].map((l) => queue.getJobState(`order-${l}`)))).every((st) => st === 'completed'),
      );
      expect((await queue.getJob('order-m1'))!.attemptsMade).toBe(3);
      expect((await queue.getJob('order-m2'))!.attemptsMade).toBe(1);
    });

    it('on a provider 429 waits Retry-After for that inbox only, spending no attempt', async () => {
      sent.length = 0;
      let throttled = false;
      const startedAt = Date.now();
      const gate = startWorker(async (job) => {
        if (job.data.inboxId === 'inbox-429' && !throttled) {
          throttled = true;
          throw new ProviderRateLimitedError(parseRetryAfterMs('2'));
        }
      });
      await queue.add(
        'send',
        { label: 'slow', inboxId: 'inbox-429', conversation: 'c429', createdAt: new Date().toISOString() },
        { jobId: 'rl-slow', attempts: 1 },
      );
      await until(() => throttled);
      await queue.add(
        'send',
        { label: 'fast', inboxId: 'inbox-free', conversation: 'cfree', createdAt: new Date().toISOString() },
        { jobId: 'rl-fast', attempts: 1 },
      );
      await until(() => sent.length === 2);
      expect(sent).toEqual(['fast', 'slow']);
      expect(Date.now() - startedAt).toBeGreaterThanOrEqual(2000);
      await until(async () => (await queue.getJobState('rl-slow')) === 'completed');
      const slow = (await queue.getJob('rl-slow'))!;
      // attempts: 1 — had the 429 spent it, the job would have failed for good; the completing run counts 1.
      expect(slow.attemptsMade).toBe(1);
      expect(await gate.limiter.pausedFor('inbox-free')).toBe(0);
    });

    it('leaves the conversation on final failure so the next reply goes', async () => {
      sent.length = 0;
      const gate = startWorker(async (job) => {
        if (job.data.label === 'doomed') throw new Error('permanent');
      });
      const base = Date.now();
      await queue.add(
        'send',
        { label: 'doomed', inboxId: 'i', conversation: 'conv-f', createdAt: new Date(base).toISOString() },
        { jobId: 'fail-doomed', attempts: 2, backoff: { type: 'fixed', delay: 50 } },
      );
      await until(async () => (await gate.order.pending('conv-f')).includes('fail-doomed'));
      await queue.add(
        'send',
        { label: 'next', inboxId: 'i', conversation: 'conv-f', createdAt: new Date(base + 1).toISOString() },
        { jobId: 'fail-next', attempts: 1 },
      );
      await until(() => sent.includes('next'));
      await until(async () => (await queue.getJobState('fail-doomed')) === 'failed');
      expect(await gate.order.pending('conv-f')).toEqual([]);
    });
  });
});
