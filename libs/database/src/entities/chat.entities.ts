import {
  Check,
  Column,
  CreateDateColumn,
  Entity,
  Index,
  JoinColumn,
  ManyToOne,
  PrimaryColumn,
  PrimaryGeneratedColumn,
  type Relation,
  Unique,
} from 'typeorm';
import { ts, tsNow } from './columns';
import { InboxEntity } from './inboxes.entities';
import { MessageEntity } from './messages.entities';

/** An anonymous visitor chat-service issued a token to (only the token's sha256 is stored). */
@Entity('chat_visitors')
@Unique('chat_visitors_token_hash_key', ['tokenHash'])
@Index('chat_visitors_app_user_idx', ['inboxId', 'appUserId'], { where: 'app_user_id IS NOT NULL' })
export class ChatVisitorEntity {
  @PrimaryGeneratedColumn('uuid', { primaryKeyConstraintName: 'chat_visitors_pkey' }) id: string;
  @Column({ name: 'inbox_id', type: 'uuid' }) inboxId: string;
  @ManyToOne(() => InboxEntity)
  @JoinColumn({ name: 'inbox_id', foreignKeyConstraintName: 'chat_visitors_inbox_id_fkey' })
  inbox?: Relation<InboxEntity>;
  @Column({ name: 'token_hash', type: 'text' }) tokenHash: string;
  /** Set when the visitor later signs in as a verified app user (their rooms join). */
  @Column({ name: 'app_user_id', type: 'text', nullable: true }) appUserId: string | null;
  @CreateDateColumn({ name: 'created_at', ...ts }) createdAt: Date;
  @Column({ name: 'last_seen_at', ...tsNow }) lastSeenAt: Date;
}

/** ticket-service's record of the offline email notification for a chat reply the customer never received. */
@Entity('chat_offline_notifications')
@Check('chat_offline_notifications_outcome_check', `outcome IN ('sent','skipped')`)
export class ChatOfflineNotificationEntity {
  @PrimaryColumn({
    name: 'chat_message_id',
    type: 'uuid',
    primaryKeyConstraintName: 'chat_offline_notifications_pkey',
  })
  chatMessageId: string;
  // ManyToOne rather than OneToOne: a one-to-one would add a UNIQUE constraint the primary key already is.
  @ManyToOne(() => MessageEntity)
  @JoinColumn({ name: 'chat_message_id', foreignKeyConstraintName: 'chat_offline_notifications_chat_message_id_fkey' })
  chatMessage?: Relation<MessageEntity>;
  @Column({ name: 'notification_message_id', type: 'uuid', nullable: true }) notificationMessageId: string | null;
  @ManyToOne(() => MessageEntity)
  @JoinColumn({
    name: 'notification_message_id',
    foreignKeyConstraintName: 'chat_offline_notifications_notification_message_id_fkey',
  })
  notificationMessage?: Relation<MessageEntity> | null;
  /** 'sent' (an email was queued) or 'skipped' with the reason (no email identity, no email inbox). */
  @Column('text') outcome: 'sent' | 'skipped';
  @Column({ type: 'text', nullable: true }) reason: string | null;
  @CreateDateColumn({ name: 'created_at', ...ts }) createdAt: Date;
}
