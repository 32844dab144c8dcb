import { Inject, Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { Db } from '../sql/db';

/**
 * Stored responses of requests sent with an Idempotency-Key.
 * Tables: idempotency_keys.
 */
@Injectable()
export class IdempotencyRepository {
  constructor(@Inject(DataSource) private readonly db: Db) {}

  /** The same repository on a transaction's manager. */
  with(db: Db): IdempotencyRepository {
    return new IdempotencyRepository(db);
  }
}
