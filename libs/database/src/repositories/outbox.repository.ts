import { Inject, Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { Db } from '../sql/db';

/**
 * The transactional outbox: events written with the change, relayed after commit.
 * Tables: outbox.
 */
@Injectable()
export class OutboxRepository {
  constructor(@Inject(DataSource) private readonly db: Db) {}

  /** The same repository on a transaction's manager. */
  with(db: Db): OutboxRepository {
    return new OutboxRepository(db);
  }
}
