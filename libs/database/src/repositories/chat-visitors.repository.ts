import { Inject, Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { Db } from '../sql/db';

/**
 * In-app chat visitors and their sessions.
 * Tables: chat_visitors.
 */
@Injectable()
export class ChatVisitorRepository {
  constructor(@Inject(DataSource) private readonly db: Db) {}

  /** The same repository on a transaction's manager. */
  with(db: Db): ChatVisitorRepository {
    return new ChatVisitorRepository(db);
  }
}
