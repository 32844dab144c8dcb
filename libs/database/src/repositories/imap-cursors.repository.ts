import { Inject, Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { Db, execute, maybeOne } from '../sql/db';
import { sql } from '../sql/sql';

export interface ImapCursorRow {
  /** bigint, as text. */
  uidvalidity: string;
  /** bigint, as text. */
  last_uid: string;
}

/**
 * Per inbox and mailbox, the UIDVALIDITY and last UID email-service has read.
 * Tables: email_imap_cursors. Two tiny statements on the sync's hot path, prepared.
 */
@Injectable()
export class ImapCursorRepository {
  constructor(@Inject(DataSource) private readonly db: Db) {}

  /** The same repository on a transaction's manager. */
  with(db: Db): ImapCursorRepository {
    return new ImapCursorRepository(db);
  }

  find(inboxId: string, folder: string): Promise<ImapCursorRow | undefined> {
    return maybeOne<ImapCursorRow>(
      this.db,
      sql`SELECT uidvalidity, last_uid FROM email_imap_cursors WHERE inbox_id = ${inboxId} AND folder = ${folder}`.named(
        'oq_imap_cursor_find',
      ),
    );
  }

  /**
   * Moves the cursor forward only (GREATEST), so a slow writer cannot move it back; a new
   * UIDVALIDITY replaces the row's position entirely.
   */
  async advance(inboxId: string, folder: string, uidValidity: number, lastUid: number): Promise<void> {
    await execute(
      this.db,
      sql`INSERT INTO email_imap_cursors (inbox_id, folder, uidvalidity, last_uid, updated_at)
          VALUES (${inboxId}, ${folder}, ${uidValidity}, ${lastUid}, now())
          ON CONFLICT (inbox_id, folder) DO UPDATE SET
            last_uid = CASE WHEN email_imap_cursors.uidvalidity = EXCLUDED.uidvalidity
                            THEN GREATEST(email_imap_cursors.last_uid, EXCLUDED.last_uid)
                            ELSE EXCLUDED.last_uid END,
            uidvalidity = EXCLUDED.uidvalidity,
            updated_at = now()`.named('oq_imap_cursor_advance'),
    );
  }
}
