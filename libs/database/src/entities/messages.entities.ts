import type { AttachmentRef, Channel, DeliveryStatus } from '@oq/contracts';
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
  UpdateDateColumn,
} from 'typeorm';
import { AgentEntity } from './agents-teams.entities';
import { ts, tsNow } from './columns';
import { ContactEntity, ContactIdentityEntity } from './contacts.entities';
import { InboxEntity } from './inboxes.entities';
import { TicketEntity } from './tickets.entities';

@Entity('messages')
@Check('messages_direction_check', `direction IN ('inbound','outbound','internal')`)
@Check('messages_kind_check', `kind IN ('message','note','call_log','system')`)
@Check('messages_delivery_status_check', `delivery_status IN ('queued','sent','delivered','read','failed')`)
// Idempotent ingest: one row per source message per inbox, whatever the retries.
@Index('messages_external_idx', ['inboxId', 'externalId'], { unique: true, where: 'external_id IS NOT NULL' })
@Index('messages_provider_idx', ['inboxId', 'providerMessageId'], {
  unique: true,
  where: 'provider_message_id IS NOT NULL',
})
@Index('messages_ticket_idx', ['ticketId', 'createdAt', 'id'])
@Index('messages_email_message_id_idx', ['emailMessageId'], { where: 'email_message_id IS NOT NULL' })
@Index('messages_chat_undelivered_idx', ['updatedAt'], {
  where: `channel = 'chat' AND direction = 'outbound' AND delivery_status = 'failed'`,
})
@Index('messages_watermark_idx', ['inboxId', 'toIdentityId', 'createdAt'], {
  where: `direction = 'outbound' AND delivery_status IN ('sent','delivered')`,
})
// gin (attachments jsonb_path_ops): operator class.
@Index('messages_attachments_idx', { synchronize: false })
export class MessageEntity {
  @PrimaryGeneratedColumn('uuid', { primaryKeyConstraintName: 'messages_pkey' }) id: string;
  @Column({ name: 'ticket_id', type: 'uuid' }) ticketId: string;
  @ManyToOne(() => TicketEntity)
  @JoinColumn({ name: 'ticket_id', foreignKeyConstraintName: 'messages_ticket_id_fkey' })
  ticket?: Relation<TicketEntity>;
  @Column({ name: 'inbox_id', type: 'uuid', nullable: true }) inboxId: string | null;
  @ManyToOne(() => InboxEntity)
  @JoinColumn({ name: 'inbox_id', foreignKeyConstraintName: 'messages_inbox_id_fkey' })
  inbox?: Relation<InboxEntity> | null;
  @Column({ type: 'text', nullable: true }) channel: Channel | null;
  @Column('text') direction: 'inbound' | 'outbound' | 'internal';
  @Column({ type: 'text', default: 'message' }) kind: 'message' | 'note' | 'call_log' | 'system';
  @Column({ name: 'author_agent_id', type: 'uuid', nullable: true }) authorAgentId: string | null;
  @ManyToOne(() => AgentEntity)
  @JoinColumn({ name: 'author_agent_id', foreignKeyConstraintName: 'messages_author_agent_id_fkey' })
  authorAgent?: Relation<AgentEntity> | null;
  @Column({ name: 'author_contact_id', type: 'uuid', nullable: true }) authorContactId: string | null;
  @ManyToOne(() => ContactEntity)
  @JoinColumn({ name: 'author_contact_id', foreignKeyConstraintName: 'messages_author_contact_id_fkey' })
  authorContact?: Relation<ContactEntity> | null;
  /** Recipient identity of an outbound message (the channel it went out on). */
  @Column({ name: 'to_identity_id', type: 'uuid', nullable: true }) toIdentityId: string | null;
  @ManyToOne(() => ContactIdentityEntity)
  @JoinColumn({ name: 'to_identity_id', foreignKeyConstraintName: 'messages_to_identity_id_fkey' })
  toIdentity?: Relation<ContactIdentityEntity> | null;
  @Column({ name: 'external_id', type: 'text', nullable: true }) externalId: string | null;
  @Column({ type: 'integer', default: 0 }) revision: number;
  @Column({ type: 'text', nullable: true }) subject: string | null;
  @Column({ type: 'text', default: '' }) text: string;
  @Column({ type: 'text', nullable: true }) html: string | null;
  @Column({ type: 'jsonb', default: [] }) attachments: AttachmentRef[];
  @Column({ type: 'jsonb', default: {} }) metadata: Record<string, unknown>;
  @Column({ name: 'email_message_id', type: 'text', nullable: true }) emailMessageId: string | null;
  @Column({ name: 'auto_submitted', type: 'boolean', default: false }) autoSubmitted: boolean;
  @Column({ name: 'delivery_status', type: 'text', nullable: true }) deliveryStatus: DeliveryStatus | null;
  @Column({ name: 'delivery_reason', type: 'text', nullable: true }) deliveryReason: string | null;
  @Column({ name: 'delivery_error_code', type: 'text', nullable: true }) deliveryErrorCode: string | null;
  @Column({ name: 'provider_message_id', type: 'text', nullable: true }) providerMessageId: string | null;
  @Column({ name: 'source_time', ...tsNow }) sourceTime: Date;
  @CreateDateColumn({ name: 'created_at', ...ts }) createdAt: Date;
  @UpdateDateColumn({ name: 'updated_at', ...ts }) updatedAt: Date;
  /** The display name an inbound message carried, whatever its contact is called now. */
  @Column({ name: 'sender_name', type: 'text', nullable: true }) senderName: string | null;
  /** The address an inbound message came from. */
  @Column({ name: 'sender_address', type: 'text', nullable: true }) senderAddress: string | null;
  /** For email: which header gave sender_address. */
  @Column({ name: 'sender_header', type: 'text', nullable: true }) senderHeader: string | null;
}

