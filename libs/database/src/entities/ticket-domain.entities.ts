import {
  Column,
  CreateDateColumn,
  Entity,
  JoinColumn,
  JoinTable,
  ManyToMany,
  ManyToOne,
  PrimaryColumn,
  PrimaryGeneratedColumn,
  UpdateDateColumn,
  VersionColumn,
} from 'typeorm';
import type { AttachmentRef, Channel, DeliveryStatus, IdentityKind, TicketPriority, TicketStatus } from '@oq/contracts';

const ts = { type: 'timestamptz' } as const;
const tsNull = { type: 'timestamptz', nullable: true } as const;

@Entity('teams')
export class TeamEntity {
  @PrimaryGeneratedColumn('uuid') id: string;
  @Column('text') name: string;
  @CreateDateColumn({ name: 'created_at', ...ts }) createdAt: Date;
}

@Entity('agents')
export class AgentEntity {
  @PrimaryGeneratedColumn('uuid') id: string;
  @Column('text') email: string;
  @Column('text') name: string;
  @Column({ name: 'password_hash', type: 'text', select: false }) passwordHash: string;
  @Column('text') role: 'admin' | 'agent';
  @Column('text') presence: 'online' | 'away' | 'offline';
  @Column({ name: 'presence_at', ...tsNull }) presenceAt: Date | null;
  @Column('boolean') active: boolean;
  /** Carried in every JWT as `tv`; a password change bumps it, revoking the tokens issued before. */
  @Column({ name: 'token_version', type: 'integer' }) tokenVersion: number;
  @ManyToMany(() => TeamEntity)
  @JoinTable({ name: 'agent_teams', joinColumn: { name: 'agent_id' }, inverseJoinColumn: { name: 'team_id' } })
  teams: TeamEntity[];
  @CreateDateColumn({ name: 'created_at', ...ts }) createdAt: Date;
  @UpdateDateColumn({ name: 'updated_at', ...ts }) updatedAt: Date;
}

@Entity('inboxes')
export class InboxEntity {
  @PrimaryGeneratedColumn('uuid') id: string;
  @Column('text') name: string;
  @Column('text') channel: Channel;
  @Column('text') address: string;
  @Column({ name: 'default_team_id', type: 'uuid' }) defaultTeamId: string;
  @Column('jsonb') settings: Record<string, unknown>;
  /** Ciphertext only; decrypt with SecretBox. */
  @Column({ type: 'text', nullable: true, select: false }) secrets: string | null;
  @Column('boolean') enabled: boolean;
  /** Seeded by demo mode only; see migration 1764000014000. */
  @Column('boolean') demo: boolean;
  @CreateDateColumn({ name: 'created_at', ...ts }) createdAt: Date;
  @UpdateDateColumn({ name: 'updated_at', ...ts }) updatedAt: Date;
}

@Entity('contacts')
export class ContactEntity {
  @PrimaryGeneratedColumn('uuid') id: string;
  @Column({ type: 'text', nullable: true }) name: string | null;
  @Column({ name: 'merged_into_id', type: 'uuid', nullable: true }) mergedIntoId: string | null;
  @CreateDateColumn({ name: 'created_at', ...ts }) createdAt: Date;
  @UpdateDateColumn({ name: 'updated_at', ...ts }) updatedAt: Date;
}

@Entity('contact_identities')
export class ContactIdentityEntity {
  @PrimaryGeneratedColumn('uuid') id: string;
  @Column({ name: 'contact_id', type: 'uuid' }) contactId: string;
  @ManyToOne(() => ContactEntity)
  @JoinColumn({ name: 'contact_id' })
  contact?: ContactEntity;
  @Column('text') kind: IdentityKind;
  @Column('text') value: string;
  @Column('boolean') verified: boolean;
  @Column({ name: 'linked_identity_id', type: 'uuid', nullable: true }) linkedIdentityId: string | null;
  @CreateDateColumn({ name: 'created_at', ...ts }) createdAt: Date;
}

@Entity('merge_suggestions')
export class MergeSuggestionEntity {
  @PrimaryGeneratedColumn('uuid') id: string;
  @Column({ name: 'contact_id', type: 'uuid' }) contactId: string;
  @Column({ name: 'other_contact_id', type: 'uuid' }) otherContactId: string;
  @Column('text') reason: string;
  @Column('text') status: 'open' | 'merged' | 'dismissed';
  @CreateDateColumn({ name: 'created_at', ...ts }) createdAt: Date;
}

@Entity('categories')
export class CategoryEntity {
  @PrimaryGeneratedColumn('uuid') id: string;
  @Column('text') name: string;
  @Column('boolean') active: boolean;
  @CreateDateColumn({ name: 'created_at', ...ts }) createdAt: Date;
}

