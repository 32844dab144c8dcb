import { JobName, QueueName, redisKey } from '@oq/contracts';
import { DelayedError, Job, UnrecoverableError } from 'bullmq';
import { Redis } from 'ioredis';
import { QueueService } from '../queue/queue.module';
import { TokenBuckets } from '../redis/token-bucket';

/**
 * Shared outbound toolkit for the channel services' delivery workers
 * (outbound.email, outbound.social, outbound.chat).
 *
 * Two things every sender needs and BullMQ's free edition does not give per group:
 *
 * 1. A token bucket per inbox (`InboxRateLimiter`). One atomic Lua script per
 *    take: refills by elapsed Redis time, takes one token or answers how many ms
 *    to wait. A provider 429 pauses only that inbox (`pause(inboxId, ms)`, from
 *    Retry-After); while paused every take answers the remaining pause.
 *
 * 2. Per-conversation ordering (`ConversationOrder`). Each pending job of a
 *    conversation sits in a Redis sorted set scored by its createdAt; only the
 *    head may send, the others defer themselves (~200 ms) and try again. Entries
 *    leave on success and on final failure. A head whose BullMQ job no longer
 *    exists or has finished (crash between send and cleanup, job removed by an
 *    admin) is dropped by the next job that finds it in the way, so a lost job
 *    never blocks its conversation.
 *    A job joins its conversation when a worker first picks it up. A reply that
 *    waits (backoff, rate limit) therefore holds back every later one; two replies
 *    picked up within the same few milliseconds by different workers are ordered by
 *    whichever reaches Redis first. A producer that wants strict order from the
 *    moment of enqueueing can call `order.register(...)` right after adding the job.
 *
 * `OutboundGate.run(job, opts, send)` combines both for a worker:
 *
 *   const gate = new OutboundGate(redis, queuePrefix);
 *   @JobHandler(JobName.OutboundMessage)
 *   async deliver(msg: OutboundMessage, job: Job) {
 *     return gate.run(job, {
 *         inboxId: msg.inboxId,
 *         conversationKey: `${msg.inboxId}|${msg.to.kind}|${msg.to.value}`,
 *         createdAt: msg.createdAt,
 *         rate: { perSecond: 20, burst: 40 },
 *       },
 *       async () => {
 *         const res = await provider.send(msg);
 *         if (res.status === 429) throw new ProviderRateLimitedError(parseRetryAfterMs(res.headers.get('retry-after')));
 *         …
 *       });
 *   }
 *
 * Deferring (not head, bucket empty, inbox paused, provider 429) moves the job
 * back to delayed with `job.moveToDelayed(ts, job.token)` and throws BullMQ's
 * DelayedError: the job keeps its attemptsMade, so waiting never spends a retry.
 * Any other error from `send` propagates unchanged (BullMQ retries with the job's
 * backoff); when it is the job's last attempt or an UnrecoverableError, the job
 * leaves its conversation first so the next reply is not blocked forever.
 *
 * Keys live under the queue prefix (a Redis Cluster hash tag such as `{oq}`), so
 * the scripts may also read BullMQ's job hashes of the same slot.
 */

export interface RateLimit {
  /** Sustained sends per second for one inbox. */
  perSecond: number;
  /** Bucket size: how many may go out at once after a quiet period. */
  burst: number;
}

/** Throw from `send` when the provider answered 429 (or an equivalent throttling error). */
export class ProviderRateLimitedError extends Error {
  constructor(
    /** How long the provider asked us to wait; the inbox pauses this long. */
    readonly retryAfterMs: number,
    message = `provider rate limit, retry after ${retryAfterMs} ms`,
  ) {
    super(message);
    this.name = 'ProviderRateLimitedError';
  }
}

/**
 * Retry-After is either delta-seconds or an HTTP date (RFC 9110 §10.2.3).
 * Missing or unparseable → the fallback; never negative, capped at an hour.
 */
export function parseRetryAfterMs(header: string | null | undefined, fallbackMs = 1000, now = Date.now()): number {
  if (!header) return fallbackMs;
  const trimmed = header.trim();
  let ms: number;
  if (/^\d+(\.\d+)?$/.test(trimmed)) ms = Math.ceil(Number(trimmed) * 1000);
  else {
    const at = Date.parse(trimmed);
    if (Number.isNaN(at)) return fallbackMs;
    ms = at - now;
  }
  return Math.min(Math.max(ms, 0), 3_600_000);
}

// KEYS[1] conversation zset. ARGV: member (job id), score (createdAt ms), job key prefix, ttl ms.
// Enters the member (keeping its first score) and returns the head that is in its
// way, or '' when the member is the head. Heads whose job hash is gone or finished are dropped.
const ENTER_SCRIPT = `
redis.call('ZADD', KEYS[1], 'NX', ARGV[2], ARGV[1])
redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[4]))
for i = 1, 20 do
  local head = redis.call('ZRANGE', KEYS[1], 0, 0)[1]
  if head == nil or head == ARGV[1] then return '' end
  local jobKey = ARGV[3] .. head
  if redis.call('EXISTS', jobKey) == 1 and redis.call('HEXISTS', jobKey, 'finishedOn') == 0 then return head end
  redis.call('ZREM', KEYS[1], head)
end
return redis.call('ZRANGE', KEYS[1], 0, 0)[1] or ''
`;

