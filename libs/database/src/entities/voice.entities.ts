import { Check, Column, CreateDateColumn, Entity, Index, PrimaryColumn, UpdateDateColumn } from 'typeorm';
import { ts, tsNull } from './columns';

/**
 * voice-service: one row per (inbox, call id) with every distinct event of the call and the state folded
 * from them. No foreign key to inboxes: the row belongs to voice-service.
 */
@Entity('voice_calls')
@Check('voice_calls_provider_check', `provider IN ('twilio', 'pbx')`)
// The sweep reads only rows with work pending.
@Index('voice_calls_work_idx', ['nextWorkAt'], { where: 'next_work_at IS NOT NULL' })
export class VoiceCallEntity {
  @PrimaryColumn({ name: 'inbox_id', type: 'uuid', primaryKeyConstraintName: 'voice_calls_pkey' }) inboxId: string;
  @PrimaryColumn({ name: 'call_id', type: 'text', primaryKeyConstraintName: 'voice_calls_pkey' }) callId: string;
  @Column('text') provider: 'twilio' | 'pbx';
  /** Distinct normalised events (deduplicated by digest), card numbers already masked. */
  @Column({ type: 'jsonb', default: [] }) events: unknown[];
  /** The state folded from all events (plus the downloaded recording, if any). */
  @Column({ type: 'jsonb', default: {} }) state: Record<string, unknown>;
  @Column({ type: 'boolean', default: false }) final: boolean;
  /** Revision of the call log owed to ticket-service (null until the call is final). */
  @Column({ name: 'target_revision', type: 'integer', nullable: true }) targetRevision: number | null;
  /** Hash of the content that revision carries (a change raises the revision). */
  @Column({ name: 'content_hash', type: 'text', nullable: true }) contentHash: string | null;
  /** The highest revision enqueued on the inbound queue. */
  @Column({ name: 'emitted_revision', type: 'integer', nullable: true }) emittedRevision: number | null;
  /** When the sweep should look at this row again; null: nothing to do. */
  @Column({ name: 'next_work_at', ...tsNull }) nextWorkAt: Date | null;
  @CreateDateColumn({ name: 'created_at', ...ts }) createdAt: Date;
  @UpdateDateColumn({ name: 'updated_at', ...ts }) updatedAt: Date;
}
