import { Injectable } from '@nestjs/common';
import { InboxConfig } from '@oq/contracts';
import { InboxDirectory } from '@oq/platform';
import { SocialInbox, toSocialInbox } from './social-inbox';

/**
 * The shared InboxDirectory (internal API + pub/sub + 60 s refresh) seen through social-service's
 * typed view, built once per config version. The directory serves only inboxes that pass the
 * contracts schema (an invalid one is logged, listed on /health and treated as unknown here).
 */
@Injectable()
export class SocialInboxes {
  private readonly typed = new WeakMap<InboxConfig, SocialInbox>();

  constructor(private readonly directory: InboxDirectory) {}

  async get(id: string): Promise<SocialInbox | null> {
    return this.view(await this.directory.get(id));
  }

  /** For a webhook: 503 (InboxDirectoryUnavailableError) rather than null when ticket-service cannot be asked. */
  async getForIntake(id: string): Promise<SocialInbox | null> {
    return this.view(await this.directory.getForIntake(id));
  }

  private view(config: InboxConfig | null): SocialInbox | null {
    if (!config) return null;
    let inbox = this.typed.get(config);
    if (!inbox) this.typed.set(config, (inbox = toSocialInbox(config)));
    return inbox;
  }
}
