import { Inject, Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { Db, execute, maybeOne, one, rows } from '../sql/db';
import { sql } from '../sql/sql';

/** A visitor a token belongs to, and the app user it signed in as (if it did). */
export interface ChatVisitorRow {
  id: string;
  app_user_id: string | null;
}

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

  /** A new visitor of the inbox, known by the hash of its token; its id. */
  async insert(inboxId: string, tokenHash: string): Promise<string> {
    const row = await one<{ id: string }>(
      this.db,
      sql`INSERT INTO chat_visitors (inbox_id, token_hash) VALUES (${inboxId}, ${tokenHash}) RETURNING id`,
    );
    return row.id;
  }

  /** The visitor of the inbox holding the token (by its hash), marked seen now; undefined for an unknown token. */
  touchByToken(tokenHash: string, inboxId: string): Promise<ChatVisitorRow | undefined> {
    return maybeOne<ChatVisitorRow>(
      this.db,
      sql`UPDATE chat_visitors SET last_seen_at = now() WHERE token_hash = ${tokenHash} AND inbox_id = ${inboxId}
          RETURNING id, app_user_id`,
    );
  }

  /** The visitor signed in as the app user: replies addressed to the visitor reach the user later too. */
  async linkAppUser(visitorId: string, appUserId: string): Promise<void> {
    await execute(
      this.db,
      sql`UPDATE chat_visitors SET app_user_id = ${appUserId}, last_seen_at = now() WHERE id = ${visitorId}`,
    );
  }

  /** The first `limit` visitors the app user signed in from on the inbox (chat_visitors_app_user_idx). */
  async idsOfAppUser(inboxId: string, appUserId: string, limit: number): Promise<string[]> {
    const found = await rows<{ id: string }>(
      this.db,
      sql`SELECT id FROM chat_visitors WHERE inbox_id = ${inboxId} AND app_user_id = ${appUserId}
          ORDER BY created_at LIMIT ${limit}`,
    );
    return found.map((r) => r.id);
  }
}
