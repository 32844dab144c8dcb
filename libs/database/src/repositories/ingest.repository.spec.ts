import { DataSource } from 'typeorm';
import { createDataSource } from '../data-source';
import { rows } from '../sql/db';
import { sql } from '../sql/sql';
import { createTestDatabase, TestDatabase } from '../testing/test-env';
import { IngestRepository } from './ingest.repository';

/**
 * What the app specs cannot see: the ingest batch's statements run as named prepared statements
 * on the transaction's own connection (they replaced a patched QueryRunner), and the
 * savepoint + lock + lookup script answers in one round trip, or leaves the lookup to a
 * bind-parameter statement for values a literal cannot carry.
 */
describe('IngestRepository (real Postgres)', () => {
  let db: TestDatabase;
  let ds: DataSource;
  let inboxId: string;

  beforeAll(async () => {
    db = await createTestDatabase();
    ds = createDataSource({ url: db.url, poolSize: 2 });
    await ds.initialize();
    const [team] = await rows<{ id: string }>(ds, sql`INSERT INTO teams (name) VALUES ('Payments') RETURNING id`);
    [{ id: inboxId }] = await rows<{ id: string }>(
      ds,
      sql`INSERT INTO inboxes (name, channel, address, default_team_id)
          VALUES ('whatsapp', 'whatsapp', '1098765', ${team.id}) RETURNING id`,
    );
  });
  afterAll(async () => {
    await ds?.destroy();
    await db?.drop();
  });

  it('reads an inbox and looks a sender up as prepared statements on the transaction connection', async () => {
    await ds.transaction(async (tx) => {
      const repo = new IngestRepository(tx);
      expect(await repo.findInbox(inboxId)).toEqual(expect.objectContaining({ id: inboxId, enabled: true }));
      const found = await repo.lookup(inboxId, 'ext-1', { kind: 'whatsapp', value: '4915100000001' });
      expect(found).toMatchObject({ message_id: null, identity_id: null });
      const prepared = await rows<{ name: string }>(tx, sql`SELECT name FROM pg_prepared_statements`);
      expect(prepared.map((p) => p.name)).toEqual(expect.arrayContaining(['oq_ingest_inbox', 'oq_ingest_lookup']));
    });
  });

  it('opens the savepoint, takes the lock and reads the lookup in one script; NUL leaves the lookup out', async () => {
    await ds.transaction(async (tx) => {
      const repo = new IngestRepository(tx);
      const sender = { kind: 'whatsapp', value: "49151'00" };
      expect(await repo.beginMessage('-42', inboxId, 'ext-2', sender)).toMatchObject({ message_id: null });
      const locks = await rows<{ n: number }>(
        tx,
        sql`SELECT count(*)::int AS n FROM pg_locks WHERE locktype = 'advisory' AND pid = pg_backend_pid()`,
      );
      expect(locks[0].n).toBe(1);
      expect(await repo.beginMessage('7', inboxId, 'ext\u00003', sender)).toBeUndefined();
      // The newest savepoint is there to roll back to.
      await repo.rollbackMessage();
    });
  });
});