type ScriptRedis = Redis & {
  oqOutboundEnter(zset: string, member: string, score: number, jobKeyPrefix: string, ttlMs: number): Promise<string>;
};

function withScripts(redis: Redis): ScriptRedis {
  const r = redis as ScriptRedis;
  if (typeof r.oqOutboundEnter !== 'function') {
    redis.defineCommand('oqOutboundEnter', { numberOfKeys: 1, lua: ENTER_SCRIPT });
  }
  return r;
}

/** Token bucket per inbox in Redis (libs/platform's TokenBuckets), shared by every replica of a channel service. */
export class InboxRateLimiter {
  private readonly buckets: TokenBuckets;

  constructor(
    private readonly redis: Redis,
    /** Queue prefix (hash tag) such as `{oq}`. */
    private readonly prefix: string,
  ) {
    this.buckets = new TokenBuckets(redis);
  }

  private pauseKey(inboxId: string): string {
    return redisKey(this.prefix, 'outbound', 'pause', inboxId);
  }

  /** Takes one token: 0 → go; n > 0 → wait n ms (no token taken). */
  async take(inboxId: string, limit: RateLimit, cost = 1): Promise<number> {
    if (!(limit.perSecond > 0) || !(limit.burst >= cost)) throw new Error(`invalid rate limit for inbox ${inboxId}`);
    const bucket = {
      key: redisKey(this.prefix, 'outbound', 'rate', inboxId),
      capacity: limit.burst,
      perSecond: limit.perSecond,
    };
    const r = await this.buckets.take(this.pauseKey(inboxId), [bucket], cost);
    return r.ok ? 0 : r.waitMs;
  }

  /** Pauses one inbox (a provider 429 with Retry-After); other inboxes are not affected. */
  async pause(inboxId: string, ms: number): Promise<void> {
    await this.buckets.pause(this.pauseKey(inboxId), ms);
  }

  /** Remaining pause of an inbox in ms (0 when not paused). */
  async pausedFor(inboxId: string): Promise<number> {
    const key = this.pauseKey(inboxId);
    const [[, until], [, time]] = (await this.redis.multi().get(key).time().exec()) as [
      [null, string | null],
      [null, [string, string]],
    ];
    const now = Number(time[0]) * 1000 + Math.floor(Number(time[1]) / 1000);
    return Math.max(0, Number(until ?? 0) - now);
  }
}

/** Keeps the replies of one conversation in createdAt order across workers and replicas. */
export class ConversationOrder {
  private readonly redis: ScriptRedis;

  constructor(
    redis: Redis,
    private readonly prefix: string,
    /** A conversation set expires when untouched this long (safety net; entries normally leave). */
    private readonly ttlMs = 7 * 24 * 3600 * 1000,
  ) {
    this.redis = withScripts(redis);
  }

  private key(conversationKey: string): string {
    return `${this.prefix}:outbound:order:${conversationKey}`;
  }

  /**
   * Registers the job (first call keeps its first position) and answers the id of
   * the older job still pending ahead of it, or null when this job may go.
   */
  async enter(
    conversationKey: string,
    job: Pick<Job, 'id' | 'queueName'>,
    createdAtMs: number,
  ): Promise<string | null> {
    if (!job.id) throw new Error('job without id');
    const head = await this.redis.oqOutboundEnter(
      this.key(conversationKey),
      job.id,
      createdAtMs,
      `${this.prefix}:${job.queueName}:`,
      this.ttlMs,
    );
    return head ? head : null;
  }

  /** Joins a job to its conversation at enqueue time (producer side), without checking the head. */
  async register(conversationKey: string, jobId: string, createdAtMs: number): Promise<void> {
    await this.redis
      .multi()
      .zadd(this.key(conversationKey), 'NX', createdAtMs, jobId)
      .pexpire(this.key(conversationKey), this.ttlMs)
      .exec();
  }

  /** Removes the job from its conversation (after success or final failure). */
  async leave(conversationKey: string, jobId: string): Promise<void> {
    await this.redis.zrem(this.key(conversationKey), jobId);
  }

  /** Job ids still pending in a conversation, oldest first. */
  async pending(conversationKey: string): Promise<string[]> {
    return this.redis.zrange(this.key(conversationKey), 0, -1);
  }
}

export interface GateOptions {
  inboxId: string;
  /** Our message id: with a RetryReporter, each retry is reported for it (attempts, error, next try). */
  messageId?: string;
  /** Identifies the conversation whose replies must stay in order (e.g. inbox|recipient). */
  conversationKey: string;
  /** When the reply was created (ISO string or ms); orders the conversation. */
  createdAt: string | number;
  rate: RateLimit;
}

export interface GateTuning {
  /** How long a job that is not at the head of its conversation waits before trying again. */
  orderRetryMs?: number;
  /** Added to rate-limit waits so that a burst of deferred jobs does not wake at the same instant. */
  jitterMs?: number;
}

