import { DataSource } from 'typeorm';
import { createDataSource } from '../data-source';
import { createTestDatabase, TestDatabase } from '../testing/test-env';
import { IdempotencyRepository } from './idempotency.repository';

/**
 * tickets.api.spec covers replay and reuse over HTTP; here what it cannot reach on purpose: the
 * sweep (1 % of requests), reclaiming a key whose first request was abandoned, and a release.
 */
describe('IdempotencyRepository', () => {
  let db: TestDatabase;
  let ds: DataSource;
  let repo: IdempotencyRepository;
  let agentId: string;

  beforeAll(async () => {
    db = await createTestDatabase();
    ds = createDataSource({ url: db.url, poolSize: 3 });
    await ds.initialize();
    repo = new IdempotencyRepository(ds);
    [{ id: agentId }] = await ds.query(
      `INSERT INTO agents (email, name, password_hash) VALUES ('idem@x.test', 'Idem', 'x') RETURNING id`,
    );
  });

  afterAll(async () => {
    await ds?.destroy();
    await db?.drop();
  });

  const claimOf = (key: string, bodyHash = 'h1') => ({ agentId, key, method: 'POST', path: '/v1/x', bodyHash });

  it('claims a key once, stores the response, and replays it', async () => {
    expect(await repo.claim(claimOf('k1'), '60000 milliseconds')).toBe(true);
    expect(await repo.claim(claimOf('k1', 'h2'), '60000 milliseconds')).toBe(false);
    expect(await repo.find(agentId, 'k1')).toEqual({
      method: 'POST',
      path: '/v1/x',
      body_hash: 'h1',
      status_code: null,
      response: null,
    });
    await repo.storeResponse(agentId, 'k1', 201, { id: 'a', nested: [1, 'ü'] });
    expect(await repo.find(agentId, 'k1')).toMatchObject({ status_code: 201, response: { id: 'a', nested: [1, 'ü'] } });
    await repo.storeResponse(agentId, 'k1', 204, undefined);
    expect(await repo.find(agentId, 'k1')).toMatchObject({ status_code: 204, response: null });
  });

  it('reclaims an abandoned key (no response, claimed long enough ago), never a finished one', async () => {
    expect(await repo.claim(claimOf('k2'), '60000 milliseconds')).toBe(true);
    await ds.query(`UPDATE idempotency_keys SET created_at = now() - interval '2 minutes' WHERE key = 'k2'`);
    expect(await repo.claim(claimOf('k2', 'h3'), '60000 milliseconds')).toBe(true);
    expect(await repo.find(agentId, 'k2')).toMatchObject({ body_hash: 'h3', status_code: null });

    await repo.storeResponse(agentId, 'k2', 200, { ok: true });
    await ds.query(`UPDATE idempotency_keys SET created_at = now() - interval '2 minutes' WHERE key = 'k2'`);
    expect(await repo.claim(claimOf('k2', 'h4'), '60000 milliseconds')).toBe(false);
    expect(await repo.find(agentId, 'k2')).toMatchObject({ body_hash: 'h3', status_code: 200 });
  });

  it('releases a key, and sweeps only keys older than the retention', async () => {
    expect(await repo.claim(claimOf('k3'), '60000 milliseconds')).toBe(true);
    await repo.release(agentId, 'k3');
    expect(await repo.find(agentId, 'k3')).toBeUndefined();

    expect(await repo.claim(claimOf('old'), '60000 milliseconds')).toBe(true);
    await ds.query(`UPDATE idempotency_keys SET created_at = now() - interval '25 hours' WHERE key = 'old'`);
    await repo.sweepExpired('24 hours');
    expect(await repo.find(agentId, 'old')).toBeUndefined();
    expect(await repo.find(agentId, 'k1')).toBeDefined();
  });
});
