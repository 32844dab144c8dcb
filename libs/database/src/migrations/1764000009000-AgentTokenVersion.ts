import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Password changes revoke issued tokens: every JWT carries the agent's token version
 * (`tv`), the auth guard compares it with this column, and a password change bumps it.
 */
export class AgentTokenVersion1764000009000 implements MigrationInterface {
  name = 'AgentTokenVersion1764000009000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE agents ADD COLUMN token_version integer NOT NULL DEFAULT 0`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE agents DROP COLUMN token_version`);
  }
}
