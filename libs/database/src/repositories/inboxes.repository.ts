import { Inject, Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { Db } from '../sql/db';

/**
 * Inboxes per channel with their settings and encrypted secrets.
 * Tables: inboxes.
 */
@Injectable()
export class InboxRepository {
  constructor(@Inject(DataSource) private readonly db: Db) {}

  /** The same repository on a transaction's manager. */
  with(db: Db): InboxRepository {
    return new InboxRepository(db);
  }
}
