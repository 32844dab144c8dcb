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
}
