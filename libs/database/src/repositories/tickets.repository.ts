import { Inject, Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { Db } from '../sql/db';

/**
 * Tickets as agents and the system change them, their CC participants, audit trail and applied commands.
 * Tables: tickets, ticket_participants, ticket_audit, applied_ticket_commands.
 */
@Injectable()
export class TicketRepository {
  constructor(@Inject(DataSource) private readonly db: Db) {}

  /** The same repository on a transaction's manager. */
  with(db: Db): TicketRepository {
    return new TicketRepository(db);
  }
}
