import { Inject, Injectable, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { LOGGER } from '@oq/platform';
import { Logger } from 'pino';
import { DataSource, EntityManager } from 'typeorm';
import { AutomaticEmailService } from '../outbox/automatic-email.service';
import { OutboxService } from '../outbox/outbox.service';
import { CHAT_CONFIG, ChatConfig } from './chat.config';

/** chat-service's reason on a DeliveryReport for a reply nobody was connected to receive. */
export const CUSTOMER_OFFLINE_REASON = 'customer offline';

interface Undelivered {
  id: string;
  ticket_id: string;
  text: string;
  failed_at: Date;
  number: string;
  team_id: string;
  assignee_id: string | null;
  requester_id: string;
}

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
      const due: Undelivered[] = await m.query(
        `SELECT msg.id, msg.ticket_id, msg.text, msg.updated_at AS failed_at,
                t.number, t.team_id, t.assignee_id, t.requester_id
         FROM messages msg JOIN tickets t ON t.id = msg.ticket_id
         WHERE msg.channel = 'chat' AND msg.direction = 'outbound' AND msg.delivery_status = 'failed'
           AND msg.delivery_reason = $1
           AND msg.updated_at <= now() - make_interval(secs => $2)
           AND NOT EXISTS (SELECT 1 FROM chat_offline_notifications n WHERE n.chat_message_id = msg.id)
         ORDER BY msg.updated_at
         LIMIT 50
         FOR UPDATE OF msg SKIP LOCKED`,
        [CUSTOMER_OFFLINE_REASON, this.config.CHAT_OFFLINE_EMAIL_DELAY_SECONDS],
      );
      for (const reply of due) await this.notify(m, reply);
      return due.length;
    });
  }

  /** No email after all: the table row stops rescans, the audit row and event put it on the ticket's timeline. */
  private async skip(m: EntityManager, reply: Undelivered, reason: string) {
    await m.query(
      `INSERT INTO chat_offline_notifications (chat_message_id, outcome, reason) VALUES ($1, 'skipped', $2)`,
      [reply.id, reason],
    );
    const changes = { chatMessageId: reply.id, reason };
    await m.query(
      `INSERT INTO ticket_audit (ticket_id, actor_type, action, changes) VALUES ($1, 'system', 'chat_offline_email_skipped', $2::jsonb)`,
      [reply.ticket_id, JSON.stringify(changes)],
    );
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
    const returned: unknown[] = await m.query(
      `SELECT 1 FROM messages WHERE ticket_id = $1 AND direction = 'inbound' AND created_at > $2 LIMIT 1`,
      [reply.ticket_id, reply.failed_at],
    );
    if (returned.length) return this.skip(m, reply, 'customer wrote again since');

    const [email]: { id: string; value: string }[] = await m.query(
      `SELECT ci.id, ci.value FROM contact_identities ci
       JOIN contacts c ON c.id = $1
       WHERE ci.kind = 'email' AND ci.contact_id IN (c.id, c.merged_into_id)
       ORDER BY ci.verified DESC, ci.created_at LIMIT 1`,
      [reply.requester_id],
    );
    if (!email) return this.skip(m, reply, 'contact has no email address');
    const [inbox]: { id: string }[] = await m.query(
      `SELECT id FROM inboxes WHERE channel = 'email' AND enabled
       ORDER BY (default_team_id = $1) DESC, created_at LIMIT 1`,
      [reply.team_id],
    );
    if (!inbox) return this.skip(m, reply, 'no email inbox');

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
      inboxId: inbox.id,
      toIdentityId: email.id,
      toAddress: email.value,
      subject,
      text,
      metadata: { chatOfflineNotificationFor: reply.id },
    });
    await m.query(
      `INSERT INTO chat_offline_notifications (chat_message_id, notification_message_id, outcome) VALUES ($1, $2, 'sent')`,
      [reply.id, id],
    );
    await m.query(
      `INSERT INTO ticket_audit (ticket_id, actor_type, action, changes) VALUES ($1, 'system', 'chat_offline_email', $2::jsonb)`,
      [reply.ticket_id, JSON.stringify({ chatMessageId: reply.id, emailMessageId: id })],
    );
    await this.outbox.write(m, outbox);
    this.logger.info(
      { messageId: reply.id, ticketId: reply.ticket_id, emailMessageId: id },
      'chat offline email queued',
    );
  }
}
