import type { Channel, TicketPriority, TicketStatus } from '@oq/contracts';
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
  VersionColumn,
} from 'typeorm';
import { AgentEntity, TeamEntity } from './agents-teams.entities';
import { ts, tsNow, tsNull } from './columns';
import { ContactEntity, ContactIdentityEntity } from './contacts.entities';
import { InboxEntity } from './inboxes.entities';

@Entity('categories')
@Unique('categories_name_key', ['name'])
export class CategoryEntity {
  @PrimaryGeneratedColumn('uuid', { primaryKeyConstraintName: 'categories_pkey' }) id: string;
  @Column('text') name: string;
  @Column({ type: 'boolean', default: true }) active: boolean;
  @CreateDateColumn({ name: 'created_at', ...ts }) createdAt: Date;
}

@Entity('tickets')
@Unique('tickets_number_key', ['number'])
@Check('tickets_status_check', `status IN ('new','open','pending','on_hold','solved','closed')`)
@Check('tickets_priority_check', `priority IN ('low','normal','high','urgent')`)
@Check('tickets_type_check', `type IN ('question','problem','incident','task')`)
@Index('tickets_assignee_idx', ['assigneeId'], { where: 'assignee_id IS NOT NULL' })
@Index('tickets_tags_idx', ['tags'], { type: 'gin' })
@Index('tickets_solved_idx', ['solvedAt'], { where: `status = 'solved'` })
// The queue's indexes: priority_rank DESC, (coalesce(next_due_at, 'infinity')) and (-priority_rank) keys.
@Index('tickets_queue_idx', { synchronize: false })
@Index('tickets_queue_team_idx', { synchronize: false })
@Index('tickets_queue_key_idx', { synchronize: false })
@Index('tickets_queue_team_key_idx', { synchronize: false })
@Index('tickets_queue_assignee_key_idx', { synchronize: false })
// (requester_id, updated_at DESC) and (updated_at DESC, id DESC): descending keys.
@Index('tickets_requester_idx', { synchronize: false })
@Index('tickets_updated_idx', { synchronize: false })
export class TicketEntity {
  @PrimaryGeneratedColumn('uuid', { primaryKeyConstraintName: 'tickets_pkey' }) id: string;
  /** bigint arrives as a string from pg; ticket numbers stay well inside 2^53. */
  @Column({
    type: 'bigint',
    default: () => `nextval('ticket_number_seq')`,
    insert: false,
    update: false,
    transformer: { to: (v: number | undefined) => v, from: (v: string) => Number(v) },
  })
  number: number;
  @Column({ type: 'text', default: '' }) subject: string;
  @Column({ type: 'text', default: 'new' }) status: TicketStatus;
  @Column({ type: 'text', default: 'normal' }) priority: TicketPriority;
  /** Sort key for the queue, higher is more urgent. Generated, so nullable as far as Postgres knows (never null). */
  @Column({
    name: 'priority_rank',
    type: 'smallint',
    nullable: true,
    generatedType: 'STORED',
    asExpression: `CASE priority WHEN 'urgent' THEN 3 WHEN 'high' THEN 2 WHEN 'normal' THEN 1 ELSE 0 END`,
    insert: false,
    update: false,
  })
  priorityRank: number;
  @Column({ type: 'text', default: 'question' }) type: 'question' | 'problem' | 'incident' | 'task';
  @Column({ name: 'category_id', type: 'uuid', nullable: true }) categoryId: string | null;
  @ManyToOne(() => CategoryEntity)
  @JoinColumn({ name: 'category_id', foreignKeyConstraintName: 'tickets_category_id_fkey' })
  category?: Relation<CategoryEntity> | null;
  @Column({ type: 'text', array: true, default: [] }) tags: string[];
  @Column({ name: 'team_id', type: 'uuid' }) teamId: string;
  @ManyToOne(() => TeamEntity)
  @JoinColumn({ name: 'team_id', foreignKeyConstraintName: 'tickets_team_id_fkey' })
  team?: Relation<TeamEntity>;
  @Column({ name: 'assignee_id', type: 'uuid', nullable: true }) assigneeId: string | null;
  @ManyToOne(() => AgentEntity)
  @JoinColumn({ name: 'assignee_id', foreignKeyConstraintName: 'tickets_assignee_id_fkey' })
  assignee?: Relation<AgentEntity> | null;
  @Column({ name: 'requester_id', type: 'uuid' }) requesterId: string;
  @ManyToOne(() => ContactEntity)
  @JoinColumn({ name: 'requester_id', foreignKeyConstraintName: 'tickets_requester_id_fkey' })
  requester?: Relation<ContactEntity>;
  @Column('text') channel: Channel;
  @Column({ name: 'inbox_id', type: 'uuid', nullable: true }) inboxId: string | null;
  @ManyToOne(() => InboxEntity)
  @JoinColumn({ name: 'inbox_id', foreignKeyConstraintName: 'tickets_inbox_id_fkey' })
  inbox?: Relation<InboxEntity> | null;
  @Column({ name: 'follow_up_of_id', type: 'uuid', nullable: true }) followUpOfId: string | null;
  @ManyToOne(() => TicketEntity)
  @JoinColumn({ name: 'follow_up_of_id', foreignKeyConstraintName: 'tickets_follow_up_of_id_fkey' })
  followUpOf?: Relation<TicketEntity> | null;
  @Column({ name: 'merged_into_id', type: 'uuid', nullable: true }) mergedIntoId: string | null;
  @ManyToOne(() => TicketEntity)
  @JoinColumn({ name: 'merged_into_id', foreignKeyConstraintName: 'tickets_merged_into_id_fkey' })
  mergedInto?: Relation<TicketEntity> | null;
  @VersionColumn({ default: 1 }) version: number;
  @Column({ name: 'next_due_at', ...tsNull }) nextDueAt: Date | null;
  @Column({ name: 'first_reply_at', ...tsNull }) firstReplyAt: Date | null;
  @Column({ name: 'solved_at', ...tsNull }) solvedAt: Date | null;
  @Column({ name: 'closed_at', ...tsNull }) closedAt: Date | null;
  @Column({ name: 'last_customer_message_at', ...tsNull }) lastCustomerMessageAt: Date | null;
  @Column({ name: 'last_agent_reply_at', ...tsNull }) lastAgentReplyAt: Date | null;
  @Column({ name: 'customer_message_count', type: 'integer', default: 0 }) customerMessageCount: number;
  @Column({ name: 'agent_reply_count', type: 'integer', default: 0 }) agentReplyCount: number;
  @CreateDateColumn({ name: 'created_at', ...ts }) createdAt: Date;
  @UpdateDateColumn({ name: 'updated_at', ...ts }) updatedAt: Date;
}

