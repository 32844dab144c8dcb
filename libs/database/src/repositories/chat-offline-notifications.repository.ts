import { Inject, Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { Db, execute, maybeOne, rows } from '../sql/db';
import { sql } from '../sql/sql';

/** A chat reply chat-service could not deliver, with the ticket it is on. */
export interface UndeliveredChatReplyRow {
  id: string;
  ticket_id: string;
  text: string;
  /** When the reply was reported undelivered (its last update). */
  failed_at: Date;
  /** bigint: a string from pg. */
  number: string;
  team_id: string;
  assignee_id: string | null;
  requester_id: string;
}

/**
 * Offline notices owed to chat customers who left before an agent answered.
 * Tables: chat_offline_notifications.
 */
@Injectable()
export class ChatOfflineNotificationRepository {
  constructor(@Inject(DataSource) private readonly db: Db) {}

  /** The same repository on a transaction's manager. */
  with(db: Db): ChatOfflineNotificationRepository {
    return new ChatOfflineNotificationRepository(db);
  }

  /**
   * Locks up to `limit` chat replies reported undelivered for `reason` at least `delaySeconds`
   * ago that have no notification yet, oldest first. SKIP LOCKED: replicas scanning at once
   * split the work instead of waiting on each other.
   */
  lockDue(reason: string, delaySeconds: number, limit = 50): Promise<UndeliveredChatReplyRow[]> {
    return rows<UndeliveredChatReplyRow>(
      this.db,
      sql`SELECT msg.id, msg.ticket_id, msg.text, msg.updated_at AS failed_at,
                t.number, t.team_id, t.assignee_id, t.requester_id
         FROM messages msg JOIN tickets t ON t.id = msg.ticket_id
         WHERE msg.channel = 'chat' AND msg.direction = 'outbound' AND msg.delivery_status = 'failed'
           AND msg.delivery_reason = ${reason}
           AND msg.updated_at <= now() - make_interval(secs => ${delaySeconds})
           AND NOT EXISTS (SELECT 1 FROM chat_offline_notifications n WHERE n.chat_message_id = msg.id)
         ORDER BY msg.updated_at
         LIMIT ${limit}
         FOR UPDATE OF msg SKIP LOCKED`,
    );
  }

  /**
   * The email identity a notice to the requester goes to: theirs or that of the contact they were
   * merged into, verified first, then the oldest. (contact_identities is ContactRepository's
   * table; this is the notice's recipient choice.)
   */
  requesterEmail(contactId: string): Promise<{ id: string; value: string } | undefined> {
    return maybeOne<{ id: string; value: string }>(
      this.db,
      sql`SELECT ci.id, ci.value FROM contact_identities ci
       JOIN contacts c ON c.id = ${contactId}
       WHERE ci.kind = 'email' AND ci.contact_id IN (c.id, c.merged_into_id)
       ORDER BY ci.verified DESC, ci.created_at LIMIT 1`,
    );
  }

  /** No notice after all, and why: the row stops rescans. */
  async recordSkipped(chatMessageId: string, reason: string): Promise<void> {
    await execute(
      this.db,
      sql`INSERT INTO chat_offline_notifications (chat_message_id, outcome, reason) VALUES (${chatMessageId}, 'skipped', ${reason})`,
    );
  }

  /** The notice went out as message `notificationMessageId`. */
  async recordSent(chatMessageId: string, notificationMessageId: string): Promise<void> {
    await execute(
      this.db,
      sql`INSERT INTO chat_offline_notifications (chat_message_id, notification_message_id, outcome)
          VALUES (${chatMessageId}, ${notificationMessageId}, 'sent')`,
    );
  }
}
