import { Inject, Injectable } from '@nestjs/common';
import { EmailInboxSecrets, EmailInboxSettings, INBOX_CHANGED_CHANNEL, InboxConfig } from '@oq/contracts';
import { InboxDirectory as PlatformInboxDirectory, REDIS } from '@oq/platform';
import { Redis } from 'ioredis';

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
 * with the email schema of libs/contracts, and the set of our own addresses
 * (mail from them is not re-ingested). The directory serves only inboxes that
 * pass that schema; an invalid one is logged, listed on /health and left out.
 */
@Injectable()
export class InboxDirectory {
  /** Parsed views, keyed by the platform's config object: it is replaced whenever the inbox changes. */
  private readonly parsed = new WeakMap<InboxConfig, EmailInbox>();

  constructor(
    private readonly platform: PlatformInboxDirectory,
    @Inject(REDIS) private readonly redis: Redis,
  ) {}

  private view(inbox: InboxConfig): EmailInbox {
    let view = this.parsed.get(inbox);
    if (!view) {
      const settings = EmailInboxSettings.parse(inbox.settings);
      const secrets = EmailInboxSecrets.parse(inbox.secrets);
      // Editing acknowledgements (sent by ticket-service) or aliases must not restart this inbox's IMAP session.
      const { acknowledgement: _, aliases: __, ...connection } = settings;
      view = {
        id: inbox.id,
        name: inbox.name,
        address: inbox.address,
        enabled: inbox.enabled,
        settings,
        secrets,
        version: JSON.stringify([inbox.address, inbox.enabled, connection, secrets]),
      };
      this.parsed.set(inbox, view);
    }
    return view;
  }

  /** Enabled email inboxes with valid settings. */
  all(): EmailInbox[] {
    return this.platform.list().map((i) => this.view(i));
  }

  /** One inbox, fetched from ticket-service when not known yet (created a moment ago). */
  async get(id: string): Promise<EmailInbox | undefined> {
    const inbox = await this.platform.get(id);
    return inbox ? this.view(inbox) : undefined;
  }

  isOwnAddress(address: string | undefined): boolean {
    if (!address) return false;
    const a = address.toLowerCase();
    return this.platform.list().some((i) => {
      if (i.address.toLowerCase() === a) return true;
      const settings = this.view(i).settings;
      return settings.fromAddress?.toLowerCase() === a || settings.aliases.some((alias) => alias.toLowerCase() === a);
    });
  }

  refresh(): Promise<void> {
    return this.platform.refresh();
  }

  /** Announces a change to every replica (ticket-service does the same on admin edits). */
  async announce(inboxId: string) {
    await this.redis.publish(INBOX_CHANGED_CHANNEL, inboxId);
  }
}
