import {
  DynamicModule,
  Inject,
  Injectable,
  Module,
  OnApplicationBootstrap,
  OnApplicationShutdown,
  Optional,
  ServiceUnavailableException,
} from '@nestjs/common';
import { Channel, INBOX_CHANGED_CHANNEL, InboxConfig, checkInboxConfig } from '@oq/contracts';
import { Gauge } from 'prom-client';
import { Redis } from 'ioredis';
import { Logger } from 'pino';
import { z } from 'zod';
import { SERVICE_TOKEN_HEADER } from '../auth/service-token.guard';
import { CONFIG, PlatformConfig } from '../config/config';
import { HealthDetails } from '../health/health.controller';
import { LOGGER } from '../logging/logger';
import { MetricsService } from '../metrics/metrics';
import { createRedis } from '../redis/redis';
import { REDIS } from '../redis/redis.module';
import { DirectoryCopy } from './directory-copy';

/** An id ticket-service said does not exist is not asked about again for this long. */
const NEGATIVE_TTL_MS = 5000;
/** Until ticket-service has answered once, the list is asked for this often instead of every refresh. */
const RETRY_MS = 2000;

export interface InboxDirectoryOptions {
  channels: Channel[];
  /**
   * /health fails (`inboxes`) until a list was loaded, from ticket-service or the Redis copy: for a
   * service whose intake needs nothing else (social-service), this is the check that matters.
   */
  requiredForHealth?: boolean;
}

/** Where the inboxes in memory came from. */
export type DirectorySource = 'ticket-service' | 'copy';

/**
 * ticket-service could not be asked about an inbox the directory does not hold: not the same as
 * "no such inbox". 503, so a provider redelivers instead of dropping its webhook on a 404.
 */
export class InboxDirectoryUnavailableError extends ServiceUnavailableException {
  constructor(id: string) {
    super(`inbox ${id} cannot be looked up right now (ticket-service unreachable); retry later`);
  }
}

const UNREACHABLE = Symbol('unreachable');

/** Config keys the directory reads (channel services declare them in their schema). */
type DirectoryConfig = PlatformConfig & { TICKET_SERVICE_URL?: string; INBOX_REFRESH_MS?: number };

const DIRECTORY_OPTIONS = Symbol('INBOX_DIRECTORY_OPTIONS');

/** An enabled inbox the directory refuses to serve, and why (field paths and messages, never values). */
export interface InvalidInbox {
  id: string;
  channel: Channel;
  reason: string;
}

/**
 * A channel service's inboxes with their decrypted secrets (never logged). Loaded from
 * ticket-service's internal API at boot, refreshed every INBOX_REFRESH_MS (60 s), and re-read one
 * by one when ticket-service announces a change on Redis pub/sub. An inbox not in memory (created
 * a moment ago) is fetched on demand. Every list ticket-service answers is also kept, sealed, in
 * Redis (DirectoryCopy): a boot that cannot reach ticket-service serves that copy, and asks
 * ticket-service again every 2 s until it answers.
 *
 * An enabled inbox whose settings or secrets do not match its channel's schema (libs/contracts
 * inbox-settings) is not served, never read with defaults: it is logged with the fields at fault,
 * listed under `inboxes.invalid` on /health and counted in `oq_inboxes_invalid{channel}`; the
 * service keeps serving its other inboxes.
 */
@Injectable()
export class InboxDirectory implements OnApplicationBootstrap, OnApplicationShutdown {
  private inboxes = new Map<string, InboxConfig>();
  private readonly unknown = new Map<string, number>();
  private readonly inflight = new Map<string, Promise<InboxConfig | null | typeof UNREACHABLE>>();
  private readonly invalid = new Map<string, InvalidInbox>();
  private readonly invalidGauge?: Gauge<string>;
  private subscriber?: Redis;
  private timer?: NodeJS.Timeout;
  private stopped = false;
  private readonly baseUrl: string;
  private readonly copy?: DirectoryCopy;
  private saving?: Promise<void>;
  private resave = false;
  /** What is in memory: where from, and when ticket-service answered it (for a copy: when it was saved). */
  private loaded?: { source: DirectorySource; asOf: string };

  constructor(
    @Inject(CONFIG) private readonly config: DirectoryConfig,
    @Inject(LOGGER) private readonly logger: Logger,
    @Inject(DIRECTORY_OPTIONS) private readonly options: InboxDirectoryOptions,
    @Optional() metrics?: MetricsService,
    @Optional() health?: HealthDetails,
    @Optional() @Inject(REDIS) redis?: Redis,
  ) {
    this.baseUrl = config.TICKET_SERVICE_URL ?? 'http://127.0.0.1:3000';
    if (redis) this.copy = new DirectoryCopy(redis, config.QUEUE_PREFIX, options.channels, config.SERVICE_TOKEN);
    this.invalidGauge = metrics?.gauge(
      'oq_inboxes_invalid',
      'Enabled inboxes not served because their stored settings or secrets are invalid',
      ['channel'],
    );
    this.countInvalid();
    health?.add('inboxes', () => ({
      source: this.loaded?.source ?? null,
      asOf: this.loaded?.asOf ?? null,
      invalid: this.invalidInboxes(),
    }));
    if (options.requiredForHealth)
      health?.require('inboxes', () => {
        if (!this.loaded) throw new Error('no inbox list yet: ticket-service unreachable and no copy in Redis');
      });
  }