@Entity('tickets')
export class TicketEntity {
  @PrimaryGeneratedColumn('uuid') id: string;
  /** bigint arrives as a string from pg; ticket numbers stay well inside 2^53. */
  @Column({ type: 'bigint', insert: false, update: false, transformer: { to: (v) => v, from: (v) => Number(v) } })
  number: number;
  @Column('text') subject: string;
  @Column('text') status: TicketStatus;
  @Column('text') priority: TicketPriority;
  @Column({ name: 'priority_rank', type: 'smallint', insert: false, update: false }) priorityRank: number;
  @Column('text') type: 'question' | 'problem' | 'incident' | 'task';
  @Column({ name: 'category_id', type: 'uuid', nullable: true }) categoryId: string | null;
  @Column({ type: 'text', array: true }) tags: string[];
  @Column({ name: 'team_id', type: 'uuid' }) teamId: string;
  @Column({ name: 'assignee_id', type: 'uuid', nullable: true }) assigneeId: string | null;
  @Column({ name: 'requester_id', type: 'uuid' }) requesterId: string;
  @Column('text') channel: Channel;
  @Column({ name: 'inbox_id', type: 'uuid', nullable: true }) inboxId: string | null;
  @Column({ name: 'follow_up_of_id', type: 'uuid', nullable: true }) followUpOfId: string | null;
  @Column({ name: 'merged_into_id', type: 'uuid', nullable: true }) mergedIntoId: string | null;
  @VersionColumn() version: number;
  @Column({ name: 'next_due_at', ...tsNull }) nextDueAt: Date | null;
  @Column({ name: 'first_reply_at', ...tsNull }) firstReplyAt: Date | null;
  @Column({ name: 'solved_at', ...tsNull }) solvedAt: Date | null;
  @Column({ name: 'closed_at', ...tsNull }) closedAt: Date | null;
  @Column({ name: 'last_customer_message_at', ...tsNull }) lastCustomerMessageAt: Date | null;
  @Column({ name: 'last_agent_reply_at', ...tsNull }) lastAgentReplyAt: Date | null;
  @Column({ name: 'customer_message_count', type: 'integer' }) customerMessageCount: number;
  @Column({ name: 'agent_reply_count', type: 'integer' }) agentReplyCount: number;
  @CreateDateColumn({ name: 'created_at', ...ts }) createdAt: Date;
  @UpdateDateColumn({ name: 'updated_at', ...ts }) updatedAt: Date;
}

@Entity('ticket_participants')
export class TicketParticipantEntity {
  @PrimaryColumn({ name: 'ticket_id', type: 'uuid' }) ticketId: string;
  @PrimaryColumn({ name: 'contact_id', type: 'uuid' }) contactId: string;
  @Column('text') role: 'requester' | 'cc';
}

@Entity('conversations')
export class ConversationEntity {
  @PrimaryGeneratedColumn('uuid') id: string;
  @Column({ name: 'inbox_id', type: 'uuid' }) inboxId: string;
  @Column({ name: 'identity_id', type: 'uuid' }) identityId: string;
  @Column({ name: 'ticket_id', type: 'uuid' }) ticketId: string;
  @Column({ name: 'last_inbound_at', ...tsNull }) lastInboundAt: Date | null;
  @UpdateDateColumn({ name: 'updated_at', ...ts }) updatedAt: Date;
}

@Entity('messages')
export class MessageEntity {
  @PrimaryGeneratedColumn('uuid') id: string;
  @Column({ name: 'ticket_id', type: 'uuid' }) ticketId: string;
  @Column({ name: 'inbox_id', type: 'uuid', nullable: true }) inboxId: string | null;
  @Column({ type: 'text', nullable: true }) channel: Channel | null;
  @Column('text') direction: 'inbound' | 'outbound' | 'internal';
  @Column('text') kind: 'message' | 'note' | 'call_log' | 'system';
  @Column({ name: 'author_agent_id', type: 'uuid', nullable: true }) authorAgentId: string | null;
  @Column({ name: 'author_contact_id', type: 'uuid', nullable: true }) authorContactId: string | null;
  @Column({ name: 'to_identity_id', type: 'uuid', nullable: true }) toIdentityId: string | null;
  @Column({ name: 'external_id', type: 'text', nullable: true }) externalId: string | null;
  @Column('integer') revision: number;
  @Column({ type: 'text', nullable: true }) subject: string | null;
  @Column('text') text: string;
  @Column({ type: 'text', nullable: true }) html: string | null;
  @Column('jsonb') attachments: AttachmentRef[];
  @Column('jsonb') metadata: Record<string, unknown>;
  @Column({ name: 'email_message_id', type: 'text', nullable: true }) emailMessageId: string | null;
  @Column({ name: 'auto_submitted', type: 'boolean' }) autoSubmitted: boolean;
  @Column({ name: 'delivery_status', type: 'text', nullable: true }) deliveryStatus: DeliveryStatus | null;
  @Column({ name: 'delivery_reason', type: 'text', nullable: true }) deliveryReason: string | null;
  @Column({ name: 'delivery_error_code', type: 'text', nullable: true }) deliveryErrorCode: string | null;
  @Column({ name: 'provider_message_id', type: 'text', nullable: true }) providerMessageId: string | null;
  @Column({ name: 'source_time', ...ts }) sourceTime: Date;
  @CreateDateColumn({ name: 'created_at', ...ts }) createdAt: Date;
  @UpdateDateColumn({ name: 'updated_at', ...ts }) updatedAt: Date;
}

