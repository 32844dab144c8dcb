import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Who uploaded a blob. An agent may attach a blob they uploaded (or one already on a ticket
 * they can see), so knowing a hash is not enough. Content-addressed: several agents can upload
 * the same bytes, so it is the set of their ids, kept on the row the reply already locks and the
 * collector already deletes (a separate table would need its own cleanup). Rows from before have
 * no known uploader: they stay attachable only through a visible ticket.
 */
export class BlobUploader1764000012000 implements MigrationInterface {
  name = 'BlobUploader1764000012000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE blobs ADD COLUMN uploaded_by uuid[] NOT NULL DEFAULT '{}'`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE blobs DROP COLUMN uploaded_by`);
  }
}
