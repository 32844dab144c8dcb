import { Inject, Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { Db } from '../sql/db';

/**
 * Teams and ticket categories.
 * Tables: teams, categories.
 */
@Injectable()
export class TeamRepository {
  constructor(@Inject(DataSource) private readonly db: Db) {}

  /** The same repository on a transaction's manager. */
  with(db: Db): TeamRepository {
    return new TeamRepository(db);
  }
}
