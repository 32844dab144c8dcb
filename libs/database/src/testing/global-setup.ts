import { mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as pg from 'pg';
import { createDataSource } from '../data-source';
import { ADMIN_URL, databaseUrl, templateName } from './template';

/**
 * Builds the migrated template database once per run (kept between runs while
 * the migrations are unchanged); every test file clones it.
 */
export default async function globalSetup() {
  // Where the services' OpenAPI contract checks record what they find (global-teardown.ts reads it).
  // Jest starts its workers after this, so they and the services they spawn inherit it (test-env.ts).
  process.env.OPENAPI_CONTRACT_DIR = mkdtempSync(join(tmpdir(), 'oq-openapi-contract-'));
  // Left behind by runs that were killed before their teardown (a day is longer than any run).
  for (const name of readdirSync(tmpdir()).filter((n) => n.startsWith('oq-openapi-contract-'))) {
    const dir = join(tmpdir(), name);
    try {
      if (Date.now() - statSync(dir).mtimeMs > 24 * 3600_000) rmSync(dir, { recursive: true, force: true });
    } catch {
      /* another run's teardown removed it meanwhile */
    }
  }
  const name = templateName();
  const admin = new pg.Client({ connectionString: ADMIN_URL });
  await admin.connect();
  try {
    // Serialise concurrent jest runs building the same template.
    await admin.query('SELECT pg_advisory_lock(72731)');
    const { rowCount } = await admin.query('SELECT 1 FROM pg_database WHERE datname = $1 AND datistemplate', [name]);
    if (!rowCount) {
      await admin.query(`DROP DATABASE IF EXISTS ${name}`);
      await admin.query(`CREATE DATABASE ${name}`);
      const ds = createDataSource({ url: databaseUrl(name), poolSize: 1, applicationName: 'test-template' });
      await ds.initialize();
      await ds.runMigrations({ transaction: 'each' });
      await ds.destroy();
      await admin.query(`ALTER DATABASE ${name} WITH is_template true`);
    }
    // Drop templates of older migration sets and test databases a crashed run left behind.
    const stale = await admin.query<{ datname: string }>(
      `SELECT datname FROM pg_database WHERE (datname LIKE 'oq_tpl_%' AND datname <> $1) OR datname LIKE 'oq_test_%'`,
      [name],
    );
    for (const row of stale.rows) {
      if (row.datname.startsWith('oq_test_')) {
        const pid = Number(row.datname.split('_')[2]);
        if (pid && isAlive(pid)) continue;
      }
      await admin.query(`ALTER DATABASE ${row.datname} WITH is_template false`).catch(() => undefined);
      await admin.query(`DROP DATABASE IF EXISTS ${row.datname} WITH (FORCE)`).catch(() => undefined);
    }
  } finally {
    await admin.query('SELECT pg_advisory_unlock(72731)').catch(() => undefined);
    await admin.end();
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
