import { Column, CreateDateColumn, Entity, PrimaryColumn } from 'typeorm';

@Entity('blobs')
export class BlobEntity {
  @PrimaryColumn({ type: 'char', length: 64 })
  sha256: string;

  @Column({ type: 'bigint' })
  size: string;

  @Column({ name: 'content_type', type: 'text' })
  contentType: string;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt: Date;

  /** The last upload of these bytes: the garbage collector's grace period runs from here. */
  @Column({ name: 'uploaded_at', type: 'timestamptz' })
  uploadedAt: Date;

  /** A message was seen referencing it: never collected. */
  @Column({ type: 'boolean' })
  referenced: boolean;

  /** Every agent who uploaded these bytes: they may attach them without a ticket already showing them. */
  @Column({ name: 'uploaded_by', type: 'uuid', array: true })
  uploadedBy: string[];
}
