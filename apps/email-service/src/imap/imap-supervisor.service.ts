import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { Inject, Injectable, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { redisKey } from '@oq/contracts';
import { BlobStore, CONFIG, LeaseName, LOGGER, REDIS, RedisLease } from '@oq/platform';
import { Redis } from 'ioredis';
import { Logger } from 'pino';
import { Config } from '../config';
import { EmailInbox, InboxDirectory } from '../inboxes/inbox-directory.service';
import { MailIngestService } from '../ingest/mail-ingest.service';
import { CursorStore } from './cursor.store';
import { MailboxSync } from './mailbox-sync';

interface Running {
  lease: RedisLease;
  sync: MailboxSync;
  version: string;
}

/**
 * Decides which mailboxes this replica watches: for every enabled email inbox
 * it tries to take the mailbox's lease, and runs a MailboxSync only while it
 * holds it. Replicas retry every third of the TTL, so when a holder dies its
 * lease expires and another replica takes over within TTL + one retry period.
 */
@Injectable()
export class ImapSupervisor implements OnApplicationBootstrap, OnApplicationShutdown {
  readonly replicaId = `${hostname()}-${process.pid}-${randomUUID().slice(0, 8)}`;
  private readonly running = new Map<string, Running>();
  private timer?: NodeJS.Timeout;
  private reconciling?: Promise<void>;
  private stopped = false;

  constructor(
    @Inject(CONFIG) private readonly config: Config,
    @Inject(LOGGER) private readonly logger: Logger,
    @Inject(REDIS) private readonly redis: Redis,
    private readonly directory: InboxDirectory,
    private readonly cursors: CursorStore,
    private readonly ingest: MailIngestService,
    private readonly blobs: BlobStore,
  ) {}

  onApplicationBootstrap() {
    if (!this.config.EMAIL_IMAP_ENABLED) return;
    void this.reconcile();
    // Also how inbox changes (pub/sub → directory) reach the connections: within a third of the TTL.
    this.timer = setInterval(
      () => void this.reconcile(),
      Math.max(250, Math.floor(this.config.EMAIL_LEASE_TTL_MS / 3)),
    );
  }

  /** Mailboxes this replica currently holds (for tests, /metrics and the benchmark). */
  held(): MailboxSync[] {
    return [...this.running.values()].map((r) => r.sync);
  }

  /** The mailbox's lease; the name before the Redis key convention is held too, for one release. */
  private leaseName(inboxId: string): LeaseName {
    const prefix = this.config.QUEUE_PREFIX;
    return {
      key: redisKey(prefix, 'email', 'imap-lease', inboxId),
      legacyKeys: [`${prefix}email-imap-lease:${inboxId}`],
    };
  }

  private reconcile(): Promise<void> {
    if (this.stopped) return Promise.resolve();
    this.reconciling ??= this.doReconcile()
      .catch((err) => this.logger.warn({ err: (err as Error).message }, 'imap reconcile failed'))
      .finally(() => (this.reconciling = undefined));
    return this.reconciling;
  }

  private async doReconcile() {
    const wanted = new Map(
      this.directory
        .all()
        .filter((i) => i.enabled)
        .map((i) => [i.id, i]),
    );
    for (const [id, r] of this.running) {
      const inbox = wanted.get(id);
      if (!inbox || inbox.version !== r.version) await this.stopOne(id, 'inbox removed, disabled or changed');
    }
    for (const inbox of wanted.values()) {
      if (this.stopped) return;
      if (!this.running.has(inbox.id)) await this.tryStart(inbox);
    }
  }

  private async tryStart(inbox: EmailInbox) {
    const lease: RedisLease = new RedisLease(
      this.redis,
      this.leaseName(inbox.id),
      this.replicaId,
      this.config.EMAIL_LEASE_TTL_MS,
      (reason) => {
        this.logger.warn({ inboxId: inbox.id, reason }, 'imap lease lost; stopping the mailbox');
        const r = this.running.get(inbox.id);
        if (r?.lease === lease) {
          this.running.delete(inbox.id);
          void r.sync.stop();
        }
      },
    );
    if (!(await lease.acquire())) return;
    if (this.stopped) return void (await lease.release());
    const sync = new MailboxSync(
      inbox,
      { cursors: this.cursors, ingest: this.ingest, blobs: this.blobs, logger: this.logger },
      {
        maxMessageBytes: this.config.EMAIL_MAX_MESSAGE_BYTES,
        fetchBatch: this.config.EMAIL_FETCH_BATCH,
        fetchBatchBytes: this.config.EMAIL_FETCH_BATCH_BYTES,
        pollFallbackMs: this.config.EMAIL_POLL_FALLBACK_MS,
        idleRestartMs: this.config.EMAIL_IDLE_RESTART_MS,
      },
    );
    this.running.set(inbox.id, { lease, sync, version: inbox.version });
    this.logger.info({ inboxId: inbox.id, replica: this.replicaId }, 'imap lease acquired; watching mailbox');
    sync.start();
  }

  private async stopOne(id: string, reason: string) {
    const r = this.running.get(id);
    if (!r) return;
    this.running.delete(id);
    this.logger.info({ inboxId: id, reason }, 'stopping mailbox');
    await r.sync.stop();
    await r.lease.release();
  }

  /** Logs out and releases every lease, so another replica takes over at once instead of after the TTL. */
  async onApplicationShutdown() {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    await this.reconciling;
    await Promise.all([...this.running.keys()].map((id) => this.stopOne(id, 'shutdown')));
  }
}