/** The exact original strings of a message whose text had to be made storable (storable-text.ts). */
@Entity('message_originals')
export class MessageOriginalEntity {
  @PrimaryColumn({ name: 'message_id', type: 'uuid', primaryKeyConstraintName: 'message_originals_pkey' })
  messageId: string;
  // ManyToOne rather than OneToOne: a one-to-one would add a UNIQUE constraint the primary key already is.
  @ManyToOne(() => MessageEntity, { onDelete: 'CASCADE' })
  @JoinColumn({ name: 'message_id', foreignKeyConstraintName: 'message_originals_message_id_fkey' })
  message?: Relation<MessageEntity>;
  @Column({ type: 'text', array: true }) fields: string[];
  /** JSON object: field path → original string (JSON escapes keep NUL and lone surrogates). */
  @Column('bytea') original: Buffer;
  @CreateDateColumn({ name: 'created_at', ...ts }) createdAt: Date;
}

/** Delivery reports that arrived before the message they report on; no foreign keys, by design. */
@Entity('parked_delivery_reports')
@Index('parked_delivery_reports_idx', ['inboxId', 'providerMessageId'])
export class ParkedDeliveryReportEntity {
  @PrimaryGeneratedColumn({ type: 'bigint', primaryKeyConstraintName: 'parked_delivery_reports_pkey' }) id: string;
  @Column({ name: 'inbox_id', type: 'uuid' }) inboxId: string;
  @Column({ name: 'provider_message_id', type: 'text' }) providerMessageId: string;
  @Column('text') status: DeliveryStatus;
  @Column({ type: 'text', nullable: true }) reason: string | null;
  @Column({ name: 'error_code', type: 'text', nullable: true }) errorCode: string | null;
  @Column({ name: 'occurred_at', ...ts }) occurredAt: Date;
  @CreateDateColumn({ name: 'created_at', ...ts }) createdAt: Date;
}
