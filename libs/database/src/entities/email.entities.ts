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
  UpdateDateColumn,
} from 'typeorm';
import { AgentEntity } from './agents-teams.entities';
import { ts, tsNull } from './columns';
import { InboxEntity } from './inboxes.entities';
import { MessageEntity } from './messages.entities';
import { TicketEntity } from './tickets.entities';

/**
 * email-service's only durable state: per mailbox the UIDVALIDITY it has seen and the highest UID
 * already enqueued. No foreign key to inboxes: the row belongs to email-service.
 */
@Entity('email_imap_cursors')
@Check('email_imap_cursors_last_uid_check', 'last_uid >= 0')
export class EmailImapCursorEntity {
  @PrimaryColumn({ name: 'inbox_id', type: 'uuid', primaryKeyConstraintName: 'email_imap_cursors_pkey' })
  inboxId: string;
  @PrimaryColumn({ type: 'text', primaryKeyConstraintName: 'email_imap_cursors_pkey' }) folder: string;
  @Column('bigint') uidvalidity: string;
  @Column({ name: 'last_uid', type: 'bigint', default: 0 }) lastUid: string;
  @UpdateDateColumn({ name: 'updated_at', ...ts }) updatedAt: Date;
}

/** Mail email-service kept out of the agent queue (backscatter, upstream-flagged spam), for an admin to review. */
@Entity('suppressed_mails')
@Unique('suppressed_mails_inbox_id_external_id_key', ['inboxId', 'externalId'])
@Check('suppressed_mails_reason_check', `reason IN ('backscatter', 'spam')`)
@Check('suppressed_mails_raw_size_check', 'raw_size >= 0')
@Check(
  'suppressed_mails_release_complete',
  '(released_at IS NULL) = (released_ticket_id IS NULL) AND (released_at IS NULL) = (released_message_id IS NULL)',
)
@Index('suppressed_mails_raw_idx', ['rawSha256'])
// (created_at DESC, id DESC) / (inbox_id, created_at DESC, id DESC) WHERE deleted_at IS NULL: descending keys.
@Index('suppressed_mails_list_idx', { synchronize: false })
@Index('suppressed_mails_inbox_idx', { synchronize: false })
// gin ((message->'attachments') jsonb_path_ops): an expression with an operator class.
@Index('suppressed_mails_attachments_idx', { synchronize: false })
export class SuppressedMailEntity {
  @PrimaryGeneratedColumn('uuid', { primaryKeyConstraintName: 'suppressed_mails_pkey' }) id: string;
  @Column({ name: 'inbox_id', type: 'uuid' }) inboxId: string;
  @ManyToOne(() => InboxEntity)
  @JoinColumn({ name: 'inbox_id', foreignKeyConstraintName: 'suppressed_mails_inbox_id_fkey' })
  inbox?: Relation<InboxEntity>;
  @Column({ name: 'external_id', type: 'text' }) externalId: string;
  @Column('text') reason: 'backscatter' | 'spam';
  @Column('text') detail: string;
  @Column({ name: 'sender_address', type: 'text' }) senderAddress: string;
  @Column({ name: 'sender_name', type: 'text', nullable: true }) senderName: string | null;
  @Column({ type: 'text', nullable: true }) subject: string | null;
  /** The raw source in the blob store (no foreign key: blobs are content-addressed). */
  @Column({ name: 'raw_sha256', type: 'char', length: 64 }) rawSha256: string;
  @Column({ name: 'raw_size', type: 'bigint' }) rawSize: string;
  /** The validated job as ingest masked it: released mail runs it through normal ingest. */
  @Column('jsonb') message: Record<string, unknown>;
  @Column({ name: 'imap_uid', type: 'bigint', nullable: true }) imapUid: string | null;
  @Column({ name: 'received_at', ...ts }) receivedAt: Date;
  @CreateDateColumn({ name: 'created_at', ...ts }) createdAt: Date;
  @Column({ name: 'released_at', ...tsNull }) releasedAt: Date | null;
  @Column({ name: 'released_by', type: 'uuid', nullable: true }) releasedBy: string | null;
  @ManyToOne(() => AgentEntity)
  @JoinColumn({ name: 'released_by', foreignKeyConstraintName: 'suppressed_mails_released_by_fkey' })
  releasedByAgent?: Relation<AgentEntity> | null;
  @Column({ name: 'released_ticket_id', type: 'uuid', nullable: true }) releasedTicketId: string | null;
  @ManyToOne(() => TicketEntity)
  @JoinColumn({ name: 'released_ticket_id', foreignKeyConstraintName: 'suppressed_mails_released_ticket_id_fkey' })
  releasedTicket?: Relation<TicketEntity> | null;
  @Column({ name: 'released_message_id', type: 'uuid', nullable: true }) releasedMessageId: string | null;
  @ManyToOne(() => MessageEntity)
  @JoinColumn({ name: 'released_message_id', foreignKeyConstraintName: 'suppressed_mails_released_message_id_fkey' })
  releasedMessage?: Relation<MessageEntity> | null;
  @Column({ name: 'deleted_at', ...tsNull }) deletedAt: Date | null;
}
