import { Column, CreateDateColumn, Entity, Index, PrimaryColumn } from 'typeorm';
import { ts } from './columns';

/** Replayed responses of the public API's Idempotency-Key requests (no foreign key to agents, by design). */
@Entity('idempotency_keys')
@Index('idempotency_keys_created_idx', ['createdAt'])
export class IdempotencyKeyEntity {
  @PrimaryColumn({ name: 'agent_id', type: 'uuid', primaryKeyConstraintName: 'idempotency_keys_pkey' })
  agentId: string;
  @PrimaryColumn({ type: 'text', primaryKeyConstraintName: 'idempotency_keys_pkey' }) key: string;
  @Column('text') method: string;
  @Column('text') path: string;
  @Column({ name: 'body_hash', type: 'text' }) bodyHash: string;
  @Column({ name: 'status_code', type: 'integer', nullable: true }) statusCode: number | null;
  @Column({ type: 'jsonb', nullable: true }) response: unknown;
  @CreateDateColumn({ name: 'created_at', ...ts }) createdAt: Date;
}
