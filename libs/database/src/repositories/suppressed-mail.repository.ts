import { Inject, Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { Db } from '../sql/db';

/**
 * Mail kept out of the queue (auto-replies, loops, spam), filed for an admin.
 * Tables: suppressed_mails.
 */
@Injectable()
export class SuppressedMailRepository {
  constructor(@Inject(DataSource) private readonly db: Db) {}

  /** The same repository on a transaction's manager. */
  with(db: Db): SuppressedMailRepository {
    return new SuppressedMailRepository(db);
  }
}
