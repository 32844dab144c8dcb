import { Inject, Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { Db } from '../sql/db';

/**
 * Attachment blobs' metadata and their garbage collection.
 * Tables: blobs.
 */
@Injectable()
export class BlobRepository {
  constructor(@Inject(DataSource) private readonly db: Db) {}

  /** The same repository on a transaction's manager. */
  with(db: Db): BlobRepository {
    return new BlobRepository(db);
  }
}