/** What an agent is told while a reply waits for its next try. */
export interface RetryNotice {
  inboxId: string;
  messageId: string;
  /** Attempts made, this failed one included. */
  attempts: number;
  lastError: string;
  nextAttemptAt: Date;
}

export type RetryReporter = (notice: RetryNotice) => Promise<unknown>;

/** Rate limit + conversation order around one send; see the module comment. */
export class OutboundGate {
  readonly limiter: InboxRateLimiter;
  readonly order: ConversationOrder;
  private readonly orderRetryMs: number;
  private readonly jitterMs: number;

  /** `reportRetry`: called before BullMQ retries a failed send (not for waits, not for final failures). */
  constructor(
    redis: Redis,
    prefix: string,
    tuning: GateTuning = {},
    private readonly reportRetry?: RetryReporter,
  ) {
    this.limiter = new InboxRateLimiter(redis, prefix);
    this.order = new ConversationOrder(redis, prefix);
    this.orderRetryMs = tuning.orderRetryMs ?? 200;
    this.jitterMs = tuning.jitterMs ?? 50;
  }

  async run<T>(job: Job, opts: GateOptions, send: () => Promise<T>): Promise<T> {
    const createdAtMs = typeof opts.createdAt === 'number' ? opts.createdAt : Date.parse(opts.createdAt);
    if (Number.isNaN(createdAtMs)) throw new UnrecoverableError(`invalid createdAt ${String(opts.createdAt)}`);

    const ahead = await this.order.enter(opts.conversationKey, job, createdAtMs);
    if (ahead) await this.defer(job, this.orderRetryMs);

    const wait = await this.limiter.take(opts.inboxId, opts.rate);
    if (wait > 0) await this.defer(job, wait + Math.floor(Math.random() * this.jitterMs));

    let result: T;
    try {
      result = await send();
    } catch (err) {
      if (err instanceof ProviderRateLimitedError) {
        await this.limiter.pause(opts.inboxId, err.retryAfterMs);
        await this.defer(job, err.retryAfterMs + Math.floor(Math.random() * this.jitterMs));
      }
      if (err instanceof UnrecoverableError || isFinalAttempt(job))
        await this.order.leave(opts.conversationKey, job.id!);
      else if (this.reportRetry && opts.messageId)
        // Best effort: a lost notice must not turn a retryable failure into a different one.
        await this.reportRetry({
          inboxId: opts.inboxId,
          messageId: opts.messageId,
          attempts: job.attemptsMade + 1,
          lastError: describeSendError(err),
          nextAttemptAt: new Date(Date.now() + retryDelayMs(job)),
        }).catch(() => undefined);
      throw err;
    }
    await this.order.leave(opts.conversationKey, job.id!);
    return result;
  }

  /** Moves the active job back to delayed without spending an attempt; always throws DelayedError. */
  async defer(job: Job, ms: number): Promise<never> {
    await job.moveToDelayed(Date.now() + Math.max(1, Math.ceil(ms)), job.token);
    throw new DelayedError(`deferred ${Math.ceil(ms)} ms`);
  }
}

/**
 * The wait BullMQ applies before the next attempt, from the job's backoff (BullMQ's built-in
 * strategies: fixed `delay`, exponential `2^(attemptsMade - 1) · delay` with attemptsMade counted
 * after this failure).
 */
export function retryDelayMs(job: Pick<Job, 'attemptsMade' | 'opts'>): number {
  const backoff = job.opts.backoff;
  if (typeof backoff === 'number') return backoff;
  if (!backoff) return 0;
  const delay = backoff.delay ?? 0;
  return backoff.type === 'exponential' ? Math.round(2 ** job.attemptsMade * delay) : delay;
}

/** The provider's or the network's own words: an SMTP reply line, a Graph API error, ECONNREFUSED … */
export function describeSendError(err: unknown): string {
  const e = err as {
    response?: unknown;
    message?: unknown;
    code?: unknown;
    cause?: { code?: unknown; message?: unknown };
  };
  const words = typeof e?.response === 'string' && e.response ? e.response : String(e?.message ?? err);
  const cause = e?.cause && (e.cause.code ?? e.cause.message);
  return (
    (cause && !words.includes(String(cause)) ? `${words} (${String(cause)})` : words).slice(0, 2000) || 'send failed'
  );
}

/** True when a failure now is the job's last: BullMQ will not retry it. */
export function isFinalAttempt(job: Pick<Job, 'attemptsMade' | 'opts'>): boolean {
  return job.attemptsMade + 1 >= (job.opts.attempts ?? 1);
}

/** The reporter every channel service uses: a DeliveryRetry job for ticket-service, once per attempt. */
export function deliveryRetryReporter(queues: QueueService): RetryReporter {
  return (n) =>
    queues.add(
      QueueName.Delivery,
      JobName.DeliveryRetry,
      {
        v: 1,
        inboxId: n.inboxId,
        messageId: n.messageId,
        attempts: n.attempts,
        lastError: n.lastError,
        nextAttemptAt: n.nextAttemptAt.toISOString(),
        occurredAt: new Date().toISOString(),
      },
      { jobId: `retry-${n.messageId}-${n.attempts}` },
    );
}
