import { Inject, Injectable } from '@nestjs/common';
import { INBOX_CHANGED_CHANNEL, InboxConfig } from '@oq/contracts';
import { InboxDirectory as PlatformInboxDirectory, LOGGER, REDIS } from '@oq/platform';
import { Redis } from 'ioredis';
import { Logger } from 'pino';
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

/**
 * The email view of the shared inbox directory (libs/platform: internal API at
 * boot, every 60 s and on inbox-changed pub/sub): settings and secrets parsed
 * with the email schema, invalid inboxes left out with a log line naming what
 * is wrong, and the set of our own addresses (mail from them is not re-ingested).
 */
@Injectable()
export class InboxDirectory {
  /** Parsed views, keyed by the platform's config object: it is replaced whenever the inbox changes. */
  private readonly parsed = new WeakMap<InboxConfig, EmailInbox | null>();

  constructor(
    private readonly platform: PlatformInboxDirectory,
    @Inject(LOGGER) private readonly logger: Logger,
    @Inject(REDIS) private readonly redis: Redis,
  ) {}

  private view(inbox: InboxConfig): EmailInbox | null {
    if (this.parsed.has(inbox)) return this.parsed.get(inbox)!;
    const settings = EmailInboxSettings.safeParse(inbox.settings);
    const secrets = EmailInboxSecrets.safeParse(inbox.secrets);
    let result: EmailInbox | null = null;
    if (!settings.success || !secrets.success) {
      const issues = [...(settings.error?.issues ?? []), ...(secrets.error?.issues ?? [])];
      // Secret values are never logged: only the paths of what is wrong.
      this.logger.error(
        { inboxId: inbox.id, problems: issues.map((i) => `${i.path.join('.')}: ${i.message}`) },
        'email inbox has invalid settings; not serving it',
      );
    } else {
      result = {
        id: inbox.id,
        name: inbox.name,
        address: inbox.address,
        enabled: inbox.enabled,
        settings: settings.data,
        secrets: secrets.data,
        version: JSON.stringify([inbox.address, inbox.enabled, settings.data, secrets.data]),
      };
    }
    this.parsed.set(inbox, result);
    return result;
  }

  /** Enabled email inboxes with valid settings. */
  all(): EmailInbox[] {
    return this.platform.list().flatMap((i) => this.view(i) ?? []);
  }

  /** One inbox, fetched from ticket-service when not known yet (created a moment ago). */
  async get(id: string): Promise<EmailInbox | undefined> {
    const inbox = await this.platform.get(id);
    return (inbox && this.view(inbox)) ?? undefined;
  }

  isOwnAddress(address: string | undefined): boolean {
    if (!address) return false;
    const a = address.toLowerCase();
    return this.platform
      .list()
      .some((i) => i.address.toLowerCase() === a || this.view(i)?.settings.fromAddress?.toLowerCase() === a);
  }

  refresh(): Promise<void> {
    return this.platform.refresh();
  }

  /** Announces a change to every replica (ticket-service does the same on admin edits). */
  async announce(inboxId: string) {
    await this.redis.publish(INBOX_CHANGED_CHANNEL, inboxId);
  }
}
