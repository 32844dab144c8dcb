import type { IdentityKind } from '@oq/contracts';
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
} from 'typeorm';
import { ts } from './columns';

@Entity('contacts')
// (lower(name) text_pattern_ops) WHERE merged_into_id IS NULL: expression and operator class.
@Index('contacts_name_prefix_idx', { synchronize: false })
export class ContactEntity {
  @PrimaryGeneratedColumn('uuid', { primaryKeyConstraintName: 'contacts_pkey' }) id: string;
  @Column({ type: 'text', nullable: true }) name: string | null;
  @Column({ name: 'merged_into_id', type: 'uuid', nullable: true }) mergedIntoId: string | null;
  @ManyToOne(() => ContactEntity)
  @JoinColumn({ name: 'merged_into_id', foreignKeyConstraintName: 'contacts_merged_into_id_fkey' })
  mergedInto?: Relation<ContactEntity> | null;
  @CreateDateColumn({ name: 'created_at', ...ts }) createdAt: Date;
  @UpdateDateColumn({ name: 'updated_at', ...ts }) updatedAt: Date;
}

@Entity('contact_identities')
@Unique('contact_identities_kind_value_key', ['kind', 'value'])
@Check(
  'contact_identities_kind_check',
  `kind IN ('email','phone','whatsapp','messenger','instagram','telegram','app_user','visitor','anonymous')`,
)
@Index('contact_identities_contact_idx', ['contactId'])
// (value text_pattern_ops): operator class.
@Index('contact_identities_value_prefix_idx', { synchronize: false })
export class ContactIdentityEntity {
  @PrimaryGeneratedColumn('uuid', { primaryKeyConstraintName: 'contact_identities_pkey' }) id: string;
  @Column({ name: 'contact_id', type: 'uuid' }) contactId: string;
  @ManyToOne(() => ContactEntity)
  @JoinColumn({ name: 'contact_id', foreignKeyConstraintName: 'contact_identities_contact_id_fkey' })
  contact?: Relation<ContactEntity>;
  @Column('text') kind: IdentityKind;
  @Column('text') value: string;
  @Column({ type: 'boolean', default: false }) verified: boolean;
  /** A WhatsApp wa_id points at the E.164 phone identity it belongs to (not equal to it). */
  @Column({ name: 'linked_identity_id', type: 'uuid', nullable: true }) linkedIdentityId: string | null;
  @ManyToOne(() => ContactIdentityEntity)
  @JoinColumn({ name: 'linked_identity_id', foreignKeyConstraintName: 'contact_identities_linked_identity_id_fkey' })
  linkedIdentity?: Relation<ContactIdentityEntity> | null;
  @CreateDateColumn({ name: 'created_at', ...ts }) createdAt: Date;
}

@Entity('merge_suggestions')
@Unique('merge_suggestions_contact_id_other_contact_id_key', ['contactId', 'otherContactId'])
@Check('merge_suggestions_status_check', `status IN ('open','merged','dismissed')`)
export class MergeSuggestionEntity {
  @PrimaryGeneratedColumn('uuid', { primaryKeyConstraintName: 'merge_suggestions_pkey' }) id: string;
  @Column({ name: 'contact_id', type: 'uuid' }) contactId: string;
  @ManyToOne(() => ContactEntity)
  @JoinColumn({ name: 'contact_id', foreignKeyConstraintName: 'merge_suggestions_contact_id_fkey' })
  contact?: Relation<ContactEntity>;
  @Column({ name: 'other_contact_id', type: 'uuid' }) otherContactId: string;
  @ManyToOne(() => ContactEntity)
  @JoinColumn({ name: 'other_contact_id', foreignKeyConstraintName: 'merge_suggestions_other_contact_id_fkey' })
  otherContact?: Relation<ContactEntity>;
  @Column('text') reason: string;
  @Column({ type: 'text', default: 'open' }) status: 'open' | 'merged' | 'dismissed';
  @CreateDateColumn({ name: 'created_at', ...ts }) createdAt: Date;
}
