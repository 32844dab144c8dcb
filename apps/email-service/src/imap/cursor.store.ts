import { Inject, Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';

export interface ImapCursor {
  uidValidity: number;
  lastUid: number;
}

/** The durable UID cursor per mailbox (email_imap_cursors). Plain SQL: two tiny statements on a hot path. */
@Injectable()
export class CursorStore {
  constructor(@Inject(DataSource) private readonly ds: DataSource) {}

  async get(inboxId: string, folder: string): Promise<ImapCursor | null> {
    const rows: { uidvalidity: string; last_uid: string }[] = await this.ds.query(
      'SELECT uidvalidity, last_uid FROM email_imap_cursors WHERE inbox_id = $1 AND folder = $2',
      [inboxId, folder],
    );
    return rows[0] ? { uidValidity: Number(rows[0].uidvalidity), lastUid: Number(rows[0].last_uid) } : null;
  }

  /**
   * Moves the cursor forward only (GREATEST), so a slow writer cannot move it
   * back; a new UIDVALIDITY replaces the row's position entirely.
   */
  async advance(inboxId: string, folder: string, uidValidity: number, lastUid: number): Promise<void> {
    await this.ds.query(
      `INSERT INTO email_imap_cursors (inbox_id, folder, uidvalidity, last_uid, updated_at)
       VALUES ($1, $2, $3, $4, now())
       ON CONFLICT (inbox_id, folder) DO UPDATE SET
         last_uid = CASE WHEN email_imap_cursors.uidvalidity = EXCLUDED.uidvalidity
                         THEN GREATEST(email_imap_cursors.last_uid, EXCLUDED.last_uid)
                         ELSE EXCLUDED.last_uid END,
         uidvalidity = EXCLUDED.uidvalidity,
         updated_at = now()`,
      [inboxId, folder, uidValidity, lastUid],
    );
  }
}
