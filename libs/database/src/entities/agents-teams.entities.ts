import {
  Check,
  Column,
  CreateDateColumn,
  Entity,
  Index,
  JoinColumn,
  JoinTable,
  ManyToMany,
  ManyToOne,
  PrimaryColumn,
  PrimaryGeneratedColumn,
  type Relation,
  Unique,
  UpdateDateColumn,
} from 'typeorm';
import { ts, tsNull } from './columns';

@Entity('teams')
@Unique('teams_name_key', ['name'])
export class TeamEntity {
  @PrimaryGeneratedColumn('uuid', { primaryKeyConstraintName: 'teams_pkey' }) id: string;
  @Column('text') name: string;
  @CreateDateColumn({ name: 'created_at', ...ts }) createdAt: Date;
}

@Entity('agents')
@Check('agents_role_check', `role IN ('admin', 'agent')`)
@Check('agents_presence_check', `presence IN ('online', 'away', 'offline')`)
// UNIQUE (lower(email)): an expression index.
@Index('agents_email_key', { synchronize: false })
export class AgentEntity {
  @PrimaryGeneratedColumn('uuid', { primaryKeyConstraintName: 'agents_pkey' }) id: string;
  @Column('text') email: string;
  @Column('text') name: string;
  @Column({ name: 'password_hash', type: 'text', select: false }) passwordHash: string;
  @Column({ type: 'text', default: 'agent' }) role: 'admin' | 'agent';
  @Column({ type: 'text', default: 'offline' }) presence: 'online' | 'away' | 'offline';
  @Column({ name: 'presence_at', ...tsNull }) presenceAt: Date | null;
  @Column({ type: 'boolean', default: true }) active: boolean;
  /** Carried in every JWT as `tv`; a password change bumps it, revoking the tokens issued before. */
  @Column({ name: 'token_version', type: 'integer', default: 0 }) tokenVersion: number;
  /**
   * Reads agent_teams as a plain junction. The table itself is declared (and checked) by
   * AgentTeamEntity: TypeORM's generated junction metadata cannot match it (it adds an unnamed index
   * per column and ON UPDATE CASCADE), so this junction is left out of schema sync.
   */
  @ManyToMany(() => TeamEntity)
  @JoinTable({
    name: 'agent_teams',
    synchronize: false,
    joinColumn: { name: 'agent_id' },
    inverseJoinColumn: { name: 'team_id' },
  })
  teams: TeamEntity[];
  @CreateDateColumn({ name: 'created_at', ...ts }) createdAt: Date;
  @UpdateDateColumn({ name: 'updated_at', ...ts }) updatedAt: Date;
}

@Entity('agent_teams')
@Index('agent_teams_team_idx', ['teamId'])
export class AgentTeamEntity {
  @PrimaryColumn({ name: 'agent_id', type: 'uuid', primaryKeyConstraintName: 'agent_teams_pkey' }) agentId: string;
  @PrimaryColumn({ name: 'team_id', type: 'uuid', primaryKeyConstraintName: 'agent_teams_pkey' }) teamId: string;
  @ManyToOne(() => AgentEntity, { onDelete: 'CASCADE' })
  @JoinColumn({ name: 'agent_id', foreignKeyConstraintName: 'agent_teams_agent_id_fkey' })
  agent?: Relation<AgentEntity>;
  @ManyToOne(() => TeamEntity, { onDelete: 'CASCADE' })
  @JoinColumn({ name: 'team_id', foreignKeyConstraintName: 'agent_teams_team_id_fkey' })
  team?: Relation<TeamEntity>;
}
