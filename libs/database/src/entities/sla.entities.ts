import {
  Check,
  Column,
  CreateDateColumn,
  Entity,
  Index,
  JoinColumn,
  ManyToOne,
  PrimaryGeneratedColumn,
  type Relation,
  Unique,
  UpdateDateColumn,
  VersionColumn,
} from 'typeorm';
import { ts, tsNull } from './columns';
import { TicketEntity } from './tickets.entities';

@Entity('sla_schedules')
@Unique('sla_schedules_name_key', ['name'])
export class SlaScheduleEntity {
  @PrimaryGeneratedColumn('uuid', { primaryKeyConstraintName: 'sla_schedules_pkey' }) id: string;
  @Column('text') name: string;
  @Column('text') timezone: string;
  @Column({ type: 'jsonb', default: [] }) weekly: unknown[];
  @Column({ type: 'jsonb', default: [] }) holidays: unknown[];
  @CreateDateColumn({ name: 'created_at', ...ts }) createdAt: Date;
  @UpdateDateColumn({ name: 'updated_at', ...ts }) updatedAt: Date;
}

@Entity('sla_policies')
@Check('sla_policies_warning_percent_check', 'warning_percent BETWEEN 1 AND 99')
@Index('sla_policies_position_idx', ['position'], { unique: true, where: 'active' })
export class SlaPolicyEntity {
  @PrimaryGeneratedColumn('uuid', { primaryKeyConstraintName: 'sla_policies_pkey' }) id: string;
  @Column('text') name: string;
  @Column('integer') position: number;
  @Column({ type: 'jsonb', default: {} }) conditions: Record<string, unknown>;
  @Column({ type: 'jsonb', default: {} }) targets: Record<string, unknown>;
  @Column({ name: 'schedule_id', type: 'uuid', nullable: true }) scheduleId: string | null;
  @ManyToOne(() => SlaScheduleEntity)
  @JoinColumn({ name: 'schedule_id', foreignKeyConstraintName: 'sla_policies_schedule_id_fkey' })
  schedule?: Relation<SlaScheduleEntity> | null;
  @Column({ name: 'warning_percent', type: 'integer', nullable: true }) warningPercent: number | null;
  @Column({ type: 'boolean', default: true }) active: boolean;
  @CreateDateColumn({ name: 'created_at', ...ts }) createdAt: Date;
  @UpdateDateColumn({ name: 'updated_at', ...ts }) updatedAt: Date;
  /** What the policy does on warning and breach (commands sent to ticket-service). */
  @Column({ type: 'jsonb', default: {} }) escalation: Record<string, unknown>;
}

@Entity('ticket_sla')
@Check('ticket_sla_metric_check', `metric IN ('first_reply','next_reply','resolution')`)
@Check('ticket_sla_state_check', `state IN ('active','paused','fulfilled','breached','cancelled')`)
// One running instance per metric; next_reply has many over a ticket's life.
@Index('ticket_sla_running_idx', ['ticketId', 'metric'], { unique: true, where: `state IN ('active','paused')` })
@Index('ticket_sla_due_idx', ['dueAt'], { where: `state = 'active'` })
@Index('ticket_sla_warn_idx', ['warnAt'], { where: `state = 'active' AND warned_at IS NULL` })
@Index('ticket_sla_ticket_idx', ['ticketId', 'createdAt'])
@Index('ticket_sla_open_breached_idx', ['ticketId'], { where: `state = 'breached' AND fulfilled_at IS NULL` })
export class TicketSlaEntity {
  @PrimaryGeneratedColumn('uuid', { primaryKeyConstraintName: 'ticket_sla_pkey' }) id: string;
  @Column({ name: 'ticket_id', type: 'uuid' }) ticketId: string;
  @ManyToOne(() => TicketEntity)
  @JoinColumn({ name: 'ticket_id', foreignKeyConstraintName: 'ticket_sla_ticket_id_fkey' })
  ticket?: Relation<TicketEntity>;
  @Column('text') metric: 'first_reply' | 'next_reply' | 'resolution';
  @Column({ name: 'policy_id', type: 'uuid', nullable: true }) policyId: string | null;
  @ManyToOne(() => SlaPolicyEntity)
  @JoinColumn({ name: 'policy_id', foreignKeyConstraintName: 'ticket_sla_policy_id_fkey' })
  policy?: Relation<SlaPolicyEntity> | null;
  @Column('text') state: 'active' | 'paused' | 'fulfilled' | 'breached' | 'cancelled';
  @Column({ name: 'business_time', type: 'boolean', default: false }) businessTime: boolean;
  @Column({ name: 'target_seconds', type: 'integer' }) targetSeconds: number;
  @Column({ name: 'started_at', ...ts }) startedAt: Date;
  @Column({ name: 'due_at', ...tsNull }) dueAt: Date | null;
  @Column({ name: 'warn_at', ...tsNull }) warnAt: Date | null;
  @Column({ name: 'warned_at', ...tsNull }) warnedAt: Date | null;
  @Column({ name: 'paused_at', ...tsNull }) pausedAt: Date | null;
  @Column({ name: 'paused_seconds', type: 'integer', default: 0 }) pausedSeconds: number;
  @Column({ name: 'fulfilled_at', ...tsNull }) fulfilledAt: Date | null;
  @Column({ name: 'breached_at', ...tsNull }) breachedAt: Date | null;
  @VersionColumn({ default: 1 }) version: number;
  @CreateDateColumn({ name: 'created_at', ...ts }) createdAt: Date;
  @UpdateDateColumn({ name: 'updated_at', ...ts }) updatedAt: Date;
}

@Entity('ticket_sla_events')
@Check(
  'ticket_sla_events_kind_check',
  `kind IN ('activate','pause','resume','fulfil','warn','breach','retarget','cancel')`,
)
@Index('ticket_sla_events_sla_idx', ['ticketSlaId', 'id'])
export class TicketSlaEventEntity {
  @PrimaryGeneratedColumn({ type: 'bigint', primaryKeyConstraintName: 'ticket_sla_events_pkey' }) id: string;
  @Column({ name: 'ticket_sla_id', type: 'uuid' }) ticketSlaId: string;
  @ManyToOne(() => TicketSlaEntity)
  @JoinColumn({ name: 'ticket_sla_id', foreignKeyConstraintName: 'ticket_sla_events_ticket_sla_id_fkey' })
  ticketSla?: Relation<TicketSlaEntity>;
  @Column('text') kind: 'activate' | 'pause' | 'resume' | 'fulfil' | 'warn' | 'breach' | 'retarget' | 'cancel';
  @Column(ts) at: Date;
  @Column({ name: 'business_seconds', type: 'integer', nullable: true }) businessSeconds: number | null;
  @Column({ name: 'calendar_seconds', type: 'integer', nullable: true }) calendarSeconds: number | null;
  @Column({ type: 'jsonb', default: {} }) data: Record<string, unknown>;
}
