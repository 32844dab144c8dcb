import { Check, Column, CreateDateColumn, Entity, Index, PrimaryColumn } from 'typeorm';
import { ts, tsNow } from './columns';

/** The blob index: ticket-service's record of what is in the content-addressed store. */
@Entity('blobs')
@Check('blobs_size_check', 'size >= 0')
// The collector's scan: unreferenced uploads by age.
@Index('blobs_gc_idx', ['uploadedAt', 'sha256'], { where: 'NOT referenced' })
export class BlobEntity {
  @PrimaryColumn({ type: 'char', length: 64, primaryKeyConstraintName: 'blobs_pkey' })
  sha256: string;

  @Column({ type: 'bigint' })
  size: string;

  @Column({ name: 'content_type', type: 'text' })
  contentType: string;

  @CreateDateColumn({ name: 'created_at', ...ts })
  createdAt: Date;

  /** The last upload of these bytes: the garbage collector's grace period runs from here. */
  @Column({ name: 'uploaded_at', ...tsNow })
  uploadedAt: Date;

  /** A message was seen referencing it: never collected. */
  @Column({ type: 'boolean', default: false })
  referenced: boolean;

  /** Every agent who uploaded these bytes: they may attach them without a ticket already showing them. */
  @Column({ name: 'uploaded_by', type: 'uuid', array: true, default: [] })
  uploadedBy: string[];
}
