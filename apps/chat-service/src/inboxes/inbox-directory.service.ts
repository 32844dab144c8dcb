import { Injectable } from '@nestjs/common';
import { InboxDirectory } from '@oq/platform';
import { ChatInbox, toChatInbox } from './chat-inbox';

/** Chat's view of the shared inbox directory: settings parsed once per lookup, the identity secret picked out. */
@Injectable()
export class ChatInboxes {
  constructor(private readonly directory: InboxDirectory) {}

  async get(id: string): Promise<ChatInbox | undefined> {
    const inbox = await this.directory.get(id);
    return inbox ? toChatInbox(inbox) : undefined;
  }

  all(): ChatInbox[] {
    return this.directory.list().map(toChatInbox);
  }

  /** Why an existing, enabled inbox is not served (its stored settings or secrets are invalid), if so. */
  invalidReason(id: string): string | undefined {
    return this.directory.invalidReason(id);
  }
}
