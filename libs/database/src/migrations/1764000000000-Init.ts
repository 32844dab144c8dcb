import { MigrationInterface, QueryRunner } from 'typeorm';

/** The blob index: ticket-service's record of what is in the content-addressed store. */
export class Init1764000000000 implements MigrationInterface {
  name = 'Init1764000000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE blobs (
        sha256       char(64) PRIMARY KEY,
        size         bigint NOT NULL CHECK (size >= 0),
        content_type text NOT NULL,
        created_at   timestamptz NOT NULL DEFAULT now()
      )`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query('DROP TABLE blobs');
  }
}