  async onApplicationBootstrap() {
    this.subscriber = createRedis(this.config.REDIS_URL, `${this.config.SERVICE_NAME}-inbox-changes`);
    this.subscriber.on('error', (err) => this.logger.warn({ err: err.message }, 'inbox-changes subscriber error'));
    this.subscriber.on('message', (_channel, id: string) => void this.reload(id));
    await this.subscriber.subscribe(INBOX_CHANGED_CHANNEL);
    // ticket-service may be down or start after us: serve the last list it gave, until it answers.
    if (!(await this.load())) await this.loadCopy();
    this.schedule();
  }

  async onApplicationShutdown() {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.saving;
    await this.subscriber?.quit().catch(() => undefined);
  }

  /** Where the inboxes come from now; undefined while no list was loaded at all. */
  get source(): DirectorySource | undefined {
    return this.loaded?.source;
  }

  /**
   * The enabled inbox of one of our channels with this id, or null — also when ticket-service
   * cannot be asked about an id not in memory (workers retry; intake uses getForIntake).
   */
  async get(id: string): Promise<InboxConfig | null> {
    const inbox = await this.lookup(id);
    return inbox === UNREACHABLE ? null : inbox;
  }

  /**
   * For a provider's delivery: like get, but an id that is not in memory while ticket-service cannot
   * be asked throws InboxDirectoryUnavailableError (503, the provider retries) instead of null (404).
   */
  async getForIntake(id: string): Promise<InboxConfig | null> {
    const inbox = await this.lookup(id);
    if (inbox === UNREACHABLE) throw new InboxDirectoryUnavailableError(id);
    return inbox;
  }

  /** Every enabled inbox of our channels. */
  list(): InboxConfig[] {
    return [...this.inboxes.values()].filter((i) => this.usable(i));
  }

  /** Why `get(id)` answered null for an inbox that exists and is enabled, if that is the reason. */
  invalidReason(id: string): string | undefined {
    return this.invalid.get(id)?.reason;
  }

  invalidInboxes(): InvalidInbox[] {
    return [...this.invalid.values()];
  }

  /** Loads every inbox of our channels from ticket-service (kept as it was when that fails). */
  async refresh(): Promise<void> {
    await this.load();
  }

  /** refresh, saying whether ticket-service answered. */
  private async load(): Promise<boolean> {
    try {
      const lists = await Promise.all(
        this.options.channels.map(async (channel) =>
          z.array(InboxConfig).parse(await this.call(`/internal/inboxes?channel=${channel}`)),
        ),
      );
      this.inboxes = new Map(
        lists
          .flat()
          .filter((i) => this.ours(i))
          .map((i) => [i.id, i]),
      );
      this.checkAll();
      // Worth an info line when it ends a spell on the sealed copy; at boot the "listening" line says enough.
      if (this.loaded?.source !== 'ticket-service')
        this.logger[this.loaded ? 'info' : 'debug'](
          { inboxes: this.inboxes.size },
          'inboxes loaded from ticket-service',
        );
      this.loaded = { source: 'ticket-service', asOf: new Date().toISOString() };
      this.logger.debug({ inboxes: this.inboxes.size }, 'inboxes loaded');
    } catch (err) {
      this.logger.warn({ err: (err as Error).message }, 'could not load inboxes from ticket-service');
      return false;
    }
    await this.persist();
    return true;
  }

  /** Re-reads one inbox (pub/sub announcement or cache miss); concurrent callers share one request. */
  async reload(id: string): Promise<InboxConfig | null> {
    const inbox = await this.ask(id);
    return inbox === UNREACHABLE ? (this.inboxes.get(id) ?? null) : inbox;
  }

  private async lookup(id: string): Promise<InboxConfig | null | typeof UNREACHABLE> {
    if (!z.uuid().safeParse(id).success) return null;
    const known = this.inboxes.get(id);
    if (known) return this.usable(known);
    if ((this.unknown.get(id) ?? 0) > Date.now()) return null;
    const inbox = await this.ask(id);
    return inbox === UNREACHABLE ? inbox : this.usable(inbox);
  }

  private ask(id: string): Promise<InboxConfig | null | typeof UNREACHABLE> {
    let pending = this.inflight.get(id);
    if (!pending) {
      pending = this.fetchOne(id).finally(() => this.inflight.delete(id));
      this.inflight.set(id, pending);
    }
    return pending;
  }

  /** The next full load: soon while ticket-service has not answered yet, else after INBOX_REFRESH_MS. */
  private schedule(): void {
    if (this.stopped) return;
    const every = this.config.INBOX_REFRESH_MS ?? 60_000;
    const delay = this.loaded?.source === 'ticket-service' ? every : Math.min(every, RETRY_MS);
    this.timer = setTimeout(() => void this.refresh().finally(() => this.schedule()), delay);
    this.timer.unref();
  }

