import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Issue #28 (first five minutes).
 *
 * `inboxes.demo`: set only by demo mode's seed, never by the admin API. A demo inbox may send its
 * provider calls to `settings.providerBaseUrl` (the local fake providers); every other inbox always
 * uses the configured provider, so an admin cannot point a real inbox's token at a host of their own.
 * A constant default: Postgres adds the column without rewriting the table.
 */
export class DemoInbox1764000014000 implements MigrationInterface {
  name = 'DemoInbox1764000014000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE inboxes ADD COLUMN demo boolean NOT NULL DEFAULT false`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE inboxes DROP COLUMN demo`);
  }
}
