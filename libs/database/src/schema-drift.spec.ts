import { DataSource, EntityMetadata, QueryRunner } from 'typeorm';
import { createDataSource, pendingMigrations } from './data-source';
import { ENTITIES, SCHEMA_OUTSIDE_ENTITIES } from './entities';
import { createTestDatabase, TestDatabase } from './testing/test-env';

/**
 * The entities are true to the schema the migrations build (the migrations are the truth).
 *
 * 1. Every table has an entity and every entity a table.
 * 2. TypeORM's own schema diff (what `synchronize` would run) is empty.
 * 3. What that diff does not compare is compared here against pg_catalog: constraint and index
 *    names, the columns of primary keys, uniques and foreign keys, CHECK expressions, index columns in
 *    order with their predicates and methods, generation expressions; and that every index Postgres has
 *    is declared (expression indexes are invisible to TypeORM), `synchronize: false` ones by name.
 * 4. Whatever no entity can declare (triggers, functions, sequences…) is listed in SCHEMA_OUTSIDE_ENTITIES.
 *
 * Expressions are compared as Postgres prints them: each declared expression is given to Postgres on an
 * empty temporary copy of its table and read back, so an entity may spell it as the migration does.
 */
describe('schema drift: entities against the migrated schema', () => {
  let db: TestDatabase;
  let ds: DataSource;
  /** TypeORM's own bookkeeping tables: its migrations ledger, and the metadata table test 2 writes. */
  const TYPEORM_TABLES = ['migrations', 'typeorm_metadata'];

  beforeAll(async () => {
    db = await createTestDatabase();
    ds = createDataSource({ url: db.url, poolSize: 2, applicationName: 'schema-drift-spec' });
    await ds.initialize();
    // The clone of the template already has every migration; this applies any the template lacks.
    await ds.runMigrations({ transaction: 'each' });
    expect(await pendingMigrations(ds)).toEqual([]);
  });

  afterAll(async () => {
    await ds?.destroy();
    await db?.drop();
  });

  /** The entities' tables (not the agent_teams junction of AgentEntity.teams, which is not synchronized). */
  const synced = (): EntityMetadata[] =>
    ds.entityMetadatas.filter((m) => m.tableType === 'regular' && m.synchronize && ENTITIES.includes(m.target as any));

  it('has an entity for every table and a table for every entity', async () => {
    const tables: string[] = (
      await ds.query(
        `SELECT table_name FROM information_schema.tables
          WHERE table_schema = 'public' AND table_type = 'BASE TABLE' AND table_name <> ALL ($1)`,
        [TYPEORM_TABLES],
      )
    ).map((r: { table_name: string }) => r.table_name);
    const entityTables = synced().map((m) => m.tableName);
    const withoutEntity = tables.filter((t) => !entityTables.includes(t)).sort();
    const withoutTable = entityTables.filter((t) => !tables.includes(t)).sort();
    if (withoutEntity.length || withoutTable.length)
      throw new Error(
        [
          withoutEntity.length &&
            `Tables the migrations create with no entity in libs/database/src/entities (add one, in ENTITIES): ${withoutEntity.join(', ')}`,
          withoutTable.length && `Entities whose table no migration creates: ${withoutTable.join(', ')}`,
        ]
          .filter(Boolean)
          .join('\n'),
      );
    expect(entityTables.length).toBe(new Set(entityTables).size);
  });

  it('leaves TypeORM nothing to change (its schema diff is empty)', async () => {
    await recordGenerationExpressions();
    const { upQueries } = await ds.driver.createSchemaBuilder().log();
    const queries = upQueries.map((q) => q.query.trim());
    const { ignoredDiffQueries } = SCHEMA_OUTSIDE_ENTITIES;
    const drift = queries.filter((q) => !ignoredDiffQueries.includes(q));
    const stale = ignoredDiffQueries.filter((q) => !queries.includes(q));
    if (drift.length)
      throw new Error(
        `The entities disagree with the migrated schema: TypeORM would run these ${drift.length} statement(s) ` +
          `to make the database match them. Fix the entity (the migrations are the truth), or if the schema ` +
          `should change, write a migration:\n${drift.map((q) => `  ${q};`).join('\n')}`,
      );
    if (stale.length)
      throw new Error(
        `SCHEMA_OUTSIDE_ENTITIES.ignoredDiffQueries lists statements TypeORM no longer proposes; remove them:\n` +
          stale.map((q) => `  ${q}`).join('\n'),
      );
  });

  it('declares every constraint and index exactly as Postgres has it', async () => {
    const metas = synced();
    const tableNames = metas.map((m) => m.tableName);
    const actual = new Map<string, string>();
    for (const c of await ds.query(
      `SELECT t.relname AS table, c.conname AS name, pg_get_constraintdef(c.oid) AS def
         FROM pg_constraint c JOIN pg_class t ON t.oid = c.conrelid JOIN pg_namespace n ON n.oid = t.relnamespace
        WHERE n.nspname = 'public' AND t.relname = ANY ($1)`,
      [tableNames],
    ))
      actual.set(`${c.table} ${c.name}`, c.def);
    for (const i of await ds.query(
      `SELECT t.relname AS table, i.relname AS name, pg_get_indexdef(i.oid) AS def
         FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid JOIN pg_class t ON t.oid = x.indrelid
         JOIN pg_namespace n ON n.oid = t.relnamespace
        WHERE n.nspname = 'public' AND t.relname = ANY ($1)
          AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conrelid = t.oid AND c.conindid = i.oid
                             AND c.contype IN ('p', 'u', 'x'))`,
      [tableNames],
    ))
      actual.set(`${i.table} ${i.name}`, indexBody(i.def));

    const expected = new Map<string, string | null>(); // null: declared with synchronize: false, existence only
    const q = ds.createQueryRunner();
    await q.startTransaction();
    try {
      let n = 0;
      for (const m of metas) {
        const probe = `drift_probe_${m.tableName}`;
        await q.query(`CREATE TEMP TABLE ${probe} (LIKE public.${m.tableName})`);
        const pkName = m.primaryColumns[0]?.primaryKeyConstraintName ?? '(no name declared)';
        expected.set(
          `${m.tableName} ${pkName}`,
          `PRIMARY KEY (${m.primaryColumns.map((c) => c.databaseName).join(', ')})`,
        );
        for (const u of m.uniques)
          expected.set(`${m.tableName} ${u.name}`, `UNIQUE (${u.columns.map((c) => c.databaseName).join(', ')})`);
        for (const fk of m.foreignKeys) {
          const actions = [
            fk.onUpdate && fk.onUpdate !== 'NO ACTION' ? ` ON UPDATE ${fk.onUpdate}` : '',
            fk.onDelete && fk.onDelete !== 'NO ACTION' ? ` ON DELETE ${fk.onDelete}` : '',
          ].join('');
          expected.set(
            `${m.tableName} ${fk.name}`,
            `FOREIGN KEY (${fk.columnNames.join(', ')}) REFERENCES ${fk.referencedEntityMetadata.tableName}` +
              `(${fk.referencedColumnNames.join(', ')})${actions}`,
          );
        }
        for (const c of m.checks) {
          await q.query(`ALTER TABLE ${probe} ADD CONSTRAINT "${c.name}" CHECK (${c.expression})`);
          const [{ def }] = await q.query(
            `SELECT pg_get_constraintdef(oid) AS def FROM pg_constraint WHERE conrelid = $1::regclass AND conname = $2`,
            [probe, c.name],
          );
          expected.set(`${m.tableName} ${c.name}`, def);
        }
        for (const i of m.indices) {
          if (!i.synchronize) {
            expected.set(`${m.tableName} ${i.name}`, null);
            continue;
          }
          const name = `drift_probe_idx_${n++}`;
          await q.query(
            `CREATE ${i.isUnique ? 'UNIQUE ' : ''}INDEX ${name} ON ${probe} USING ${i.type ?? 'btree'} ` +
              `(${i.columns.map((c) => `"${c.databaseName}"`).join(', ')})${i.where ? ` WHERE ${i.where}` : ''}`,
          );
          const [{ def }] = await q.query(`SELECT pg_get_indexdef($1::regclass) AS def`, [name]);
          expected.set(`${m.tableName} ${i.name}`, indexBody(def));
        }
      }
    } finally {
      await q.rollbackTransaction();
      await q.release();
    }

    const problems: string[] = [];
    for (const [key, def] of expected) {
      if (!actual.has(key)) problems.push(`${key}: declared by the entity, not in the database`);
      else if (def !== null && def !== actual.get(key))
        problems.push(`${key}:\n      entity:   ${def}\n      database: ${actual.get(key)}`);
    }
    for (const [key, def] of actual)
      if (!expected.has(key)) problems.push(`${key}: in the database, not declared by the entity: ${def}`);
    if (problems.length)
      throw new Error(
        `${problems.length} constraint/index declaration(s) differ from the migrated schema ("table name"):\n` +
          problems.map((p) => `  - ${p}`).join('\n'),
      );
  });

  it('names every schema object outside the entities in SCHEMA_OUTSIDE_ENTITIES', async () => {
    const found: string[] = (
      await ds.query(
        `SELECT 'trigger ' || tg.tgname || ' on ' || t.relname AS object
           FROM pg_trigger tg JOIN pg_class t ON t.oid = tg.tgrelid JOIN pg_namespace n ON n.oid = t.relnamespace
          WHERE n.nspname = 'public' AND NOT tg.tgisinternal
         UNION ALL
         SELECT 'function ' || p.proname || '(' || pg_get_function_identity_arguments(p.oid) || ')'
           FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace WHERE n.nspname = 'public'
         UNION ALL
         SELECT CASE c.relkind WHEN 'S' THEN 'sequence ' WHEN 'v' THEN 'view ' ELSE 'materialized view ' END || c.relname
           FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
          WHERE n.nspname = 'public' AND c.relkind IN ('S', 'v', 'm')
            -- not the sequence of a serial/identity column (owned by it)
            AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid
                               AND d.refobjsubid > 0 AND d.deptype IN ('a', 'i'))
         UNION ALL
         SELECT 'type ' || t.typname FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace
          WHERE n.nspname = 'public' AND t.typtype IN ('e', 'd', 'r', 'm')`,
      )
    ).map((r: { object: string }) => r.object);
    const listed = Object.keys(SCHEMA_OUTSIDE_ENTITIES.objects);
    const unlisted = found.filter((o) => !listed.includes(o)).sort();
    const missing = listed.filter((o) => !found.includes(o)).sort();
    if (unlisted.length || missing.length)
      throw new Error(
        [
          unlisted.length &&
            `In the schema, neither an entity nor listed in SCHEMA_OUTSIDE_ENTITIES.objects (entities/outside-entities.ts): ${unlisted.join(', ')}`,
          missing.length && `Listed in SCHEMA_OUTSIDE_ENTITIES.objects, not in the schema: ${missing.join(', ')}`,
        ]
          .filter(Boolean)
          .join('\n'),
      );
  });

  /** `CREATE [UNIQUE] INDEX name ON table USING …`: what follows the table, plus uniqueness. */
  function indexBody(def: string): string {
    const unique = /^CREATE UNIQUE /.test(def) ? 'UNIQUE ' : '';
    return unique + def.slice(def.indexOf(' USING ') + 1);
  }

  /**
   * TypeORM reads a generated column's expression from its own `typeorm_metadata` table, which it
   * writes when it creates the column itself; the migrations create it, so the table is filled here
   * (in this spec's throwaway database). The entity's expression is recorded when Postgres reads it
   * back identically to the column's; otherwise the column's own, which the diff then reports.
   */
  async function recordGenerationExpressions(): Promise<void> {
    const q: QueryRunner = ds.createQueryRunner();
    await q.startTransaction();
    try {
      await q.query(
        `CREATE TABLE IF NOT EXISTS typeorm_metadata (type varchar NOT NULL, database varchar, schema varchar,
           "table" varchar, name varchar, value text)`,
      );
      await q.query(`DELETE FROM typeorm_metadata WHERE type = 'GENERATED_COLUMN'`);
      const generationExpression = async (table: string, column: string): Promise<string | undefined> =>
        (
          await q.query(
            `SELECT pg_get_expr(d.adbin, d.adrelid) AS expr FROM pg_attrdef d
               JOIN pg_attribute a ON a.attrelid = d.adrelid AND a.attnum = d.adnum
              WHERE d.adrelid = $1::regclass AND a.attname = $2 AND a.attgenerated = 's'`,
            [table, column],
          )
        )[0]?.expr;
      for (const m of synced())
        for (const c of m.columns.filter((c) => c.generatedType && c.asExpression)) {
          const actual = await generationExpression(`public.${m.tableName}`, c.databaseName);
          if (actual === undefined) continue; // not a generated column in the database: the diff says so
          await q.query(`SAVEPOINT probe`);
          await q.query(`CREATE TEMP TABLE drift_probe_generated (LIKE public.${m.tableName})`);
          await q.query(
            `ALTER TABLE drift_probe_generated ADD COLUMN drift_probe ${c.type} GENERATED ALWAYS AS (${c.asExpression}) STORED`,
          );
          const declared = await generationExpression('drift_probe_generated', 'drift_probe');
          await q.query(`ROLLBACK TO SAVEPOINT probe`);
          await q.query(
            `INSERT INTO typeorm_metadata (type, database, schema, "table", name, value)
             VALUES ('GENERATED_COLUMN', current_database(), 'public', $1, $2, $3)`,
            [m.tableName, c.databaseName, declared === actual ? c.asExpression : actual],
          );
        }
      await q.commitTransaction();
    } catch (err) {
      await q.rollbackTransaction();
      throw err;
    } finally {
      await q.release();
    }
  }
});