@Entity('parked_delivery_reports')
export class ParkedDeliveryReportEntity {
  @PrimaryGeneratedColumn({ type: 'bigint' }) id: string;
  @Column({ name: 'inbox_id', type: 'uuid' }) inboxId: string;
  @Column({ name: 'provider_message_id', type: 'text' }) providerMessageId: string;
  @Column('text') status: DeliveryStatus;
  @Column({ type: 'text', nullable: true }) reason: string | null;
  @Column({ name: 'error_code', type: 'text', nullable: true }) errorCode: string | null;
  @Column({ name: 'occurred_at', ...ts }) occurredAt: Date;
  @CreateDateColumn({ name: 'created_at', ...ts }) createdAt: Date;
}

@Entity('ticket_audit')
export class TicketAuditEntity {
  @PrimaryGeneratedColumn({ type: 'bigint' }) id: string;
  @Column({ name: 'ticket_id', type: 'uuid' }) ticketId: string;
  @Column({ name: 'actor_type', type: 'text' }) actorType: 'agent' | 'customer' | 'system';
  @Column({ name: 'actor_agent_id', type: 'uuid', nullable: true }) actorAgentId: string | null;
  @Column('text') action: string;
  @Column('jsonb') changes: Record<string, unknown>;
  @CreateDateColumn({ name: 'created_at', ...ts }) createdAt: Date;
}

@Entity('sla_schedules')
export class SlaScheduleEntity {
  @PrimaryGeneratedColumn('uuid') id: string;
  @Column('text') name: string;
  @Column('text') timezone: string;
  @Column('jsonb') weekly: unknown[];
  @Column('jsonb') holidays: unknown[];
  @CreateDateColumn({ name: 'created_at', ...ts }) createdAt: Date;
  @UpdateDateColumn({ name: 'updated_at', ...ts }) updatedAt: Date;
}

@Entity('sla_policies')
export class SlaPolicyEntity {
  @PrimaryGeneratedColumn('uuid') id: string;
  @Column('text') name: string;
  @Column('integer') position: number;
  @Column('jsonb') conditions: Record<string, unknown>;
  @Column('jsonb') targets: Record<string, unknown>;
  @Column({ name: 'schedule_id', type: 'uuid', nullable: true }) scheduleId: string | null;
  @Column({ name: 'warning_percent', type: 'integer', nullable: true }) warningPercent: number | null;
  @Column('boolean') active: boolean;
  @CreateDateColumn({ name: 'created_at', ...ts }) createdAt: Date;
  @UpdateDateColumn({ name: 'updated_at', ...ts }) updatedAt: Date;
}

@Entity('ticket_sla')
export class TicketSlaEntity {
  @PrimaryGeneratedColumn('uuid') id: string;
  @Column({ name: 'ticket_id', type: 'uuid' }) ticketId: string;
  @Column('text') metric: 'first_reply' | 'next_reply' | 'resolution';
  @Column({ name: 'policy_id', type: 'uuid', nullable: true }) policyId: string | null;
  @Column('text') state: 'active' | 'paused' | 'fulfilled' | 'breached' | 'cancelled';
  @Column({ name: 'business_time', type: 'boolean' }) businessTime: boolean;
  @Column({ name: 'target_seconds', type: 'integer' }) targetSeconds: number;
  @Column({ name: 'started_at', ...ts }) startedAt: Date;
  @Column({ name: 'due_at', ...tsNull }) dueAt: Date | null;
  @Column({ name: 'warn_at', ...tsNull }) warnAt: Date | null;
  @Column({ name: 'warned_at', ...tsNull }) warnedAt: Date | null;
  @Column({ name: 'paused_at', ...tsNull }) pausedAt: Date | null;
  @Column({ name: 'paused_seconds', type: 'integer' }) pausedSeconds: number;
  @Column({ name: 'fulfilled_at', ...tsNull }) fulfilledAt: Date | null;
  @Column({ name: 'breached_at', ...tsNull }) breachedAt: Date | null;
  @VersionColumn() version: number;
  @CreateDateColumn({ name: 'created_at', ...ts }) createdAt: Date;
  @UpdateDateColumn({ name: 'updated_at', ...ts }) updatedAt: Date;
}

