import { Inject, Injectable } from '@nestjs/common';
import type { Channel } from '@oq/contracts';
import { DataSource } from 'typeorm';
import { Db, execute, maybeOne, one, rows } from '../sql/db';
import { sql } from '../sql/sql';

/** An inboxes row; `secrets` is the SecretBox ciphertext (the inbox id is its AAD). */
export interface InboxRow {
  id: string;
  channel: Channel;
  name: string;
  address: string;
  default_team_id: string;
  enabled: boolean;
  demo: boolean;
  settings: Record<string, unknown>;
  secrets: string | null;
  created_at: Date;
  updated_at: Date;
}

export interface NewInbox {
  /** Chosen by the caller: it is the AAD the secrets are sealed with. */
  id: string;
  channel: Channel;
  name: string;
  address: string;
  defaultTeamId: string;
  enabled: boolean;
  settings: Record<string, unknown>;
  secrets: string | null;
}

/** What an update may change (the id and channel are fixed at creation). */
export type InboxFields = Omit<NewInbox, 'id' | 'channel'>;

/** A demo inbox as the seed finds it again (its secrets to compare with the current stand-ins). */
export interface DemoInboxRow {
  id: string;
  settings: Record<string, unknown>;
  secrets: string | null;
  demo: boolean;
}

const INBOX_COLUMNS = sql.raw(
  'id, channel, name, address, default_team_id, enabled, demo, settings, secrets, created_at, updated_at',
);

/**
 * Inboxes per channel with their settings and encrypted secrets.
 * Tables: inboxes.
 */
@Injectable()
export class InboxRepository {
  constructor(@Inject(DataSource) private readonly db: Db) {}

  /** The same repository on a transaction's manager. */
  with(db: Db): InboxRepository {
    return new InboxRepository(db);
  }

  /** The inboxes (of one channel, or all) as the admin lists them: by channel, then name. */
  list(channel?: string): Promise<InboxRow[]> {
    return rows<InboxRow>(
      this.db,
      sql`SELECT ${INBOX_COLUMNS} FROM inboxes WHERE (${channel ?? null}::text IS NULL OR channel = ${channel ?? null})
          ORDER BY channel, name, id`,
    );
  }

  /** The inboxes (of one channel, or all) in creation order: what channel services load. */
  listInCreationOrder(channel?: string): Promise<InboxRow[]> {
    return rows<InboxRow>(
      this.db,
      sql`SELECT ${INBOX_COLUMNS} FROM inboxes WHERE (${channel ?? null}::text IS NULL OR channel = ${channel ?? null})
          ORDER BY created_at, id`,
    );
  }

  find(id: string): Promise<InboxRow | undefined> {
    return maybeOne<InboxRow>(this.db, sql`SELECT ${INBOX_COLUMNS} FROM inboxes WHERE id = ${id}`);
  }

  /** The inbox, locked for the rest of the transaction (an edit reads, validates, then writes). */
  findForUpdate(id: string): Promise<InboxRow | undefined> {
    return maybeOne<InboxRow>(this.db, sql`SELECT ${INBOX_COLUMNS} FROM inboxes WHERE id = ${id} FOR UPDATE`);
  }

  /** 23505 for a taken (channel, address); 23503 (inboxes_default_team_id_fkey) for an unknown team. */
  insert(inbox: NewInbox): Promise<InboxRow> {
    return one<InboxRow>(
      this.db,
      sql`INSERT INTO inboxes (id, channel, name, address, default_team_id, enabled, settings, secrets)
          VALUES (${inbox.id}, ${inbox.channel}, ${inbox.name}, ${inbox.address}, ${inbox.defaultTeamId}, ${inbox.enabled},
                  ${JSON.stringify(inbox.settings)}::jsonb, ${inbox.secrets})
          RETURNING ${INBOX_COLUMNS}`,
    );
  }

  async update(id: string, f: InboxFields): Promise<void> {
    await execute(
      this.db,
      sql`UPDATE inboxes SET name = ${f.name}, address = ${f.address}, default_team_id = ${f.defaultTeamId},
                 enabled = ${f.enabled}, settings = ${JSON.stringify(f.settings)}::jsonb, secrets = ${f.secrets},
                 updated_at = now()
           WHERE id = ${id}`,
    );
  }

  /** 23503 when conversations or messages refer to the inbox. */
  async delete(id: string): Promise<void> {
    await execute(this.db, sql`DELETE FROM inboxes WHERE id = ${id}`);
  }

  /** Seeds a demo inbox unless one with its (channel, address) exists; whether it inserted. */
  async insertDemo(inbox: Omit<NewInbox, 'enabled'>): Promise<boolean> {
    const row = await maybeOne<{ id: string }>(
      this.db,
      sql`INSERT INTO inboxes (id, channel, name, address, default_team_id, settings, secrets, demo)
          VALUES (${inbox.id}, ${inbox.channel}, ${inbox.name}, ${inbox.address}, ${inbox.defaultTeamId},
                  ${JSON.stringify(inbox.settings)}::jsonb, ${inbox.secrets}, true)
          ON CONFLICT (channel, address) DO NOTHING RETURNING id`,
    );
    return row !== undefined;
  }

  /** The inbox at (channel, address), locked: the seed reconnects it to the demo stand-ins. */
  lockByAddress(channel: string, address: string): Promise<DemoInboxRow | undefined> {
    return maybeOne<DemoInboxRow>(
      this.db,
      sql`SELECT id, settings, secrets, demo FROM inboxes WHERE channel = ${channel} AND address = ${address} FOR UPDATE`,
    );
  }

  /** Marks the inbox a demo inbox with the given settings and secrets. */
  async saveDemoConnection(id: string, settings: Record<string, unknown>, secrets: string | null): Promise<void> {
    await execute(
      this.db,
      sql`UPDATE inboxes SET demo = true, settings = ${JSON.stringify(settings)}::jsonb, secrets = ${secrets}, updated_at = now()
           WHERE id = ${id}`,
    );
  }

  /**
   * Every inbox with secrets, locked in id order: a key rotation re-encrypts them all in one
   * transaction, and a concurrent admin edit waits rather than being overwritten.
   */
  lockAllWithSecrets(): Promise<{ id: string; secrets: string }[]> {
    return rows<{ id: string; secrets: string }>(
      this.db,
      sql`SELECT id, secrets FROM inboxes WHERE secrets IS NOT NULL ORDER BY id FOR UPDATE`,
    );
  }

  async setSecrets(id: string, secrets: string): Promise<void> {
    await execute(this.db, sql`UPDATE inboxes SET secrets = ${secrets}, updated_at = now() WHERE id = ${id}`);
  }
}
