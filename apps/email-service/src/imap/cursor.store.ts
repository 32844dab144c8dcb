import { Injectable } from '@nestjs/common';
import { ImapCursorRepository } from '@oq/database';

export interface ImapCursor {
  uidValidity: number;
  lastUid: number;
}

/** The durable UID cursor per mailbox (email_imap_cursors). Plain SQL: two tiny statements on a hot path. */
@Injectable()
export class CursorStore {
  constructor(private readonly cursors: ImapCursorRepository) {}

  async get(inboxId: string, folder: string): Promise<ImapCursor | null> {
    const row = await this.cursors.find(inboxId, folder);
    return row ? { uidValidity: Number(row.uidvalidity), lastUid: Number(row.last_uid) } : null;
  }

  /**
   * Moves the cursor forward only (GREATEST), so a slow writer cannot move it
   * back; a new UIDVALIDITY replaces the row's position entirely.
   */
  async advance(inboxId: string, folder: string, uidValidity: number, lastUid: number): Promise<void> {
    await this.cursors.advance(inboxId, folder, uidValidity, lastUid);
  }
}
