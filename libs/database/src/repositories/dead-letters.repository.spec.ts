import { DataSource } from 'typeorm';
import { createDataSource } from '../data-source';
import { createTestDatabase, TestDatabase } from '../testing/test-env';
import { DeadLetterRepository } from './dead-letters.repository';

/** What the dead-letter specs reach only partly: one letter per source key, and keyset pages. */
describe('DeadLetterRepository', () => {
  let db: TestDatabase;
  let ds: DataSource;
  let repo: DeadLetterRepository;
  const letter = (n: number, sourceKey: string | null = null) => ({
    queue: 'inbound',
    jobName: 'inbound.message',
    jobId: `j${n}`,
    payloadBytes: Buffer.from(`{"n":${n},"nul":"\\u0000"}`),
    reason: `r${n}`,
    sourceKey,
  });

  beforeAll(async () => {
    db = await createTestDatabase();
    ds = createDataSource({ url: db.url, poolSize: 3 });
    await ds.initialize();
    repo = new DeadLetterRepository(ds);
  });

  afterAll(async () => {
    await ds?.destroy();
    await db?.drop();
  });

  it('stores a source key once and finds the letter by it', async () => {
    const id = await repo.insert(letter(0, 'social:1'));
    expect(id).toEqual(expect.any(String));
    expect(await repo.insert(letter(1, 'social:1'))).toBeUndefined();
    expect(await repo.idBySourceKey('social:1')).toBe(id);
    expect((await repo.find(id!))?.payload_bytes?.toString()).toBe('{"n":0,"nul":"\\u0000"}');
  });

  it('pages newest first by (created_at, id) and hides replayed letters unless asked', async () => {
    for (let n = 2; n < 7; n++) await repo.insert(letter(n));
    const all = await repo.list({ limit: 100, includeReplayed: true });
    expect(all).toHaveLength(6);
    const first = await repo.list({ limit: 2, includeReplayed: false });
    const last = first[first.length - 1];
    const next = await repo.list({ limit: 100, includeReplayed: false, after: { at: last.cursor_at, id: last.id } });
    expect([...first, ...next].map((r) => r.id)).toEqual(all.map((r) => r.id));

    const replayed = all[0].id;
    await ds.transaction(async (m) => {
      const tx = repo.with(m);
      expect((await tx.lock(replayed))?.replay_count).toBe(0);
      await tx.markReplayed(replayed);
    });
    expect((await repo.find(replayed))?.replay_count).toBe(1);
    expect((await repo.list({ limit: 100, includeReplayed: false })).map((r) => r.id)).not.toContain(replayed);
    expect(await repo.find('00000000-0000-0000-0000-000000000000')).toBeUndefined();
  });
});
