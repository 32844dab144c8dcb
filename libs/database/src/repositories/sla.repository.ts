import { Inject, Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { Db } from '../sql/db';

/**
 * SLA schedules and policies, each ticket's clocks, and their trail.
 * Tables: sla_schedules, sla_policies, ticket_sla, ticket_sla_events.
 */
@Injectable()
export class SlaRepository {
  constructor(@Inject(DataSource) private readonly db: Db) {}

  /** The same repository on a transaction's manager. */
  with(db: Db): SlaRepository {
    return new SlaRepository(db);
  }
}
