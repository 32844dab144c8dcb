import { Inject, Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { Db } from '../sql/db';

/**
 * Jobs and messages that could not be processed, kept for an admin to inspect and replay.
 * Tables: dead_letters.
 */
@Injectable()
export class DeadLetterRepository {
  constructor(@Inject(DataSource) private readonly db: Db) {}

  /** The same repository on a transaction's manager. */
  with(db: Db): DeadLetterRepository {
    return new DeadLetterRepository(db);
  }
}
