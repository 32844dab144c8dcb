import type { Channel } from '@oq/contracts';
import {
  Check,
  Column,
  CreateDateColumn,
  Entity,
  JoinColumn,
  ManyToOne,
  PrimaryGeneratedColumn,
  type Relation,
  Unique,
  UpdateDateColumn,
} from 'typeorm';
import { TeamEntity } from './agents-teams.entities';
import { ts } from './columns';

@Entity('inboxes')
@Unique('inboxes_channel_address_key', ['channel', 'address'])
@Check('inboxes_channel_check', `channel IN ('email','whatsapp','messenger','instagram','telegram','voice','chat')`)
export class InboxEntity {
  @PrimaryGeneratedColumn('uuid', { primaryKeyConstraintName: 'inboxes_pkey' }) id: string;
  @Column('text') name: string;
  @Column('text') channel: Channel;
  /** The account's address on its channel: mailbox, WhatsApp phone-number id, page id, bot id, hotline, widget key. */
  @Column('text') address: string;
  @Column({ name: 'default_team_id', type: 'uuid' }) defaultTeamId: string;
  @ManyToOne(() => TeamEntity)
  @JoinColumn({ name: 'default_team_id', foreignKeyConstraintName: 'inboxes_default_team_id_fkey' })
  defaultTeam?: Relation<TeamEntity>;
  @Column({ type: 'jsonb', default: {} }) settings: Record<string, unknown>;
  /** Ciphertext only; decrypt with SecretBox. */
  @Column({ type: 'text', nullable: true, select: false }) secrets: string | null;
  @Column({ type: 'boolean', default: true }) enabled: boolean;
  /** Seeded by demo mode only; see migration 1764000014000. */
  @Column({ type: 'boolean', default: false }) demo: boolean;
  @CreateDateColumn({ name: 'created_at', ...ts }) createdAt: Date;
  @UpdateDateColumn({ name: 'updated_at', ...ts }) updatedAt: Date;
}
