import { Inject, Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { Db } from '../sql/db';

/**
 * Per inbox and mailbox, the UIDVALIDITY and last UID email-service has read.
 * Tables: email_imap_cursors.
 */
@Injectable()
export class ImapCursorRepository {
  constructor(@Inject(DataSource) private readonly db: Db) {}

  /** The same repository on a transaction's manager. */
  with(db: Db): ImapCursorRepository {
    return new ImapCursorRepository(db);
  }
}
