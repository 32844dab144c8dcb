import { createServer } from 'node:http';
import { AddressInfo } from 'node:net';
import { NestFastifyApplication } from '@nestjs/platform-fastify';
import {
  createTestDatabase,
  dropQueuePrefix,
  testQueuePrefix,
  testServiceEnv,
  TestDatabase,
} from '@oq/database/testing/test-env';
import { ConfigError, createHttpApp } from '@oq/platform';
import { RedisServerProcess } from '../support/redis-server';
import { SERVICES } from '../support/services';
import { AppModule as SocialService } from '../../apps/social-service/src/app.module';
import { AppModule as VoiceService } from '../../apps/voice-service/src/app.module';

/** What /health checks: social-service's intake needs Redis and an inbox list, not Postgres. */
const CHECKS: Record<string, Record<string, string>> = {
  'social-service': { redis: 'up', inboxes: 'up' },
};

describe('every service boots with health, metrics and docs', () => {
  let db: TestDatabase;
  const prefix = testQueuePrefix();
  // ticket-service's internal inbox API with no inboxes, for the channel services' directories.
  const inboxApi = createServer((_req, res) => res.writeHead(200, { 'content-type': 'application/json' }).end('[]'));
  let ticketServiceUrl = '';
  beforeAll(async () => {
    db = await createTestDatabase();
    await new Promise<void>((r) => inboxApi.listen(0, '127.0.0.1', r));
    ticketServiceUrl = `http://127.0.0.1:${(inboxApi.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    await db.drop();
    await dropQueuePrefix(prefix);
    await new Promise((r) => inboxApi.close(r));
  });

  it.each(SERVICES)('%s answers /health, /metrics and /docs', async (name, module) => {
    const env = testServiceEnv(db, prefix, { TICKET_SERVICE_URL: ticketServiceUrl });
    const app = await createHttpApp(module, { title: name, env });
    await app.listen({ port: 0, host: '127.0.0.1' });
    const base = await app.getUrl();
    try {
      const health = await fetch(`${base}/health`);
      expect(health.status).toBe(200);
      const checks = CHECKS[name] ?? { postgres: 'up', redis: 'up' };
      const body = (await health.json()) as { status: string; checks: Record<string, string> };
      expect(body).toMatchObject({ status: 'ok', checks });
      expect(Object.keys(body.checks).sort()).toEqual(Object.keys(checks).sort());

      const metrics = await (await fetch(`${base}/metrics`)).text();
      expect(metrics).toContain('oq_process_resident_memory_bytes');
      expect(metrics).toMatch(/oq_queue_jobs\{queue="[a-z.]+",state="waiting",service="[a-z-]+"\} 0/);
      expect(metrics).toContain('oq_queue_oldest_job_age_seconds');

      const docs = await fetch(`${base}/docs`);
      expect(docs.status).toBe(200);
      expect(await fetch(`${base}/health`).then((r) => r.headers.get('x-request-id'))).toBeTruthy();
    } finally {
      await app.close();
    }
  });

  it('refuses to boot with a missing or malformed variable, naming it', async () => {
    const env = testServiceEnv(db, prefix, { DB_POOL_SIZE: 'many' });
    delete env.SERVICE_TOKEN;
    const err = await createHttpApp(VoiceService, { title: 'x', env }).catch((e) => e);
    expect(err).toBeInstanceOf(ConfigError);
    expect(err.message).toMatch(/SERVICE_TOKEN is required but not set/);
    expect(err.message).toMatch(/DB_POOL_SIZE: /);
  });

  it('refuses to boot while migrations are pending', async () => {
    const { Client } = await import('pg');
    const c = new Client({ connectionString: db.url });
    await c.connect();
    const removed = await c.query(
      'DELETE FROM migrations WHERE id = (SELECT max(id) FROM migrations) RETURNING timestamp, name',
    );
    await c.end();
    try {
      // social-service has no database: a pending migration does not stop webhook intake.
      const social = await createHttpApp(SocialService, { title: 'x', env: testServiceEnv(db, prefix) });
      await social.close();
      const err = await createHttpApp(VoiceService, { title: 'x', env: testServiceEnv(db, prefix) }).catch((e) => e);
      expect(err?.message).toMatch(/migration\(s\) pending .*npm run migrate/);
    } finally {
      const c2 = new Client({ connectionString: db.url });
      await c2.connect();
      await c2.query('INSERT INTO migrations (timestamp, name) VALUES ($1, $2)', [
        removed.rows[0].timestamp,
        removed.rows[0].name,
      ]);
      await c2.end();
    }
  });

  it('answers 503 naming Redis while it is down, and recovers by itself', async () => {
    const redis = await RedisServerProcess.start();
    let app: NestFastifyApplication | undefined;
    try {
      app = await createHttpApp(VoiceService, {
        title: 'x',
        env: testServiceEnv(db, prefix, { REDIS_URL: redis.url }),
      });
      await app.listen({ port: 0, host: '127.0.0.1' });
      const base = await app.getUrl();
      expect((await fetch(`${base}/health`)).status).toBe(200);

      await redis.stop();
      const down = await fetch(`${base}/health`);
      expect(down.status).toBe(503);
      const body = (await down.json()) as { failing: string[]; checks: Record<string, string> };
      expect(body.failing).toEqual(['redis']);
      expect(body.checks.postgres).toBe('up');

      await redis.start();
      const deadline = Date.now() + 10_000;
      let status = 0;
      while (Date.now() < deadline && (status = (await fetch(`${base}/health`)).status) !== 200) {
        await new Promise((r) => setTimeout(r, 200));
      }
      expect(status).toBe(200);
    } finally {
      await app?.close();
      await redis.destroy();
    }
  });
});
