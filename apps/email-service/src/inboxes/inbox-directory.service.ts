import { Inject, Injectable, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { INBOX_CHANGED_CHANNEL, InboxConfig } from '@oq/contracts';
import { CONFIG, LOGGER, REDIS, SERVICE_TOKEN_HEADER, createRedis } from '@oq/platform';
import { Redis } from 'ioredis';
import { Logger } from 'pino';
import { z } from 'zod';
import { Config } from '../config';
import { EmailInboxSecrets, EmailInboxSettings } from './email-inbox-settings';

/** An email inbox with its settings validated; secrets stay in memory only. */
export interface EmailInbox {
  id: string;
  name: string;
  address: string;
  enabled: boolean;
  settings: EmailInboxSettings;
  secrets: EmailInboxSecrets;
  /** Changes whenever anything the IMAP/SMTP connections depend on changes. */
  version: string;
}

export type InboxListener = (inboxes: Map<string, EmailInbox>) => void;

/**
 * The email inboxes this service serves, loaded from ticket-service's internal
 * API: at boot, every EMAIL_INBOX_REFRESH_MS, and whenever ticket-service
 * announces a change on Redis pub/sub.
 */
@Injectable()
export class InboxDirectory implements OnApplicationBootstrap, OnApplicationShutdown {
  private inboxes = new Map<string, EmailInbox>();
  /** Every address of every email inbox, lower-cased: mail from these is ours and not re-ingested. */
  private ownAddresses = new Set<string>();
  private readonly listeners: InboxListener[] = [];
  private timer?: NodeJS.Timeout;
  private subscriber?: Redis;
  private refreshing?: Promise<void>;
  private stopped = false;

  constructor(
    @Inject(CONFIG) private readonly config: Config,
    @Inject(LOGGER) private readonly logger: Logger,
    @Inject(REDIS) private readonly redis: Redis,
  ) {}

  async onApplicationBootstrap() {
    this.subscriber = createRedis(this.config.REDIS_URL, `${this.config.SERVICE_NAME}-inbox-changes`);
    this.subscriber.on('error', (err) => this.logger.warn({ err: err.message }, 'inbox pub/sub connection error'));
    this.subscriber.on('message', () => void this.refresh());
    await this.subscriber.subscribe(INBOX_CHANGED_CHANNEL);
    // Not awaited: ticket-service may start after us; the periodic refresh catches up.
    void this.refresh();
    this.timer = setInterval(() => void this.refresh(), this.config.EMAIL_INBOX_REFRESH_MS);
  }

  async onApplicationShutdown() {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    await this.subscriber?.quit().catch(() => undefined);
  }

  onChange(listener: InboxListener) {
    this.listeners.push(listener);
    if (this.inboxes.size) listener(this.inboxes);
  }

  get(id: string): EmailInbox | undefined {
    return this.inboxes.get(id);
  }

  all(): EmailInbox[] {
    return [...this.inboxes.values()];
  }

  isOwnAddress(address: string | undefined): boolean {
    return !!address && this.ownAddresses.has(address.toLowerCase());
  }

  /** Coalesces concurrent refreshes (a burst of pub/sub messages costs one request). */
  refresh(): Promise<void> {
    if (this.stopped) return Promise.resolve();
    this.refreshing ??= this.load().finally(() => (this.refreshing = undefined));
    return this.refreshing;
  }

  private async load(): Promise<void> {
    let list: InboxConfig[];
    try {
      const res = await fetch(`${this.config.TICKET_SERVICE_URL}/internal/inboxes?channel=email`, {
        headers: { [SERVICE_TOKEN_HEADER]: this.config.SERVICE_TOKEN },
        signal: AbortSignal.timeout(10_000),
      });
      if (!res.ok) throw new Error(`HTTP ${res.status}`);
      list = z.array(InboxConfig).parse(await res.json());
    } catch (err) {
      this.logger.warn({ err: (err as Error).message }, 'could not load email inboxes; keeping the last known list');
      return;
    }
    const next = new Map<string, EmailInbox>();
    const own = new Set<string>();
    for (const inbox of list) {
      if (inbox.channel !== 'email') continue;
      const settings = EmailInboxSettings.safeParse(inbox.settings);
      const secrets = EmailInboxSecrets.safeParse(inbox.secrets);
      own.add(inbox.address.toLowerCase());
      if (!settings.success || !secrets.success) {
        const issues = [...(settings.error?.issues ?? []), ...(secrets.error?.issues ?? [])];
        // Secret values are never logged: only the paths of what is wrong.
        this.logger.error(
          { inboxId: inbox.id, problems: issues.map((i) => `${i.path.join('.')}: ${i.message}`) },
          'email inbox has invalid settings; not serving it',
        );
        continue;
      }
      if (settings.data.fromAddress) own.add(settings.data.fromAddress.toLowerCase());
      next.set(inbox.id, {
        id: inbox.id,
        name: inbox.name,
        address: inbox.address,
        enabled: inbox.enabled,
        settings: settings.data,
        secrets: secrets.data,
        version: JSON.stringify([inbox.address, inbox.enabled, settings.data, secrets.data]),
      });
    }
    this.inboxes = next;
    this.ownAddresses = own;
    for (const l of this.listeners) l(next);
  }

  /** Announces a change to every replica (used by tests and admin tooling; ticket-service does the same). */
  async announce(inboxId: string) {
    await this.redis.publish(INBOX_CHANGED_CHANNEL, inboxId);
  }
}