@Entity('ticket_participants')
@Check('ticket_participants_role_check', `role IN ('requester','cc')`)
@Index('ticket_participants_contact_idx', ['contactId'])
export class TicketParticipantEntity {
  @PrimaryColumn({ name: 'ticket_id', type: 'uuid', primaryKeyConstraintName: 'ticket_participants_pkey' })
  ticketId: string;
  @PrimaryColumn({ name: 'contact_id', type: 'uuid', primaryKeyConstraintName: 'ticket_participants_pkey' })
  contactId: string;
  @ManyToOne(() => TicketEntity)
  @JoinColumn({ name: 'ticket_id', foreignKeyConstraintName: 'ticket_participants_ticket_id_fkey' })
  ticket?: Relation<TicketEntity>;
  @ManyToOne(() => ContactEntity)
  @JoinColumn({ name: 'contact_id', foreignKeyConstraintName: 'ticket_participants_contact_id_fkey' })
  contact?: Relation<ContactEntity>;
  @Column('text') role: 'requester' | 'cc';
}

@Entity('conversations')
@Unique('conversations_inbox_id_identity_id_key', ['inboxId', 'identityId'])
@Index('conversations_ticket_idx', ['ticketId'])
export class ConversationEntity {
  @PrimaryGeneratedColumn('uuid', { primaryKeyConstraintName: 'conversations_pkey' }) id: string;
  @Column({ name: 'inbox_id', type: 'uuid' }) inboxId: string;
  @ManyToOne(() => InboxEntity)
  @JoinColumn({ name: 'inbox_id', foreignKeyConstraintName: 'conversations_inbox_id_fkey' })
  inbox?: Relation<InboxEntity>;
  @Column({ name: 'identity_id', type: 'uuid' }) identityId: string;
  @ManyToOne(() => ContactIdentityEntity)
  @JoinColumn({ name: 'identity_id', foreignKeyConstraintName: 'conversations_identity_id_fkey' })
  identity?: Relation<ContactIdentityEntity>;
  @Column({ name: 'ticket_id', type: 'uuid' }) ticketId: string;
  @ManyToOne(() => TicketEntity)
  @JoinColumn({ name: 'ticket_id', foreignKeyConstraintName: 'conversations_ticket_id_fkey' })
  ticket?: Relation<TicketEntity>;
  /** When the customer last wrote on this pair (Meta's 24-hour window). */
  @Column({ name: 'last_inbound_at', ...tsNull }) lastInboundAt: Date | null;
  @UpdateDateColumn({ name: 'updated_at', ...ts }) updatedAt: Date;
}

@Entity('ticket_audit')
@Check('ticket_audit_actor_type_check', `actor_type IN ('agent','customer','system')`)
@Index('ticket_audit_ticket_idx', ['ticketId', 'id'])
export class TicketAuditEntity {
  @PrimaryGeneratedColumn({ type: 'bigint', primaryKeyConstraintName: 'ticket_audit_pkey' }) id: string;
  @Column({ name: 'ticket_id', type: 'uuid' }) ticketId: string;
  @ManyToOne(() => TicketEntity)
  @JoinColumn({ name: 'ticket_id', foreignKeyConstraintName: 'ticket_audit_ticket_id_fkey' })
  ticket?: Relation<TicketEntity>;
  @Column({ name: 'actor_type', type: 'text' }) actorType: 'agent' | 'customer' | 'system';
  @Column({ name: 'actor_agent_id', type: 'uuid', nullable: true }) actorAgentId: string | null;
  @ManyToOne(() => AgentEntity)
  @JoinColumn({ name: 'actor_agent_id', foreignKeyConstraintName: 'ticket_audit_actor_agent_id_fkey' })
  actorAgent?: Relation<AgentEntity> | null;
  @Column('text') action: string;
  @Column({ type: 'jsonb', default: {} }) changes: Record<string, unknown>;
  @CreateDateColumn({ name: 'created_at', ...ts }) createdAt: Date;
}

/** The ledger that makes applying a ticket command (SLA escalation actions) idempotent by its id. */
@Entity('applied_ticket_commands')
export class AppliedTicketCommandEntity {
  @PrimaryColumn({ name: 'command_id', type: 'text', primaryKeyConstraintName: 'applied_ticket_commands_pkey' })
  commandId: string;
  @Column({ name: 'ticket_id', type: 'uuid' }) ticketId: string;
  @ManyToOne(() => TicketEntity)
  @JoinColumn({ name: 'ticket_id', foreignKeyConstraintName: 'applied_ticket_commands_ticket_id_fkey' })
  ticket?: Relation<TicketEntity>;
  @Column({ type: 'jsonb', default: {} }) result: Record<string, unknown>;
  @Column({ name: 'applied_at', ...tsNow }) appliedAt: Date;
}