  /** The sealed copy of ticket-service's last list, for a boot while ticket-service is down. */
  private async loadCopy(): Promise<void> {
    if (!this.copy) return;
    try {
      const snapshot = await this.copy.load();
      if (!snapshot) {
        this.logger.warn('no inbox directory copy in Redis either: inboxes unknown until ticket-service answers');
        return;
      }
      this.inboxes = new Map(snapshot.inboxes.filter((i) => this.ours(i)).map((i) => [i.id, i]));
      this.checkAll();
      this.loaded = { source: 'copy', asOf: snapshot.savedAt };
      this.logger.warn(
        { inboxes: this.inboxes.size, savedAt: snapshot.savedAt },
        'serving inboxes from the Redis copy until ticket-service answers',
      );
    } catch (err) {
      this.logger.error({ err: (err as Error).message }, 'inbox directory copy not usable');
    }
  }

  /** Writes what is in memory to the copy; a change during a write is written after it. */
  private persist(): Promise<void> {
    // Only a list ticket-service answered replaces the copy; after shutdown, Redis is closing.
    if (!this.copy || this.stopped || this.loaded?.source !== 'ticket-service') return Promise.resolve();
    if (this.saving) {
      this.resave = true;
      return this.saving;
    }
    const copy = this.copy;
    this.saving = (async () => {
      do {
        this.resave = false;
        await copy.save([...this.inboxes.values()]);
      } while (this.resave);
    })()
      .catch((err: Error) => this.logger.warn({ err: err.message }, 'could not write the inbox directory copy'))
      .finally(() => (this.saving = undefined));
    return this.saving;
  }

  private checkAll(): void {
    for (const id of this.invalid.keys()) if (!this.inboxes.has(id)) this.invalid.delete(id);
    for (const inbox of this.inboxes.values()) this.check(inbox);
    this.countInvalid();
  }

  private async fetchOne(id: string): Promise<InboxConfig | null | typeof UNREACHABLE> {
    if (!z.uuid().safeParse(id).success) return null;
    try {
      const body = await this.call(`/internal/inboxes/${id}`);
      const inbox = body === null ? null : InboxConfig.parse(body);
      if (inbox && this.ours(inbox)) {
        this.inboxes.set(id, inbox);
        this.unknown.delete(id);
        this.check(inbox);
        this.countInvalid();
        void this.persist();
        return inbox;
      }
      const had = this.inboxes.delete(id);
      this.invalid.delete(id);
      this.countInvalid();
      this.unknown.set(id, Date.now() + NEGATIVE_TTL_MS);
      if (had) void this.persist();
      return null;
    } catch (err) {
      this.logger.warn({ inboxId: id, err: (err as Error).message }, 'could not load inbox from ticket-service');
      return UNREACHABLE;
    }
  }

  /** GET on the internal API; 404 → null. */
  private async call(path: string): Promise<unknown> {
    const res = await fetch(`${this.baseUrl}${path}`, {
      headers: { [SERVICE_TOKEN_HEADER]: this.config.SERVICE_TOKEN },
      signal: AbortSignal.timeout(5000),
    });
    if (res.status === 404) return null;
    if (!res.ok) throw new Error(`GET ${path} answered ${res.status}`);
    return res.json();
  }

  private ours(inbox: InboxConfig): boolean {
    return this.options.channels.includes(inbox.channel);
  }

  private usable(inbox: InboxConfig | null): InboxConfig | null {
    return inbox && inbox.enabled && this.ours(inbox) && !this.invalid.has(inbox.id) ? inbox : null;
  }

  /** Records whether a loaded inbox is servable; logs when that changes (not on every refresh). */
  private check(inbox: InboxConfig): void {
    // A disabled inbox is not served anyway; it is checked when it is enabled again.
    if (!inbox.enabled) return void this.invalid.delete(inbox.id);
    const result = checkInboxConfig(inbox);
    const before = this.invalid.get(inbox.id);
    if (result.ok) {
      if (!before) return;
      this.invalid.delete(inbox.id);
      this.logger.info({ inboxId: inbox.id, channel: inbox.channel }, 'inbox settings valid again; serving it');
      return;
    }
    if (before?.reason === result.reason) return;
    this.invalid.set(inbox.id, { id: inbox.id, channel: inbox.channel, reason: result.reason });
    this.logger.error(
      { inboxId: inbox.id, channel: inbox.channel, problems: result.problems.map((p) => `${p.path}: ${p.message}`) },
      'inbox has invalid settings or secrets; not serving it',
    );
  }

  private countInvalid(): void {
    if (!this.invalidGauge) return;
    for (const channel of this.options.channels)
      this.invalidGauge.set({ channel }, [...this.invalid.values()].filter((i) => i.channel === channel).length);
  }
}

@Module({})
export class InboxDirectoryModule {
  static forChannels(channels: Channel[], options: Omit<InboxDirectoryOptions, 'channels'> = {}): DynamicModule {
    return {
      module: InboxDirectoryModule,
      providers: [{ provide: DIRECTORY_OPTIONS, useValue: { ...options, channels } }, InboxDirectory],
      exports: [InboxDirectory],
    };
  }
}
