/**
 * `npm run migrate`: creates the database when missing and applies pending
 * migrations. The only path by which the schema changes.
 */
import { createDataSource, ensureDatabaseExists } from '../data-source';

async function main() {
  const url = process.env.DATABASE_URL || 'postgres://postgres@127.0.0.1:5432/onequeue';
  if (await ensureDatabaseExists(url)) console.log(`created database ${new URL(url).pathname.slice(1)}`);
  const ds = createDataSource({ url, poolSize: 1, applicationName: 'migrate' });
  await ds.initialize();
  try {
    const applied = await ds.runMigrations({ transaction: 'each' });
    console.log(applied.length ? `applied ${applied.map((m) => m.name).join(', ')}` : 'database is up to date');
  } finally {
    await ds.destroy();
  }
}

main().catch((err) => {
  console.error(`migrate failed: ${(err as Error).message}`);
  process.exit(1);
});
