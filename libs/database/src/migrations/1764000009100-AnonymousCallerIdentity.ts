import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * A withheld caller id is logged under an `anonymous` identity (one per call), so
 * a missed call from a hidden number is kept without matching or merging anyone.
 */
export class AnonymousCallerIdentity1764000009100 implements MigrationInterface {
  name = 'AnonymousCallerIdentity1764000009100';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      ALTER TABLE contact_identities DROP CONSTRAINT contact_identities_kind_check;
      ALTER TABLE contact_identities ADD CONSTRAINT contact_identities_kind_check
        CHECK (kind IN ('email','phone','whatsapp','messenger','instagram','telegram','app_user','visitor','anonymous'));
    `);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`
      -- The calls stay on their tickets and contacts; only the per-call identities (and their bindings) go.
      DELETE FROM conversations WHERE identity_id IN (SELECT id FROM contact_identities WHERE kind = 'anonymous');
      UPDATE messages SET to_identity_id = NULL
        WHERE to_identity_id IN (SELECT id FROM contact_identities WHERE kind = 'anonymous');
      DELETE FROM contact_identities WHERE kind = 'anonymous';
      ALTER TABLE contact_identities DROP CONSTRAINT contact_identities_kind_check;
      ALTER TABLE contact_identities ADD CONSTRAINT contact_identities_kind_check
        CHECK (kind IN ('email','phone','whatsapp','messenger','instagram','telegram','app_user','visitor'));
    `);
  }
}
