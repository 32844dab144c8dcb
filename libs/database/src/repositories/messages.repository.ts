import { Inject, Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { Db } from '../sql/db';

/**
 * Messages on tickets (agent, customer, system) and the originals kept beside ingested ones.
 * Tables: messages, message_originals.
 */
@Injectable()
export class MessageRepository {
  constructor(@Inject(DataSource) private readonly db: Db) {}

  /** The same repository on a transaction's manager. */
  with(db: Db): MessageRepository {
    return new MessageRepository(db);
  }
}
