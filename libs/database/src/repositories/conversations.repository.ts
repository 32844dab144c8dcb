import { Inject, Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { Db } from '../sql/db';

/**
 * Which ticket an (inbox, identity) conversation is bound to.
 * Tables: conversations.
 */
@Injectable()
export class ConversationRepository {
  constructor(@Inject(DataSource) private readonly db: Db) {}

  /** The same repository on a transaction's manager. */
  with(db: Db): ConversationRepository {
    return new ConversationRepository(db);
  }
}