@Entity('ticket_sla_events')
export class TicketSlaEventEntity {
  @PrimaryGeneratedColumn({ type: 'bigint' }) id: string;
  @Column({ name: 'ticket_sla_id', type: 'uuid' }) ticketSlaId: string;
  @Column('text') kind: 'activate' | 'pause' | 'resume' | 'fulfil' | 'warn' | 'breach' | 'retarget' | 'cancel';
  @Column(ts) at: Date;
  @Column({ name: 'business_seconds', type: 'integer', nullable: true }) businessSeconds: number | null;
  @Column({ name: 'calendar_seconds', type: 'integer', nullable: true }) calendarSeconds: number | null;
  @Column('jsonb') data: Record<string, unknown>;
}

@Entity('outbox')
export class OutboxEntity {
  @PrimaryGeneratedColumn({ type: 'bigint' }) id: string;
  @Column('text') queue: string;
  @Column({ name: 'job_name', type: 'text' }) jobName: string;
  @Column({ name: 'job_id', type: 'text', nullable: true }) jobId: string | null;
  @Column('jsonb') payload: unknown;
  @Column({ name: 'delay_ms', type: 'integer' }) delayMs: number;
  @CreateDateColumn({ name: 'created_at', ...ts }) createdAt: Date;
}

@Entity('dead_letters')
export class DeadLetterEntity {
  @PrimaryGeneratedColumn('uuid') id: string;
  @Column('text') queue: string;
  @Column({ name: 'job_name', type: 'text' }) jobName: string;
  @Column({ name: 'job_id', type: 'text', nullable: true }) jobId: string | null;
  /** Rows from before payload_bytes; new rows keep the payload only as bytes. */
  @Column({ type: 'jsonb', nullable: true }) payload: unknown;
  /** The payload's JSON text as UTF-8: bytes cannot be refused the way jsonb refuses `\u0000`. */
  @Column({ name: 'payload_bytes', type: 'bytea', nullable: true }) payloadBytes: Buffer | null;
  /** Set for letters a channel service sent as a job: one row per source job, however often retried. */
  @Column({ name: 'source_key', type: 'text', nullable: true }) sourceKey: string | null;
  @Column('text') reason: string;
  @CreateDateColumn({ name: 'created_at', ...ts }) createdAt: Date;
  @Column({ name: 'replayed_at', ...tsNull }) replayedAt: Date | null;
  @Column({ name: 'replay_count', type: 'integer' }) replayCount: number;
}

/** The exact original strings of a message whose text had to be made storable (storable-text.ts). */
@Entity('message_originals')
export class MessageOriginalEntity {
  @PrimaryColumn({ name: 'message_id', type: 'uuid' }) messageId: string;
  @Column('text', { array: true }) fields: string[];
  /** JSON object: field path → original string (JSON escapes keep NUL and lone surrogates). */
  @Column('bytea') original: Buffer;
  @CreateDateColumn({ name: 'created_at', ...ts }) createdAt: Date;
}

@Entity('idempotency_keys')
export class IdempotencyKeyEntity {
  @PrimaryColumn({ name: 'agent_id', type: 'uuid' }) agentId: string;
  @PrimaryColumn('text') key: string;
  @Column('text') method: string;
  @Column('text') path: string;
  @Column({ name: 'body_hash', type: 'text' }) bodyHash: string;
  @Column({ name: 'status_code', type: 'integer', nullable: true }) statusCode: number | null;
  @Column({ type: 'jsonb', nullable: true }) response: unknown;
  @CreateDateColumn({ name: 'created_at', ...ts }) createdAt: Date;
}

export const TICKET_DOMAIN_ENTITIES = [
  TeamEntity,
  AgentEntity,
  InboxEntity,
  ContactEntity,
  ContactIdentityEntity,
  MergeSuggestionEntity,
  CategoryEntity,
  TicketEntity,
  TicketParticipantEntity,
  ConversationEntity,
  MessageEntity,
  ParkedDeliveryReportEntity,
  TicketAuditEntity,
  SlaScheduleEntity,
  SlaPolicyEntity,
  TicketSlaEntity,
  TicketSlaEventEntity,
  OutboxEntity,
  DeadLetterEntity,
  MessageOriginalEntity,
  IdempotencyKeyEntity,
];
