import {
  DynamicModule,
  Inject,
  Injectable,
  Module,
  OnApplicationBootstrap,
  OnApplicationShutdown,
} from '@nestjs/common';
import { Channel, INBOX_CHANGED_CHANNEL, InboxConfig } from '@oq/contracts';
import { Redis } from 'ioredis';
import { Logger } from 'pino';
import { z } from 'zod';
import { SERVICE_TOKEN_HEADER } from '../auth/service-token.guard';
import { CONFIG, PlatformConfig } from '../config/config';
import { LOGGER } from '../logging/logger';
import { createRedis } from '../redis/redis';

/** An id ticket-service said does not exist is not asked about again for this long. */
const NEGATIVE_TTL_MS = 5000;

export interface InboxDirectoryOptions {
  channels: Channel[];
}

/** Config keys the directory reads (channel services declare them in their schema). */
type DirectoryConfig = PlatformConfig & { TICKET_SERVICE_URL?: string; INBOX_REFRESH_MS?: number };

const DIRECTORY_OPTIONS = Symbol('INBOX_DIRECTORY_OPTIONS');

/**
 * A channel service's inboxes with their decrypted secrets, in memory only (never
 * logged). Loaded from ticket-service's internal API at boot, refreshed every
 * INBOX_REFRESH_MS (60 s), and re-read one by one when ticket-service announces a
 * change on Redis pub/sub. An inbox not in memory (created a moment ago) is fetched on demand.
 */
@Injectable()
export class InboxDirectory implements OnApplicationBootstrap, OnApplicationShutdown {
  private inboxes = new Map<string, InboxConfig>();
  private readonly unknown = new Map<string, number>();
  private readonly inflight = new Map<string, Promise<InboxConfig | null>>();
  private subscriber?: Redis;
  private timer?: NodeJS.Timeout;
  private readonly baseUrl: string;

  constructor(
    @Inject(CONFIG) private readonly config: DirectoryConfig,
    @Inject(LOGGER) private readonly logger: Logger,
    @Inject(DIRECTORY_OPTIONS) private readonly options: InboxDirectoryOptions,
  ) {
    this.baseUrl = config.TICKET_SERVICE_URL ?? 'http://127.0.0.1:3000';
  }

  async onApplicationBootstrap() {
    this.subscriber = createRedis(this.config.REDIS_URL, `${this.config.SERVICE_NAME}-inbox-changes`);
    this.subscriber.on('error', (err) => this.logger.warn({ err: err.message }, 'inbox-changes subscriber error'));
    this.subscriber.on('message', (_channel, id: string) => void this.reload(id));
    await this.subscriber.subscribe(INBOX_CHANGED_CHANNEL);
    // ticket-service may start after us: a failed first load is retried by the periodic refresh.
    await this.refresh();
    this.timer = setInterval(() => void this.refresh(), this.config.INBOX_REFRESH_MS ?? 60_000);
    this.timer.unref();
  }

  async onApplicationShutdown() {
    clearInterval(this.timer);
    await this.subscriber?.quit().catch(() => undefined);
  }

  /** The enabled inbox of one of our channels with this id, or null. */
  async get(id: string): Promise<InboxConfig | null> {
    if (!z.uuid().safeParse(id).success) return null;
    const known = this.inboxes.get(id);
    if (known) return this.usable(known);
    if ((this.unknown.get(id) ?? 0) > Date.now()) return null;
    return this.usable(await this.reload(id));
  }

  /** Every enabled inbox of our channels. */
  list(): InboxConfig[] {
    return [...this.inboxes.values()].filter((i) => this.usable(i));
  }

  async refresh(): Promise<void> {
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
      this.logger.debug({ inboxes: this.inboxes.size }, 'inboxes loaded');
    } catch (err) {
      this.logger.warn({ err: (err as Error).message }, 'could not load inboxes from ticket-service');
    }
  }

  /** Re-reads one inbox (pub/sub announcement or cache miss); concurrent callers share one request. */
  reload(id: string): Promise<InboxConfig | null> {
    let pending = this.inflight.get(id);
    if (!pending) {
      pending = this.fetchOne(id).finally(() => this.inflight.delete(id));
      this.inflight.set(id, pending);
    }
    return pending;
  }

  private async fetchOne(id: string): Promise<InboxConfig | null> {
    if (!z.uuid().safeParse(id).success) return null;
    try {
      const body = await this.call(`/internal/inboxes/${id}`);
      const inbox = body === null ? null : InboxConfig.parse(body);
      if (inbox && this.ours(inbox)) {
        this.inboxes.set(id, inbox);
        this.unknown.delete(id);
        return inbox;
      }
      this.inboxes.delete(id);
      this.unknown.set(id, Date.now() + NEGATIVE_TTL_MS);
      return null;
    } catch (err) {
      this.logger.warn({ inboxId: id, err: (err as Error).message }, 'could not load inbox from ticket-service');
      return this.inboxes.get(id) ?? null;
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
    return inbox && inbox.enabled && this.ours(inbox) ? inbox : null;
  }
}

@Module({})
export class InboxDirectoryModule {
  static forChannels(channels: Channel[]): DynamicModule {
    return {
      module: InboxDirectoryModule,
      providers: [{ provide: DIRECTORY_OPTIONS, useValue: { channels } }, InboxDirectory],
      exports: [InboxDirectory],
    };
  }
}
