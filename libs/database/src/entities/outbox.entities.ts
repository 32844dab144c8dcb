import { Check, Column, CreateDateColumn, Entity, Index, PrimaryGeneratedColumn, Unique } from 'typeorm';
import { ts, tsNull } from './columns';

/**
 * Transactional outbox: rows written with the change, moved to BullMQ by the relay. The statement-level
 * trigger `outbox_notify` (pg_notify on insert) is not something TypeORM models: see SCHEMA_OUTSIDE_ENTITIES.
 */
@Entity('outbox')
export class OutboxEntity {
  @PrimaryGeneratedColumn({ type: 'bigint', primaryKeyConstraintName: 'outbox_pkey' }) id: string;
  @Column('text') queue: string;
  @Column({ name: 'job_name', type: 'text' }) jobName: string;
  @Column({ name: 'job_id', type: 'text', nullable: true }) jobId: string | null;
  @Column('jsonb') payload: unknown;
  @Column({ name: 'delay_ms', type: 'integer', default: 0 }) delayMs: number;
  @CreateDateColumn({ name: 'created_at', ...ts }) createdAt: Date;
}

@Entity('dead_letters')
@Unique('dead_letters_source_key_key', ['sourceKey'])
@Check('dead_letters_payload_present', 'payload IS NOT NULL OR payload_bytes IS NOT NULL')
// (created_at DESC) WHERE replayed_at IS NULL: a descending key.
@Index('dead_letters_open_idx', { synchronize: false })
export class DeadLetterEntity {
  @PrimaryGeneratedColumn('uuid', { primaryKeyConstraintName: 'dead_letters_pkey' }) id: string;
  @Column('text') queue: string;
  @Column({ name: 'job_name', type: 'text' }) jobName: string;
  @Column({ name: 'job_id', type: 'text', nullable: true }) jobId: string | null;
  /** Rows from before payload_bytes; new rows keep the payload only as bytes. */
  @Column({ type: 'jsonb', nullable: true }) payload: unknown;
  @Column('text') reason: string;
  @CreateDateColumn({ name: 'created_at', ...ts }) createdAt: Date;
  @Column({ name: 'replayed_at', ...tsNull }) replayedAt: Date | null;
  @Column({ name: 'replay_count', type: 'integer', default: 0 }) replayCount: number;
  /** The payload's JSON text as UTF-8: bytes cannot be refused the way jsonb refuses `\u0000`. */
  @Column({ name: 'payload_bytes', type: 'bytea', nullable: true }) payloadBytes: Buffer | null;
  /** Set for letters a channel service sent as a job: one row per source job, however often retried. */
  @Column({ name: 'source_key', type: 'text', nullable: true }) sourceKey: string | null;
}
