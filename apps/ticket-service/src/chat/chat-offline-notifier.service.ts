import { Inject, Injectable, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import {
  ChatOfflineNotificationRepository,
  ConversationRepository,
  MessageRepository,
  TicketRepository,
  UndeliveredChatReplyRow,
} from '@oq/database';
import { LOGGER } from '@oq/platform';
import { Logger } from 'pino';
import { DataSource, EntityManager } from 'typeorm';
import { AutomaticEmailService } from '../outbox/automatic-email.service';
import { OutboxService } from '../outbox/outbox.service';
import { CHAT_CONFIG, ChatConfig } from './chat.config';

/** chat-service's reason on a DeliveryReport for a reply nobody was connected to receive. */
export const CUSTOMER_OFFLINE_REASON = 'customer offline';

type Undelivered = UndeliveredChatReplyRow;

/**
 * The offline fallback of chat: a reply chat-service reported undelivered
 * because the customer was offline gets an email after
 * CHAT_OFFLINE_EMAIL_DELAY_SECONDS — through the normal outbound flow (an
 * outbound email message on the ticket + its outbound.email job via the
 * outbox, in one transaction), when the contact has an email identity and an
 * email inbox exists. One chat_offline_notifications row per chat reply,
 * written in the same transaction, makes it exactly-once across replicas and
 * rescans; a skipped notification records why.
 */
@Injectable()
export class ChatOfflineNotifier implements OnApplicationBootstrap, OnApplicationShutdown {
  private timer?: NodeJS.Timeout;
  private running?: Promise<unknown>;

  constructor(
    private readonly ds: DataSource,
    private readonly notifications: ChatOfflineNotificationRepository,
    private readonly tickets: TicketRepository,
    private readonly messages: MessageRepository,
    private readonly conversations: ConversationRepository,
    private readonly outbox: OutboxService,
    private readonly automaticEmail: AutomaticEmailService,
    @Inject(CHAT_CONFIG) private readonly config: ChatConfig,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {}

  onApplicationBootstrap() {
    this.timer = setInterval(() => {
      if (this.running) return;
      this.running = this.scan()
        .catch((err) => this.logger.error({ err: (err as Error).message }, 'chat offline scan failed'))
        .finally(() => (this.running = undefined));
    }, this.config.CHAT_OFFLINE_SCAN_MS);
    this.timer.unref();
  }

  async onApplicationShutdown() {
    if (this.timer) clearInterval(this.timer);
    await this.running;
  }

  /** Handles the due undelivered replies; returns how many it decided on. */
  async scan(): Promise<number> {
    return this.ds.transaction(async (m) => {
      // SKIP LOCKED: replicas scanning at once split the work instead of waiting on each other.
      const due = await this.notifications
        .with(m)
        .lockDue(CUSTOMER_OFFLINE_REASON, this.config.CHAT_OFFLINE_EMAIL_DELAY_SECONDS, 50);
      for (const reply of due) await this.notify(m, reply);
      return due.length;
    });
  }

  /** No email after all: the table row stops rescans, the audit row and event put it on the ticket's timeline. */
  private async skip(m: EntityManager, reply: Undelivered, reason: string) {
    await this.notifications.with(m).recordSkipped(reply.id, reason);
    const changes = { chatMessageId: reply.id, reason };
    await this.tickets.with(m).writeAudit(reply.ticket_id, null, 'chat_offline_email_skipped', changes);
    await this.outbox.write(m, [
      this.outbox.ticketEvent(
        'ticket.updated',
        { id: reply.ticket_id, teamId: reply.team_id, assigneeId: reply.assignee_id },
        { audit: 'chat_offline_email_skipped', ...changes },
      ),
    ]);
    this.logger.info({ messageId: reply.id, ticketId: reply.ticket_id, reason }, 'chat offline email skipped');
  }

  private async notify(m: EntityManager, reply: Undelivered) {
    // The customer came back and wrote since: they have seen the reply in the chat.
    if (await this.messages.with(m).inboundSince(reply.ticket_id, reply.failed_at))
      return this.skip(m, reply, 'customer wrote again since');

    const email = await this.notifications.with(m).requesterEmail(reply.requester_id);
    if (!email) return this.skip(m, reply, 'contact has no email address');
    const inboxId = await this.conversations.with(m).teamEmailInbox(reply.team_id);
    if (!inboxId) return this.skip(m, reply, 'no email inbox');

    const number = Number(reply.number);
    const subject = `[#${number}] You have a new reply`;
    const text = [
      'Hello,',
      '',
      'We replied to your chat while you were away:',
      '',
      ...reply.text.split('\n').map((l) => `> ${l}`),
      '',
      'Open the app to continue the conversation, or simply reply to this email.',
    ].join('\n');
    const { messageId: id, outbox } = await this.automaticEmail.store(m, {
      ticket: { id: reply.ticket_id, number, teamId: reply.team_id, assigneeId: reply.assignee_id },
      inboxId,
      toIdentityId: email.id,
      toAddress: email.value,
      subject,
      text,
      metadata: { chatOfflineNotificationFor: reply.id },
    });
    await this.notifications.with(m).recordSent(reply.id, id);
    await this.tickets
      .with(m)
      .writeAudit(reply.ticket_id, null, 'chat_offline_email', { chatMessageId: reply.id, emailMessageId: id });
    await this.outbox.write(m, outbox);
    this.logger.info(
      { messageId: reply.id, ticketId: reply.ticket_id, emailMessageId: id },
      'chat offline email queued',
    );
  }
}
