import { Inject, Injectable } from '@nestjs/common';
import { InboxConfig } from '@oq/contracts';
import { InboxDirectory, LOGGER } from '@oq/platform';
import { Logger } from 'pino';
import { SocialInbox, toSocialInbox } from './social-inbox';

/**
 * The shared InboxDirectory (internal API + pub/sub + 60 s refresh) seen through
 * social-service's typed view: an inbox whose secrets are incomplete is treated
 * as unknown and logged once per version (its id, never its secrets).
 */
@Injectable()
export class SocialInboxes {
  private readonly typed = new WeakMap<InboxConfig, SocialInbox | null>();

  constructor(
    private readonly directory: InboxDirectory,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {}

  async get(id: string): Promise<SocialInbox | null> {
    const config = await this.directory.get(id);
    if (!config) return null;
    let inbox = this.typed.get(config);
    if (inbox === undefined) {
      try {
        inbox = toSocialInbox(config);
      } catch (err) {
        this.logger.error({ inboxId: id, err: (err as Error).message }, 'social inbox not usable');
        inbox = null;
      }
      this.typed.set(config, inbox);
    }
    return inbox;
  }
}
