import { Inject, Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { Db } from '../sql/db';

/**
 * The ingest batch's statements: one message's ticket, message, conversation, audit and originals inside the batch's transaction. Hot path: hand-written, named prepared statements.
 * Tables: tickets, messages, conversations, ticket_participants, ticket_audit, message_originals (writes of the ingest batch).
 */
@Injectable()
export class IngestRepository {
  constructor(@Inject(DataSource) private readonly db: Db) {}

  /** The same repository on a transaction's manager. */
  with(db: Db): IngestRepository {
    return new IngestRepository(db);
  }
}
